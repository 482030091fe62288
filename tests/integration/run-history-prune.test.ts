import { expect, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import { runHistoryPruneJob } from '../../src/lib/jobs/run-history-prune';
import type { SqlDb } from '../../src/lib/db/types';
import { describeEngines } from '../support/db';
import { testDeps } from '../support/deps';

const NOW = new Date('2026-06-01T12:00:00Z');
const DAY = 86_400_000;

async function plant(db: SqlDb) {
  // 12 finished runs 91 days old, 3 finished 89 days old, 1 still 'running' 100 days old
  await db.exec(`
    insert into cronwarden.cron_job_runs (id, job, status, started_at, finished_at)
    select gen_random_uuid(), 'x', 'succeeded', '${new Date(NOW.getTime() - 91 * DAY).toISOString()}'::timestamptz + (g || ' seconds')::interval, null
      from generate_series(1, 12) g;
    insert into cronwarden.cron_job_runs (id, job, status, started_at)
    select gen_random_uuid(), 'x', 'failed', '${new Date(NOW.getTime() - 89 * DAY).toISOString()}'::timestamptz from generate_series(1, 3);
    insert into cronwarden.cron_job_runs (id, job, status, started_at)
    values (gen_random_uuid(), 'x', 'running', '${new Date(NOW.getTime() - 100 * DAY).toISOString()}');
  `);
}

const count = async (db: SqlDb) => Number((await db.query<{ n: number }>(`select count(*)::integer as n from cronwarden.cron_job_runs where job = 'x'`))[0].n);

describeEngines('run history pruning', (engine) => {
  it('deletes finished runs older than the retention, in batches, and nothing else', async () => {
    const db = await engine.fresh();
    await plant(db);
    const { deps } = testDeps(db, { now: () => NOW });
    const dry = await runJob(runHistoryPruneJob, { input: { batchSize: 5 }, dryRun: true }, deps);
    expect(dry.kind === 'finished' && dry.result.would_delete_count).toBe(12);
    expect(await count(db)).toBe(16);
    const out = await runJob(runHistoryPruneJob, { input: { batchSize: 5 }, dryRun: false }, deps);
    expect(out.kind).toBe('finished');
    if (out.kind === 'finished') {
      expect(out.result.deleted_count).toBe(12);
      expect(out.result.pruned).toMatchObject({ cron_job_runs: 12 });
    }
    const left = await db.query<{ status: string }>(`select status from cronwarden.cron_job_runs where job = 'x' order by status`);
    expect(left.map((r) => r.status)).toEqual(['failed', 'failed', 'failed', 'running']);
  });
});

describeEngines('retention of every table Cronwarden writes', (engine) => {
  it('export metrics older than 90 days, rollups older than 400, deletion audit older than 365 go; newer rows stay', async () => {
    const db = await engine.fresh();
    const ago = (days: number) => new Date(NOW.getTime() - days * DAY).toISOString();
    await db.exec(`
      insert into cronwarden.export_metrics (export_id, user_id, format, status, duration_ms, count_range, created_at)
      select 'old-' || g, 'u', 'json', 'completed', 10, 'small', '${ago(400)}'::timestamptz from generate_series(1, 500) g;
      insert into cronwarden.export_metrics (export_id, user_id, format, status, duration_ms, count_range, created_at)
      values ('edge-in', 'u', 'json', 'completed', 10, 'small', '${ago(90)}'::timestamptz + interval '1 second'),
             ('edge-out', 'u', 'json', 'completed', 10, 'small', '${ago(90)}'::timestamptz - interval '1 second');
      insert into cronwarden.export_metrics_hourly (hour, format, total_exports, successful_exports, failed_exports, updated_at)
      values ('${ago(401)}', 'json', 1, 1, 0, now()), ('${ago(399)}', 'json', 1, 1, 0, now());
      insert into cronwarden.deleted_users (user_id, deleted_at) values ('gone-1', '${ago(366)}'), ('gone-2', '${ago(364)}');
    `);
    const { deps } = testDeps(db, { now: () => NOW });
    const dry = await runJob(runHistoryPruneJob, { input: {}, dryRun: true }, deps);
    expect(dry.kind === 'finished' && dry.result.would_prune).toMatchObject({ export_metrics: 501, export_metrics_hourly: 1, deleted_users: 1 });
    const out = await runJob(runHistoryPruneJob, { input: { batchSize: 200 }, dryRun: false }, deps);
    expect(out.kind === 'finished' && out.result.pruned).toMatchObject({ export_metrics: 501, export_metrics_hourly: 1, deleted_users: 1 });
    expect(await db.query(`select export_id from cronwarden.export_metrics`)).toEqual([{ export_id: 'edge-in' }]);
    expect((await db.query(`select count(*)::int as n from cronwarden.export_metrics_hourly`))[0]).toEqual({ n: 1 });
    expect(await db.query(`select user_id from cronwarden.deleted_users`)).toEqual([{ user_id: 'gone-2' }]);
  });
});
