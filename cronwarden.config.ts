import { defineConfig } from './src/lib/bindings/spec';

/**
 * Cronwarden's bindings: which of your tables, columns and values each feature works on.
 * Every setting left out takes the demo app's name (supabase/demo/schema.sql), so this file
 * may stay empty for the quick start. Check a change with `npm run doctor` before you deploy.
 * See "Adopting Cronwarden on your database" in README.md for a worked example.
 */
export default defineConfig({
  bindings: {
    // exports: {
    //   table: 'public.data_exports',
    //   columns: { id: 'id', userId: 'owner_id', status: 'state', filePath: 'object_key',
    //              createdAt: 'requested_at', expiresAt: 'ttl_until', completedAt: 'ready_at',
    //              fileSizeBytes: 'bytes' },
    //   statuses: { completed: ['ready'], failed: ['error'], expired: 'purged' },
    // },
    // drafts: {
    //   table: 'public.lessons',
    //   columns: { id: 'id', createdAt: 'inserted_at', updatedAt: null, organizationId: null, title: 'name', createdBy: null },
    //   draft: [{ column: 'is_draft', op: 'is true' }],
    //   unused: [{ column: 'generation_started_at', op: 'is null' }],
    //   organizations: false,
    // },
    // imports: { enabled: false },
    // userDeletion: { users: { table: 'public.profiles' } },
  },

  // Your own rules, each a job like the built-in ones (route, schedule, dry run, history, alerts).
  // These two are the demo app's examples: change them to your tables, or remove them (and run
  // `npm run schedules -- --write` so vercel.json follows). README: "Retention policies for your own tables".
  policies: [
    {
      // Sessions that expired more than a day ago.
      name: 'expired-sessions',
      table: 'public.user_sessions',
      keyColumn: 'id',
      timeColumn: 'expires_at',
      age: '1 day',
      // where: [{ column: 'revoked', op: 'is false' }],  action: { update: { column: 'state', value: 'expired' } },
      // archive: true,  storagePathColumn: 'avatar_path',  batchSize: 5000,
      schedule: '40 3 * * *',
    },
  ],
  orphanSweeps: [
    {
      // Uploaded files that no row references any more, once a day old (an upload whose row is
      // not written yet is never taken). Every bound table's path column counts as a reference.
      name: 'uploads',
      prefix: 'uploads/',
      grace: '1 day',
      // references: [{ table: 'public.attachments', column: 'object_key' }],
      schedule: '50 3 * * *',
    },
  ],
});
