import type { AlertRule } from '../types';

/** Every rule the engine evaluates; each feature adds its array here. */
export const allRules: AlertRule[] = [];
