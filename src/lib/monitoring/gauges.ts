import type { FeatureName } from '../bindings/spec';
import type { Config } from '../config';
import type { Db } from '../db/types';

export interface GaugeSample {
  labels?: Record<string, string>;
  value: number;
}

/**
 * A feature's Prometheus gauge, read at scrape time (`/api/metrics`). Features export arrays of
 * these from src/lib/monitoring/gauges/<feature>.ts.
 */
export interface FeatureGauge {
  /** Prometheus name, `cronwarden_<feature>_<what>`. */
  name: string;
  help: string;
  labelNames?: string[];
  /** The feature whose tables the gauge reads: absent while that feature is switched off or not bound. */
  feature?: FeatureName;
  collect(ctx: { db: Db; config: Config; now: Date }): Promise<GaugeSample[]>;
}
