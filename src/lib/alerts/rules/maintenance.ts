import { readLastMaintenanceRun, readMaintenanceStatus } from '../../monitoring/maintenance-status';
import type { AlertRule } from '../types';

/** Import runs in a processing status whose heartbeat is more than 24 h old, right now. */
export const stuckImportRunsRule: AlertRule = {
  id: 'maintenance.stuck_runs',
  feature: 'imports',
  title: 'Import runs stuck in processing',
  severity: 'MEDIUM',
  responseSla: '4 hours',
  threshold: 0,
  comparison: 'gt',
  forSeconds: 0,
  runbook:
    'Import runs have shown no progress (heartbeat) for more than 24 hours. The daily maintenance job marks them ' +
    'failed; to do it now, call GET /api/cron/maintenance with the cron secret (add ?dryRun=1 first to see which runs). ' +
    'If runs keep getting stuck, look at the import worker: its logs around each run\'s last heartbeat ' +
    '(GET /api/admin/maintenance/status shows the oldest one).',
  async observe({ db, now }) {
    const s = await readMaintenanceStatus(db, now);
    return [
      {
        subject: 'global',
        value: s.stuckRuns,
        details: { stuck_runs: s.stuckRuns, oldest_stuck_heartbeat_at: s.oldestStuckHeartbeatAt },
      },
    ];
  },
};

/** The latest (non-dry) maintenance run failed, or finished with errors in some step. */
export const maintenanceStepFailedRule: AlertRule = {
  id: 'maintenance.step_failed',
  feature: 'imports',
  title: 'Import maintenance step failed',
  severity: 'HIGH',
  responseSla: '1 hour',
  threshold: 0,
  comparison: 'gt',
  forSeconds: 0,
  runbook:
    'The last maintenance run failed or one of its steps reported errors (see details.errors: stuck_runs, ' +
    'temp_uploads, compact_import_jobs, raw_items, or a storage path). Storage errors keep the temp upload rows, ' +
    'so the next run retries them. Fix the cause (storage credentials or availability, a database error), then ' +
    're-run GET /api/cron/maintenance; the alert clears when a run finishes without errors.',
  async observe({ db }) {
    const last = await readLastMaintenanceRun(db);
    if (!last) return [];
    const bad = last.status === 'failed' || last.errorCount > 0;
    return [
      {
        subject: 'maintenance',
        value: bad ? Math.max(1, last.errorCount) : 0,
        details: {
          run_id: last.runId,
          status: last.status,
          finished_at: last.finishedAt,
          error: last.error,
          error_count: last.errorCount,
          errors: last.errors.slice(0, 5),
        },
      },
    ];
  },
};

export const maintenanceRules: AlertRule[] = [stuckImportRunsRule, maintenanceStepFailedRule];
