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

/**
 * Expired temp uploads that maintenance set aside after TEMP_UPLOAD_MAX_ATTEMPTS failed attempts
 * (an invalid path, storage refusing the object) and whose row still exists: their row and
 * object stay until someone looks.
 */
export const tempUploadsSetAsideRule: AlertRule = {
  id: 'maintenance.temp_uploads_set_aside',
  feature: 'imports',
  title: 'Temp uploads set aside by maintenance',
  severity: 'MEDIUM',
  responseSla: '1 business day',
  threshold: 0,
  comparison: 'gt',
  forSeconds: 0,
  runbook:
    'The maintenance job tried to remove these expired temp uploads three times (once per run) and failed each time, so it ' +
    'set them aside: later runs leave them alone (their reasons are in the alert\'s details and in the maintenance run\'s ' +
    'errors). Fix the cause (an invalid or misplaced storage_path in the team\'s table, storage permissions), or delete the ' +
    'row; then release fixed rows so the next run takes them again: ' +
    '`select * from cronwarden.temp_upload_release(array[\'<temp upload id>\', ...])`. The alert clears when no ' +
    'set-aside row remains.',
  async observe({ db }) {
    const [row] = await db.rpc<{ set_aside_count: number; samples: unknown[] }>('temp_upload_set_aside', { p_limit: 20 });
    return [{ subject: 'global', value: Number(row?.set_aside_count ?? 0), details: { samples: row?.samples ?? [] } }];
  },
};

export const maintenanceRules: AlertRule[] = [stuckImportRunsRule, maintenanceStepFailedRule, tempUploadsSetAsideRule];
