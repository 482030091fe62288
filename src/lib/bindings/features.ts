import { AppError } from '../http/errors';
import type { FeatureState, FeatureStates } from './apply';
import { FEATURE_TITLES, FEATURES, type FeatureName } from './spec';

export type { FeatureState, FeatureStates } from './apply';

/**
 * A feature that cannot run here: switched off in cronwarden.config.ts (FEATURE_DISABLED) or not
 * bound to the database (FEATURE_NOT_BOUND, with the one-line reasons). Answered 503: the
 * request was fine, this deployment cannot serve it.
 */
export class FeatureUnavailableError extends AppError {
  constructor(readonly state: FeatureState) {
    super(
      503,
      state.enabled ? 'FEATURE_NOT_BOUND' : 'FEATURE_DISABLED',
      state.enabled
        ? `${FEATURE_TITLES[state.feature]} is not bound to this database: ${state.problems.join('; ')}`
        : `${FEATURE_TITLES[state.feature]} is switched off (bindings.${state.feature}.enabled in cronwarden.config.ts).`,
      { feature: state.feature, problems: state.problems },
    );
    this.name = 'FeatureUnavailableError';
  }
}

/** Throws FeatureUnavailableError unless `feature` is enabled and bound. */
export function requireFeature(states: FeatureStates, feature: FeatureName): void {
  const s = states[feature];
  if (!s?.bound) throw new FeatureUnavailableError(s ?? { feature, title: FEATURE_TITLES[feature], enabled: true, bound: false, problems: [`${feature}: not checked`] });
}

/** Every feature bound: what a test on the demo database starts from. */
export function allFeaturesBound(): FeatureStates {
  return Object.fromEntries(
    FEATURES.map((f) => [f, { feature: f, title: FEATURE_TITLES[f], enabled: true, bound: true, problems: [] }]),
  ) as unknown as FeatureStates;
}

/** The one-line reasons of every enabled feature that is not bound (start-up log, doctor). */
export function unboundReasons(states: FeatureStates): string[] {
  return FEATURES.flatMap((f) => (states[f].enabled && !states[f].bound ? states[f].problems : []));
}
