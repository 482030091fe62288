import type { Db } from '../db/types';

/** What import maintenance has due now (the maintenance_status view's row, numbers as numbers). */
export interface MaintenanceStatus {
  stuckRuns: number;
  oldestStuckHeartbeatAt: string | null;
  oldTempUploads: number;
  oldTempUploadBytes: number;
  oldRawItems: number;
  jobsDueForCompaction: number;
  checkedAt: string;
  lastRun: MaintenanceLastRun | null;
}

export interface MaintenanceLastRun {
  runId: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  error: string | null;
  errorCount: number;
  errors: { subject?: string; message?: string }[];
}

interface StatusRow {
  stuck_runs: number;
  oldest_stuck_heartbeat_at: Date | string | null;
  old_temp_uploads: number;
  old_temp_upload_bytes: number | string;
  old_raw_items: number;
  jobs_due_for_compaction: number;
  checked_at: Date | string;
}

interface LastRunRow {
  run_id: string;
  status: string;
  started_at: Date | string;
  finished_at: Date | string | null;
  error: string | null;
  error_count: number;
  errors: unknown;
}

const iso = (v: Date | string | null): string | null => (v === null ? null : new Date(v).toISOString());

export async function readLastMaintenanceRun(db: Db): Promise<MaintenanceLastRun | null> {
  const [r] = await db.rpc<LastRunRow>('maintenance_last_run', { p_job: 'maintenance' });
  if (!r) return null;
  return {
    runId: r.run_id,
    status: r.status,
    startedAt: iso(r.started_at) as string,
    finishedAt: iso(r.finished_at),
    error: r.error,
    errorCount: Number(r.error_count),
    errors: Array.isArray(r.errors) ? (r.errors as MaintenanceLastRun['errors']) : [],
  };
}

/** The counts from get_maintenance_status (the view's function) at `now`, plus the last run. */
export async function readMaintenanceStatus(db: Db, now: Date, stuckHours?: number): Promise<MaintenanceStatus> {
  const [row] = await db.rpc<StatusRow>('get_maintenance_status', { p_now: now, p_hours: stuckHours });
  return {
    stuckRuns: Number(row.stuck_runs),
    oldestStuckHeartbeatAt: iso(row.oldest_stuck_heartbeat_at),
    oldTempUploads: Number(row.old_temp_uploads),
    oldTempUploadBytes: Number(row.old_temp_upload_bytes),
    oldRawItems: Number(row.old_raw_items),
    jobsDueForCompaction: Number(row.jobs_due_for_compaction),
    checkedAt: iso(row.checked_at) as string,
    lastRun: await readLastMaintenanceRun(db),
  };
}
