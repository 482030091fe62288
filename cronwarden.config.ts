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
});
