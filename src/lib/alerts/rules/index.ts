import type { AlertRule } from '../types';
import { draftRules } from './drafts';
import { exportRules } from './exports';
import { jobRules } from './jobs';
import { maintenanceRules } from './maintenance';
import { userRules } from './users';

/** Every rule the engine evaluates; each feature adds its array here. */
export const allRules: AlertRule[] = [...jobRules, ...maintenanceRules, ...exportRules, ...draftRules, ...userRules];
