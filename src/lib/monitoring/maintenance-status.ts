import type { Db } from '../db/types';

/**
 * What import maintenance has due now (the maintenance_status view's row): counts of rows, bytes,
 * times as ISO 8601 UTC. A part the binding leaves out (raw items, temp uploads, jobs) counts 0.
 */
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

/** cronwarden.get_maintenance_status: bigint counts and bytes, read as numbers by every adapter. */
interface StatusRow {
  stuck_runs: number;
  oldest_stuck_heartbeat_at: Date | string | null;
  old_temp_uploads: number;
  old_temp_upload_bytes: number;
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

/** The latest finished, non-dry run of the maintenance job (our run history), or null. */
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

/**
 * The counts from get_maintenance_status (the view's function) at `now`, plus the last run.
 * The imports feature must be bound: the SQL raises 55000 otherwise (callers check first).
 */
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
