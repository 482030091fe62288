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
      expect(out.result.batches).toBe(3);
    }
    const left = await db.query<{ status: string }>(`select status from cronwarden.cron_job_runs where job = 'x' order by status`);
    expect(left.map((r) => r.status)).toEqual(['failed', 'failed', 'failed', 'running']);
  });
});
