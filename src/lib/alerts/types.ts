import type { FeatureStates } from '../bindings/apply';
import type { FeatureName } from '../bindings/spec';
import type { Config } from '../config';
import type { Db } from '../db/types';
import type { Logger } from '../logger';
import type { RuleStates } from '../policies/apply';

export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface AlertContext {
  db: Db;
  config: Config;
  /** Evaluation time; injected so rules are tested against fixtures, not the wall clock. */
  now: Date;
  log: Logger;
  /** True in a dry run of the evaluation: a rule that also repairs state (marks runs failed) only counts. */
  dryRun?: boolean;
  /** Which features are bound (rules about jobs leave out the jobs of the others); unknown: all. */
  features?: FeatureStates;
  /** The team's rules as checked at start, by job name (an unbound one's job is left out); unknown: all. */
  rules?: RuleStates;
}

/** One observed value for one subject (a job name, an organization id, or 'global'). */
export interface AlertObservation {
  subject: string;
  value: number;
  /** Shown with the alert: what the value is made of (counts, ids, ...). */
  details?: Record<string, unknown>;
}

/**
 * A rule is a definition: what to observe, the threshold, how long the condition must hold,
 * and what the on-call engineer does about it. Features export arrays of rules from
 * src/lib/alerts/rules/<feature>.ts; the engine evaluates them all.
 */
export interface AlertRule {
  /** Stable id, `<feature>.<what>`, e.g. `drafts.pollution_high`. */
  id: string;
  title: string;
  severity: Severity;
  /** How fast someone must respond, e.g. '1 hour'. */
  responseSla: string;
  threshold: number;
  /** When the threshold is configurable: the value in force (the engine prefers it to `threshold`). */
  thresholdFrom?(config: Config): number;
  /** The alert condition is `value <comparison> threshold`. */
  comparison: 'gt' | 'gte' | 'lt' | 'lte';
  /** The condition must hold this long before the alert opens (0: at once). */
  forSeconds: number;
  runbook: string;
  /**
   * The feature whose tables the rule reads: while that feature is switched off or not bound,
   * the rule is not observed and its alerts are resolved (it stays quiet).
   */
  feature?: FeatureName;
  /** Rules that depend on optional configuration (REDIS_URL, ...) say when they apply. */
  enabled?(config: Config): boolean;
  /** Observed values now; one per subject. An empty list means "nothing to report". */
  observe(ctx: AlertContext): Promise<AlertObservation[]>;
}

export function breaches(rule: Pick<AlertRule, 'comparison' | 'threshold'>, value: number): boolean {
  switch (rule.comparison) {
    case 'gt':
      return value > rule.threshold;
    case 'gte':
      return value >= rule.threshold;
    case 'lt':
      return value < rule.threshold;
    case 'lte':
      return value <= rule.threshold;
  }
}
