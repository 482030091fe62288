import type { z } from 'zod';
import type { FeatureStates } from '../bindings/apply';
import type { Bindings, FeatureName } from '../bindings/spec';
import type { Config } from '../config';
import type { Db } from '../db/types';
import type { Logger } from '../logger';
import type { RuleStates } from '../policies/apply';
import type { Storage } from '../storage/types';

export interface JobError {
  /** What failed: a step name, a path, an id. */
  subject: string;
  message: string;
}

/** Every job answers at least this; the rest are its own counts (deleted_count, ...). */
export interface JobResult {
  errors: JobError[];
  /** Rows (or objects) changed; feeds cron_job_runs.rows_affected and /api/metrics. */
  rows_affected: number;
  /** True when the time budget ended the run before the work was done. */
  partial?: boolean;
  /** A job may declare the run failed without throwing (for example: every step failed). */
  failed?: boolean;
  [key: string]: unknown;
}

/** The time a run may still spend; jobs check it before starting each batch. */
export interface Budget {
  readonly deadline: number;
  remainingMs(): number;
  /** True while there is time for one more unit of work that takes about `estimateMs`. */
  hasTimeFor(estimateMs: number): boolean;
}

export interface JobDeps {
  db: Db;
  storage: Storage;
  config: Config;
  log: Logger;
  /** The clock; tests fix it. */
  now: () => Date;
  /** Which features are switched on and bound to this database. */
  features: FeatureStates;
  /** The bindings (cronwarden.config.ts), for jobs that need more than the views give. */
  bindings: Bindings;
  /** The team's own rules (policies, orphan sweeps) as checked at start, by job name. */
  rules?: RuleStates;
}

export interface JobContext<I> extends JobDeps {
  runId: string;
  input: I;
  dryRun: boolean;
  /** The run's start time, from `now()`: rules compute cutoffs from it. */
  startedAt: Date;
  budget: Budget;
}

export interface JobDefinition<I = Record<string, unknown>> {
  name: string;
  description: string;
  /** Parses the route's query parameters (strings), `dryRun` excluded. Unknown keys are refused. */
  input: z.ZodType<I, Record<string, string>>;
  /** Seconds the platform gives the route (the route's `maxDuration`). */
  maxDurationSeconds: number;
  /** The feature whose tables the job works on: it runs only while that feature is bound. */
  feature?: FeatureName;
  /** Throws (an AppError, 503) when the job cannot run on this database; checked before the lease. */
  precondition?(deps: JobDeps): void;
  run(ctx: JobContext<I>): Promise<JobResult>;
}

export function defineJob<I>(def: JobDefinition<I>): JobDefinition<I> {
  return def;
}
