import type { JobDeps } from '../cron/types';
import { FILE_CLAIM_TTL_SECONDS } from '../jobs/export-file-cleanup';
import { getCleanupStats } from '../jobs/export-log-cleanup';
import { createExportMetricsService, type WindowMetrics } from './export-metrics';

export interface HourlyPoint {
  hour: string;
  format: string;
  total_exports: number;
  successful_exports: number;
  failed_exports: number;
  avg_duration_ms: number | null;
  p95_duration_ms: number | null;
  max_duration_ms: number | null;
  total_file_size_bytes: number;
  avg_file_size_bytes: number | null;
}

/** Rows per export_hourly_series call: PostgREST's max-rows on Supabase. */
export const SERIES_PAGE = 1000;

/**
 * The hourly rollup rows of [from, to) for the charts, paged (SERIES_PAGE rows a call, keyed on
 * hour then format), so a 30-day window of four formats (2,880 rows) arrives whole.
 */
export async function hourlySeries(db: JobDeps['db'], from: Date, to: Date): Promise<HourlyPoint[]> {
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const out: HourlyPoint[] = [];
  let after: { hour: Date; format: string } | null = null;
  for (;;) {
    const rows: Record<string, unknown>[] = await db.rpc<Record<string, unknown>>('export_hourly_series', {
      p_from: from,
      p_to: to,
      p_after_hour: after?.hour ?? null,
      p_after_format: after?.format ?? null,
      p_limit: SERIES_PAGE,
    });
    for (const r of rows) {
      out.push({
        hour: new Date(r.hour as string | Date).toISOString(),
        format: String(r.format),
        total_exports: Number(r.total_exports),
        successful_exports: Number(r.successful_exports),
        failed_exports: Number(r.failed_exports),
        avg_duration_ms: n(r.avg_duration_ms),
        p95_duration_ms: n(r.p95_duration_ms),
        max_duration_ms: n(r.max_duration_ms),
        total_file_size_bytes: Number(r.total_file_size_bytes),
        avg_file_size_bytes: n(r.avg_file_size_bytes),
      });
    }
    if (rows.length < SERIES_PAGE) return out;
    const last = rows[rows.length - 1];
    after = { hour: new Date(last.hour as string | Date), format: String(last.format) };
  }
}

/**
 * The admin charts' data for the last `hours` (1-720): the window's statistics from the hourly
 * rollups plus the raw metrics of the hours not rolled up yet (`windowMetrics`: exact counts,
 * p95 from histograms; a 30-day window reads about 3,000 rollup rows, not the month's metrics),
 * the failure rate of the last hour and the hourly rollup series.
 */
export async function exportMetricsReport(deps: JobDeps, hours: number) {
  const now = deps.now();
  const from = new Date(now.getTime() - hours * 3_600_000);
  const service = createExportMetricsService({ db: deps.db, log: deps.log, config: deps.config, now: () => now });
  const aggregate: WindowMetrics = await service.windowMetrics({ from, to: now });
  const failure = await service.checkFailureRate(60, { emit: false });
  const hourly = await hourlySeries(deps.db, new Date(Math.floor(from.getTime() / 3_600_000) * 3_600_000), now);
  return { hours, from: from.toISOString(), to: now.toISOString(), aggregate, failure_rate_last_hour: failure, hourly };
}

/** What the two cleanup jobs would remove now. */
export async function exportCleanupStatsReport(deps: JobDeps, retentionDays?: number) {
  const now = deps.now();
  const logs = await getCleanupStats(deps, { retentionDays, at: now });
  const [files] = await deps.db.rpc<{ due_count: number; due_bytes: number; with_file_count: number; claimed_count: number }>(
    'export_file_cleanup_preview',
    { p_claim_ttl_seconds: FILE_CLAIM_TTL_SECONDS, p_now: now },
  );
  return {
    logs,
    files: {
      expired_due: Number(files.due_count),
      with_file: Number(files.with_file_count),
      bytes: Number(files.due_bytes),
      claimed_by_a_run: Number(files.claimed_count),
    },
    archive: { enabled: deps.config.exports.archiveEnabled, prefix: deps.config.exports.archivePrefix, driver: deps.storage.driver },
  };
}
