import type { JobDeps } from '../cron/types';
import { FILE_CLAIM_TTL_SECONDS } from '../jobs/export-file-cleanup';
import { getCleanupStats } from '../jobs/export-log-cleanup';
import { createExportMetricsService, type AggregatedMetrics } from './export-metrics';

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

/** The admin charts' data: the aggregate of the last `hours` and the hourly rollup series. */
export async function exportMetricsReport(deps: JobDeps, hours: number) {
  const now = deps.now();
  const from = new Date(now.getTime() - hours * 3_600_000);
  const service = createExportMetricsService({ db: deps.db, log: deps.log, config: deps.config, now: () => now });
  const aggregate: AggregatedMetrics = await service.aggregateMetrics({ from, to: now, period: 'custom' }, { log: false });
  const failure = await service.checkFailureRate(60, { emit: false });
  const rows = await deps.db.rpc<Record<string, unknown>>('export_hourly_series', {
    p_from: new Date(Math.floor(from.getTime() / 3_600_000) * 3_600_000),
    p_to: now,
  });
  const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  const hourly: HourlyPoint[] = rows.map((r) => ({
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
  }));
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
