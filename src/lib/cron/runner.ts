import { randomUUID } from 'node:crypto';
import { requireFeature } from '../bindings/features';
import { scrubSecrets } from '../logger';
import { AppError } from '../http/errors';
import { createBudget } from './budget';
import { runPings } from './pings';
import type { JobDefinition, JobDeps, JobResult } from './types';
import { unrecordedFinishesOf } from './unrecorded-finishes';

/** Seconds a lease outlives the platform's time limit before another run may take it over. */
export const LEASE_GRACE_SECONDS = 60;

/** Who started a run (cron_job_runs.trigger): 'dispatcher' is /api/cron/dispatch, 'pg_cron' Supabase Cron. */
export type RunTrigger = 'http' | 'vercel' | 'scheduler' | 'admin' | 'script' | 'dispatcher' | 'pg_cron';

export interface RunOptions<I> {
  input: I;
  dryRun: boolean;
  trigger?: RunTrigger;
  /** Overrides the time budget (default: the job's maxDuration). */
  budgetMs?: number;
  /** Clock for the budget; tests drive it. */
  budgetClock?: () => number;
}

export type RunStatus = 'succeeded' | 'partial' | 'failed';

export type RunOutcome =
  | {
      kind: 'finished';
      runId: string;
      status: RunStatus;
      /** The seed-shaped result: the job's counts plus run bookkeeping. */
      result: JobResult & {
        run_id: string;
        job: string;
        status: RunStatus;
        dry_run: boolean;
        partial: boolean;
        duration_ms: number;
        timestamp: string;
      };
    }
  | { kind: 'conflict'; runId: string; holderRunId: string }
  | { kind: 'crashed'; runId: string; error: AppError | Error; durationMs: number };

interface BeginRow {
  acquired: boolean;
  holder_run_id: string;
  expired_run_id: string | null;
}

/**
 * Runs one job invocation: lease → run row → job → outcome recorded → lease released.
 * Every path that took the lease releases it; when the database does not take the end of the
 * run, the end is kept and retried (and tried again before this job's next run here). A process
 * that dies leaves a lease that expires after maxDuration + grace, and the next run marks the
 * dead run failed.
 */
export async function runJob<I>(def: JobDefinition<I>, options: RunOptions<I>, deps: JobDeps): Promise<RunOutcome> {
  // A job of a feature that is switched off or not bound is refused before it takes a lease.
  if (def.feature) requireFeature(deps.features, def.feature);
  const runId = randomUUID();
  const startedAt = deps.now();
  const t0 = performance.now();
  const log = deps.log.child({ job: def.name, run_id: runId });

  // An earlier run of this job whose end the database did not take still holds the lease.
  const finishes = unrecordedFinishesOf(deps.db);
  await finishes.flush(def.name);
  const [begin] = await deps.db.rpc<BeginRow>('cron_begin_run', {
    p_job: def.name,
    p_run_id: runId,
    p_ttl_seconds: def.maxDurationSeconds + LEASE_GRACE_SECONDS,
    p_dry_run: options.dryRun,
    p_input: options.input ?? {},
    p_trigger: options.trigger ?? 'http',
    p_now: startedAt,
  });
  if (!begin?.acquired) {
    log.warn({ type: 'cron_run_skipped', holder_run_id: begin?.holder_run_id }, 'job already running');
    return { kind: 'conflict', runId, holderRunId: begin?.holder_run_id ?? 'unknown' };
  }
  if (begin.expired_run_id) {
    log.error(
      { type: 'cron_lease_expired', expired_run_id: begin.expired_run_id },
      'previous run never finished; its lease expired and it was recorded as failed',
    );
  }
  log.info({ type: 'cron_run_started', dry_run: options.dryRun, trigger: options.trigger ?? 'http' }, 'job started');
  const pings = runPings(def.name, runId, options.dryRun, { config: deps.config, log });
  void pings.started();

  const budget = createBudget(options.budgetMs ?? def.maxDurationSeconds * 1000, options.budgetMs ? 0 : 3_000, options.budgetClock);
  let result: JobResult | undefined;
  let failure: Error | undefined;
  try {
    result = await def.run({ ...deps, log, runId, input: options.input, dryRun: options.dryRun, startedAt, budget });
  } catch (err) {
    failure = err instanceof Error ? err : new Error(String(err));
  }
  const durationMs = Math.round(performance.now() - t0);
  const finishedAt = new Date(startedAt.getTime() + durationMs);
  const status: RunStatus = failure || result?.failed ? 'failed' : result?.partial ? 'partial' : 'succeeded';
  const errorText = failure ? scrubSecrets(failure.message, deps.config.secrets).slice(0, 2000) : null;
  const recorded = result ? scrubSecrets({ ...result, errors: result.errors.slice(0, 100) }, deps.config.secrets) : null;

  // Kept and retried when the database does not answer, so the lease does not outlive the run.
  await finishes.record(
    def.name,
    {
      p_run_id: runId,
      p_status: status,
      p_result: recorded,
      p_error: errorText ?? (result?.failed ? summarizeErrors(result) : null),
      p_rows_affected: result?.rows_affected ?? 0,
      p_duration_ms: durationMs,
      p_now: finishedAt,
    },
    log,
  );

  if (failure) {
    log.error({ type: 'cron_run_failed', duration_ms: durationMs, err: failure }, 'job failed');
    void pings.finished({ status, duration_ms: durationMs, error: errorText ?? undefined });
    return { kind: 'crashed', runId, error: failure, durationMs };
  }
  // The caller sees the job's own result, scrubbed of configured secrets like the recorded copy.
  const r = scrubSecrets(result as JobResult, deps.config.secrets);
  log.info(
    {
      type: 'cron_run_finished',
      status,
      duration_ms: durationMs,
      rows_affected: r.rows_affected,
      error_count: r.errors.length,
      dry_run: options.dryRun,
    },
    'job finished',
  );
  void pings.finished({ status, duration_ms: durationMs, result: r });
  return {
    kind: 'finished',
    runId,
    status,
    result: {
      ...r,
      run_id: runId,
      job: def.name,
      status,
      dry_run: options.dryRun,
      partial: Boolean(r.partial),
      duration_ms: durationMs,
      timestamp: finishedAt.toISOString(),
    },
  };
}

function summarizeErrors(result: JobResult): string {
  return result.errors
    .slice(0, 5)
    .map((e) => `${e.subject}: ${e.message}`)
    .join('; ');
}
