import type { Db } from '../db/types';

/** Figures over the last `window_minutes` of deletion attempts (audit_logs, action USER_DELETION). */
export interface DeletionStats {
  window_minutes: number;
  window_start: string;
  window_end: string;
  total_deletions: number;
  successful_deletions: number;
  failed_deletions: number;
  error_rate_percent: number;
  avg_duration_ms: number | null;
  p95_duration_ms: number | null;
  max_duration_ms: number | null;
  timeouts: number;
  not_found: number;
  conflicts: number;
  db_errors: number;
  last_attempt_at: string | null;
}

export interface ErrorRatePoint {
  hour_start: string;
  total: number;
  failed: number;
  error_rate_percent: number;
  timeouts: number;
  p95_duration_ms: number | null;
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string | Date).toISOString());
const num = (v: unknown): number => Number(v ?? 0);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function deletionStats(db: Db, options: { minutes?: number; now?: Date } = {}): Promise<DeletionStats> {
  const [r] = await db.rpc<Record<string, unknown>>('user_deletion_stats', {
    p_minutes: options.minutes ?? 60,
    p_now: options.now ?? new Date(),
  });
  return {
    window_minutes: num(r.window_minutes),
    window_start: iso(r.window_start) as string,
    window_end: iso(r.window_end) as string,
    total_deletions: num(r.total_deletions),
    successful_deletions: num(r.successful_deletions),
    failed_deletions: num(r.failed_deletions),
    error_rate_percent: num(r.error_rate_percent),
    avg_duration_ms: numOrNull(r.avg_duration_ms),
    p95_duration_ms: numOrNull(r.p95_duration_ms),
    max_duration_ms: numOrNull(r.max_duration_ms),
    timeouts: num(r.timeouts),
    not_found: num(r.not_found),
    conflicts: num(r.conflicts),
    db_errors: num(r.db_errors),
    last_attempt_at: iso(r.last_attempt_at),
  };
}

/** Hourly buckets (UTC), oldest first, zero-filled; the last one is the current partial hour. */
export async function errorRateSeries(db: Db, options: { hours?: number; now?: Date } = {}): Promise<ErrorRatePoint[]> {
  const rows = await db.rpc<Record<string, unknown>>('user_deletion_error_rate_series', {
    p_hours: options.hours ?? 24,
    p_now: options.now ?? new Date(),
  });
  return rows.map((r) => ({
    hour_start: iso(r.hour_start) as string,
    total: num(r.total),
    failed: num(r.failed),
    error_rate_percent: num(r.error_rate_percent),
    timeouts: num(r.timeouts),
    p95_duration_ms: numOrNull(r.p95_duration_ms),
  }));
}

export interface OrphanCount {
  table: string;
  orphans: number;
}

/** Live count of rows in the hand-cleaned tables whose user no longer exists. */
export async function orphanCounts(db: Db): Promise<OrphanCount[]> {
  const rows = await db.rpc<{ table_name: string; orphan_count: number }>('user_orphan_counts');
  return rows.map((r) => ({ table: r.table_name, orphans: Number(r.orphan_count) }));
}
