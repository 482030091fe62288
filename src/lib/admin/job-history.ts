import type { Db } from '../db/types';
import { intervalMs } from '../cron/schedule';
import type { RunLogLine } from '../cron/run-log';
import { iso, num, toRunRecord, type RunRecord, type RunStatus } from './jobs';

/**
 * What the console's page of one job reads: its runs page by page with filters
 * (cron_job_run_page), the filter choices with their counts (cron_job_run_facets), durations
 * over time (cron_job_durations) and a run's log lines (cron_run_logs). Times are ISO 8601 UTC,
 * durations milliseconds.
 */

export const RUN_STATUSES: readonly RunStatus[] = ['succeeded', 'partial', 'failed', 'skipped', 'running'];
export const RUN_TRIGGERS = ['scheduler', 'vercel', 'http', 'admin', 'script', 'demo'] as const;

export interface RunFilters {
  status?: RunStatus;
  trigger?: string;
  /** true: dry runs only; false: runs that changed something only; undefined: both. */
  dryRun?: boolean;
}

export interface RunPage {
  runs: RunRecord[];
  /** The cursor of the next (older) page: the id of this page's last run; null on the last page. */
  nextBefore: string | null;
}

/** One page of the job's runs, newest first; `before` is the previous page's `nextBefore`. */
export async function jobRunPage(db: Db, job: string, filters: RunFilters, before: string | null, limit = 25): Promise<RunPage> {
  const rows = await db.rpc<Record<string, unknown>>('cron_job_run_page', {
    p_job: job,
    p_limit: limit + 1,
    p_status: filters.status ?? null,
    p_trigger: filters.trigger ?? null,
    p_dry_run: filters.dryRun ?? null,
    p_before_id: before,
  });
  const runs = rows.slice(0, limit).map(toRunRecord);
  return { runs, nextBefore: rows.length > limit && runs.length > 0 ? runs[runs.length - 1].id : null };
}

export interface RunFacets {
  total: number;
  byStatus: Record<string, number>;
  byTrigger: Record<string, number>;
  dryRuns: number;
}

/** The job's runs counted by status, by trigger and dry or not. */
export async function jobRunFacets(db: Db, job: string): Promise<RunFacets> {
  const rows = await db.rpc<{ status: string; trigger: string; dry_run: unknown; runs: unknown }>('cron_job_run_facets', { p_job: job });
  const out: RunFacets = { total: 0, byStatus: {}, byTrigger: {}, dryRuns: 0 };
  for (const r of rows) {
    const n = num(r.runs) ?? 0;
    out.total += n;
    out.byStatus[r.status] = (out.byStatus[r.status] ?? 0) + n;
    out.byTrigger[r.trigger] = (out.byTrigger[r.trigger] ?? 0) + n;
    if (r.dry_run === true || r.dry_run === 't' || r.dry_run === 'true') out.dryRuns += n;
  }
  return out;
}

export interface DurationWindow {
  from: Date;
  to: Date;
  bucketSeconds: number;
  /** "14 days", "26 weeks": how the page names the window. */
  label: string;
}

const DAY_MS = 86_400_000;
const BUCKETS = [300, 900, 3600, 4 * 3600, 86_400, 7 * 86_400];
const MAX_POINTS = 120;

/**
 * The window and bucket of a job's duration chart: 14 days for a job that runs at least daily
 * (longer for rarer jobs, up to 26 weeks), in buckets no shorter than the job's interval and
 * few enough (about 120 at most) to read.
 */
export function durationWindow(schedule: string | null, now: Date): DurationWindow {
  let interval = DAY_MS;
  if (schedule) {
    try {
      interval = intervalMs(schedule, now) || DAY_MS;
    } catch {
      interval = DAY_MS;
    }
  }
  const days = Math.min(182, Math.max(14, Math.ceil((interval * 6) / DAY_MS)));
  const windowMs = days * DAY_MS;
  const least = Math.max(interval / 1000, windowMs / 1000 / MAX_POINTS);
  const bucketSeconds = BUCKETS.find((b) => b >= least) ?? BUCKETS[BUCKETS.length - 1];
  // Buckets line up with UTC hours and days; the last one ends after now.
  const end = Math.ceil(now.getTime() / (bucketSeconds * 1000)) * bucketSeconds * 1000;
  return {
    from: new Date(end - Math.ceil(windowMs / (bucketSeconds * 1000)) * bucketSeconds * 1000),
    to: new Date(end),
    bucketSeconds,
    label: days % 7 === 0 && days > 14 ? `${days / 7} weeks` : `${days} days`,
  };
}

export interface DurationPoint {
  /** Start of the bucket, ISO 8601 UTC. */
  bucket: string;
  /** Axis label: "11-23 04:00" for buckets under a day, "11-23" otherwise (UTC). */
  label: string;
  runs: number;
  failed: number;
  /** Milliseconds; null for a bucket without runs (the chart leaves a gap). */
  p50_ms: number | null;
  p95_ms: number | null;
  max_ms: number | null;
}

/** One point per bucket of the window, empty buckets included, from the job's runs that changed something. */
export async function jobDurations(db: Db, job: string, w: DurationWindow): Promise<DurationPoint[]> {
  const rows = await db.rpc<{ bucket_start: unknown; runs: unknown; failed: unknown; p50_ms: unknown; p95_ms: unknown; max_ms: unknown }>(
    'cron_job_durations',
    { p_job: job, p_from: w.from, p_to: w.to, p_bucket_seconds: w.bucketSeconds },
  );
  const byBucket = new Map(rows.map((r) => [iso(r.bucket_start), r]));
  const out: DurationPoint[] = [];
  const step = w.bucketSeconds * 1000;
  for (let t = w.from.getTime(); t < w.to.getTime(); t += step) {
    const bucket = new Date(t).toISOString();
    const r = byBucket.get(bucket);
    out.push({
      bucket,
      label: w.bucketSeconds < 86_400 ? `${bucket.slice(5, 10)} ${bucket.slice(11, 16)}` : bucket.slice(5, 10),
      runs: num(r?.runs) ?? 0,
      failed: num(r?.failed) ?? 0,
      p50_ms: r ? num(r.p50_ms) : null,
      p95_ms: r ? num(r.p95_ms) : null,
      max_ms: r ? num(r.max_ms) : null,
    });
  }
  return out;
}

/** A run's stored log lines, in the order they were written. */
export async function runLogLines(db: Db, runId: string, limit = 1000): Promise<RunLogLine[]> {
  const rows = await db.rpc<{ seq: unknown; logged_at: unknown; level: string; line: unknown }>('cron_run_logs', { p_run_id: runId, p_limit: limit });
  return rows.map((r) => ({
    at: iso(r.logged_at) ?? '',
    level: String(r.level),
    line: (typeof r.line === 'string' ? JSON.parse(r.line) : r.line) as Record<string, unknown>,
  }));
}
