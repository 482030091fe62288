import type { Db } from '../db/types';
import { getCronwardenConfig } from '../bindings/load';
import type { CronwardenConfig } from '../bindings/spec';
import { jobs, ruleJobs } from '../cron/registry';
import { describeSchedule } from '../cron/schedule';
import { jobFirings, lastFirings, nextFiring } from '../schedules/firing';
import { declaredScheduler, type SchedulerName } from '../schedules/scheduler';
import { jobScheduleOf, scheduleTable } from '../schedules/table';

/**
 * What the admin page and /api/admin/jobs show about jobs and their runs: the registry joined
 * with the schedule table, the scheduler that fires each job and the run history (cron_job_summary, cron_recent_runs,
 * cron_get_run). Values are normalised to plain JSON (ISO strings, numbers), whatever the
 * adapter returned (Date objects, bigint strings from postgres.js, JSON strings from PostgREST).
 */

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'partial' | 'skipped';

export interface RunRecord {
  id: string;
  job: string;
  status: RunStatus;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  dry_run: boolean;
  trigger: string;
  input: Record<string, unknown>;
  result: Record<string, unknown> | null;
  rows_affected: number;
  error: string | null;
}

export interface JobOverview {
  name: string;
  description: string;
  max_duration_seconds: number;
  /** The job's own cron expression (the schedule table); null when the job is not scheduled. */
  schedule: string | null;
  schedule_text: string;
  /** When its scheduler next fires it (on Vercel Hobby: the daily dispatch after its own time). */
  next_run_at: string | null;
  /** The scheduler that fires it, and when that scheduler last started a run of it. */
  fired_by: {
    scheduler: SchedulerName;
    label: string;
    /** True when this scheduler runs it less often than its own schedule (Hobby: once a day). */
    less_often: boolean;
    last_fired_at: string | null;
  } | null;
  running: boolean;
  runs_24h: number;
  failures_24h: number;
  last_run: {
    id: string;
    status: RunStatus;
    started_at: string;
    finished_at: string | null;
    duration_ms: number | null;
    rows_affected: number;
  } | null;
  last_success_at: string | null;
  /**
   * The job's latest dry run, shown beside the last run and never as it: a dry run changes
   * nothing. Null when the job has no dry run.
   */
  last_dry_run: { id: string; status: RunStatus; started_at: string } | null;
  /** The feature whose tables the job works on (cronwarden.config.ts), or null for Cronwarden's own jobs. */
  feature: string | null;
  /** Open alerts whose subject is this job; null when alert state is not available. */
  open_alerts: number | null;
}

export function iso(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(String(v));
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

export function num(v: unknown): number | null {
  if (v === null || v === undefined || v === '') return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

function json(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') {
    try {
      return json(JSON.parse(v));
    } catch {
      return { value: v };
    }
  }
  return typeof v === 'object' ? (v as Record<string, unknown>) : { value: v };
}

export function toRunRecord(r: Record<string, unknown>): RunRecord {
  return {
    id: String(r.id),
    job: String(r.job),
    status: String(r.status) as RunStatus,
    started_at: iso(r.started_at) ?? '',
    finished_at: iso(r.finished_at),
    duration_ms: num(r.duration_ms),
    dry_run: r.dry_run === true || r.dry_run === 't' || r.dry_run === 'true',
    trigger: String(r.trigger ?? ''),
    input: json(r.input) ?? {},
    result: json(r.result),
    rows_affected: num(r.rows_affected) ?? 0,
    error: r.error === null || r.error === undefined ? null : String(r.error),
  };
}

interface SummaryRow {
  job: string;
  last_run_id: string | null;
  last_status: string | null;
  last_started_at: unknown;
  last_finished_at: unknown;
  last_duration_ms: unknown;
  last_rows_affected: unknown;
  last_success_at: unknown;
  running: boolean;
  runs_24h: unknown;
  failures_24h: unknown;
  last_dry_run_id: string | null;
  last_dry_run_at: unknown;
  last_dry_run_status: string | null;
}

/**
 * One row per registered job, in registry order, then one per retention policy of `cronwarden`
 * (default: cronwarden.config.ts) whose shape is valid; `scheduler`: the one firing the jobs
 * (default: scheduler.json's). The last run and the 24 h counts leave dry runs and skipped
 * invocations out (cron_job_summary); the last dry run is reported on its own.
 */
export async function jobsOverview(
  db: Db,
  now: Date,
  openAlertsByJob?: Map<string, number>,
  scheduler: SchedulerName = declaredScheduler(),
  cronwarden: CronwardenConfig = getCronwardenConfig(),
): Promise<JobOverview[]> {
  const table = scheduleTable(cronwarden);
  const firings = jobFirings(scheduler, table);
  const [summary, lastFired] = await Promise.all([db.rpc<SummaryRow>('cron_job_summary', { p_now: now }), lastFirings(db, firings)]);
  const byJob = new Map(summary.map((s) => [s.job, s]));
  return [...jobs, ...ruleJobs(cronwarden)].map((job) => {
    const schedule = jobScheduleOf(job.name, table)?.schedule ?? null;
    const firing = firings.find((f) => f.job === job.name);
    const next = firing ? iso(nextFiring(firing, now)) : null;
    const s = byJob.get(job.name);
    return {
      name: job.name,
      description: job.description,
      max_duration_seconds: job.maxDurationSeconds,
      schedule,
      schedule_text: schedule ? describeSchedule(schedule) : 'Not scheduled',
      next_run_at: next,
      fired_by: firing
        ? { scheduler, label: firing.firedBy, less_often: firing.lessOften, last_fired_at: iso(lastFired.get(job.name) ?? null) }
        : null,
      running: Boolean(s?.running),
      runs_24h: num(s?.runs_24h) ?? 0,
      failures_24h: num(s?.failures_24h) ?? 0,
      last_run:
        s && s.last_run_id
          ? {
              id: String(s.last_run_id),
              status: String(s.last_status) as RunStatus,
              started_at: iso(s.last_started_at) ?? '',
              finished_at: iso(s.last_finished_at),
              duration_ms: num(s.last_duration_ms),
              rows_affected: num(s.last_rows_affected) ?? 0,
            }
          : null,
      last_success_at: iso(s?.last_success_at),
      last_dry_run:
        s && s.last_dry_run_id
          ? { id: String(s.last_dry_run_id), status: String(s.last_dry_run_status) as RunStatus, started_at: iso(s.last_dry_run_at) ?? '' }
          : null,
      feature: job.feature ?? null,
      open_alerts: openAlertsByJob ? (openAlertsByJob.get(job.name) ?? 0) : null,
    };
  });
}

export async function recentRuns(db: Db, job: string | null, limit: number): Promise<RunRecord[]> {
  const rows = await db.rpc<Record<string, unknown>>('cron_recent_runs', { p_job: job, p_limit: limit });
  return rows.map(toRunRecord);
}

export async function getRun(db: Db, id: string): Promise<RunRecord | null> {
  const [row] = await db.rpc<Record<string, unknown>>('cron_get_run', { p_run_id: id });
  return row ? toRunRecord(row) : null;
}

export interface RunsPerDay {
  day: string;
  succeeded: number;
  partial: number;
  failed: number;
  skipped: number;
  /** Dry runs of any outcome: they changed nothing, so they are never counted as succeeded. */
  dry_run: number;
}

function emptyDays(now: Date, days: number): { out: RunsPerDay[]; index: Map<string, RunsPerDay> } {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const out: RunsPerDay[] = [];
  const index = new Map<string, RunsPerDay>();
  for (let i = days - 1; i >= 0; i--) {
    const day = new Date(today - i * 86_400_000).toISOString().slice(0, 10);
    const row = { day, succeeded: 0, partial: 0, failed: 0, skipped: 0, dry_run: 0 };
    out.push(row);
    index.set(day, row);
  }
  return { out, index };
}

function count(row: RunsPerDay, status: RunStatus, dryRun: boolean, n: number): void {
  if (status === 'running') return;
  if (dryRun) row.dry_run += n;
  else row[status] += n;
}

/**
 * Runs started on each of the last `days` UTC days (oldest first), by final status, dry runs
 * apart; running runs are left out.
 */
export function runsPerDay(runs: RunRecord[], now: Date, days = 14): RunsPerDay[] {
  const { out, index } = emptyDays(now, days);
  for (const r of runs) {
    const row = index.get(r.started_at.slice(0, 10));
    if (row) count(row, r.status, r.dry_run, 1);
  }
  return out;
}

/**
 * The same counts from SQL over the whole history (cron_runs_per_day), so a job that runs every
 * five minutes does not push the others out of the chart; one job's when `job` is given.
 */
export async function runsPerDayOf(db: Db, now: Date, days = 14, job: string | null = null): Promise<RunsPerDay[]> {
  const rows = await db.rpc<{ day: unknown; status: string; dry_run: unknown; runs: unknown }>('cron_runs_per_day', { p_days: days, p_now: now, p_job: job });
  const { out, index } = emptyDays(now, days);
  for (const r of rows) {
    const row = index.get(String(r.day));
    const dry = r.dry_run === true || r.dry_run === 't' || r.dry_run === 'true';
    if (row) count(row, r.status as RunStatus, dry, num(r.runs) ?? 0);
  }
  return out;
}
