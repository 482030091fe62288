import type { Config } from '../config';
import type { Db } from '../db/types';
import type { Logger } from '../logger';

/**
 * Export metrics: one row per finished export (completed or failed), aggregates over a period
 * computed by one SQL function (`export_aggregate_metrics`), and the failure-rate check that
 * raises the `export_failure_alert` log line.
 */

export const EXPORT_FORMATS = ['json', 'jsonl', 'csv', 'markdown'] as const;
/** The demo app's formats; a team's export service logs its own (any short name). */
export type ExportFormat = (typeof EXPORT_FORMATS)[number] | (string & {});
export type ExportMetricStatus = 'completed' | 'failed';
/** small: < 100 conversations, medium: 100-499, large: 500+ (SQL `export_count_range`). */
export type CountRange = 'small' | 'medium' | 'large';

/** A single export operation's metrics. */
export interface ExportMetric {
  export_id: string;
  user_id: string;
  format: ExportFormat;
  status: ExportMetricStatus;
  conversation_count: number;
  duration_ms: number;
  file_size_bytes: number | null;
  error_type?: string | null;
  error_message?: string | null;
  /** When the export finished; defaults to the service's clock. */
  timestamp?: Date;
}

export interface VolumeBucket {
  count: number;
  failed: number;
}

export interface UserActivity {
  user_id: string;
  export_count: number;
  failed_count: number;
  total_file_size_bytes: number;
  last_export_at: string;
}

export type AggregationPeriod = 'hourly' | 'daily' | 'weekly' | 'custom';

/** Summary statistics for a period [period_start, period_end). */
export interface AggregatedMetrics {
  period: AggregationPeriod;
  period_start: string;
  period_end: string;
  total_exports: number;
  successful_exports: number;
  failed_exports: number;
  /** successful / total; null when there were no exports. */
  success_rate: number | null;
  /** Over completed exports. */
  avg_duration_ms: number | null;
  p95_duration_ms: number | null;
  avg_duration_by_format: Record<string, number>;
  p95_duration_by_format: Record<string, number>;
  avg_duration_by_count_range: Partial<Record<CountRange, number>>;
  p95_duration_by_count_range: Partial<Record<CountRange, number>>;
  avg_file_size_by_format: Record<string, number>;
  max_file_size_by_format: Record<string, number>;
  format_distribution: Record<string, number>;
  volume_by_hour: (VolumeBucket & { hour: string })[];
  volume_by_day: (VolumeBucket & { day: string })[];
  unique_users: number;
  /** Most active users first (at most 50). */
  user_activity: UserActivity[];
}

/**
 * The statistics of a window as dashboards show them (SQL `export_metrics_report`): read from the
 * hourly rollups for the hours they hold and from the raw metrics for the rest (the current
 * partial hour), so a 30-day window costs about as much as a day. Counts, rates, means, sizes,
 * the format mix and the hourly and daily volumes are exact; p95 values are estimated from
 * log-spaced duration histograms (sixteen buckets per doubling: always within 4.43% of the
 * exact percentile_cont, in practice well within 1%). Distinct and most active users need the
 * raw rows: `aggregateMetrics`.
 */
export interface WindowMetrics
  extends Omit<AggregatedMetrics, 'period' | 'unique_users' | 'user_activity'> {
  /** Estimated from the duration histograms. */
  p95_duration_ms: number | null;
  /** Where the figures came from: rollup hours [rollup_from, rollup_to) (null: none) and raw rows read. */
  source: { rollup_from: string | null; rollup_to: string | null; raw_rows: number; percentiles: 'histogram' };
}

export interface FailureRateCheck {
  failureRate: number;
  total: number;
  failed: number;
  alert: boolean;
  threshold: number;
  minSample: number;
  windowMinutes: number;
}

export type AggregationWindow = { from: Date; to: Date; period?: AggregationPeriod } | 'hourly' | 'daily' | 'weekly';

export interface ExportMetricsService {
  /** Stores the export's metrics row and logs an `export_metric` line. */
  logExportMetric(metric: ExportMetric): Promise<{ count_range: CountRange }>;
  /** Aggregates over [from, to), or over the last hour/day/week; logs an `aggregated_metrics` line. */
  aggregateMetrics(window: AggregationWindow, options?: { userId?: string; log?: boolean }): Promise<AggregatedMetrics>;
  /**
   * The window's statistics from the hourly rollups plus the raw metrics of the hours they do
   * not hold (see WindowMetrics); for dashboards. Throws RangeError unless from < to.
   */
  windowMetrics(window: { from: Date; to: Date }): Promise<WindowMetrics>;
  /**
   * Failure rate of exports finished in the last `minutes`. `alert` is true when the rate is
   * above the threshold AND at least the minimum sample finished; then an
   * `export_failure_alert` line is logged (unless `emit` is false).
   */
  checkFailureRate(minutes: number, options?: { userId?: string; emit?: boolean }): Promise<FailureRateCheck>;
}

export interface ExportMetricsDeps {
  db: Db;
  log: Logger;
  now?: () => Date;
  config?: Pick<Config, 'exports'>;
}

export const DEFAULT_FAILURE_RATE_THRESHOLD = 0.1;
export const DEFAULT_FAILURE_MIN_SAMPLE = 10;

const PERIOD_MS: Record<'hourly' | 'daily' | 'weekly', number> = {
  hourly: 3_600_000,
  daily: 86_400_000,
  weekly: 7 * 86_400_000,
};

interface AggregateRow {
  period_start: Date | string;
  period_end: Date | string;
  total_exports: number;
  successful_exports: number;
  failed_exports: number;
  success_rate: number | null;
  avg_duration_ms: number | null;
  p95_duration_ms: number | null;
  avg_duration_by_format: Record<string, number>;
  p95_duration_by_format: Record<string, number>;
  avg_duration_by_count_range: Record<string, number>;
  p95_duration_by_count_range: Record<string, number>;
  avg_file_size_by_format: Record<string, number>;
  max_file_size_by_format: Record<string, number>;
  format_distribution: Record<string, number>;
  volume_by_hour: (VolumeBucket & { hour: string })[];
  volume_by_day: (VolumeBucket & { day: string })[];
  unique_users: number;
  user_activity: UserActivity[];
}

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();
const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

/** The decision alone, for tests and callers that already have the counts. */
export function failureAlertDue(failed: number, total: number, threshold: number, minSample: number): boolean {
  return total >= minSample && total > 0 && failed / total > threshold;
}

export function createExportMetricsService(deps: ExportMetricsDeps): ExportMetricsService {
  const { db, log } = deps;
  const now = deps.now ?? (() => new Date());
  const threshold = deps.config?.exports.failureRateThreshold ?? DEFAULT_FAILURE_RATE_THRESHOLD;
  const minSample = deps.config?.exports.failureMinSample ?? DEFAULT_FAILURE_MIN_SAMPLE;

  return {
    async logExportMetric(metric) {
      const at = metric.timestamp ?? now();
      const [row] = await db.rpc<{ count_range: CountRange }>('export_log_metric', {
        p_export_id: metric.export_id,
        p_user_id: metric.user_id,
        p_format: metric.format,
        p_status: metric.status,
        p_duration_ms: Math.max(0, Math.round(metric.duration_ms)),
        p_file_size_bytes: metric.file_size_bytes ?? null,
        p_conversation_count: metric.conversation_count,
        p_error_type: metric.error_type ?? null,
        p_error_message: metric.error_message ?? null,
        p_created_at: at,
      });
      log.info(
        {
          type: 'export_metric',
          export_id: metric.export_id,
          user_id: metric.user_id,
          format: metric.format,
          status: metric.status,
          conversation_count: metric.conversation_count,
          count_range: row.count_range,
          duration_ms: Math.max(0, Math.round(metric.duration_ms)),
          file_size_bytes: metric.file_size_bytes ?? null,
          ...(metric.status === 'failed'
            ? { error_type: metric.error_type ?? null, error_message: metric.error_message?.slice(0, 2000) ?? null }
            : {}),
          timestamp: at.toISOString(),
        },
        'export metric',
      );
      return { count_range: row.count_range };
    },

    async aggregateMetrics(window, options = {}) {
      let from: Date;
      let to: Date;
      let period: AggregationPeriod;
      if (typeof window === 'string') {
        to = now();
        from = new Date(to.getTime() - PERIOD_MS[window]);
        period = window;
      } else {
        ({ from, to } = window);
        period = window.period ?? 'custom';
      }
      if (!(from.getTime() < to.getTime())) throw new RangeError('aggregateMetrics: `from` must be before `to`');
      const [r] = await db.rpc<AggregateRow>('export_aggregate_metrics', {
        p_from: from,
        p_to: to,
        p_user_id: options.userId ?? null,
      });
      const out: AggregatedMetrics = {
        period,
        period_start: iso(r.period_start),
        period_end: iso(r.period_end),
        total_exports: Number(r.total_exports),
        successful_exports: Number(r.successful_exports),
        failed_exports: Number(r.failed_exports),
        success_rate: num(r.success_rate),
        avg_duration_ms: num(r.avg_duration_ms),
        p95_duration_ms: num(r.p95_duration_ms),
        avg_duration_by_format: r.avg_duration_by_format,
        p95_duration_by_format: r.p95_duration_by_format,
        avg_duration_by_count_range: r.avg_duration_by_count_range,
        p95_duration_by_count_range: r.p95_duration_by_count_range,
        avg_file_size_by_format: r.avg_file_size_by_format,
        max_file_size_by_format: r.max_file_size_by_format,
        format_distribution: r.format_distribution,
        volume_by_hour: r.volume_by_hour.map((b) => ({ ...b, hour: iso(b.hour) })),
        volume_by_day: r.volume_by_day,
        unique_users: Number(r.unique_users),
        user_activity: r.user_activity,
      };
      if (options.log !== false) {
        log.info(
          {
            type: 'aggregated_metrics',
            period,
            period_start: out.period_start,
            period_end: out.period_end,
            total_exports: out.total_exports,
            successful_exports: out.successful_exports,
            failed_exports: out.failed_exports,
            success_rate: out.success_rate,
            avg_duration_by_format: out.avg_duration_by_format,
            p95_duration_by_format: out.p95_duration_by_format,
            avg_duration_by_count_range: out.avg_duration_by_count_range,
            format_distribution: out.format_distribution,
            unique_users: out.unique_users,
          },
          'aggregated export metrics',
        );
      }
      return out;
    },

    async windowMetrics({ from, to }) {
      if (!(from.getTime() < to.getTime())) throw new RangeError('windowMetrics: `from` must be before `to`');
      const [r] = await db.rpc<Omit<AggregateRow, 'unique_users' | 'user_activity'> & { rollup_from: Date | string | null; rollup_to: Date | string | null; raw_rows: number }>(
        'export_metrics_report',
        { p_from: from, p_to: to },
      );
      return {
        period_start: iso(r.period_start),
        period_end: iso(r.period_end),
        total_exports: Number(r.total_exports),
        successful_exports: Number(r.successful_exports),
        failed_exports: Number(r.failed_exports),
        success_rate: num(r.success_rate),
        avg_duration_ms: num(r.avg_duration_ms),
        p95_duration_ms: num(r.p95_duration_ms),
        avg_duration_by_format: r.avg_duration_by_format,
        p95_duration_by_format: r.p95_duration_by_format,
        avg_duration_by_count_range: r.avg_duration_by_count_range,
        p95_duration_by_count_range: r.p95_duration_by_count_range,
        avg_file_size_by_format: r.avg_file_size_by_format,
        max_file_size_by_format: r.max_file_size_by_format,
        format_distribution: r.format_distribution,
        volume_by_hour: r.volume_by_hour.map((b) => ({ ...b, hour: iso(b.hour) })),
        volume_by_day: r.volume_by_day,
        source: {
          rollup_from: r.rollup_from === null ? null : iso(r.rollup_from),
          rollup_to: r.rollup_to === null ? null : iso(r.rollup_to),
          raw_rows: Number(r.raw_rows),
          percentiles: 'histogram',
        },
      };
    },

    async checkFailureRate(minutes, options = {}) {
      if (!Number.isInteger(minutes) || minutes < 1) throw new RangeError('checkFailureRate: minutes must be a positive whole number');
      const [row] = await db.rpc<{ total: number; failed: number; failure_rate: number }>('export_failure_stats', {
        p_minutes: minutes,
        p_now: now(),
        p_user_id: options.userId ?? null,
      });
      const total = Number(row.total);
      const failed = Number(row.failed);
      const failureRate = Number(row.failure_rate);
      const alert = failureAlertDue(failed, total, threshold, minSample);
      const check: FailureRateCheck = { failureRate, total, failed, alert, threshold, minSample, windowMinutes: minutes };
      if (alert && options.emit !== false) {
        log.error(
          {
            type: 'export_failure_alert',
            severity: 'high',
            message: `Export failure rate (${(failureRate * 100).toFixed(2)}%) exceeds threshold (${+(threshold * 100).toFixed(2)}%)`,
            alert: true,
            failure_rate: failureRate,
            failed_count: failed,
            total_count: total,
            threshold,
            min_sample: minSample,
            window_minutes: minutes,
          },
          'export failure rate above threshold',
        );
      }
      return check;
    },
  };
}
