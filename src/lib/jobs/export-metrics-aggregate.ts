import { z } from 'zod';
import { defineJob } from '../cron/types';
import { q } from '../http/query';
import { createExportMetricsService } from '../monitoring/export-metrics';

/** Minutes of finished exports the hourly failure-rate check looks at. */
export const FAILURE_WINDOW_MINUTES = 60;

const input = z.strictObject({
  /** Completed hours to (re)compute; late metrics within this window are picked up. */
  lookbackHours: q.int(1, 720).optional(),
});

/**
 * Hourly: rolls export_metrics into export_metrics_hourly for completed hours (an idempotent
 * upsert, with up to 72 more hours before them until the rollups reach 720 hours back), logs the
 * last hour's aggregate, then checks the failure rate of the last 60 minutes.
 */
export const exportMetricsAggregateJob = defineJob({
  name: 'export-metrics-aggregate',
  description: 'Roll export metrics into hourly rows and check the export failure rate',
  input,
  maxDurationSeconds: 60,
  feature: 'exports',
  async run({ db, log, config, input, dryRun, startedAt }) {
    const lookbackHours = input.lookbackHours ?? 48;
    const [roll] = await db.rpc<{
      hours_covered: number;
      rows_upserted: number;
      rows_removed: number;
      window_start: Date | string;
      window_end: Date | string;
      backfill_start: Date | string | null;
      covered_from: Date | string;
      covered_until: Date | string;
    }>('export_rollup_hourly', { p_lookback_hours: lookbackHours, p_now: startedAt, p_dry_run: dryRun });

    const service = createExportMetricsService({ db, log, config, now: () => startedAt });
    const windowEnd = new Date(roll.window_end);
    const lastHour = await service.aggregateMetrics(
      { from: new Date(windowEnd.getTime() - 3_600_000), to: windowEnd, period: 'hourly' },
      { log: !dryRun },
    );
    const check = await service.checkFailureRate(FAILURE_WINDOW_MINUTES, { emit: !dryRun });

    const upserted = Number(roll.rows_upserted);
    const removed = Number(roll.rows_removed);
    return {
      errors: [],
      rows_affected: dryRun ? 0 : upserted + removed,
      lookback_hours: lookbackHours,
      window_start: new Date(roll.window_start).toISOString(),
      window_end: windowEnd.toISOString(),
      hours_covered: Number(roll.hours_covered),
      // Hours before the window rolled up as well this run (toward 720 hours back), and the
      // stretch of hours the rollups now hold: dashboards read the rollups there.
      backfill_start: roll.backfill_start === null ? null : new Date(roll.backfill_start).toISOString(),
      rollups_cover: { from: new Date(roll.covered_from).toISOString(), until: new Date(roll.covered_until).toISOString() },
      [dryRun ? 'would_upsert_rows' : 'rows_upserted']: upserted,
      [dryRun ? 'would_remove_rows' : 'rows_removed']: removed,
      last_hour: {
        total_exports: lastHour.total_exports,
        failed_exports: lastHour.failed_exports,
        success_rate: lastHour.success_rate,
      },
      failure_rate: check.failureRate,
      failure_window_minutes: FAILURE_WINDOW_MINUTES,
      total_count: check.total,
      failed_count: check.failed,
      alert: check.alert,
      threshold: check.threshold,
      min_sample: check.minSample,
    };
  },
});
