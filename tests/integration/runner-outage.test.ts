import { afterAll, expect, it } from 'vitest';
import { z } from 'zod';
import { runJob } from '../../src/lib/cron/runner';
import { defineJob, type JobDefinition } from '../../src/lib/cron/types';
import { unrecordedFinishesOf, type FinishRetryPolicy } from '../../src/lib/cron/unrecorded-finishes';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { SqlDb } from '../../src/lib/db/types';
import { describeEngines, freshPostgresUrl, type Engine } from '../support/db';
import { testDeps } from '../support/deps';
import { outageDb, tcpProxy } from '../support/outage';

const T0 = new Date('2026-11-20T10:00:00.000Z');
const later = (ms: number) => () => new Date(T0.getTime() + ms);
/** Retries far in the future: only the flush before the next run can record the end. */
const NO_TIMER: FinishRetryPolicy = { baseMs: 3_600_000, capMs: 3_600_000, giveUpAfterMs: 86_400_000 };

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

interface Harness {
  /** What the runner uses: goes away on cut(), comes back on restore(). */
  db: SqlDb;
  cut(): Promise<void>;
  restore(): Promise<void>;
  /** A connection the outage does not touch, for looking at what was recorded. */
  direct: SqlDb;
}

/** PGlite: calls fail while cut. PostgreSQL: a TCP proxy that drops and refuses connections. */
async function harness(engine: Engine): Promise<Harness> {
  if (engine.name === 'pglite') {
    const inner = await engine.fresh();
    const o = outageDb(inner);
    return { db: o.db, cut: async () => o.cut(), restore: async () => o.restore(), direct: inner };
  }
  const url = await freshPostgresUrl();
  const u = new URL(url);
  const proxy = await tcpProxy({ host: u.hostname, port: Number(u.port || 5432) });
  const db = PostgresDb.connect(proxy.through(url), 2);
  const direct = PostgresDb.connect(url, 1);
  cleanup.push(() => proxy.close(), () => db.close(), () => direct.close());
  return { db, cut: proxy.cut, restore: proxy.restore, direct };
}

function job(name: string, run: JobDefinition<Record<string, never>>['run']) {
  return defineJob({ name, description: name, input: z.strictObject({}), maxDurationSeconds: 300, run });
}

async function recorded(direct: SqlDb, runId: string) {
  const [run] = await direct.query<{ status: string; rows_affected: string | number; error: string | null; finished_at: Date | null }>(
    `select status, rows_affected, error, finished_at from cron_job_runs where id = $1`,
    [runId],
  );
  const leases = await direct.query<{ run_id: string }>(`select run_id from cron_job_leases`);
  return { ...run, rows_affected: Number(run.rows_affected), leases: leases.map((l) => l.run_id) };
}

async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
}

describeEngines('the end of a run during a database outage', (engine) => {
  it('is recorded once the database is back, and the next call runs without waiting for the lease to expire', async () => {
    const h = await harness(engine);
    unrecordedFinishesOf(h.db, NO_TIMER);
    let calls = 0;
    const j = job('outage-succeeds', async ({ db }) => {
      calls++;
      await db.rpc('cronwarden_ping');
      if (calls === 1) await h.cut(); // the database goes away while the run is finishing its work
      return { errors: [], rows_affected: calls === 1 ? 3 : 1 };
    });
    const first = testDeps(h.db, { now: later(0) });
    const out1 = await runJob(j, { input: {}, dryRun: false }, first.deps);
    expect(out1).toMatchObject({ kind: 'finished', status: 'succeeded' });
    expect(first.logs.ofType('cron_run_record_failed')).toHaveLength(1);
    // Not recorded: the run still looks running and holds the lease.
    expect(await recorded(h.direct, out1.runId)).toMatchObject({ status: 'running', leases: [out1.runId] });

    await h.restore();
    const second = testDeps(h.db, { now: later(5_000) });
    const out2 = await runJob(j, { input: {}, dryRun: false }, second.deps);
    expect(out2).toMatchObject({ kind: 'finished', status: 'succeeded' });
    expect(calls).toBe(2);

    const run1 = await recorded(h.direct, out1.runId);
    expect(run1).toMatchObject({ status: 'succeeded', rows_affected: 3, error: null, leases: [] });
    // Its own end, not the moment it was finally written.
    expect(new Date(run1.finished_at!).getTime()).toBeLessThan(T0.getTime() + 5_000);
    expect(await recorded(h.direct, out2.runId)).toMatchObject({ status: 'succeeded', rows_affected: 1 });
    expect(first.logs.ofType('cron_run_recorded_late')).toHaveLength(1);
    expect(unrecordedFinishesOf(h.db).size).toBe(0);
  });

  it('a run that fails because the database went away mid-run is recorded failed once it is back, and the next call runs', async () => {
    const h = await harness(engine);
    unrecordedFinishesOf(h.db, NO_TIMER);
    let calls = 0;
    const j = job('outage-fails', async ({ db }) => {
      calls++;
      if (calls === 1) await h.cut();
      await db.rpc('cronwarden_ping'); // the next batch's call: the database is gone
      return { errors: [], rows_affected: 0 };
    });
    const out1 = await runJob(j, { input: {}, dryRun: false }, testDeps(h.db, { now: later(0) }).deps);
    expect(out1.kind).toBe('crashed');
    expect(await recorded(h.direct, out1.runId)).toMatchObject({ status: 'running', leases: [out1.runId] });

    await h.restore();
    const out2 = await runJob(j, { input: {}, dryRun: false }, testDeps(h.db, { now: later(1_000) }).deps);
    expect(out2).toMatchObject({ kind: 'finished', status: 'succeeded' });
    const run1 = await recorded(h.direct, out1.runId);
    expect(run1.status).toBe('failed');
    expect(run1.error).toMatch(/ECONNREFUSED|CONNECTION|connect|closed|reset/i);
    expect(run1.leases).toEqual([]);
  });

  it('is retried with capped backoff until the database answers, without waiting for a next call', async () => {
    const h = await harness(engine);
    unrecordedFinishesOf(h.db, { baseMs: 20, capMs: 80, giveUpAfterMs: 86_400_000 });
    const j = job('outage-retried', async () => {
      await h.cut();
      return { errors: [], rows_affected: 2 };
    });
    const { deps, logs } = testDeps(h.db, { now: later(0) });
    const out = await runJob(j, { input: {}, dryRun: false }, deps);
    expect(out.kind).toBe('finished');
    // Let it fail a few times while the database is away: the delays double up to the cap.
    await until(() => logs.ofType('cron_run_record_retry_failed').length >= 4);
    const delays = [logs.ofType('cron_run_record_failed')[0], ...logs.ofType('cron_run_record_retry_failed')].map((l) => l.retry_in_ms);
    expect(delays.slice(0, 5)).toEqual([20, 40, 80, 80, 80]);

    await h.restore();
    await until(async () => (await recorded(h.direct, out.runId)).status !== 'running');
    expect(await recorded(h.direct, out.runId)).toMatchObject({ status: 'succeeded', rows_affected: 2, leases: [] });
    await until(() => logs.ofType('cron_run_recorded_late').length === 1);
    expect(unrecordedFinishesOf(h.db).size).toBe(0);
  });
});
