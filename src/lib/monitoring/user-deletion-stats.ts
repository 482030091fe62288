import type { Db } from '../db/types';

/**
 * Figures over the last `window_minutes` of deletion attempts (cronwarden.audit_logs, action
 * USER_DELETION). A 404 (no such user) is an attempt, not a deletion: it counts in
 * `total_attempts` and `not_found` only, never in the deletions, the error rate or the latency.
 */
export interface DeletionStats {
  window_minutes: number;
  window_start: string;
  window_end: string;
  /** Every audited attempt, 404s included. */
  total_attempts: number;
  /** Attempts on a user that existed (success or failure). */
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
  /** 404s in the hour (not in total or failed). */
  not_found: number;
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
    total_attempts: num(r.total_attempts),
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
    not_found: num(r.not_found),
  }));
}

export interface OrphanCount {
  table: string;
  orphans: number;
}

/** Live count of rows whose user no longer exists, per table the deletion cleans by hand (its key: name without schema and `user_` prefix). */
export async function orphanCounts(db: Db): Promise<OrphanCount[]> {
  const rows = await db.rpc<{ table_name: string; orphan_count: number }>('user_orphan_counts');
  return rows.map((r) => ({ table: r.table_name, orphans: Number(r.orphan_count) }));
}
