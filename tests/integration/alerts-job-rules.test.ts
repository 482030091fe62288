import { expect, it } from 'vitest';
import { evaluateAlerts } from '../../src/lib/alerts/engine';
import { createJobRules } from '../../src/lib/alerts/rules/jobs';
import type { AlertObservation, AlertRule } from '../../src/lib/alerts/types';
import type { SqlDb } from '../../src/lib/db/types';
import { allFeaturesBound } from '../../src/lib/bindings/features';
import { demoBindings } from '../../src/lib/bindings/spec';
import { runJob } from '../../src/lib/cron/runner';
import { ruleJobs } from '../../src/lib/cron/registry';
import { alertsEvaluateJob, alertsEvaluateWiring } from '../../src/lib/jobs/alerts-evaluate';
import { describeEngines } from '../support/db';
import { captureLogs, testConfig } from '../support/deps';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const HOUR = 3_600_000;
const iso = (s: string) => new Date(s);
const minutesAfter = (d: Date, m: number) => new Date(d.getTime() + m * 60_000);

interface RunFixture {
  job: string;
  status: 'running' | 'succeeded' | 'failed' | 'partial' | 'skipped';
  started: string;
  finished?: string;
  dry?: boolean;
  error?: string;
}

async function insertRun(db: SqlDb, r: RunFixture): Promise<string> {
  const [row] = await db.query<{ id: string }>(
    `insert into cronwarden.cron_job_runs (id, job, status, started_at, finished_at, duration_ms, dry_run, error)
     values (gen_random_uuid(), $1, $2, $3, $4,
             case when $4::timestamptz is null then null else (extract(epoch from ($4::timestamptz - $3::timestamptz)) * 1000)::integer end,
             $5, $6)
     returning id`,
    [r.job, r.status, iso(r.started), r.finished ? iso(r.finished) : r.status === 'running' ? null : iso(r.started), r.dry ?? false, r.error ?? null],
  );
  return row.id;
}

function ctx(db: SqlDb, now: Date, dryRun = false) {
  const config = testConfig();
  const { log, logs } = captureLogs();
  return { c: { db, config, log, now, dryRun }, logs, config, log };
}

const byJob = (obs: AlertObservation[]) => Object.fromEntries(obs.map((o) => [o.subject, o]));
const rule = (rules: AlertRule[], id: string) => rules.find((r) => r.id === id) as AlertRule;

describeEngines('job alert rules', (engine) => {
  it('jobs.stalled: no successful non-dry run for more than interval + 2 intervals of grace', async () => {
    const db = await engine.fresh();
    const rules = createJobRules({
      crons: () => [
        { path: '/api/cron/hourly-a', schedule: '0 * * * *' },
        { path: '/api/cron/hourly-b', schedule: '0 * * * *' },
        { path: '/api/cron/hourly-c', schedule: '0 * * * *' },
        { path: '/api/cron/daily-d', schedule: '30 4 * * *' },
        { path: '/api/cron/never-e', schedule: '*/5 * * * *' },
        { path: '/api/cron/skip-f', schedule: '0 * * * *' },
      ],
    });
    const stalled = rule(rules, 'jobs.stalled');
    expect(stalled).toMatchObject({ threshold: 3, comparison: 'gt', severity: 'HIGH' });

    await insertRun(db, { job: 'hourly-a', status: 'succeeded', started: '2026-11-20T08:00:00Z', finished: '2026-11-20T08:30:00Z' });
    await insertRun(db, { job: 'hourly-b', status: 'partial', started: '2026-11-20T09:00:00Z', finished: '2026-11-20T09:30:00Z' });
    // c: a dry run and a failure after the last real success do not count as success
    await insertRun(db, { job: 'hourly-c', status: 'succeeded', started: '2026-11-20T08:00:00Z', finished: '2026-11-20T08:45:00Z' });
    await insertRun(db, { job: 'hourly-c', status: 'failed', started: '2026-11-20T11:00:00Z', finished: '2026-11-20T11:01:00Z', error: 'boom' });
    await insertRun(db, { job: 'hourly-c', status: 'succeeded', started: '2026-11-20T11:50:00Z', finished: '2026-11-20T11:51:00Z', dry: true });
    await insertRun(db, { job: 'daily-d', status: 'succeeded', started: '2026-11-18T04:30:00Z', finished: '2026-11-18T04:31:00Z' });
    await insertRun(db, { job: 'skip-f', status: 'succeeded', started: '2026-11-20T07:00:00Z', finished: '2026-11-20T07:01:00Z' });
    await insertRun(db, { job: 'skip-f', status: 'skipped', started: '2026-11-20T11:30:00Z' });

    const { c } = ctx(db, NOW);
    const obs = byJob(await stalled.observe(c));
    const expected = {
      'hourly-a': (NOW.getTime() - iso('2026-11-20T08:30:00Z').getTime()) / HOUR, // 3.5
      'hourly-b': (NOW.getTime() - iso('2026-11-20T09:30:00Z').getTime()) / HOUR, // 2.5
      'hourly-c': (NOW.getTime() - iso('2026-11-20T08:45:00Z').getTime()) / HOUR, // 3.25
      'daily-d': (NOW.getTime() - iso('2026-11-18T04:31:00Z').getTime()) / (24 * HOUR), // 2.31
      'never-e': 0,
      'skip-f': (NOW.getTime() - iso('2026-11-20T07:01:00Z').getTime()) / HOUR, // 4.98
    };
    expect(Object.keys(obs).sort()).toEqual(Object.keys(expected).sort());
    for (const [job, value] of Object.entries(expected)) expect(obs[job].value, job).toBeCloseTo(value, 9);
    expect(obs['hourly-a'].details).toMatchObject({ schedule: '0 * * * *', interval_minutes: 60, allowed_minutes: 180, measured_from: 'last_success' });
    expect(obs['never-e'].details).toMatchObject({ measured_from: 'first_seen', interval_minutes: 5 });

    // Through the engine: exactly the three stale jobs open.
    const config = testConfig();
    const { log } = captureLogs();
    const s = await evaluateAlerts({ db, config, log, now: NOW, rules: [stalled], channels: [] });
    expect(s.changes.filter((x) => x.transition === 'opened').map((x) => x.subject).sort()).toEqual(['hourly-a', 'hourly-c', 'skip-f']);

    // A job that never ran is measured from when the monitor first saw it (NOW): 15 minutes of
    // grace for a 5-minute schedule.
    const e14 = byJob(await stalled.observe(ctx(db, minutesAfter(NOW, 14)).c))['never-e'];
    expect(e14.value).toBeCloseTo(14 / 5, 9);
    const e16 = byJob(await stalled.observe(ctx(db, minutesAfter(NOW, 16)).c))['never-e'];
    expect(e16.value).toBeCloseTo(16 / 5, 9);
    expect(e16.details).toMatchObject({ first_seen_at: NOW });

    // A success clears it at the next evaluation.
    await insertRun(db, { job: 'hourly-a', status: 'succeeded', started: '2026-11-20T12:00:00Z', finished: '2026-11-20T12:02:00Z' });
    const s2 = await evaluateAlerts({ db, config, log, now: minutesAfter(NOW, 5), rules: [stalled], channels: [] });
    expect(s2.changes.filter((x) => x.transition === 'resolved').map((x) => x.subject)).toEqual(['hourly-a']);
  });

  it('jobs.stalled by default follows the active scheduler: on Vercel Hobby an hourly job runs once a day', async () => {
    const db = await engine.fresh();
    const stalled = rule(createJobRules(), 'jobs.stalled');
    // The hourly draft cleanup last succeeded at the previous daily dispatch, 7 hours ago.
    await insertRun(db, { job: 'draft-cleanup', status: 'succeeded', started: '2026-11-20T05:00:00Z', finished: '2026-11-20T05:01:00Z' });
    const observe = async (env: Record<string, string>) => {
      const { log } = captureLogs();
      return byJob(await stalled.observe({ db, config: testConfig(env), log, now: NOW, dryRun: false }))['draft-cleanup'];
    };
    const pro = await observe({ CRON_SCHEDULER: 'vercel-pro' });
    expect(pro.details).toMatchObject({ schedule: '0 * * * *', interval_minutes: 60 });
    expect(pro.value).toBeGreaterThan(3); // stalled on Pro
    const hobby = await observe({ CRON_SCHEDULER: 'vercel-hobby' });
    expect(hobby.details).toMatchObject({ schedule: '0 5 * * *', interval_minutes: 24 * 60 });
    expect(hobby.value).toBeCloseTo((7 * 60 - 1) / (24 * 60), 9); // well within a day
  });

  it('jobs.failing: 3 consecutive failed runs, skipped, running and dry runs ignored', async () => {
    const db = await engine.fresh();
    const failing = rule(createJobRules({ crons: () => [] }), 'jobs.failing');
    expect(failing).toMatchObject({ threshold: 3, comparison: 'gte' });
    const day = '2026-11-20T';
    const ids: Record<string, string> = {};
    const add = async (key: string, r: RunFixture) => (ids[key] = await insertRun(db, r));

    await add('f3-1', { job: 'fail-3', status: 'succeeded', started: `${day}01:00:00Z` });
    await add('f3-2', { job: 'fail-3', status: 'failed', started: `${day}02:00:00Z`, error: 'first' });
    await add('f3-s', { job: 'fail-3', status: 'skipped', started: `${day}02:30:00Z` });
    await add('f3-3', { job: 'fail-3', status: 'failed', started: `${day}03:00:00Z`, error: 'second' });
    await add('f3-4', { job: 'fail-3', status: 'failed', started: `${day}04:00:00Z`, error: 'third' });

    await add('r-1', { job: 'recovered', status: 'failed', started: `${day}01:00:00Z` });
    await add('r-2', { job: 'recovered', status: 'failed', started: `${day}02:00:00Z` });
    await add('r-3', { job: 'recovered', status: 'failed', started: `${day}03:00:00Z` });
    await add('r-4', { job: 'recovered', status: 'partial', started: `${day}04:00:00Z` });

    await add('t-1', { job: 'two', status: 'succeeded', started: `${day}01:00:00Z` });
    await add('t-2', { job: 'two', status: 'failed', started: `${day}02:00:00Z` });
    await add('t-3', { job: 'two', status: 'failed', started: `${day}03:00:00Z` });

    await add('d-1', { job: 'dry-mixed', status: 'failed', started: `${day}01:00:00Z` });
    await add('d-2', { job: 'dry-mixed', status: 'failed', started: `${day}02:00:00Z` });
    await add('d-3', { job: 'dry-mixed', status: 'succeeded', started: `${day}02:30:00Z`, dry: true });
    await add('d-4', { job: 'dry-mixed', status: 'failed', started: `${day}03:00:00Z` });
    await add('d-5', { job: 'dry-mixed', status: 'failed', started: `${day}04:00:00Z`, dry: true });

    await add('x-1', { job: 'running-now', status: 'failed', started: `${day}01:00:00Z` });
    await add('x-2', { job: 'running-now', status: 'failed', started: `${day}02:00:00Z` });
    await add('x-3', { job: 'running-now', status: 'failed', started: `${day}03:00:00Z` });
    await add('x-4', { job: 'running-now', status: 'running', started: `${day}11:59:00Z` });

    const obs = byJob(await failing.observe(ctx(db, NOW).c));
    expect(Object.fromEntries(Object.entries(obs).map(([k, o]) => [k, o.value]))).toEqual({
      'fail-3': 3,
      recovered: 0,
      two: 2,
      'dry-mixed': 3,
      'running-now': 3,
    });
    expect(obs['fail-3'].details).toMatchObject({
      consecutive_failures: 3,
      run_ids: [ids['f3-4'], ids['f3-3'], ids['f3-2']],
      errors: ['third', 'second', 'first'],
    });
    expect(new Date(obs['fail-3'].details?.last_failed_at as string).toISOString()).toBe(`${day}04:00:00.000Z`);

    const config = testConfig();
    const { log } = captureLogs();
    const s = await evaluateAlerts({ db, config, log, now: NOW, rules: [failing], channels: [] });
    expect(s.changes.map((x) => `${x.subject}:${x.transition}`).sort()).toEqual(['dry-mixed:opened', 'fail-3:opened', 'running-now:opened']);
  });

  it('jobs.overran: a run still running past its lease expiry is marked failed and alerted until a later success', async () => {
    const db = await engine.fresh();
    const overran = rule(createJobRules({ crons: () => [] }), 'jobs.overran');
    const expiredRun = await insertRun(db, { job: 'over-job', status: 'running', started: '2026-11-20T11:50:00Z' });
    await db.query(`insert into cronwarden.cron_job_leases (job, run_id, acquired_at, expires_at) values ($1, $2, $3, $4)`, [
      'over-job',
      expiredRun,
      iso('2026-11-20T11:50:00Z'),
      iso('2026-11-20T11:59:00Z'),
    ]);
    const liveRun = await insertRun(db, { job: 'live-job', status: 'running', started: '2026-11-20T11:58:00Z' });
    await db.query(`insert into cronwarden.cron_job_leases (job, run_id, acquired_at, expires_at) values ($1, $2, $3, $4)`, [
      'live-job',
      liveRun,
      iso('2026-11-20T11:58:00Z'),
      iso('2026-11-20T12:30:00Z'),
    ]);
    const orphanRun = await insertRun(db, { job: 'orphan-job', status: 'running', started: '2026-11-20T11:30:00Z' });
    // An old overrun followed by a success: over and done with.
    await insertRun(db, {
      job: 'old-job',
      status: 'failed',
      started: '2026-11-18T10:00:00Z',
      error: 'lease expired before the run finished: its process died or overran its time limit',
    });
    await insertRun(db, { job: 'old-job', status: 'succeeded', started: '2026-11-18T11:00:00Z' });

    const statuses = async () =>
      Object.fromEntries(
        (await db.query<{ id: string; status: string }>(`select id, status from cronwarden.cron_job_runs where id = any($1::uuid[])`, [[expiredRun, liveRun, orphanRun]])).map(
          (r) => [r.id, r.status],
        ),
      );

    // Dry run: counted, nothing marked.
    const dry = byJob(await overran.observe(ctx(db, NOW, true).c));
    expect(Object.fromEntries(Object.entries(dry).map(([k, o]) => [k, o.value]))).toEqual({ 'over-job': 1, 'orphan-job': 1 });
    expect(await statuses()).toEqual({ [expiredRun]: 'running', [liveRun]: 'running', [orphanRun]: 'running' });

    const { c, logs } = ctx(db, NOW);
    const obs = byJob(await overran.observe(c));
    expect(Object.fromEntries(Object.entries(obs).map(([k, o]) => [k, o.value]))).toEqual({ 'over-job': 1, 'orphan-job': 1 });
    expect(obs['over-job'].details).toMatchObject({ marked_now: [expiredRun], last_run_id: expiredRun });
    expect(await statuses()).toEqual({ [expiredRun]: 'failed', [liveRun]: 'running', [orphanRun]: 'failed' });
    const [marked] = await db.query<{ finished_at: Date; duration_ms: number; error: string; overran: boolean }>(
      `select finished_at, duration_ms, error, (result->>'overran')::boolean as overran from cronwarden.cron_job_runs where id = $1`,
      [expiredRun],
    );
    expect(marked).toEqual({
      finished_at: NOW,
      duration_ms: 10 * 60_000,
      error: 'lease expired before the run finished: its process died or overran its time limit',
      overran: true,
    });
    expect(logs.ofType('cron_run_overrun').map((l) => l.run_id).sort()).toEqual([expiredRun, orphanRun].sort());

    // Alerted through the engine (the runs are already marked: same answer, nothing marked twice).
    const config = testConfig();
    const { log } = captureLogs();
    const s = await evaluateAlerts({ db, config, log, now: NOW, rules: [overran], channels: [] });
    expect(s.changes.map((x) => `${x.subject}:${x.transition}`).sort()).toEqual(['orphan-job:opened', 'over-job:opened']);

    // The next run of over-job succeeds: its alert resolves; orphan-job's stays open.
    await insertRun(db, { job: 'over-job', status: 'succeeded', started: '2026-11-20T12:05:00Z', finished: '2026-11-20T12:06:00Z' });
    const s2 = await evaluateAlerts({ db, config, log, now: minutesAfter(NOW, 10), rules: [overran], channels: [] });
    expect(s2.changes.map((x) => `${x.subject}:${x.transition}`)).toEqual(['over-job:resolved']);
    expect(s2.open_alerts).toBe(1);
  });

  it('jobs of a switched-off or unbound feature, and of a rule that did not bind, are not watched by stalled, failing or overran', async () => {
    const db = await engine.fresh();
    const config = testConfig({ CRON_SCHEDULER: 'vercel-pro' });
    const { log } = captureLogs();
    const features = allFeaturesBound();
    features.exports = { ...features.exports, enabled: false, bound: false, problems: [] };
    features.imports = { ...features.imports, bound: false, problems: ['imports: table public.import_runs does not exist (set bindings.imports.runs.table)'] };
    const ruleJob = ruleJobs()[0].name;
    const off = ['export-file-cleanup', 'export-log-cleanup', 'maintenance', ruleJob];
    const watched = ['draft-cleanup', 'storage-cleanup-retry'];
    // Seen 5 days ago and never run since: stalled, unless not run here.
    for (const job of [...off, ...watched]) {
      await db.query(`insert into cronwarden.cron_job_first_seen (job, first_seen_at) values ($1, $2)`, [job, new Date(NOW.getTime() - 5 * 24 * HOUR)]);
    }
    // Three failures in a row (failing) and a run past its lease (overran), each on a job that is off and on one that runs.
    for (const job of ['export-log-cleanup', 'draft-cleanup']) {
      for (const h of [9, 10, 11]) await insertRun(db, { job, status: 'failed', started: `2026-11-20T${String(h).padStart(2, '0')}:00:00Z`, error: 'boom' });
    }
    for (const job of ['maintenance', 'storage-cleanup-retry']) {
      const id = await insertRun(db, { job, status: 'running', started: '2026-11-20T11:30:00Z' });
      await db.query(`insert into cronwarden.cron_job_leases (job, run_id, acquired_at, expires_at) values ($1, $2, $3, $4)`, [job, id, iso('2026-11-20T11:30:00Z'), iso('2026-11-20T11:40:00Z')]);
    }
    const saved = { ...alertsEvaluateWiring };
    alertsEvaluateWiring.rules = () => createJobRules();
    alertsEvaluateWiring.channels = () => [];
    try {
      const deps = { db, config, log, storage: undefined as never, now: () => NOW, features, bindings: demoBindings(), rules: {} };
      const out = await runJob(alertsEvaluateJob, { input: {}, dryRun: false }, deps);
      expect(out.kind).toBe('finished');
      const open = await db.query<{ rule_id: string; subject: string }>(`select rule_id, subject from cronwarden.alerts where state = 'open' order by rule_id, subject`);
      const subjects = (id: string) => open.filter((a) => a.rule_id === id).map((a) => a.subject);
      for (const job of off) expect(open.map((a) => a.subject), job).not.toContain(job);
      expect(subjects('jobs.stalled')).toEqual(expect.arrayContaining(watched));
      expect(subjects('jobs.failing')).toEqual(['draft-cleanup']);
      expect(subjects('jobs.overran')).toEqual(['storage-cleanup-retry']);
      // The overrun of a job that is off is still recorded as failed (the run did not finish).
      const [m] = await db.query<{ status: string }>(`select status from cronwarden.cron_job_runs where job = 'maintenance'`);
      expect(m.status).toBe('failed');
    } finally {
      Object.assign(alertsEvaluateWiring, saved);
    }
  });
});
