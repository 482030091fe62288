import { expect, it } from 'vitest';
import { z } from 'zod';
import { getRun, jobsOverview, recentRuns, runsPerDay, type RunRecord } from '../../src/lib/admin/jobs';
import { parseCronwardenConfig } from '../../src/lib/bindings/spec';
import { jobs, ruleJobs } from '../../src/lib/cron/registry';
import { runJob } from '../../src/lib/cron/runner';
import { describeSchedule, nextRuns, scheduleOf } from '../../src/lib/cron/schedule';
import { defineJob } from '../../src/lib/cron/types';
import type { SqlDb } from '../../src/lib/db/types';
import { describeEngines } from '../support/db';
import { testDeps } from '../support/deps';

const NOW = new Date('2026-11-23T12:00:00Z');
const JOB = 'run-history-prune';

async function insertRun(
  db: SqlDb,
  r: { id: string; job?: string; status: string; started: string; duration?: number; rows?: number; dry?: boolean; error?: string | null; result?: unknown },
) {
  const started = new Date(r.started);
  await db.query(
    `insert into cronwarden.cron_job_runs (id, job, status, started_at, finished_at, duration_ms, dry_run, trigger, input, result, rows_affected, error)
     values ($1, $2, $3, $4, $5, $6, $7, 'scheduler', '{}'::jsonb, $8::jsonb, $9, $10)`,
    [
      r.id,
      r.job ?? JOB,
      r.status,
      started,
      r.status === 'running' ? null : new Date(started.getTime() + (r.duration ?? 0)),
      r.status === 'running' ? null : (r.duration ?? 0),
      r.dry ?? false,
      r.result === undefined ? null : JSON.stringify(r.result),
      r.rows ?? 0,
      r.error ?? null,
    ],
  );
}

const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

describeEngines('admin jobs overview', (engine) => {
  it('joins the registry, the schedule table and the run history, with plain JSON values', async () => {
    const db = await engine.fresh();
    await insertRun(db, { id: id(1), status: 'succeeded', started: '2026-11-21T04:30:00Z', duration: 120, rows: 4, result: { errors: [], deleted_count: 4 } });
    await insertRun(db, { id: id(2), status: 'failed', started: '2026-11-22T04:30:00Z', duration: 900, error: 'boom' });
    await insertRun(db, { id: id(3), status: 'succeeded', started: '2026-11-23T04:30:00Z', duration: 75, rows: 12 });
    await insertRun(db, { id: id(4), status: 'skipped', started: '2026-11-23T04:30:01Z' });

    const overview = await jobsOverview(db, NOW, new Map([[JOB, 2]]), 'vercel-pro');
    // The built-in jobs, then the default configuration's rule jobs.
    expect(overview.map((j) => j.name)).toEqual([...jobs, ...ruleJobs()].map((j) => j.name));
    const prune = overview.find((j) => j.name === JOB)!;
    const schedule = scheduleOf(JOB)!;
    expect(prune).toEqual({
      name: JOB,
      description: jobs.find((j) => j.name === JOB)!.description,
      max_duration_seconds: 60,
      schedule,
      schedule_text: describeSchedule(schedule),
      next_run_at: nextRuns(schedule, 1, NOW)[0].toISOString(),
      // Vercel Pro fires the jobs; these runs came from the local scheduler.
      fired_by: { scheduler: 'vercel-pro', label: 'Vercel Cron (Pro)', less_often: false, last_fired_at: null },
      running: false,
      // 24 h before NOW: the 04:30 runs of today (succeeded and skipped); yesterday's failure is older.
      runs_24h: 1,
      failures_24h: 0,
      // The skipped overlap is not a "last run".
      last_run: {
        id: id(3),
        status: 'succeeded',
        started_at: '2026-11-23T04:30:00.000Z',
        finished_at: '2026-11-23T04:30:00.075Z',
        duration_ms: 75,
        rows_affected: 12,
      },
      last_success_at: '2026-11-23T04:30:00.075Z',
      last_dry_run: null,
      feature: null,
      open_alerts: 2,
    });
    const never = overview.find((j) => j.name !== JOB)!;
    expect(never).toMatchObject({ last_run: null, runs_24h: 0, failures_24h: 0, last_success_at: null, open_alerts: 0 });
    // Without alert state the count is unknown, not zero.
    expect((await jobsOverview(db, NOW)).every((j) => j.open_alerts === null)).toBe(true);
  });

  it('names the scheduler that fires each job, when it last did, and its next firing', async () => {
    const db = await engine.fresh();
    // insertRun records trigger 'scheduler' (the local scheduler); the newest is a skipped overlap.
    await insertRun(db, { id: id(1), status: 'succeeded', started: '2026-11-22T04:30:00Z' });
    await insertRun(db, { id: id(2), status: 'skipped', started: '2026-11-23T04:30:00Z' });
    const local = (await jobsOverview(db, NOW, undefined, 'local')).find((j) => j.name === JOB)!;
    expect(local.fired_by).toEqual({ scheduler: 'local', label: 'local scheduler (npm start)', less_often: false, last_fired_at: '2026-11-23T04:30:00.000Z' });
    const hobby = await jobsOverview(db, NOW, undefined, 'vercel-hobby');
    expect(hobby.find((j) => j.name === JOB)!.fired_by).toMatchObject({ scheduler: 'vercel-hobby', less_often: false, last_fired_at: null });
    // The 5-minute alert evaluation runs at the next daily dispatch on Hobby.
    expect(hobby.find((j) => j.name === 'alerts-evaluate')).toMatchObject({
      fired_by: { less_often: true },
      next_run_at: '2026-11-24T05:00:00.000Z',
    });
  });

  it('lists runs newest first and reads one run with its result and error', async () => {
    const db = await engine.fresh();
    await insertRun(db, { id: id(1), status: 'succeeded', started: '2026-11-21T04:30:00Z', duration: 120, rows: 4, result: { errors: [], deleted_count: 4 } });
    await insertRun(db, { id: id(2), status: 'failed', started: '2026-11-22T04:30:00Z', duration: 900, error: 'boom', dry: true });
    await insertRun(db, { id: id(3), job: 'other-job', status: 'succeeded', started: '2026-11-22T05:00:00Z' });

    expect((await recentRuns(db, null, 10)).map((r) => r.id)).toEqual([id(3), id(2), id(1)]);
    expect((await recentRuns(db, JOB, 1)).map((r) => r.id)).toEqual([id(2)]);
    const run = await getRun(db, id(1));
    expect(run).toEqual({
      id: id(1),
      job: JOB,
      status: 'succeeded',
      started_at: '2026-11-21T04:30:00.000Z',
      finished_at: '2026-11-21T04:30:00.120Z',
      duration_ms: 120,
      dry_run: false,
      trigger: 'scheduler',
      input: {},
      result: { errors: [], deleted_count: 4 },
      rows_affected: 4,
      error: null,
    });
    expect(await getRun(db, id(2))).toMatchObject({ status: 'failed', dry_run: true, error: 'boom', result: null, rows_affected: 0 });
    expect(await getRun(db, id(9))).toBeNull();
  });

  it('shows a run started through the runner with trigger admin, and a job holding its lease as running', async () => {
    const db = await engine.fresh();
    let t = NOW.getTime();
    const { deps } = testDeps(db, { now: () => new Date((t += 1000)) });
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = defineJob({
      name: JOB, // the registry's name, so the overview shows it
      description: 'test',
      input: z.strictObject({}),
      maxDurationSeconds: 60,
      run: async () => {
        await gate;
        return { errors: [], rows_affected: 3 };
      },
    });
    const pending = runJob(slow, { input: {}, dryRun: false, trigger: 'admin' }, deps);
    for (let i = 0; i < 100 && !(await jobsOverview(db, NOW)).find((j) => j.name === JOB)!.running; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await jobsOverview(db, NOW)).find((j) => j.name === JOB)).toMatchObject({ running: true, last_run: { status: 'running' } });
    const second = await runJob(slow, { input: {}, dryRun: true, trigger: 'admin' }, deps);
    expect(second.kind).toBe('conflict');
    release();
    const out = await pending;
    expect(out.kind).toBe('finished');
    // Newest first: the refused overlap (recorded as skipped), then the run itself.
    const [skipped, finished] = await recentRuns(db, JOB, 2);
    expect(skipped).toMatchObject({ trigger: 'admin', status: 'skipped', dry_run: true, rows_affected: 0 });
    expect(finished).toMatchObject({ trigger: 'admin', status: 'succeeded', dry_run: false, rows_affected: 3 });
    expect((await jobsOverview(db, NOW)).find((j) => j.name === JOB)).toMatchObject({ running: false, last_run: { status: 'succeeded', rows_affected: 3 } });
  });
  it('lists the retention policies after the built-in jobs, with their own schedule and run history', async () => {
    const db = await engine.fresh();
    const cronwarden = parseCronwardenConfig({
      policies: [
        { name: 'old-logins', table: 'public.audit_logs', keyColumn: 'id', timeColumn: 'at', age: '30 days', schedule: '15 4 * * *' },
        { name: 'Not A Slug', table: 'public.audit_logs', keyColumn: 'id', timeColumn: 'at', age: '30 days', schedule: '15 4 * * *' },
      ],
    });
    await insertRun(db, { id: id(50), job: 'policies/old-logins', status: 'succeeded', started: '2026-11-23T04:15:00Z', duration: 40, rows: 7 });
    const overview = await jobsOverview(db, NOW, undefined, 'vercel-pro', cronwarden);
    expect(overview.map((j) => j.name)).toEqual([...jobs.map((j) => j.name), 'policies/old-logins']);
    expect(overview.at(-1)).toMatchObject({
      name: 'policies/old-logins',
      description: 'Delete rows of public.audit_logs whose at is older than 30 days',
      max_duration_seconds: 300,
      schedule: '15 4 * * *',
      next_run_at: '2026-11-24T04:15:00.000Z',
      fired_by: { scheduler: 'vercel-pro', less_often: false },
      last_run: { id: id(50), status: 'succeeded', rows_affected: 7 },
    });
  });
});

it('runsPerDay counts final outcomes per UTC day, oldest first, running runs left out', () => {
  const run = (started_at: string, status: RunRecord['status']) => ({ started_at, status, dry_run: false }) as RunRecord;
  const days = runsPerDay(
    [
      run('2026-11-23T11:59:59.000Z', 'succeeded'),
      run('2026-11-23T00:00:00.000Z', 'failed'),
      run('2026-11-22T23:59:59.999Z', 'succeeded'),
      run('2026-11-22T10:00:00.000Z', 'partial'),
      run('2026-11-22T10:00:00.000Z', 'skipped'),
      run('2026-11-21T10:00:00.000Z', 'running'),
      run('2026-11-20T10:00:00.000Z', 'succeeded'), // outside 3 days
      { ...run('2026-11-23T10:00:00.000Z', 'succeeded'), dry_run: true },
      { ...run('2026-11-23T10:30:00.000Z', 'failed'), dry_run: true },
    ],
    NOW,
    3,
  );
  // Dry runs changed nothing: counted apart, never as succeeded (or failed).
  expect(days).toEqual([
    { day: '2026-11-21', succeeded: 0, partial: 0, failed: 0, skipped: 0, dry_run: 0 },
    { day: '2026-11-22', succeeded: 1, partial: 1, failed: 0, skipped: 1, dry_run: 0 },
    { day: '2026-11-23', succeeded: 1, partial: 0, failed: 1, skipped: 0, dry_run: 2 },
  ]);

});
