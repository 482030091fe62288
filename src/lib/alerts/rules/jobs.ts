import { unavailableReason } from '../../cron/availability';
import { intervalMs, jobNameOfPath, type CronEntry } from '../../cron/schedule';
import { effectiveCronEntries } from '../../schedules/firing';
import { activeScheduler } from '../../schedules/scheduler';
import type { Config } from '../../config';
import type { AlertContext, AlertObservation, AlertRule } from '../types';

/**
 * Rules about the jobs themselves, read from cron_job_runs. A job that is not run here (its
 * feature switched off or not bound, or its policy or orphan sweep did not bind at start) is not
 * watched: its alerts resolve, as the feature's own rules do.
 *
 * - jobs.stalled: no successful (succeeded or partial), non-dry run for longer than the job's
 *   schedule interval + grace (grace: 2 intervals by default), the interval being the one the
 *   active scheduler fires it at (once a day on Vercel Hobby). The value is the number of
 *   schedule intervals since the last success; the alert fires above 3. A job that has never
 *   succeeded is measured from the moment the monitor first saw it scheduled (recorded in
 *   cron_job_first_seen), so a newly deployed job has the same 3 intervals to run once before it
 *   counts as stalled, and an old job whose history was pruned counts from when it was first seen.
 * - jobs.failing: the last 3 finished, non-dry runs of a job failed (skipped runs, which only mean
 *   "another run held the lease", and running ones are ignored).
 * - jobs.overran: a run still 'running' after its lease expired (its process died or the platform
 *   stopped it at maxDuration) is marked failed by this rule, and the alert stays open until the
 *   job's next successful run.
 */

export interface JobRuleOptions {
  /** Schedules to watch (default: each job at the schedule its active scheduler fires it on). */
  crons?: () => CronEntry[];
  /** Grace after the expected run, in schedule intervals (default 2). */
  graceIntervals?: number;
  /** Consecutive failed runs that make a job "failing" (default 3). */
  failureStreak?: number;
}

/**
 * Whether the job of that name runs on this database (see unavailableReason). The registry is
 * imported when first needed: it imports the alert rules itself.
 */
async function runsHere(ctx: Pick<AlertContext, 'features' | 'rules'>): Promise<(job: string) => boolean> {
  if (!ctx.features && !ctx.rules) return () => true;
  const { jobs } = await import('../../cron/registry');
  const featureOf = new Map(jobs.map((j) => [j.name, j.feature]));
  return (job) => unavailableReason({ name: job, feature: featureOf.get(job) }, ctx) === null;
}

const JOBS_PAGE = 'the admin page (/admin) lists every job with its last runs, errors and a Run now button';

export function createJobRules(options: JobRuleOptions = {}): AlertRule[] {
  const crons: (config: Config) => CronEntry[] = options.crons ?? ((config) => effectiveCronEntries(activeScheduler(config)));
  const grace = options.graceIntervals ?? 2;
  const streak = options.failureStreak ?? 3;

  const stalled: AlertRule = {
    id: 'jobs.stalled',
    title: 'Job stalled: no successful run within its schedule interval + grace',
    severity: 'HIGH',
    responseSla: '30 minutes',
    threshold: 1 + grace,
    comparison: 'gt',
    forSeconds: 0,
    runbook:
      `The job has not finished a successful run for more than ${1 + grace} schedule intervals (value: intervals since ` +
      'the last success; details show the schedule, the last success and the last run). Check, in order: (1) does the ' +
      'cron fire at all? /api/health names the scheduler that fires each job and when it last did. On Vercel the ' +
      "project's Cron Jobs tab lists each path from vercel.json (crons only run on the production deployment; on Hobby " +
      'only /api/cron/dispatch, which runs the due jobs once a day); with Supabase Cron, cron.job_run_details and ' +
      'net._http_response show the firings; self-hosted, the `npm start` scheduler must be running. (2) Is it refused? A 401/500 in ' +
      'the logs means CRON_SECRET differs between the caller and the app, or is unset. (3) Does it run but fail or time ' +
      'out? See jobs.failing / jobs.overran and the run errors: ' +
      JOBS_PAGE +
      '. Run it by hand with `curl -H "Authorization: Bearer $CRON_SECRET" "$APP_URL/api/cron/<job>?dryRun=1"`, then ' +
      'without dryRun. The alert clears with the next successful run.',
    async observe({ db, now, dryRun, config, features, rules }) {
      const runs = await runsHere({ features, rules });
      const jobs = new Map<string, string>();
      for (const e of crons(config)) {
        const name = jobNameOfPath(e.path);
        if (name && !jobs.has(name) && runs(name)) jobs.set(name, e.schedule);
      }
      if (jobs.size === 0) return [];
      const rows = await db.rpc<{
        job: string;
        last_success_at: Date | null;
        first_seen_at: Date;
        last_run_at: Date | null;
        last_status: string | null;
      }>('cron_job_staleness', { p_jobs: [...jobs.keys()], p_dry_run: dryRun ?? false, p_now: now });
      return rows.map((r): AlertObservation => {
        const schedule = jobs.get(r.job) as string;
        const since = r.last_success_at ? new Date(r.last_success_at) : new Date(r.first_seen_at);
        const interval = intervalMs(schedule, since);
        const age = Math.max(0, now.getTime() - since.getTime());
        return {
          subject: r.job,
          value: interval > 0 ? age / interval : 0,
          details: {
            schedule,
            interval_minutes: interval / 60_000,
            allowed_minutes: ((1 + grace) * interval) / 60_000,
            minutes_since: Math.round(age / 60_000),
            measured_from: r.last_success_at ? 'last_success' : 'first_seen',
            last_success_at: r.last_success_at,
            first_seen_at: r.first_seen_at,
            last_run_at: r.last_run_at,
            last_status: r.last_status,
          },
        };
      });
    },
  };

  const failing: AlertRule = {
    id: 'jobs.failing',
    title: `Job failing: ${streak} consecutive failed runs`,
    severity: 'HIGH',
    responseSla: '30 minutes',
    threshold: streak,
    comparison: 'gte',
    forSeconds: 0,
    runbook:
      `The job's last ${streak} or more runs failed (value: consecutive failures; details carry the newest run ids and ` +
      'their errors). Read the errors first: GET /api/admin/runs/<run id> shows the full error and result, and the ' +
      'logs have a `cron_run_failed` line with the run id. Usual causes: database unreachable or a migration not ' +
      'applied (GET /api/health lists pending migrations), storage credentials or bucket wrong (STORAGE_DRIVER and its ' +
      'variables), a time limit too short for the backlog (runs end as partial first; see jobs.overran). Fix the cause, ' +
      'then run the job by hand (dry run first) from ' +
      JOBS_PAGE +
      '. The alert clears with the next run that does not fail.',
    async observe({ db, now, features, rules }) {
      const runs = await runsHere({ features, rules });
      const rows = await db.rpc<{
        job: string;
        consecutive_failures: number;
        last_failed_at: Date | null;
        run_ids: string[];
        errors: string[];
      }>('cron_job_failure_streaks', { p_window: Math.max(20, streak), p_now: now });
      return rows.filter((r) => runs(r.job)).map((r) => ({
        subject: r.job,
        value: Number(r.consecutive_failures),
        details: {
          consecutive_failures: Number(r.consecutive_failures),
          last_failed_at: r.last_failed_at,
          run_ids: (r.run_ids ?? []).slice(0, streak),
          errors: (r.errors ?? []).slice(0, 3),
        },
      }));
    },
  };

  const overran: AlertRule = {
    id: 'jobs.overran',
    title: 'Job run overran its time limit (lease expired while running)',
    severity: 'MEDIUM',
    responseSla: '2 hours',
    threshold: 0,
    comparison: 'gt',
    forSeconds: 0,
    runbook:
      'A run was still marked running after its lease expired (maxDuration + 60 s): its process died (crash, ' +
      'out of memory, deployment) or the platform stopped it at its time limit before the runner could record the end. ' +
      'The evaluation has marked such runs failed (error "lease expired before the run finished"). Value: runs that ' +
      'ended this way since the job\'s last success. Look at the platform logs around the run\'s start for a timeout ' +
      'or crash; if the job regularly needs longer, lower its batch size or raise maxDuration (route file and job ' +
      'definition) within the plan\'s limit. Work left undone is picked up by the next run. The alert clears when a ' +
      'later run succeeds.',
    async observe({ db, now, log, dryRun, features, rules }) {
      const runs = await runsHere({ features, rules });
      const marked = await db.rpc<{ run_id: string; job: string; started_at: Date; lease_expires_at: Date | null }>(
        'cron_fail_overrun_runs',
        { p_dry_run: dryRun ?? false, p_now: now },
      );
      if (!dryRun) {
        for (const m of marked) {
          log.error(
            { type: 'cron_run_overrun', job: m.job, run_id: m.run_id, started_at: m.started_at, lease_expires_at: m.lease_expires_at },
            'run still marked running after its lease expired; recorded as failed',
          );
        }
      }
      const rows = await db.rpc<{ job: string; overruns: number; last_run_id: string; last_started_at: Date }>('cron_overrun_summary', {
        p_now: now,
      });
      const byJob = new Map<string, AlertObservation>();
      for (const r of rows) {
        byJob.set(r.job, {
          subject: r.job,
          value: Number(r.overruns),
          details: { overruns_since_last_success: Number(r.overruns), last_run_id: r.last_run_id, last_started_at: r.last_started_at },
        });
      }
      for (const m of marked) {
        const o = byJob.get(m.job) ?? { subject: m.job, value: 0, details: { overruns_since_last_success: 0 } };
        // A dry run has not marked them yet: count them here.
        if (dryRun) o.value += 1;
        const ids = ((o.details?.marked_now as string[] | undefined) ?? []).concat(m.run_id);
        o.details = { ...o.details, marked_now: ids, last_run_id: o.details?.last_run_id ?? m.run_id };
        byJob.set(m.job, o);
      }
      // Runs of a job that is not run here are still marked failed above; the job is not watched.
      return [...byJob.values()].filter((o) => runs(o.subject));
    },
  };

  return [stalled, failing, overran];
}

export const jobRules: AlertRule[] = createJobRules();
