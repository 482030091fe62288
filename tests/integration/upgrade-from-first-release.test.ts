import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bindFeatures } from '../../src/lib/bindings/apply';
import { demoBindings } from '../../src/lib/bindings/spec';
import { migrate, readMigrations } from '../../src/lib/db/migrator';
import type { SqlDb } from '../../src/lib/db/types';
import { runJob } from '../../src/lib/cron/runner';
import { runHistoryPruneJob } from '../../src/lib/jobs/run-history-prune';
import { blankEngines } from '../support/blank-db';
import { testDeps } from '../support/deps';

/**
 * A database that ran the first release (supabase/legacy/, our tables in public) and has been
 * used, upgraded in place by today's migrations: our objects move to schema cronwarden with their
 * rows, nothing of ours is left in public, the domain tables stay where they were.
 */

const LEGACY_DIR = path.join(process.cwd(), 'supabase', 'legacy');
const T = new Date('2026-11-28T12:00:00Z');

/** Applies the first release exactly as its migrator did: each file, recorded in public. */
async function applyFirstRelease(db: SqlDb): Promise<void> {
  await db.exec(`create table public.cronwarden_migrations (name text primary key, checksum text not null, applied_at timestamptz not null default now())`);
  for (const f of readMigrations(LEGACY_DIR)) {
    await db.transaction(async (tx) => {
      await tx.exec(f.sql);
      await tx.query(`insert into public.cronwarden_migrations (name, checksum) values ($1, $2)`, [f.name, f.checksum]);
    });
  }
}

/** Rows in every table of ours and in the domain tables, as a used install has them. */
async function useIt(db: SqlDb): Promise<void> {
  await db.exec(`
    insert into cron_job_runs (id, job, status, started_at, finished_at, duration_ms, dry_run, trigger, result, rows_affected)
      values ('11111111-0000-4000-8000-000000000001', 'draft-cleanup', 'succeeded', '2026-11-27T10:00:00Z', '2026-11-27T10:00:01Z', 1000, false, 'vercel', '{"deleted_count": 3}', 3),
             ('11111111-0000-4000-8000-000000000002', 'export-log-cleanup', 'running', '2026-10-20T03:00:00Z', null, null, false, 'vercel', null, 0);
    insert into cron_job_leases (job, run_id, acquired_at, expires_at)
      values ('export-log-cleanup', '11111111-0000-4000-8000-000000000002', '2026-10-20T03:00:00Z', '2026-10-20T03:06:00Z');
    insert into alerts (id, rule_id, subject, severity, title, state, value, threshold, first_seen, last_seen, opened_at, last_notified_at)
      values ('22222222-0000-4000-8000-000000000001', 'jobs.failing', 'maintenance', 'HIGH', 'Job failing', 'open', 3, 3,
              '2026-11-27T00:00:00Z', '2026-11-28T00:00:00Z', '2026-11-27T00:00:00Z', '2026-11-27T00:00:00Z');
    insert into alert_silences (rule_id, subject, created_at, until, reason)
      values ('drafts.pollution_high', null, '2026-11-28T00:00:00Z', '2026-12-05T00:00:00Z', 'migration week');
    insert into alert_notifications (alert_id, channel, kind, ok, sent_at)
      values ('22222222-0000-4000-8000-000000000001', 'slack', 'trigger', true, '2026-11-27T00:00:01Z');
    insert into export_log_archive_pending (object_key, export_ids, created_at)
      values ('archive/export-logs/batch-1.ndjson.gz', array['33333333-0000-4000-8000-000000000001']::uuid[], '2026-11-01T03:00:00Z');
    insert into export_metrics (export_id, user_id, format, status, duration_ms, conversation_count, count_range, created_at)
      values ('33333333-0000-4000-8000-000000000002', '44444444-0000-4000-8000-000000000001', 'json', 'completed', 2000, 10, 'small', '2026-11-27T09:00:00Z');
    insert into storage_cleanup_queue (storage_path, source, reference_id) values ('uploads/gone/a.pdf', 'user_deletion', 'u1');
    insert into audit_logs (action, actor, target_type, target_id, status, duration_ms, details, created_at)
      values ('USER_DELETION', 'admin_api_token', 'user', '44444444-0000-4000-8000-000000000009', 'success', 120, '{"deleted": {}}', '2026-11-27T08:00:00Z');
    insert into users (id, email, type) values ('44444444-0000-4000-8000-000000000001', 'a@example.com', 'member'),
                                               ('44444444-0000-4000-8000-000000000002', 'b@example.com', 'guest');
    delete from users where id = '44444444-0000-4000-8000-000000000002';
    insert into organizations (id, name) values ('55555555-0000-4000-8000-000000000001', 'Acme');
    insert into courses (id, organization_id, status, created_at) values ('55555555-0000-4000-8000-000000000002', '55555555-0000-4000-8000-000000000001', 'draft', '2026-11-20T00:00:00Z');
    insert into export_logs (export_id, user_id, format, status, created_at, cleanup_attempts)
      values ('33333333-0000-4000-8000-000000000001', '44444444-0000-4000-8000-000000000001', 'csv', 'failed', '2026-10-01T00:00:00Z', 1);
  `);
}

const counts = `select
  (select count(*) from cronwarden.cron_job_runs)::int as runs,
  (select count(*) from cronwarden.cron_job_leases)::int as leases,
  (select count(*) from cronwarden.alerts)::int as alerts,
  (select count(*) from cronwarden.alert_silences)::int as silences,
  (select count(*) from cronwarden.alert_notifications)::int as notifications,
  (select count(*) from cronwarden.export_log_archive_pending)::int as pending_archives,
  (select count(*) from cronwarden.export_metrics)::int as metrics,
  (select count(*) from cronwarden.storage_cleanup_queue)::int as queued_paths,
  (select count(*) from cronwarden.audit_logs)::int as audit_rows,
  (select count(*) from cronwarden.deleted_users)::int as deleted_users,
  (select count(*) from cronwarden.cron_run_counters)::int as counters`;

const blanks = blankEngines();

for (const blank of blanks) {
  describe(`upgrade from the first release [${blank.name}]`, () => {
    it('moves our tables and their rows into schema cronwarden, leaves nothing of ours in public, keeps the domain tables', async () => {
      const db = await blank.open();
      await applyFirstRelease(db);
      await useIt(db);
      const publicDomainBefore = await db.query(
        `select (select count(*) from public.users)::int as users, (select count(*) from public.courses)::int as courses,
                (select count(*) from public.export_logs)::int as exports`,
      );

      const { applied } = await migrate(db);
      expect(applied).toEqual(readMigrations().map((f) => f.name));
      const { features } = await bindFeatures(db, demoBindings());
      expect(Object.values(features).map((f) => [f.feature, f.bound, f.problems])).toEqual(
        Object.values(features).map((f) => [f.feature, true, []]),
      );

      expect((await db.query(counts))[0]).toEqual({
        runs: 2,
        leases: 1,
        alerts: 1,
        silences: 1,
        notifications: 1,
        pending_archives: 1,
        metrics: 1,
        queued_paths: 1,
        audit_rows: 1,
        deleted_users: 1,
        counters: 1,
      });
      // The record moved too: the first release's files stay applied and are never run again.
      const record = await db.query<{ name: string }>(`select name from cronwarden.migrations where name like '20261123%' order by name`);
      expect(record.map((r) => r.name)).toEqual(readMigrations(LEGACY_DIR).map((f) => f.name));
      expect(await db.query(`select to_regclass('public.cronwarden_migrations') as t`)).toEqual([{ t: null }]);

      // Nothing of ours left in public but the seeds' contract names, re-created by the binding.
      const ours = await db.query<{ name: string }>(
        `select p.proname::text as name from pg_proc p where p.pronamespace = 'public'::regnamespace order by 1`,
      );
      expect(ours.map((r) => r.name)).toEqual(['run_maintenance_cleanup', 'trigger_manual_cleanup']);
      const publicTables = await db.query<{ name: string }>(
        `select c.relname::text as name from pg_class c where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'v') order by 1`,
      );
      expect(publicTables.map((r) => r.name)).toEqual([
        'addresses', 'courses', 'dispatches', 'export_logs', 'file_uploads', 'import_jobs', 'import_runs', 'maintenance_status',
        'organizations', 'raw_import_items', 'temp_uploads', 'user_preferences', 'user_sessions', 'users',
      ]);
      expect(
        await db.query(
          `select (select count(*) from public.users)::int as users, (select count(*) from public.courses)::int as courses,
                  (select count(*) from public.export_logs)::int as exports`,
        ),
      ).toEqual(publicDomainBefore);

      // The moved rows keep their values; widened columns hold them unchanged.
      expect(await db.query(`select export_keys from cronwarden.export_log_archive_pending`)).toEqual([
        { export_keys: ['33333333-0000-4000-8000-000000000001'] },
      ]);
      expect(await db.query(`select duration_ms, result from cronwarden.cron_job_runs where status = 'succeeded'`)).toEqual([
        { duration_ms: 1000, result: { deleted_count: 3 } },
      ]);

      // It works: the dead run of the first release is taken over, a deletion is still recorded.
      const { deps } = testDeps(db, { now: () => T });
      const out = await runJob(runHistoryPruneJob, { input: {}, dryRun: false }, deps);
      expect(out.kind).toBe('finished');
      await db.exec(`delete from public.users where id = '44444444-0000-4000-8000-000000000001'`);
      expect((await db.query(`select count(*)::int as n from cronwarden.deleted_users`))[0]).toEqual({ n: 2 });
    });
  });
}


// The shipped files of the first release never change: their checksums are what databases recorded.
it('the first release is kept byte for byte under supabase/legacy', () => {
  const sums = Object.fromEntries(readMigrations(LEGACY_DIR).map((f) => [f.name, f.checksum.slice(0, 16)]));
  expect(sums).toEqual({
    '20261123000100_cron_runner.sql': '7509bab7b49f8a9c',
    '20261123000200_alerts.sql': '59ee3296d9c1ad19',
    '20261123000300_export_operations.sql': '0420286f2391eff7',
    '20261123000400_import_maintenance.sql': 'c2a34fddae0dc7b0',
    '20261123000500_draft_cleanup.sql': 'e8ac7d7ca0dc1a2d',
    '20261123000600_user_deletion.sql': '0bf3a33c56c2a307',
  });
  expect(fs.readdirSync(LEGACY_DIR).sort()).toEqual(Object.keys(sums));
});
