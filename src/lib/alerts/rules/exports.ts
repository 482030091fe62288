import { DEFAULT_FAILURE_RATE_THRESHOLD } from '../../monitoring/export-metrics';
import type { AlertRule } from '../types';

/** Minutes of finished exports the rule looks at. */
export const EXPORT_FAILURE_WINDOW_MINUTES = 60;

/**
 * Share of exports that failed in the last 60 minutes. Reported only once at least
 * EXPORT_FAILURE_MIN_SAMPLE exports finished in that window: 1 failure out of 2 is not a trend.
 */
export const exportFailureRateRule: AlertRule = {
  id: 'exports.failure_rate_high',
  feature: 'exports',
  title: 'Export failure rate above threshold',
  severity: 'HIGH',
  responseSla: '1 hour',
  threshold: DEFAULT_FAILURE_RATE_THRESHOLD,
  thresholdFrom: (config) => config.exports.failureRateThreshold,
  comparison: 'gt',
  forSeconds: 0,
  runbook:
    'More than EXPORT_FAILURE_RATE_THRESHOLD (default 10%) of the exports that finished in the last hour failed. Look at the `export_metric` log lines ' +
    'with status "failed" (their error_type and error_message) and at GET /api/admin/exports/metrics?hours=24 ' +
    '(failures by hour and format). Typical causes: the database timing out on large exports (count_range ' +
    '"large"), storage refusing uploads, or a deploy that broke a format. The alert clears when the failure ' +
    'rate of the last 60 minutes drops back to the threshold or below.',
  async observe({ db, config, now }) {
    const [row] = await db.rpc<{ total: number; failed: number; failure_rate: number }>('export_failure_stats', {
      p_minutes: EXPORT_FAILURE_WINDOW_MINUTES,
      p_now: now,
    });
    const total = Number(row.total);
    const failed = Number(row.failed);
    if (total < config.exports.failureMinSample) return [];
    return [
      {
        subject: 'global',
        value: Number(row.failure_rate),
        details: {
          failed_count: failed,
          total_count: total,
          window_minutes: EXPORT_FAILURE_WINDOW_MINUTES,
          min_sample: config.exports.failureMinSample,
        },
      },
    ];
  },
};

/**
 * Export rows that file cleanup set aside after FILE_MAX_ATTEMPTS failed attempts (an invalid
 * path, a path under the archive prefix, storage refusing the object): their files stay and
 * their rows are never retained until someone looks.
 */
export const exportFilesSetAsideRule: AlertRule = {
  id: 'exports.files_set_aside',
  feature: 'exports',
  title: 'Export files set aside by file cleanup',
  severity: 'MEDIUM',
  responseSla: '1 business day',
  threshold: 0,
  comparison: 'gt',
  forSeconds: 0,
  runbook:
    'export-file-cleanup tried to remove these exports\' files three times and failed each time, so it set the rows aside ' +
    '(their reason is in the alert\'s details and in the `export_file_delete_failed` log lines). Fix the cause (an invalid ' +
    'or misplaced file_path, a path under the archive prefix, storage permissions), then release the rows so the next run ' +
    'takes them again: `select * from cronwarden.export_file_claim_release(array[\'<export id>\', ...])`.',
  async observe({ db }) {
    const [row] = await db.rpc<{ set_aside_count: number; samples: unknown[] }>('export_file_set_aside', { p_limit: 20 });
    return [{ subject: 'global', value: Number(row?.set_aside_count ?? 0), details: { samples: row?.samples ?? [] } }];
  },
};

export const exportRules: AlertRule[] = [exportFailureRateRule, exportFilesSetAsideRule];
