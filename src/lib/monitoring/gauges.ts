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
  /**
   * Prometheus name, `cronwarden_<feature>_<what>[_<unit>]`, as `promtool check metrics` wants it:
   * base units (`_seconds`, `_bytes`, `_ratio` for 0..1), no `_total` (counters only), and no
   * metric type in the name.
   */
  name: string;
  help: string;
  labelNames?: string[];
  /** The samples now; an empty array when the value is unknown (the series is then absent, never 0). */
  /** The feature whose tables the gauge reads: absent while that feature is switched off or not bound. */
  feature?: FeatureName;
  collect(ctx: { db: Db; config: Config; now: Date }): Promise<GaugeSample[]>;
}
