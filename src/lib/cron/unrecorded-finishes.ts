import type { Db } from '../db/types';
import type { Logger } from '../logger';

/** The arguments of one `cron_finish_run` call, frozen when the run ended (its p_now included). */
export type FinishArgs = Record<string, unknown> & { p_run_id: string };

/** Retry timing for ends of runs the database did not take. */
export interface FinishRetryPolicy {
  /** Delay before the first retry, ms; doubles after each failed attempt. */
  baseMs: number;
  /** Longest delay between two attempts, ms. */
  capMs: number;
  /** Given up this long after the first failure, ms (the lease has long expired by then). */
  giveUpAfterMs: number;
}

export const DEFAULT_FINISH_RETRY: FinishRetryPolicy = { baseMs: 1_000, capMs: 60_000, giveUpAfterMs: 24 * 60 * 60_000 };

interface Kept {
  job: string;
  args: FinishArgs;
  log: Logger;
  failures: number;
  firstFailureAt: number;
  timer?: NodeJS.Timeout;
  attempt?: Promise<boolean>;
}

/**
 * The ends of runs that could not be recorded because the database was unreachable when the run
 * finished. Without them the job's lease would hold until it expires (maxDuration + grace, minutes)
 * although this process knows the run is over. Each is retried with capped exponential backoff,
 * and all of a job's are tried again just before this process begins a new run of that job.
 * Per Db (one database), in memory: a process that dies loses them, and lease expiry covers that.
 */
export class UnrecordedFinishes {
  private readonly kept = new Map<string, Kept>();

  constructor(
    private readonly db: Db,
    private readonly policy: FinishRetryPolicy = DEFAULT_FINISH_RETRY,
  ) {}

  /** Ends of runs waiting to be recorded. */
  get size(): number {
    return this.kept.size;
  }

  /**
   * Records the end of a run (`cron_finish_run`, which also releases the lease). When the call
   * fails, the end is kept and retried; answers whether it was recorded now. Never throws.
   */
  async record(job: string, args: FinishArgs, log: Logger): Promise<boolean> {
    const entry: Kept = { job, args, log, failures: 0, firstFailureAt: 0 };
    this.kept.set(args.p_run_id, entry);
    return this.attempt(entry);
  }

  /** Tries now every kept end of `job` (all jobs when omitted); answers how many are still kept. */
  async flush(job?: string): Promise<number> {
    const entries = [...this.kept.values()].filter((e) => job === undefined || e.job === job);
    await Promise.all(entries.map((e) => this.attempt(e)));
    return [...this.kept.values()].filter((e) => job === undefined || e.job === job).length;
  }

  private attempt(entry: Kept): Promise<boolean> {
    // One call at a time per run: a flush during a timer's attempt waits for it.
    entry.attempt ??= this.call(entry).finally(() => {
      entry.attempt = undefined;
    });
    return entry.attempt;
  }

  private async call(entry: Kept): Promise<boolean> {
    if (!this.kept.has(entry.args.p_run_id)) return true;
    clearTimeout(entry.timer);
    entry.timer = undefined;
    try {
      await this.db.rpc('cron_finish_run', entry.args);
    } catch (err) {
      entry.failures++;
      const now = Date.now();
      if (entry.failures === 1) entry.firstFailureAt = now;
      if (now - entry.firstFailureAt >= this.policy.giveUpAfterMs) {
        this.kept.delete(entry.args.p_run_id);
        entry.log.error(
          { type: 'cron_run_record_abandoned', attempts: entry.failures, err },
          'gave up recording the end of the run; its lease expiry marks it failed',
        );
        return false;
      }
      const delayMs = Math.min(this.policy.capMs, this.policy.baseMs * 2 ** (entry.failures - 1));
      entry.timer = setTimeout(() => void this.attempt(entry), delayMs);
      entry.timer.unref?.();
      if (entry.failures === 1) {
        entry.log.error(
          { type: 'cron_run_record_failed', retry_in_ms: delayMs, err },
          'could not record the end of the run; kept, retried, and tried again before the next run of this job',
        );
      } else {
        entry.log.warn({ type: 'cron_run_record_retry_failed', attempts: entry.failures, retry_in_ms: delayMs, err }, 'the end of the run is still not recorded');
      }
      return false;
    }
    this.kept.delete(entry.args.p_run_id);
    if (entry.failures > 0) {
      entry.log.info({ type: 'cron_run_recorded_late', attempts: entry.failures + 1 }, 'the end of the run was recorded once the database answered');
    }
    return true;
  }
}

// On globalThis: Next can load this module twice in one process, and both copies must see one set.
const REGISTRY = Symbol.for('cronwarden.unrecordedFinishes');
type Registry = WeakMap<Db, UnrecordedFinishes>;
const scope = globalThis as typeof globalThis & { [REGISTRY]?: Registry };

/** This process's kept ends for one database (created with `policy` on first use). */
export function unrecordedFinishesOf(db: Db, policy?: FinishRetryPolicy): UnrecordedFinishes {
  const registry = (scope[REGISTRY] ??= new WeakMap());
  let set = registry.get(db);
  if (!set) {
    set = new UnrecordedFinishes(db, policy);
    registry.set(db, set);
  }
  return set;
}
