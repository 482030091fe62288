import type { FeatureGauge } from '../gauges';
import { draftGauges } from './drafts';
import { exportGauges } from './exports';
import { userGauges } from './users';

/** Every feature gauge /api/metrics exposes; each feature adds its array here. */
export const allGauges: FeatureGauge[] = [...exportGauges, ...draftGauges, ...userGauges];
