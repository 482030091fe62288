import path from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { bindFeatures } from '../../src/lib/bindings/apply';
import { demoBindings } from '../../src/lib/bindings/spec';
import { runJob } from '../../src/lib/cron/runner';
import { migrate } from '../../src/lib/db/migrator';
import { PgliteDb } from '../../src/lib/db/pglite';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { SqlDb } from '../../src/lib/db/types';
import { storageCleanupRetryJob } from '../../src/lib/jobs/storage-cleanup-retry';
import { deleteUser } from '../../src/lib/users/delete-user';
import { hasPostgres } from '../support/db';
import { tempStorage, testDeps } from '../support/deps';

/**
 * A database that ran the first release's user deletion (our audit_logs, deleted_users, claims
 * and retry queue in public, uuid user ids, integer milliseconds) upgraded in place: the moved
 * tables take text ids and bigint counts, keep their rows, and the endpoint works on them.
 */

const LEGACY_DIR = path.join(process.cwd(), 'supabase', 'legacy');
const NOW = new Date('2026-11-30T12:00:00Z');
const U1 = '44444444-0000-4000-8000-000000000001';
const U2 = '44444444-0000-4000-8000-000000000002';

const dropLater: string[] = [];
afterAll(async () => {
  if (!dropLater.length) return;
  const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => {} });
  for (const name of dropLater) await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
  await admin.end();
});

const blanks: { name: string; open(): Promise<SqlDb> }[] = [{ name: 'pglite', open: () => PgliteDb.open(undefined) }];
if (hasPostgres()) {
  blanks.push({
    name: 'postgres',
    async open() {
      const name = `cw_t_${inject('pgTemplate').split('_').pop()}_up_${randomBytes(4).toString('hex')}`;
      const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${name}`);
      await admin.end();
      dropLater.push(name);
      const url = new URL(inject('pgAdminUrl'));
      url.pathname = `/${name}`;
      return PostgresDb.connect(url.toString(), 2);
    },
  });
}

for (const blank of blanks) {
  describe(`user deletion after an upgrade from the first release [${blank.name}]`, () => {
    it('keeps the moved rows, widens their columns, and deletes through the endpoint', async () => {
      const db = await blank.open();
      try {
        await migrate(db, { dir: LEGACY_DIR });
        const storage = tempStorage();
        await db.exec(`
          insert into users (id, email, type) values ('${U1}', 'a@example.com', 'member'), ('${U2}', 'b@example.com', 'guest');
          insert into dispatches (user_id) values ('${U1}'), ('${U2}');
          insert into file_uploads (user_id, storage_path) values ('${U1}', 'uploads/u1/a.pdf'), ('${U2}', 'uploads/u2/b.pdf');
          insert into user_sessions (user_id) values ('${U1}');
          insert into storage_cleanup_queue (storage_path, source, reference_id, attempts, created_at, next_attempt_at)
            values ('uploads/gone/old.pdf', 'user_deletion', 'u0', 2, '2026-11-27T08:00:00Z', '2026-11-27T09:00:00Z');
          insert into audit_logs (action, actor, target_type, target_id, status, duration_ms, details, created_at)
            values ('USER_DELETION', 'admin_api_token', 'user', '44444444-0000-4000-8000-000000000009', 'success', 120, '{"deleted": {}}', '2026-11-27T08:00:00Z');
          insert into user_deletions_in_progress (user_id, attempt_id, actor, started_at, expires_at)
            values ('44444444-0000-4000-8000-000000000008', '44444444-0000-4000-8000-0000000000aa', 'x', '2026-11-27T08:00:00Z', '2026-11-27T08:05:00Z');
        `);
        for (const p of ['uploads/u1/a.pdf', 'uploads/u2/b.pdf', 'uploads/gone/old.pdf']) await storage.put(p, 'x');

        await migrate(db);
        const { features } = await bindFeatures(db, demoBindings());
        expect(features.userDeletion).toMatchObject({ bound: true, problems: [] });

        // Moved with their rows, with the widened types.
        const types = await db.query<{ table_name: string; column_name: string; data_type: string }>(
          `select table_name::text, column_name::text, data_type::text from information_schema.columns
            where table_schema = 'cronwarden' and (table_name, column_name) in
              (('audit_logs', 'duration_ms'), ('user_deletions_in_progress', 'user_id'), ('storage_cleanup_queue', 'attempts'), ('deleted_users', 'user_id'))
            order by 1, 2`,
        );
        expect(types.map((t) => [t.table_name, t.column_name, t.data_type])).toEqual([
          ['audit_logs', 'duration_ms', 'bigint'],
          ['deleted_users', 'user_id', 'text'],
          ['storage_cleanup_queue', 'attempts', 'bigint'],
          ['user_deletions_in_progress', 'user_id', 'text'],
        ]);
        expect(await db.query(`select count(*)::int as n from cronwarden.audit_logs`)).toEqual([{ n: 1 }]);
        expect(await db.query(`select user_id from cronwarden.user_deletions_in_progress`)).toEqual([{ user_id: '44444444-0000-4000-8000-000000000008' }]);
        expect(await db.query(`select to_regclass('public.audit_logs') as t`)).toEqual([{ t: null }]);

        const { deps } = testDeps(db, { storage, now: () => NOW });
        const result = await deleteUser({ ...deps, archivePrefix: deps.config.exports.archivePrefix }, U1, { actor: 'tester' });
        expect(result.deleted).toMatchObject({ dispatches: 1, file_uploads: 1, sessions: 1 });
        expect(result.storage).toEqual({ objects: 1, removed: 1, kept: 0, failed: 0, queued: 0 });
        expect(await storage.exists('uploads/u1/a.pdf')).toBe(false);
        expect(await storage.exists('uploads/u2/b.pdf')).toBe(true);
        // The first release's trigger still records deletions (its function moved and now reads the binding).
        expect(await db.query(`select user_id, user_type from cronwarden.deleted_users`)).toEqual([{ user_id: U1, user_type: 'member' }]);

        // The first release's queue entry is retried like any other.
        const out = await runJob(storageCleanupRetryJob, { input: {}, dryRun: false }, deps);
        expect(out.kind === 'finished' && out.result).toMatchObject({ removed_count: 1, pending_count: 0 });
        expect(await storage.exists('uploads/gone/old.pdf')).toBe(false);
      } finally {
        await db.close();
      }
    });
  });
}
