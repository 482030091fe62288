import type { Db } from '../db/types';

/**
 * Usage pattern and long-term reports over the user deletion audit trail. The period is read in
 * slices (one SQL call per slice, each a short grouped query on the (action, created_at) index)
 * and merged here; latency percentiles and per-hour/per-day maxima, which do not merge, come
 * from one call over the whole period. Days and hours are UTC.
 */

export const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'] as const;

export interface ReportThresholds {
  /** Error rate (percent of attempts) above which failure reduction is recommended. */
  errorRatePercent: number;
  /** Average duration above which query optimization is recommended (ms). */
  avgDurationMs: number;
  /** p95 duration above which transaction tuning is recommended (ms). */
  p95DurationMs: number;
  /** An attempt slower than this is a "slow operation" (ms). */
  slowOperationMs: number;
  /** More slow operations than this on one UTC day: async processing is recommended. */
  slowOperationsPerDay: number;
  /** More timeouts than this in one clock hour: database optimization is recommended. */
  timeoutsPerHour: number;
  /** A failure class whose count changed by more than this percentage between the halves is rising/falling. */
  failureTrendPercent: number;
}

/** The seed's performance optimization triggers and alert thresholds. */
export const DEFAULT_REPORT_THRESHOLDS: ReportThresholds = {
  errorRatePercent: 1.0,
  avgDurationMs: 3000,
  p95DurationMs: 5000,
  slowOperationMs: 3000,
  slowOperationsPerDay: 10,
  timeoutsPerHour: 5,
  failureTrendPercent: 20,
};

export interface Recommendation {
  message: string;
  /** The figure that triggered it, its value and the threshold it crossed. */
  metric: string;
  value: number;
  threshold: number;
}

export interface Counts {
  total: number;
  successful: number;
  failed: number;
}

export type Trend = 'rising' | 'falling' | 'stable' | 'new';

export interface FailureClass {
  error_type: string;
  count: number;
  share_percent: number;
  first_half: number;
  second_half: number;
  /** null when the first half had none. */
  change_percent: number | null;
  trend: Trend;
}

export interface UsageReport {
  usage_pattern_analysis_report: {
    analysis_period_days: number;
    window_start: string;
    window_end: string;
    generated_at: string;
    slices: number;
  };
  deletion_frequency_analysis: {
    total_deletions: number;
    successful_deletions: number;
    failed_deletions: number;
    success_rate_percent: number | null;
    error_rate_percent: number | null;
    peak_hour: number | null;
    peak_hour_deletions: number;
    peak_day: string | null;
    peak_day_deletions: number;
    max_deletions_in_an_hour: number;
    by_hour: ({ hour: number } & Counts)[];
    by_weekday: ({ day: string } & Counts)[];
    slices: ({ start: string; end: string; timeouts: number; slow: number } & Counts)[];
  };
  user_type_patterns: ({ user_type: string; share_percent: number; success_rate_percent: number; avg_duration_ms: number | null } & Counts)[];
  failure_analysis: {
    total_failures: number;
    classes: FailureClass[];
  };
  performance_analysis: {
    latency_ms: { count: number; avg: number | null; p50: number | null; p90: number | null; p95: number | null; p99: number | null; max: number | null };
    slow_operations: { threshold_ms: number; total: number; max_per_day: number };
    max_timeouts_in_an_hour: number;
  };
  optimization_recommendations: {
    performance_optimization: Recommendation[];
    failure_reduction: Recommendation[];
  };
  thresholds: ReportThresholds;
}

interface SliceRow {
  hour_of_day: number;
  iso_dow: number;
  user_type: string;
  status: 'success' | 'failure';
  error_type: string | null;
  attempts: number;
  duration_sum_ms: number | string;
  duration_count: number;
  slow: number;
}

interface PeriodRow {
  attempts: number;
  timed: number;
  avg_ms: number | null;
  p50_ms: number | null;
  p90_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  slow: number;
  max_attempts_in_an_hour: number;
  max_timeouts_in_an_hour: number;
  max_slow_in_a_day: number;
}

export const round2 = (n: number) => Math.round(n * 100) / 100;
export const round1 = (n: number) => Math.round(n * 10) / 10;
const pct = (part: number, whole: number) => (whole === 0 ? null : round2((100 * part) / whole));
const numOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

/** [from, mid) and [mid, to) each cut into slices of at most sliceMs, so the halves are exact. */
export function slicesOf(from: Date, to: Date, sliceMs: number): { start: Date; end: Date; firstHalf: boolean }[] {
  const mid = new Date(from.getTime() + Math.floor((to.getTime() - from.getTime()) / 2));
  const out: { start: Date; end: Date; firstHalf: boolean }[] = [];
  for (const [a, b, firstHalf] of [
    [from, mid, true],
    [mid, to, false],
  ] as const) {
    for (let t = a.getTime(); t < b.getTime(); t += sliceMs) {
      out.push({ start: new Date(t), end: new Date(Math.min(t + sliceMs, b.getTime())), firstHalf });
    }
  }
  return out;
}

export function trendOf(first: number, second: number, thresholdPercent: number): { change_percent: number | null; trend: Trend } {
  if (first === 0) return { change_percent: null, trend: second > 0 ? 'new' : 'stable' };
  const change = round1((100 * (second - first)) / first);
  return { change_percent: change, trend: change > thresholdPercent ? 'rising' : change < -thresholdPercent ? 'falling' : 'stable' };
}

export interface UsageReportOptions {
  from: Date;
  to: Date;
  now?: Date;
  thresholds?: ReportThresholds;
  /** Slice length; default one day. */
  sliceMs?: number;
  onProgress?: (done: number, total: number) => void;
}

export async function buildUsageReport(db: Db, options: UsageReportOptions): Promise<UsageReport> {
  const t = options.thresholds ?? DEFAULT_REPORT_THRESHOLDS;
  const { from, to } = options;
  if (!(to.getTime() > from.getTime())) throw new Error('report window: `to` must be after `from`');
  const slices = slicesOf(from, to, options.sliceMs ?? 86_400_000);

  const byHour = Array.from({ length: 24 }, (_, hour) => ({ hour, total: 0, successful: 0, failed: 0 }));
  const byDay = WEEKDAYS.map((day) => ({ day: day as string, total: 0, successful: 0, failed: 0 }));
  const types = new Map<string, Counts & { durationSum: number; durationCount: number }>();
  const classes = new Map<string, { count: number; first: number; second: number }>();
  const sliceOut: UsageReport['deletion_frequency_analysis']['slices'] = [];
  let total = 0;
  let successful = 0;

  options.onProgress?.(0, slices.length + 1);
  for (const [i, s] of slices.entries()) {
    const rows = await db.rpc<SliceRow>('user_deletion_usage_slice', { p_from: s.start, p_to: s.end, p_slow_ms: t.slowOperationMs });
    const so = { start: s.start.toISOString(), end: s.end.toISOString(), total: 0, successful: 0, failed: 0, timeouts: 0, slow: 0 };
    for (const r of rows) {
      const n = Number(r.attempts);
      const ok = r.status === 'success';
      total += n;
      if (ok) successful += n;
      so.total += n;
      so[ok ? 'successful' : 'failed'] += n;
      so.slow += Number(r.slow);
      if (r.error_type === 'timeout') so.timeouts += n;
      const h = byHour[Number(r.hour_of_day)];
      h.total += n;
      h[ok ? 'successful' : 'failed'] += n;
      const d = byDay[Number(r.iso_dow) - 1];
      d.total += n;
      d[ok ? 'successful' : 'failed'] += n;
      const ty = types.get(r.user_type) ?? { total: 0, successful: 0, failed: 0, durationSum: 0, durationCount: 0 };
      ty.total += n;
      ty[ok ? 'successful' : 'failed'] += n;
      ty.durationSum += Number(r.duration_sum_ms);
      ty.durationCount += Number(r.duration_count);
      types.set(r.user_type, ty);
      if (!ok) {
        const key = r.error_type ?? 'unknown';
        const c = classes.get(key) ?? { count: 0, first: 0, second: 0 };
        c.count += n;
        c[s.firstHalf ? 'first' : 'second'] += n;
        classes.set(key, c);
      }
    }
    sliceOut.push(so);
    options.onProgress?.(i + 1, slices.length + 1);
  }
  const [p] = await db.rpc<PeriodRow>('user_deletion_period_stats', { p_from: from, p_to: to, p_slow_ms: t.slowOperationMs });
  options.onProgress?.(slices.length + 1, slices.length + 1);

  const failed = total - successful;
  const peakHour = total === 0 ? null : byHour.reduce((a, b) => (b.total > a.total ? b : a));
  const peakDay = total === 0 ? null : byDay.reduce((a, b) => (b.total > a.total ? b : a));
  const failureClasses: FailureClass[] = [...classes.entries()]
    .map(([error_type, c]) => ({
      error_type,
      count: c.count,
      share_percent: pct(c.count, failed) ?? 0,
      first_half: c.first,
      second_half: c.second,
      ...trendOf(c.first, c.second, t.failureTrendPercent),
    }))
    .sort((a, b) => b.count - a.count || a.error_type.localeCompare(b.error_type));

  const latency = {
    count: Number(p.timed),
    avg: numOrNull(p.avg_ms),
    p50: numOrNull(p.p50_ms),
    p90: numOrNull(p.p90_ms),
    p95: numOrNull(p.p95_ms),
    p99: numOrNull(p.p99_ms),
    max: numOrNull(p.max_ms),
  };
  const report: UsageReport = {
    usage_pattern_analysis_report: {
      analysis_period_days: round2((to.getTime() - from.getTime()) / 86_400_000),
      window_start: from.toISOString(),
      window_end: to.toISOString(),
      generated_at: (options.now ?? new Date()).toISOString(),
      slices: slices.length,
    },
    deletion_frequency_analysis: {
      total_deletions: total,
      successful_deletions: successful,
      failed_deletions: failed,
      success_rate_percent: pct(successful, total),
      error_rate_percent: pct(failed, total),
      peak_hour: peakHour?.hour ?? null,
      peak_hour_deletions: peakHour?.total ?? 0,
      peak_day: peakDay?.day ?? null,
      peak_day_deletions: peakDay?.total ?? 0,
      max_deletions_in_an_hour: Number(p.max_attempts_in_an_hour),
      by_hour: byHour,
      by_weekday: byDay,
      slices: sliceOut,
    },
    user_type_patterns: [...types.entries()]
      .map(([user_type, c]) => ({
        user_type,
        total: c.total,
        successful: c.successful,
        failed: c.failed,
        share_percent: pct(c.total, total) ?? 0,
        success_rate_percent: pct(c.successful, c.total) ?? 0,
        avg_duration_ms: c.durationCount === 0 ? null : round1(c.durationSum / c.durationCount),
      }))
      .sort((a, b) => b.total - a.total || a.user_type.localeCompare(b.user_type)),
    failure_analysis: { total_failures: failed, classes: failureClasses },
    performance_analysis: {
      latency_ms: latency,
      slow_operations: { threshold_ms: t.slowOperationMs, total: Number(p.slow), max_per_day: Number(p.max_slow_in_a_day) },
      max_timeouts_in_an_hour: Number(p.max_timeouts_in_an_hour),
    },
    optimization_recommendations: { performance_optimization: [], failure_reduction: [] },
    thresholds: t,
  };
  report.optimization_recommendations = recommend(report, t);
  return report;
}

/** Recommendations from the thresholds; each names the figure that triggered it. */
export function recommend(r: UsageReport, t: ReportThresholds): UsageReport['optimization_recommendations'] {
  const perf: Recommendation[] = [];
  const fail: Recommendation[] = [];
  const lat = r.performance_analysis.latency_ms;
  if (lat.avg !== null && lat.avg > t.avgDurationMs) {
    perf.push({
      message: `Query optimization: the average deletion takes ${lat.avg} ms (over ${t.avgDurationMs} ms); check the user_id indexes of the tables cleaned by hand and the size of the users being deleted.`,
      metric: 'avg_duration_ms',
      value: lat.avg,
      threshold: t.avgDurationMs,
    });
  }
  if (lat.p95 !== null && lat.p95 > t.p95DurationMs) {
    perf.push({
      message: `Transaction tuning: p95 deletion time is ${lat.p95} ms (over ${t.p95DurationMs} ms); look for lock waits and users with very many rows.`,
      metric: 'p95_duration_ms',
      value: lat.p95,
      threshold: t.p95DurationMs,
    });
  }
  const slow = r.performance_analysis.slow_operations;
  if (slow.max_per_day > t.slowOperationsPerDay) {
    perf.push({
      message: `Async processing: up to ${slow.max_per_day} deletions a day took over ${slow.threshold_ms} ms (more than ${t.slowOperationsPerDay}); consider deleting large users in the background.`,
      metric: 'max_slow_operations_per_day',
      value: slow.max_per_day,
      threshold: t.slowOperationsPerDay,
    });
  }
  const er = r.deletion_frequency_analysis.error_rate_percent;
  if (er !== null && er > t.errorRatePercent) {
    fail.push({
      message: `Failure reduction: ${er}% of deletion attempts failed (over ${t.errorRatePercent}%); see failure_analysis for the classes.`,
      metric: 'error_rate_percent',
      value: er,
      threshold: t.errorRatePercent,
    });
  }
  const to = r.performance_analysis.max_timeouts_in_an_hour;
  if (to > t.timeoutsPerHour) {
    fail.push({
      message: `Database optimization: up to ${to} deletion timeouts in one hour (more than ${t.timeoutsPerHour}); look for lock contention and long transactions at those hours.`,
      metric: 'max_timeouts_in_an_hour',
      value: to,
      threshold: t.timeoutsPerHour,
    });
  }
  for (const c of r.failure_analysis.classes) {
    if (c.trend === 'rising' && c.change_percent !== null) {
      fail.push({
        message: `'${c.error_type}' failures are rising: ${c.first_half} in the first half of the period, ${c.second_half} in the second (+${c.change_percent}%).`,
        metric: `failure_trend_percent.${c.error_type}`,
        value: c.change_percent,
        threshold: t.failureTrendPercent,
      });
    }
  }
  return { performance_optimization: perf, failure_reduction: fail };
}

export interface PeriodComparison {
  attempts_change_percent: number | null;
  error_rate_change_points: number | null;
  p95_change_ms: number | null;
}

/** Week-over-week (or period-over-period) change of the headline figures. */
export function comparePeriods(current: UsageReport, previous: UsageReport): PeriodComparison {
  const a = current.deletion_frequency_analysis;
  const b = previous.deletion_frequency_analysis;
  const p95a = current.performance_analysis.latency_ms.p95;
  const p95b = previous.performance_analysis.latency_ms.p95;
  return {
    attempts_change_percent: b.total_deletions === 0 ? null : round1((100 * (a.total_deletions - b.total_deletions)) / b.total_deletions),
    error_rate_change_points: a.error_rate_percent === null || b.error_rate_percent === null ? null : round2(a.error_rate_percent - b.error_rate_percent),
    p95_change_ms: p95a === null || p95b === null ? null : round1(p95a - p95b),
  };
}

export interface LongTermReportOptions {
  now: Date;
  /** Length of the reported period (REPORT_INTERVAL); compared with the period before it. */
  periodMs: number;
  thresholds?: ReportThresholds;
  completenessSampleSize?: number;
  /** The data integrity part, computed by the caller (user-integrity.ts) or omitted. */
  integrity?: () => Promise<unknown>;
  onProgress?: (done: number, total: number, step: string) => void;
}

/**
 * The weekly report (`monitor:long-term -- --report-only`): usage patterns of the last period,
 * the change against the period before, a random audit of deletion completeness, and the
 * data integrity validation.
 */
export async function buildLongTermReport(db: Db, options: LongTermReportOptions) {
  const { now, periodMs } = options;
  const thresholds = options.thresholds ?? DEFAULT_REPORT_THRESHOLDS;
  const from = new Date(now.getTime() - periodMs);
  const prevFrom = new Date(now.getTime() - 2 * periodMs);
  const steps = 4;
  options.onProgress?.(0, steps, 'current period');
  const current = await buildUsageReport(db, { from, to: now, now, thresholds });
  options.onProgress?.(1, steps, 'previous period');
  const previous = await buildUsageReport(db, { from: prevFrom, to: from, now, thresholds });
  options.onProgress?.(2, steps, 'completeness audit');
  const rows = (
    await db.rpc<{ user_id: string; deleted_at: string | Date; remaining: Record<string, number> | string; remaining_total: number; user_exists: boolean; has_success_audit: boolean }>(
      'user_deletion_completeness_sample',
      { p_sample_size: options.completenessSampleSize ?? 25, p_since: from },
    )
  ).map((r) => ({
    user_id: r.user_id,
    deleted_at: new Date(r.deleted_at).toISOString(),
    // rows left per table (the deletion's table keys); all 0 for a complete deletion
    remaining: typeof r.remaining === 'string' ? (JSON.parse(r.remaining) as Record<string, number>) : r.remaining,
    remaining_total: Number(r.remaining_total),
    user_exists: r.user_exists,
    has_success_audit: r.has_success_audit,
  }));
  const incomplete = rows.filter((r) => r.user_exists || !r.has_success_audit || r.remaining_total > 0);
  options.onProgress?.(3, steps, 'data integrity');
  const integrity = options.integrity ? await options.integrity() : null;
  options.onProgress?.(4, steps, 'done');
  return {
    long_term_report: {
      generated_at: now.toISOString(),
      window_start: from.toISOString(),
      window_end: now.toISOString(),
      previous_window_start: prevFrom.toISOString(),
      period_days: round2(periodMs / 86_400_000),
    },
    usage: current,
    previous_period: {
      total_deletions: previous.deletion_frequency_analysis.total_deletions,
      error_rate_percent: previous.deletion_frequency_analysis.error_rate_percent,
      p95_duration_ms: previous.performance_analysis.latency_ms.p95,
      failure_classes: previous.failure_analysis.classes.map((c) => ({ error_type: c.error_type, count: c.count })),
    },
    changes: comparePeriods(current, previous),
    deletion_completeness_audit: { sampled: rows.length, complete: rows.length - incomplete.length, incomplete },
    data_integrity: integrity,
    optimization_recommendations: current.optimization_recommendations,
  };
}
