import type { Db } from '../../db/types';
import type { FeatureGauge } from '../gauges';

async function lastHour(db: Db, now: Date) {
  const [row] = await db.rpc<{ total: number; failed: number }>('export_failure_stats', { p_minutes: 60, p_now: now });
  return { total: Number(row.total), failed: Number(row.failed) };
}

/** Success rate of exports finished in the last hour; absent when none finished. */
export const exportSuccessRateGauge: FeatureGauge = {
  name: 'cronwarden_exports_success_ratio_last_hour',
  help: 'Share (0..1) of exports finished in the last 60 minutes that completed; absent when none finished',
  feature: 'exports',
  async collect({ db, now }) {
    const { total, failed } = await lastHour(db, now);
    return total === 0 ? [] : [{ value: (total - failed) / total }];
  },
};

/** Exports finished (completed or failed) in the last hour. */
export const exportsPerHourGauge: FeatureGauge = {
  name: 'cronwarden_exports_finished_last_hour',
  help: 'Exports finished (completed or failed) in the last 60 minutes',
  labelNames: ['status'],
  feature: 'exports',
  async collect({ db, now }) {
    const { total, failed } = await lastHour(db, now);
    return [
      { labels: { status: 'completed' }, value: total - failed },
      { labels: { status: 'failed' }, value: failed },
    ];
  },
};

export const exportGauges: FeatureGauge[] = [exportSuccessRateGauge, exportsPerHourGauge];
