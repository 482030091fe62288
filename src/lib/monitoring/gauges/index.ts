import type { FeatureGauge } from '../gauges';

/** Every feature gauge /api/metrics exposes; each feature adds its array here. */
export const allGauges: FeatureGauge[] = [];
