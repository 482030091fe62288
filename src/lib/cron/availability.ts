import type { FeatureStates } from '../bindings/apply';
import type { FeatureName } from '../bindings/spec';
import type { RuleStates } from '../policies/apply';
import { ORPHAN_SWEEP_JOB_PREFIX, POLICY_JOB_PREFIX } from '../policies/compile';

/** What the start-up check found: features (bindings) and the team's rules, by job name. */
export interface AvailabilityStates {
  features?: Partial<FeatureStates>;
  rules?: RuleStates;
}

/** A rule job: `policies/<name>` or `orphan-sweeps/<name>`. */
export function isRuleJobName(job: string): boolean {
  return job.startsWith(POLICY_JOB_PREFIX) || job.startsWith(ORPHAN_SWEEP_JOB_PREFIX);
}

/**
 * Why `job` is not run on this database, in one line, or null when it may run: its feature is
 * switched off or not bound, or (a policy or orphan sweep) its rule did not bind at start. A
 * state that is not known (no `features`, no `rules`) does not hold a job back. Such a job is
 * neither fired by the local scheduler, nor run by the dispatcher, nor watched by the job alert
 * rules.
 */
export function unavailableReason(job: { name: string; feature?: FeatureName }, states: AvailabilityStates): string | null {
  const feature = job.feature ? states.features?.[job.feature] : undefined;
  if (feature && !feature.bound) {
    return feature.enabled ? (feature.problems[0] ?? `feature ${feature.feature} is not bound`) : `feature ${feature.feature} is switched off`;
  }
  if (isRuleJobName(job.name) && states.rules) {
    const rule = states.rules[job.name];
    if (!rule?.bound) return rule?.problems[0] ?? `${job.name}: not checked against this database`;
  }
  return null;
}
