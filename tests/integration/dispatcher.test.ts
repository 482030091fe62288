import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { z } from 'zod';
import { dispatchDueJobs, dueState, type DispatchEntry } from '../../src/lib/cron/dispatcher';
import { defineJob, type JobContext } from '../../src/lib/cron/types';
import type { SqlDb } from '../../src/lib/db/types';
import { dispatchEntries } from '../../src/lib/http/dispatch-route';
import { jobs as builtInJobs, ruleJobs } from '../../src/lib/cron/registry';
import { describeEngines } from '../support/db';
import { testConfig, testDeps } from '../support/deps';
import { bindRules } from '../../src/lib/policies/apply';
import { getCronwardenConfig } from '../../src/lib/bindings/load';

const NOW = new Date('2026-12-02T11:30:00Z');

/** A job that counts its runs and remembers the budget it was given. */
function countingJob(name: string, opts: { maxDurationSeconds?: number; takesMs?: number; clock?: { t: number } } = {}) {
  const calls: { dryRun: boolean; budgetMs: number }[] = [];
  const job = defineJob({
    name,
    description: name,
    input: z.strictObject({}),
    maxDurationSeconds: opts.maxDurationSeconds ?? 60,
    async run(ctx: JobContext<Record<string, never>>) {
      calls.push({ dryRun: ctx.dryRun, budgetMs: ctx.budget.remainingMs() });
      if (opts.clock && opts.takesMs) opts.clock.t += opts.takesMs;
      return { errors: [], rows_affected: 1 };
    },
  });
  return { job, calls };
}

async function insertRun(db: SqlDb, job: string, status: string, startedAt: string, dryRun = false) {
  const started = new Date(startedAt);
  await db.query(
    `insert into cronwarden.cron_job_runs (id, job, status, started_at, finished_at, duration_ms, dry_run, trigger)
     values ($1, $2, $3, $4, $5, $6, $7, 'vercel')`,
    [randomUUID(), job, status, started, status === 'running' ? null : new Date(started.getTime() + 1000), status === 'running' ? null : 1000, dryRun],
  );
}

const runsOf = (db: SqlDb, job: string) =>
  db.query<{ status: string; trigger: string; dry_run: boolean; started_at: Date | string }>(
    `select status, trigger, dry_run, started_at from cronwarden.cron_job_runs where job = $1 order by started_at, status`,
    [job],
  );

it('dueState within the hour Vercel Hobby fires in: a daily 05:30 job runs on each of four days dispatched at 05:45, 05:05, 05:50, 05:10, never twice in a day', () => {
  const HOUR = 3_600_000;
  const dispatches = ['2026-12-01T05:45:00Z', '2026-12-02T05:05:00Z', '2026-12-03T05:50:00Z', '2026-12-04T05:10:00Z'];
  let last: Date | null = new Date('2026-11-30T05:40:00Z');
  for (const at of dispatches) {
    const now = new Date(at);
    expect(dueState('30 5 * * *', last, now, HOUR).due, at).toBe(true);
    last = now;
    // A second dispatch later that hour (or a manual one) finds it done for the day.
    expect(dueState('30 5 * * *', last, new Date(now.getTime() + 10 * 60_000), HOUR).due, `${at} again`).toBe(false);
  }
  // Without the window, the same dispatches run it every other day.
  last = new Date('2026-11-30T05:40:00Z');
  const ran: boolean[] = [];
  for (const at of dispatches) {
    const due = dueState('30 5 * * *', last, new Date(at)).due;
    ran.push(due);
    if (due) last = new Date(at);
  }
  expect(ran).toEqual([true, false, true, false]);
  // Hourly and five-minute jobs stay due once a day; a 04:15 job too.
  expect(dueState('0 * * * *', new Date('2026-12-01T05:45:00Z'), new Date('2026-12-02T05:05:00Z'), HOUR).due).toBe(true);
  expect(dueState('15 4 * * *', new Date('2026-12-01T05:45:00Z'), new Date('2026-12-02T05:05:00Z'), HOUR).due).toBe(true);
});

it('dueState: due from the first scheduled time after the last run; a job that never ran is due', () => {
  expect(dueState('0 * * * *', new Date('2026-12-02T11:00:00Z'), NOW)).toEqual({ due: false, dueSince: null, nextDue: new Date('2026-12-02T12:00:00Z') });
  expect(dueState('0 * * * *', new Date('2026-12-02T10:59:00Z'), NOW)).toEqual({ due: true, dueSince: new Date('2026-12-02T11:00:00Z'), nextDue: null });
  expect(dueState('0 3 * * *', new Date('2026-11-01T03:00:00Z'), NOW).dueSince).toEqual(new Date('2026-11-02T03:00:00Z'));
  expect(dueState('*/5 * * * *', null, NOW)).toEqual({ due: true, dueSince: null, nextDue: null });
});

describeEngines('dispatcher', (engine) => {
  it('runs exactly the due jobs once: not the fresh one, the overdue one once, the running one skipped; a second call runs none', async () => {
    const db = await engine.fresh();
    const { deps, logs } = testDeps(db, { now: () => NOW });
    const fresh = countingJob('fresh-hourly');
    const overdue = countingJob('overdue-hourly');
    const daily = countingJob('due-daily');
    const never = countingJob('never-ran');
    const dryOnly = countingJob('dry-run-only');
    const running = countingJob('still-running');

    await insertRun(db, 'fresh-hourly', 'succeeded', '2026-12-02T11:00:00Z');
    // 3 days without a run: 75 missed hours, one run.
    await insertRun(db, 'overdue-hourly', 'failed', '2026-11-29T10:00:00Z');
    await insertRun(db, 'due-daily', 'succeeded', '2026-12-01T03:00:00Z');
    // Only dry runs and skipped invocations since 10:00: they are not runs, so 11:00 is owed.
    await insertRun(db, 'dry-run-only', 'succeeded', '2026-12-02T10:00:00Z');
    await insertRun(db, 'dry-run-only', 'succeeded', '2026-12-02T11:10:00Z', true);
    await insertRun(db, 'dry-run-only', 'skipped', '2026-12-02T11:20:00Z');
    // A run that started before 11:00 and still holds the lease.
    const holder = randomUUID();
    await db.rpc('cron_begin_run', { p_job: 'still-running', p_run_id: holder, p_ttl_seconds: 3600, p_dry_run: false, p_input: {}, p_trigger: 'vercel', p_now: new Date('2026-12-02T10:59:00Z') });

    const entries: DispatchEntry[] = [
      { job: fresh.job, schedule: '0 * * * *' },
      { job: overdue.job, schedule: '0 * * * *' },
      { job: daily.job, schedule: '0 3 * * *' },
      { job: never.job, schedule: '*/5 * * * *' },
      { job: dryOnly.job, schedule: '0 * * * *' },
      { job: running.job, schedule: '0 * * * *' },
    ];
    const report = await dispatchDueJobs(entries, { budgetMs: 300_000 }, deps);

    const byJob = Object.fromEntries(report.jobs.map((j) => [j.job, j]));
    expect(report.jobs.map((j) => j.job)).toEqual(entries.map((e) => e.job.name));
    expect(byJob['fresh-hourly']).toMatchObject({ action: 'not_due', last_run_at: '2026-12-02T11:00:00.000Z', next_due_at: '2026-12-02T12:00:00.000Z' });
    expect(byJob['overdue-hourly']).toMatchObject({ action: 'ran', status: 'succeeded', due_since: '2026-11-29T11:00:00.000Z' });
    expect(byJob['due-daily']).toMatchObject({ action: 'ran', status: 'succeeded', due_since: '2026-12-02T03:00:00.000Z' });
    expect(byJob['never-ran']).toMatchObject({ action: 'ran', status: 'succeeded', last_run_at: null, due_since: null });
    expect(byJob['dry-run-only']).toMatchObject({ action: 'ran', last_run_at: '2026-12-02T10:00:00.000Z', due_since: '2026-12-02T11:00:00.000Z' });
    expect(byJob['still-running']).toMatchObject({ action: 'skipped_running', holder_run_id: holder });
    expect(report).toMatchObject({ ran: 4, failed: 0, skipped_running: 1, deferred: 0, not_due: 1, dry_run: false });

    expect([fresh, overdue, daily, never, dryOnly, running].map((j) => j.calls.length)).toEqual([0, 1, 1, 1, 1, 0]);
    // Each ran through the runner: its own run row with trigger 'dispatcher', lease released.
    for (const name of ['overdue-hourly', 'due-daily', 'never-ran', 'dry-run-only']) {
      const mine = (await runsOf(db, name)).filter((r) => r.trigger === 'dispatcher');
      expect(mine.map((r) => r.status), name).toEqual(['succeeded']);
      expect(new Date(mine[0].started_at).toISOString()).toBe(NOW.toISOString());
    }
    expect((await runsOf(db, 'still-running')).map((r) => `${r.status}/${r.trigger}`).sort()).toEqual(['running/vercel', 'skipped/dispatcher']);
    expect(await db.query(`select job from cronwarden.cron_job_leases order by job`)).toEqual([{ job: 'still-running' }]);
    expect(logs.ofType('cron_dispatch_finished')).toHaveLength(1);

    // Same clock again: everything that ran is not due; the running job is skipped again.
    const again = await dispatchDueJobs(entries, { budgetMs: 300_000 }, deps);
    expect(again).toMatchObject({ ran: 0, skipped_running: 1, not_due: 5 });
    expect([fresh, overdue, daily, never, dryOnly, running].map((j) => j.calls.length)).toEqual([0, 1, 1, 1, 1, 0]);
  });

  it('gives each job the smaller of its own limit and the time left, and defers what no longer fits', async () => {
    const db = await engine.fresh();
    const { deps } = testDeps(db, { now: () => NOW });
    const clock = { t: 1_000_000 };
    const a = countingJob('slow-a', { maxDurationSeconds: 300, takesMs: 120_000, clock });
    const b = countingJob('slow-b', { maxDurationSeconds: 300, takesMs: 120_000, clock });
    const c = countingJob('quick-c', { maxDurationSeconds: 60, takesMs: 1_000, clock });
    const d = countingJob('late-d', { maxDurationSeconds: 60, clock });
    const entries = [a, b, c, d].map((x) => ({ job: x.job, schedule: '0 * * * *' }));

    const report = await dispatchDueJobs(entries, { budgetMs: 300_000, reserveMs: 5_000, minJobMs: 15_000, budgetClock: () => clock.t }, deps);
    // 295 s to spend (300 s less 5 s reserve). a: 295 s left, less than its own 297 s (300 s less
    // the runner's 3 s); b: the 175 s left; c: 55 s left, less than its own 57 s; d: 54 s.
    expect(a.calls[0].budgetMs).toBe(295_000);
    expect(b.calls[0].budgetMs).toBe(175_000);
    expect(c.calls[0].budgetMs).toBe(55_000);
    expect(d.calls[0].budgetMs).toBe(54_000);
    expect(report.deferred).toBe(0);

    // A budget that runs out: after two jobs of 141 s, 13 s remain, under the 15 s a job needs.
    const db2 = await engine.fresh();
    const { deps: deps2 } = testDeps(db2, { now: () => NOW });
    const clock2 = { t: 0 };
    const slow = [1, 2, 3].map((i) => countingJob(`slow-${i}`, { maxDurationSeconds: 300, takesMs: 141_000, clock: clock2 }));
    const r2 = await dispatchDueJobs(
      slow.map((x) => ({ job: x.job, schedule: '0 * * * *' })),
      { budgetMs: 300_000, budgetClock: () => clock2.t },
      deps2,
    );
    expect(r2.jobs.map((j) => j.action)).toEqual(['ran', 'ran', 'deferred']);
    expect(r2.jobs[2]).toMatchObject({ job: 'slow-3', last_run_at: null });
    expect(await runsOf(db2, 'slow-3')).toEqual([]);
    // Still due at the next dispatch.
    clock2.t = 0;
    const r3 = await dispatchDueJobs(slow.map((x) => ({ job: x.job, schedule: '0 * * * *' })), { budgetMs: 300_000, budgetClock: () => clock2.t }, deps2);
    expect(r3.jobs.map((j) => j.action)).toEqual(['not_due', 'not_due', 'ran']);
  });

  it('a dry dispatch records dry runs, which leave the jobs due', async () => {
    const db = await engine.fresh();
    const { deps } = testDeps(db, { now: () => NOW });
    const j = countingJob('dry-dispatched');
    const entries = [{ job: j.job, schedule: '0 * * * *' }];
    const dry = await dispatchDueJobs(entries, { budgetMs: 300_000, dryRun: true }, deps);
    expect(dry).toMatchObject({ ran: 1, dry_run: true });
    expect(j.calls).toEqual([expect.objectContaining({ dryRun: true })]);
    expect((await runsOf(db, 'dry-dispatched')).map((r) => r.dry_run)).toEqual([true]);
    const real = await dispatchDueJobs(entries, { budgetMs: 300_000 }, deps);
    expect(real.jobs[0]).toMatchObject({ action: 'ran', last_run_at: null });
  });

  it("runs the registry's jobs in dispatch order (alerts-evaluate last) with their default input", async () => {
    const db = await engine.fresh();
    const { rules } = await bindRules(db, getCronwardenConfig(), testConfig().exports.archivePrefix);
    const { deps } = testDeps(db, { now: () => NOW, rules });
    const entries = dispatchEntries();
    // The built-in jobs and the configuration's rule jobs (the demo policy and orphan sweep).
    expect(entries.map((e) => e.job.name).sort()).toEqual([...builtInJobs, ...ruleJobs()].map((j) => j.name).sort());
    expect(ruleJobs().length).toBeGreaterThan(0);
    expect(entries.at(-1)!.job.name).toBe('alerts-evaluate');
    const report = await dispatchDueJobs(entries, { budgetMs: 300_000 }, deps);
    expect(report.jobs.map((j) => `${j.job}:${j.action}:${j.status}`)).toEqual(entries.map((e) => `${e.job.name}:ran:succeeded`));
    const triggers = await db.query<{ trigger: string; n: string | number }>(`select trigger, count(*) as n from cronwarden.cron_job_runs group by trigger`);
    expect(triggers.map((t) => [t.trigger, Number(t.n)])).toEqual([['dispatcher', entries.length]]);
  });

  it('a rule job whose rule did not bind is reported as off and the jobs after it still run', async () => {
    const db = await engine.fresh();
    // Rules never checked against this database: every rule job is unavailable.
    const { deps } = testDeps(db, { now: () => NOW, rules: {} });
    const entries = dispatchEntries();
    const report = await dispatchDueJobs(entries, { budgetMs: 300_000 }, deps);
    const rules = new Set(ruleJobs().map((j) => j.name));
    for (const j of report.jobs) {
      if (rules.has(j.job)) expect(j, j.job).toMatchObject({ action: 'feature_off', error: expect.stringContaining(`${j.job} cannot run on this database`) });
      else expect(j, j.job).toMatchObject({ action: 'ran', status: 'succeeded' });
    }
    expect(report.jobs.at(-1)!.job).toBe('alerts-evaluate');
  });
});
