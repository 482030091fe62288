import { expect, it } from 'vitest';
import { z } from 'zod';
import { runJob } from '../../src/lib/cron/runner';
import { defineJob, type JobDefinition } from '../../src/lib/cron/types';
import type { SqlDb } from '../../src/lib/db/types';
import { describeEngines } from '../support/db';
import { testDeps } from '../support/deps';

const noInput = z.strictObject({});

function job(name: string, run: JobDefinition<Record<string, never>>['run'], maxDurationSeconds = 60) {
  return defineJob({ name, description: name, input: noInput, maxDurationSeconds, run });
}

async function runsOf(db: SqlDb, name: string) {
  return db.query<{ id: string; status: string; error: string | null; dry_run: boolean; result: unknown; rows_affected: string | number }>(
    `select id, status, error, dry_run, result, rows_affected from cronwarden.cron_job_runs where job = $1 order by started_at, id`,
    [name],
  );
}

describeEngines('job runner', (engine) => {
  it('records a succeeded run with its result and releases the lease', async () => {
    const db = await engine.fresh();
    const { deps, logs } = testDeps(db);
    const out = await runJob(job('ok-job', async () => ({ errors: [], rows_affected: 7, deleted_count: 7 })), { input: {}, dryRun: false }, deps);
    expect(out.kind).toBe('finished');
    if (out.kind !== 'finished') return;
    expect(out.result).toMatchObject({ deleted_count: 7, status: 'succeeded', partial: false, dry_run: false, errors: [] });
    const runs = await runsOf(db, 'ok-job');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ status: 'succeeded', error: null });
    expect(Number(runs[0].rows_affected)).toBe(7);
    expect(await db.query(`select * from cronwarden.cron_job_leases`)).toEqual([]);
    expect(logs.ofType('cron_run_finished')).toHaveLength(1);
  });

  it('records a failed run with its error, releases the lease, and keeps secrets out', async () => {
    const db = await engine.fresh();
    const { deps, logs } = testDeps(db);
    const secret = deps.config.cron.secret!;
    const out = await runJob(
      job('bad-job', async () => {
        throw new Error(`storage refused token ${secret}`);
      }),
      { input: {}, dryRun: false },
      deps,
    );
    expect(out.kind).toBe('crashed');
    const [run] = await runsOf(db, 'bad-job');
    expect(run.status).toBe('failed');
    expect(run.error).toContain('storage refused token');
    expect(run.error).not.toContain(secret);
    expect(logs.raw.join('')).not.toContain(secret);
    expect(await db.query(`select * from cronwarden.cron_job_leases`)).toEqual([]);
  });

  it('lets exactly one of two overlapping invocations run; the other gets the holder id', async () => {
    const db = await engine.fresh();
    const { deps } = testDeps(db);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let started = 0;
    const slow = job('slow-job', async () => {
      started++;
      await gate;
      return { errors: [], rows_affected: 1 };
    });
    const first = runJob(slow, { input: {}, dryRun: false }, deps);
    // wait until the first run holds the lease
    while (started === 0) await new Promise((r) => setTimeout(r, 5));
    const second = await runJob(slow, { input: {}, dryRun: false }, deps);
    release();
    const firstOut = await first;
    expect(firstOut.kind).toBe('finished');
    expect(second.kind).toBe('conflict');
    if (second.kind === 'conflict') expect(second.holderRunId).toBe(firstOut.runId);
    expect(started).toBe(1);
    const statuses = (await runsOf(db, 'slow-job')).map((r) => r.status).sort();
    expect(statuses).toEqual(['skipped', 'succeeded']);
  });

  it('of many simultaneous invocations exactly one runs', async () => {
    const db = await engine.fresh();
    const { deps } = testDeps(db);
    let runs = 0;
    let conflicts = 0;
    // The running invocation holds its lease until the nine others have answered (or a second
    // one has entered, which fails the test below): a slow machine cannot make them sequential.
    let release!: () => void;
    const othersAnswered = new Promise<void>((r) => (release = r));
    const j = job('race-job', async () => {
      if (++runs > 1) release();
      await othersAnswered;
      return { errors: [], rows_affected: 0 };
    });
    const outs = await Promise.all(
      Array.from({ length: 10 }, () =>
        runJob(j, { input: {}, dryRun: false }, deps).then((o) => {
          if (o.kind === 'conflict' && ++conflicts === 9) release();
          return o;
        }),
      ),
    );
    expect(outs.filter((o) => o.kind === 'finished')).toHaveLength(1);
    expect(outs.filter((o) => o.kind === 'conflict')).toHaveLength(9);
    expect(runs).toBe(1);
  });

  it('takes over the lease of a dead holder after its TTL and records that run as failed', async () => {
    const db = await engine.fresh();
    const t0 = new Date('2026-11-20T10:00:00Z');
    // A holder that died: lease and running row left behind.
    const deadRun = '00000000-0000-4000-8000-000000000001';
    await db.rpc('cron_begin_run', { p_job: 'crashy', p_run_id: deadRun, p_ttl_seconds: 120, p_now: t0 });
    const j = job('crashy', async () => ({ errors: [], rows_affected: 0 }), 60);

    const early = testDeps(db, { now: () => new Date(t0.getTime() + 119_000) }).deps;
    expect((await runJob(j, { input: {}, dryRun: false }, early)).kind).toBe('conflict');

    const { deps, logs } = testDeps(db, { now: () => new Date(t0.getTime() + 121_000) });
    const out = await runJob(j, { input: {}, dryRun: false }, deps);
    expect(out.kind).toBe('finished');
    const [dead] = await db.query<{ status: string; error: string }>(`select status, error from cronwarden.cron_job_runs where id = $1`, [deadRun]);
    expect(dead.status).toBe('failed');
    expect(dead.error).toMatch(/lease expired/);
    expect(logs.ofType('cron_lease_expired')).toHaveLength(1);
  });

  it('passes dryRun to the job and records it', async () => {
    const db = await engine.fresh();
    const { deps } = testDeps(db);
    let seen: boolean | undefined;
    await runJob(job('dry', async (ctx) => ((seen = ctx.dryRun), { errors: [], rows_affected: 0 })), { input: {}, dryRun: true }, deps);
    expect(seen).toBe(true);
    const [run] = await runsOf(db, 'dry');
    expect(run.dry_run).toBe(true);
  });

  it('reports partial when the time budget ends between batches', async () => {
    const db = await engine.fresh();
    const { deps } = testDeps(db);
    let clock = 0;
    let batches = 0;
    const batched = job('batched', async ({ budget }) => {
      while (batches < 100) {
        if (!budget.hasTimeFor(10)) return { errors: [], rows_affected: batches, partial: true };
        batches++;
        clock += 10; // each batch "takes" 10 ms of the injected clock
      }
      return { errors: [], rows_affected: batches };
    });
    const out = await runJob(batched, { input: {}, dryRun: false, budgetMs: 55, budgetClock: () => clock }, deps);
    expect(out.kind).toBe('finished');
    if (out.kind === 'finished') {
      expect(out.status).toBe('partial');
      expect(out.result.partial).toBe(true);
    }
    expect(batches).toBe(5);
    const [run] = await runsOf(db, 'batched');
    expect(run.status).toBe('partial');
  });
});

describeEngines('job runner: recorded history', (engine) => {
  it('a run killed and found 31 days later is recorded failed, and the new run starts (durations are bigint)', async () => {
    const db = await engine.fresh();
    const start = new Date('2026-10-01T03:00:00Z');
    const dead = 'dddddddd-0000-4000-8000-000000000001';
    await db.query(
      `insert into cronwarden.cron_job_runs (id, job, status, started_at) values ($1, 'monthly-job', 'running', $2)`,
      [dead, start],
    );
    await db.query(
      `insert into cronwarden.cron_job_leases (job, run_id, acquired_at, expires_at) values ('monthly-job', $1, $2, $3)`,
      [dead, start, new Date(start.getTime() + 360_000)],
    );
    const later = new Date(start.getTime() + 31 * 86_400_000);
    const { deps } = testDeps(db, { now: () => later });
    const out = await runJob(job('monthly-job', async () => ({ errors: [], rows_affected: 0 })), { input: {}, dryRun: false }, deps);
    expect(out.kind).toBe('finished');
    const [old] = await db.query<{ status: string; duration_ms: number }>(`select status, duration_ms from cronwarden.cron_job_runs where id = $1`, [dead]);
    expect(old).toEqual({ status: 'failed', duration_ms: 31 * 86_400_000 });
    // the overrun sweep copes with the same age
    await db.query(`insert into cronwarden.cron_job_runs (id, job, status, started_at) values ('dddddddd-0000-4000-8000-000000000002', 'other-job', 'running', $1)`, [start]);
    const swept = await db.rpc<{ run_id: string }>('cron_fail_overrun_runs', { p_now: later });
    expect(swept.map((r) => r.run_id)).toEqual(['dddddddd-0000-4000-8000-000000000002']);
  });

  it('a run whose clock was read before the previous run ended is recorded as starting after it: no two recorded runs overlap', async () => {
    const db = await engine.fresh();
    const t0 = new Date('2026-11-30T10:00:00.000Z');
    let clock = t0.getTime();
    const { deps } = testDeps(db, { now: () => new Date(clock) });
    // First run: recorded from t0 to t0 + 40 ms.
    clock = t0.getTime();
    await runJob(job('tight-job', async () => ({ errors: [], rows_affected: 0 })), { input: {}, dryRun: false }, deps);
    await db.query(`update cronwarden.cron_job_runs set finished_at = $1 where job = 'tight-job'`, [new Date(t0.getTime() + 40)]);
    // Second run: its clock says t0 + 10 ms (read while it waited for a connection), after the lease was free.
    clock = t0.getTime() + 10;
    await runJob(job('tight-job', async () => ({ errors: [], rows_affected: 0 })), { input: {}, dryRun: false }, deps);
    const runs = await db.query<{ started_at: Date; finished_at: Date }>(
      `select started_at, finished_at from cronwarden.cron_job_runs where job = 'tight-job' order by started_at`,
    );
    expect(runs).toHaveLength(2);
    expect(runs[1].started_at.getTime()).toBeGreaterThanOrEqual(runs[0].finished_at.getTime());
    expect(runs[1].finished_at.getTime()).toBeGreaterThanOrEqual(runs[1].started_at.getTime());
  });
});
