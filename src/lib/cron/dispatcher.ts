import { AppError } from '../http/errors';
import { createBudget } from './budget';
import { runJob, type RunStatus } from './runner';
import { nextRuns } from './schedule';
import type { JobDefinition, JobDeps } from './types';

/**
 * The dispatcher: one invocation that runs, one after the other, every job that is due or
 * overdue since its last recorded run. It serves schedulers that fire less often than the jobs
 * need (Vercel Hobby fires once a day), and is also a safe "run whatever is overdue" on any plan.
 * Each job runs through runJob, so it takes its own lease and gets its own run row (trigger
 * 'dispatcher'); a job whose lease is held is skipped at once, never waited for.
 */

export interface DispatchEntry {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each job has its own input type
  job: JobDefinition<any>;
  /** The job's own schedule (5-field cron, UTC). */
  schedule: string;
}

export interface DispatchOptions {
  /** Time the whole dispatch may take, in ms (the dispatcher route's maxDuration). */
  budgetMs: number;
  /** Kept back from the budget for answering, in ms (default 5000). */
  reserveMs?: number;
  /** A due job is started only with at least this much time left, in ms (default 15000). */
  minJobMs?: number;
  /** Run each due job as a dry run (recorded as such; dry runs do not count as runs, so they stay due). */
  dryRun?: boolean;
  /** Clock (ms) for the budgets; tests drive it. */
  budgetClock?: () => number;
  /** How precisely the caller is fired, in ms (see dueState; the Hobby dispatch: 1 hour). */
  windowMs?: number;
}

export type DispatchAction = 'ran' | 'not_due' | 'skipped_running' | 'deferred' | 'feature_off';

export interface DispatchJobReport {
  job: string;
  /**
   * ran: started (see status); not_due: no scheduled time since its last run; skipped_running:
   * another run holds its lease; deferred: due, but the time budget ran out before its turn;
   * feature_off: its feature is switched off or not bound, or its rule (a policy or orphan
   * sweep) did not bind at start (never run, never due).
   */
  action: DispatchAction;
  /** Start of the last recorded run (not dry, not skipped), ISO UTC; null when it never ran. */
  last_run_at: string | null;
  /** The first scheduled time after that run (due since then); null when it never ran or is not due. */
  due_since: string | null;
  /** not_due only: when it is next due. */
  next_due_at?: string | null;
  run_id?: string;
  status?: RunStatus;
  partial?: boolean;
  rows_affected?: number;
  duration_ms?: number;
  error?: string;
  holder_run_id?: string;
}

export interface DispatchReport {
  jobs: DispatchJobReport[];
  ran: number;
  failed: number;
  skipped_running: number;
  deferred: number;
  not_due: number;
  dry_run: boolean;
  duration_ms: number;
  timestamp: string;
}

/** How many of a job's latest runs are searched for its last real run. */
const HISTORY_WINDOW = 50;

interface RunRow {
  status: string;
  dry_run: boolean | string;
  started_at: Date | string;
}

/** Start of the job's newest run that was neither dry nor skipped, or null. */
async function lastRunAt(deps: JobDeps, job: string): Promise<Date | null> {
  const rows = await deps.db.rpc<RunRow>('cron_recent_runs', { p_job: job, p_limit: HISTORY_WINDOW });
  const real = rows.find((r) => r.status !== 'skipped' && !(r.dry_run === true || r.dry_run === 't' || r.dry_run === 'true'));
  return real ? new Date(real.started_at) : null;
}

/**
 * Whether a job on `schedule` that last ran at `lastRun` is due at `now`: due since the first
 * scheduled time after `lastRun` when that time is not after `now`. A job that never ran is due.
 *
 * `windowMs` (0: none) is the precision of the caller's own firing, in UTC windows of that length
 * from the epoch: Vercel Hobby fires the daily dispatch anywhere within its hour. A run then
 * stands for every scheduled time in its window, and a scheduled time in the current window is
 * due already, so a daily job timed inside the dispatch's hour (05:30, dispatches at 05:45,
 * 05:05, 05:50, ...) runs once every day instead of every other day, and never twice in one.
 */
export function dueState(
  schedule: string,
  lastRun: Date | null,
  now: Date,
  windowMs = 0,
): { due: boolean; dueSince: Date | null; nextDue: Date | null } {
  if (!lastRun) return { due: true, dueSince: null, nextDue: null };
  const endOfWindow = (t: Date) => (windowMs > 0 ? Math.floor(t.getTime() / windowMs) * windowMs + windowMs - 1 : t.getTime());
  const next = nextRuns(schedule, 1, new Date(endOfWindow(lastRun)))[0] ?? null;
  if (next && next.getTime() <= endOfWindow(now)) return { due: true, dueSince: next, nextDue: null };
  return { due: false, dueSince: null, nextDue: next };
}

/**
 * Runs every due entry once, in the order given, within `options.budgetMs`. Each job gets the
 * smaller of its own time limit and what is left. Returns what happened to each entry.
 * Does not throw for a job's failure (reported as status 'failed'); throws only when the run
 * history cannot be read.
 */
export async function dispatchDueJobs(entries: DispatchEntry[], options: DispatchOptions, deps: JobDeps): Promise<DispatchReport> {
  const clock = options.budgetClock ?? Date.now;
  const t0 = clock();
  const budget = createBudget(options.budgetMs, options.reserveMs ?? 5_000, clock);
  const minJobMs = options.minJobMs ?? 15_000;
  const dryRun = options.dryRun ?? false;
  const log = deps.log.child({ dispatch: true });
  const now = deps.now();
  const reports: DispatchJobReport[] = [];
  const seen = new Set<string>();

  for (const entry of entries) {
    const name = entry.job.name;
    if (seen.has(name)) continue;
    seen.add(name);
    const feature = entry.job.feature ? deps.features[entry.job.feature] : undefined;
    if (feature && !feature.bound) {
      reports.push({ job: name, action: 'feature_off', last_run_at: null, due_since: null, error: feature.problems[0] ?? 'switched off' });
      continue;
    }
    // A rule job (policy, orphan sweep) whose rule did not bind at start: reported, not thrown,
    // so the jobs after it still run.
    const unavailable = preconditionError(entry.job, deps);
    if (unavailable) {
      reports.push({ job: name, action: 'feature_off', last_run_at: null, due_since: null, error: unavailable });
      continue;
    }
    const last = await lastRunAt(deps, name);
    const state = dueState(entry.schedule, last, now, options.windowMs ?? 0);
    const base = { job: name, last_run_at: last?.toISOString() ?? null, due_since: state.dueSince?.toISOString() ?? null };
    if (!state.due) {
      reports.push({ ...base, action: 'not_due', next_due_at: state.nextDue?.toISOString() ?? null });
      continue;
    }
    const left = budget.remainingMs();
    if (left < minJobMs) {
      reports.push({ ...base, action: 'deferred' });
      continue;
    }
    const outcome = await runJob(
      entry.job,
      {
        input: entry.job.input.parse({}),
        dryRun,
        trigger: 'dispatcher',
        budgetMs: Math.min(entry.job.maxDurationSeconds * 1000 - 3_000, left),
        budgetClock: options.budgetClock,
      },
      deps,
    );
    if (outcome.kind === 'conflict') {
      reports.push({ ...base, action: 'skipped_running', run_id: outcome.runId, holder_run_id: outcome.holderRunId });
    } else if (outcome.kind === 'crashed') {
      reports.push({
        ...base,
        action: 'ran',
        run_id: outcome.runId,
        status: 'failed',
        duration_ms: outcome.durationMs,
        error: `The job failed; details are recorded with run ${outcome.runId}.`,
      });
    } else {
      const r = outcome.result;
      reports.push({
        ...base,
        action: 'ran',
        run_id: outcome.runId,
        status: outcome.status,
        partial: r.partial,
        rows_affected: r.rows_affected,
        duration_ms: r.duration_ms,
        ...(r.errors.length ? { error: `${r.errors.length} error(s); see run ${outcome.runId}.` } : {}),
      });
    }
  }

  const count = (action: DispatchAction) => reports.filter((r) => r.action === action).length;
  const report: DispatchReport = {
    jobs: reports,
    ran: count('ran'),
    failed: reports.filter((r) => r.status === 'failed').length,
    skipped_running: count('skipped_running'),
    deferred: count('deferred'),
    not_due: count('not_due'),
    dry_run: dryRun,
    duration_ms: Math.max(0, Math.round(clock() - t0)),
    timestamp: deps.now().toISOString(),
  };
  log.info(
    {
      type: 'cron_dispatch_finished',
      ran: report.ran,
      failed: report.failed,
      skipped_running: report.skipped_running,
      deferred: report.deferred,
      not_due: report.not_due,
      dry_run: dryRun,
      jobs: reports.map((r) => `${r.job}:${r.status ?? r.action}`),
    },
    'dispatch finished',
  );
  return report;
}

/** The message of the job's precondition failure (an AppError's), or null when it may run. */
function preconditionError(job: DispatchEntry['job'], deps: JobDeps): string | null {
  try {
    job.precondition?.(deps);
    return null;
  } catch (e) {
    if (e instanceof AppError) return e.message;
    throw e;
  }
}
