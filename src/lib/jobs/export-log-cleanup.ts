import { z } from 'zod';
import type { Config } from '../config';
import { AppError } from '../http/errors';
import { defineJob, type Budget, type JobError, type JobResult } from '../cron/types';
import type { Db } from '../db/types';
import { q } from '../http/query';
import type { Logger } from '../logger';
import { archiveBatch, archiveObjectKey, ArchiveError, writeVerifiedArchive, type ArchivedBatch } from '../storage/archive';
import type { Storage } from '../storage/types';

export { ArchiveError, type ArchivedBatch };

/**
 * Rows per delete call with archival off. Each call deletes a created_at range in one statement;
 * measured with scripts/bench at 1M rows (PostgreSQL 15, 2 cores), a 20,000-row call takes tens
 * of milliseconds, well inside a 250 ms transaction, and fewer, larger calls cost less in total.
 */
export const DEFAULT_LOG_BATCH_SIZE = 20_000;
/** Rows per archive object (and per delete call) with archival on. */
export const DEFAULT_ARCHIVE_BATCH_SIZE = 5000;

export interface LogCleanupDeps {
  db: Db;
  storage: Storage;
  log: Logger;
  now: () => Date;
  config: Pick<Config, 'exports'>;
}

export interface LogCleanupOptions {
  retentionDays?: number;
  batchSize?: number;
  /** Only this user's logs. */
  userId?: string;
  /** Overrides EXPORT_ARCHIVE_ENABLED. */
  archive?: boolean;
  dryRun?: boolean;
  budget?: Pick<Budget, 'hasTimeFor'>;
  startedAt?: Date;
}

export interface CleanupStats {
  retention_days: number;
  cutoff: string;
  total_logs: number;
  eligible_for_cleanup: number;
  /** On-disk size of the eligible rows (pg_column_size), before indexes. */
  estimated_bytes: number;
  /** Old completed exports whose file is not yet confirmed gone: kept until file cleanup expires them. */
  kept_with_live_file: number;
  oldest_eligible_at: string | null;
  newest_eligible_at: string | null;
}

export interface ArchiveManifest {
  format: 'ndjson+gzip';
  table: 'export_logs';
  object: string;
  rows: number;
  sha256: string;
  bytes: number;
  first_created_at: string;
  last_created_at: string;
  retention_days: number;
  archived_at: string;
}

export interface LogCleanupResult extends JobResult {
  retention_days: number;
  cutoff: string;
  archive_enabled: boolean;
  deleted_count: number;
  archived_count: number;
  archive_objects: number;
  /** The first archive objects written (at most 50). */
  archive_keys: string[];
  batches: number;
  /** Partitions wholly past the cutoff dropped whole (a range-partitioned table; see retireOldPartitions). */
  partitions_dropped: number;
  /** Of deleted_count, the rows that went with them. */
  partition_rows_deleted: number;
  /**
   * True when partition_rows_deleted (and so deleted_count) holds a figure from PostgreSQL's
   * statistics: a partition of 10,000 rows or more dropped with archival off is not read, so
   * its rows are not counted one by one. Archived rows are always counted exactly.
   */
  partition_rows_estimated: boolean;
  /** Partitions past the cutoff kept attached because they hold a kept row. */
  partitions_kept: number;
  /**
   * Partitions left for the next run because a lock was not granted within 2 s: the table (a
   * long transaction on it) or a detached partition (another session reading it). After the
   * table's first refusal no other partition is tried in that run, so the app's queries queue
   * behind at most one wait. The run is then partial.
   */
  partitions_busy: number;
  partial: boolean;
  would_delete_count?: number;
  /** Partitions a run would detach or drop (a dry run; whether one holds a kept row is checked then). */
  would_drop_partitions?: number;
  estimated_bytes?: number;
}

interface BatchRow {
  export_ids: string[];
  row_count: number;
  ndjson: string;
  first_created_at: Date | string | null;
  last_created_at: Date | string | null;
  /** An unfinished batch of an earlier run (export_log_archive_pending_batch): its object. */
  object_key?: string;
}

const toDate = (v: Date | string) => (v instanceof Date ? v : new Date(v));
const iso = (v: Date | string | null) => (v === null ? null : toDate(v).toISOString());

/** Eligible rows and their estimated size, as the seed's pre-cleanup statistics. */
export async function getCleanupStats(
  deps: Pick<LogCleanupDeps, 'db' | 'now' | 'config'>,
  options: { retentionDays?: number; userId?: string; at?: Date } = {},
): Promise<CleanupStats> {
  const retentionDays = options.retentionDays ?? deps.config.exports.logRetentionDays;
  const [r] = await deps.db.rpc<{
    cutoff: Date | string;
    total_logs: number;
    eligible_for_cleanup: number;
    estimated_bytes: number;
    kept_with_live_file: number;
    oldest_eligible_at: Date | string | null;
    newest_eligible_at: Date | string | null;
  }>('export_log_cleanup_stats', {
    p_retention_days: retentionDays,
    p_now: options.at ?? deps.now(),
    p_user_id: options.userId ?? null,
  });
  return {
    retention_days: retentionDays,
    cutoff: toDate(r.cutoff).toISOString(),
    total_logs: Number(r.total_logs),
    eligible_for_cleanup: Number(r.eligible_for_cleanup),
    estimated_bytes: Number(r.estimated_bytes),
    kept_with_live_file: Number(r.kept_with_live_file),
    oldest_eligible_at: iso(r.oldest_eligible_at),
    newest_eligible_at: iso(r.newest_eligible_at),
  };
}

/**
 * The archive object for a new batch, named from its content. The key is recorded with the
 * batch (export_log_archive_pending) before the object is written, so a run that stopped after
 * archiving and before deleting has its batch finished by the next run under the same key
 * instead of a second copy.
 */
export function archiveKeyFor(prefix: string, firstCreatedAt: Date, ndjson: string): string {
  return archiveObjectKey(prefix, 'export-logs', firstCreatedAt, ndjson);
}

/**
 * Writes one batch (NDJSON, gzipped) and its manifest to storage, reads both back and checks
 * the sha256 and the row count. Throws ArchiveError when anything does not match.
 */
export async function archiveExportLogs(
  deps: Pick<LogCleanupDeps, 'storage' | 'config'>,
  batch: { ndjson: string; rowCount: number; firstCreatedAt: Date; lastCreatedAt: Date; retentionDays: number; archivedAt: Date; key?: string },
): Promise<ArchivedBatch> {
  const key = batch.key ?? archiveKeyFor(deps.config.exports.archivePrefix, batch.firstCreatedAt, batch.ndjson);
  return writeVerifiedArchive(deps.storage, { key, ndjson: batch.ndjson, rowCount: batch.rowCount, manifest: exportManifest(batch) });
}

/** The export log's manifest fields beside format, object, rows, sha256 and bytes (see ArchiveManifest). */
function exportManifest(batch: { firstCreatedAt: Date; lastCreatedAt: Date; retentionDays: number; archivedAt: Date }) {
  return {
    table: 'export_logs',
    first_created_at: batch.firstCreatedAt.toISOString(),
    last_created_at: batch.lastCreatedAt.toISOString(),
    retention_days: batch.retentionDays,
    archived_at: batch.archivedAt.toISOString(),
  };
}

/**
 * Deletes export logs older than the retention period, a batch per call. With archival on,
 * each batch is archived and verified first, and only its exact rows are then deleted; an
 * archive failure stops the run with nothing of that batch deleted.
 */
export async function exportLogCleanup(deps: LogCleanupDeps, options: LogCleanupOptions = {}): Promise<LogCleanupResult> {
  const { db, log } = deps;
  const t0 = performance.now();
  const startedAt = options.startedAt ?? deps.now();
  const retentionDays = options.retentionDays ?? deps.config.exports.logRetentionDays;
  const archive = options.archive ?? deps.config.exports.archiveEnabled;
  const batchSize = options.batchSize ?? (archive ? DEFAULT_ARCHIVE_BATCH_SIZE : DEFAULT_LOG_BATCH_SIZE);
  const userId = options.userId ?? null;
  const cutoff = new Date(startedAt.getTime() - retentionDays * 86_400_000).toISOString();
  const errors: JobError[] = [];
  const base = { retention_days: retentionDays, cutoff, archive_enabled: archive, ...(userId ? { user_id: userId } : {}) };

  if (options.dryRun) {
    const stats = await getCleanupStats(deps, { retentionDays, userId: userId ?? undefined, at: startedAt });
    const partitions = userId
      ? []
      : await db.rpc('export_partitions_due', { p_retention_days: retentionDays, p_now: startedAt, p_limit: 1000 });
    const result: LogCleanupResult = {
      errors,
      rows_affected: 0,
      ...base,
      deleted_count: 0,
      archived_count: 0,
      archive_objects: 0,
      archive_keys: [],
      batches: 0,
      partitions_dropped: 0,
      partition_rows_deleted: 0,
      partition_rows_estimated: false,
      partitions_kept: 0,
      partitions_busy: 0,
      partial: false,
      would_delete_count: stats.eligible_for_cleanup,
      would_drop_partitions: partitions.length,
      would_archive_objects: archive ? Math.ceil(stats.eligible_for_cleanup / batchSize) : 0,
      estimated_bytes: stats.estimated_bytes,
      kept_with_live_file: stats.kept_with_live_file,
    };
    log.info(
      { type: 'export_log_cleanup_complete', dry_run: true, would_delete_count: stats.eligible_for_cleanup, retention_days: retentionDays, duration_ms: Math.round(performance.now() - t0) },
      'export log cleanup (dry run)',
    );
    return result;
  }

  let deleted = 0;
  let archived = 0;
  let batches = 0;
  let partial = false;
  let failed = false;
  let slowest = 0;
  // Where the previous delete call stopped (see export_delete_old_logs); omitted on the first.
  let after: Date | string | undefined;
  const keys: string[] = [];

  // A range-partitioned table first loses its partitions wholly past the cutoff; what is left
  // past it (the partition the cutoff falls in, kept partitions, a default partition) goes row
  // by row below. A user's run works on rows only.
  let parts: PartitionRetentionResult | null = null;
  if (!userId) {
    parts = await retireOldPartitions(deps, { retentionDays, archive, batchSize, startedAt, budget: options.budget });
    deleted += parts.partition_rows_deleted;
    archived += parts.partition_rows_archived;
    keys.push(...parts.archive_keys);
    errors.push(...parts.errors);
    partial = parts.partial;
    failed = parts.failed;
  }

  for (;;) {
    if (partial || failed) break;
    if (options.budget && !options.budget.hasTimeFor(slowest * 2)) {
      partial = true;
      break;
    }
    const t = performance.now();
    if (!archive) {
      const [row] = await db.rpc<{ deleted_count: number; has_more: boolean; next_after: Date | string | null }>(
        'export_delete_old_logs',
        {
          p_retention_days: retentionDays,
          p_batch_size: batchSize,
          p_now: startedAt,
          p_user_id: userId,
          p_after: after,
        },
      );
      slowest = Math.max(slowest, performance.now() - t);
      if (row.deleted_count > 0) batches++;
      deleted += Number(row.deleted_count);
      if (!row.has_more) break;
      after = row.next_after ?? undefined;
      continue;
    }

    // A batch an earlier run archived but did not get to delete comes first, under its own key.
    const [pending] = await db.rpc<BatchRow>('export_log_archive_pending_batch', {
      p_retention_days: retentionDays,
      p_now: startedAt,
      p_user_id: userId,
    });
    const [b] = pending
      ? [pending]
      : await db.rpc<BatchRow>('export_log_archive_batch', {
          p_retention_days: retentionDays,
          p_batch_size: batchSize,
          p_now: startedAt,
          p_user_id: userId,
        });
    const count = Number(b.row_count);
    if (count === 0 && !pending) break;
    const key = pending?.object_key ?? archiveKeyFor(deps.config.exports.archivePrefix, toDate(b.first_created_at!), b.ndjson);
    let outcome;
    try {
      outcome = await archiveBatch(
        deps.storage,
        {
          begin: async (objectKey, ids) => {
            await db.rpc('export_log_archive_begin', { p_object_key: objectKey, p_export_ids: ids, p_now: startedAt });
          },
          finish: async (objectKey, ids) => {
            const [del] = await db.rpc<{ deleted_count: number }>('export_delete_logs_by_id', {
              p_export_ids: ids,
              p_retention_days: retentionDays,
              p_now: startedAt,
              p_object_key: objectKey,
            });
            return Number(del.deleted_count);
          },
        },
        {
          key,
          keys: count === 0 ? [] : b.export_ids,
          ndjson: b.ndjson,
          pending: Boolean(pending),
          manifest: count === 0 ? {} : exportManifest({ firstCreatedAt: toDate(b.first_created_at!), lastCreatedAt: toDate(b.last_created_at!), retentionDays, archivedAt: startedAt }),
        },
      );
    } catch (err) {
      if (!(err instanceof ArchiveError)) throw err;
      errors.push({ subject: 'archive', message: err.message });
      log.error({ type: 'export_log_archive_failed', rows: count, error: err.message }, 'archiving export logs failed; nothing deleted');
      failed = true;
      break;
    }
    const archivedBatch = outcome.archived;
    if (!archivedBatch) continue;
    const n = outcome.deleted;
    batches++;
    archived += count;
    deleted += n;
    if (keys.length < 50) keys.push(archivedBatch.key);
    log.info(
      { type: 'export_logs_archived', object: archivedBatch.key, rows: count, deleted_count: n, sha256: archivedBatch.sha256, bytes: archivedBatch.bytes },
      'export logs archived',
    );
    if (n !== count) {
      // Rows changed between archiving and deleting (their file came back to life, or another
      // process removed them): the archive holds them, the table keeps what is still needed.
      errors.push({ subject: archivedBatch.key, message: `archived ${count} rows but deleted ${n}` });
    }
    slowest = Math.max(slowest, performance.now() - t);
    if (!pending && count < batchSize) break;
  }

  // Partitions a busy lock left behind are work for the next run, as a budget that ran out is.
  if ((parts?.partitions_busy.length ?? 0) > 0) partial = true;
  const duration_ms = Math.round(performance.now() - t0);
  log.info(
    {
      type: 'export_log_cleanup_complete',
      deleted_count: deleted,
      archived_count: archived,
      archive_objects: archive ? batches + (parts?.archive_objects ?? 0) : 0,
      retention_days: retentionDays,
      batches,
      partitions_dropped: parts?.partitions_dropped ?? 0,
      partitions_busy: parts?.partitions_busy.length ?? 0,
      partition_rows_estimated: parts?.partition_rows_estimated ?? false,
      partial,
      failed,
      duration_ms,
    },
    'export log cleanup finished',
  );
  return {
    errors,
    rows_affected: deleted,
    ...base,
    deleted_count: deleted,
    archived_count: archived,
    archive_objects: archive ? batches + (parts?.archive_objects ?? 0) : 0,
    archive_keys: keys.slice(0, 50),
    batches,
    partitions_dropped: parts?.partitions_dropped ?? 0,
    partition_rows_deleted: parts?.partition_rows_deleted ?? 0,
    partition_rows_estimated: parts?.partition_rows_estimated ?? false,
    partitions_kept: parts?.partitions_kept.length ?? 0,
    partitions_busy: parts?.partitions_busy.length ?? 0,
    partial,
    failed,
  };
}

// ---------------------------------------------------------------------------------------------
// Retention by partition
// ---------------------------------------------------------------------------------------------

/**
 * Log retention by partition (SQL: export_partitions_due, export_partition_detach,
 * export_partition_archive_batch / _begin / _archived, export_partition_drop). When the bound
 * exports table is range-partitioned on its created-at column, each partition wholly older than
 * the cutoff is detached (unless it holds a kept row: a completed export whose file is not yet
 * confirmed gone), archived when archival is on, and dropped: milliseconds instead of a DELETE
 * of its rows. Every step is recorded in the database as it is taken, so a run that stops between
 * two steps leaves nothing lost or half done: the next run finishes the partitions detached
 * before anything else. The rows of the partition the cutoff falls in (and of kept partitions)
 * are left to the row-by-row path that runs after this.
 */

/** Partitions listed per call (export_partitions_due): within PostgREST's max-rows. */
const PARTITION_PAGE = 200;
/**
 * Time per export_partitions_drop call (one transaction, its commit included), in ms: inside
 * the 250 ms a batch transaction may take. The call holds locks only on partitions already out
 * of the team's table.
 */
const DROP_CALL_MS = 150;
/** Partitions in the first drop call, before a call's time is known. */
const FIRST_DROP_CALL_PARTITIONS = 2;
const MAX_DROP_CALL_PARTITIONS = 64;

export interface PartitionRetentionResult {
  /** Partitions detached and dropped (by this run, or detached by an earlier one). */
  partitions_dropped: number;
  /** Rows that left with them. */
  partition_rows_deleted: number;
  /** True when partition_rows_deleted holds a figure from the statistics (see LogCleanupResult). */
  partition_rows_estimated: boolean;
  partition_rows_archived: number;
  archive_objects: number;
  archive_keys: string[];
  /** Partitions past the cutoff that hold a kept row: their eligible rows go row by row. */
  partitions_kept: string[];
  /** Partitions whose lock was not granted in time: the next run takes them. */
  partitions_busy: string[];
  partial: boolean;
  failed: boolean;
  errors: JobError[];
}

interface DueRow {
  partition_name: string;
  step: 'detached' | 'due';
  range_from: Date | string;
  range_to: Date | string;
  row_count: number | null;
  archive: boolean | null;
}

interface PartitionBatch {
  object_key: string | null;
  row_count: number;
  ndjson: string;
  first_created_at: Date | string | null;
  last_created_at: Date | string | null;
  cursor_at: Date | string | null;
  cursor_key: string | null;
}

/**
 * Retires every partition wholly older than `retentionDays` before `startedAt` (see above).
 * Stops starting new steps when `budget` runs short (partial) and at the first archive failure
 * (failed, nothing of that partition dropped). Returns what it did; never throws for an archive
 * failure, rethrows database errors.
 */
export async function retireOldPartitions(
  deps: LogCleanupDeps,
  options: { retentionDays: number; archive: boolean; batchSize: number; startedAt: Date; budget?: Pick<Budget, 'hasTimeFor'> },
): Promise<PartitionRetentionResult> {
  const { db, log } = deps;
  const { retentionDays, archive, batchSize, startedAt, budget } = options;
  const out: PartitionRetentionResult = {
    partitions_dropped: 0,
    partition_rows_deleted: 0,
    partition_rows_estimated: false,
    partition_rows_archived: 0,
    archive_objects: 0,
    archive_keys: [],
    partitions_kept: [],
    partitions_busy: [],
    partial: false,
    failed: false,
    errors: [],
  };
  let slowest = 0;
  const timeLeft = () => !budget || budget.hasTimeFor(slowest * 2);
  const step = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      slowest = Math.max(slowest, performance.now() - t);
    }
  };
  const seen = new Set<string>();
  let tableBusy = false;

  /**
   * Drops detached partitions (archived first when that was due) several to a transaction
   * (export_partitions_drop), until all are dropped or the budget runs short. A drop's cost is
   * mostly its commit, which unlinks the files, so each call's size is set from the last call's
   * time: as many partitions as fit in DROP_CALL_MS at the rate measured. Returns false when it
   * stopped for the budget.
   */
  let perDropCall = FIRST_DROP_CALL_PARTITIONS;
  const dropAll = async (names: string[]): Promise<boolean> => {
    let left = names;
    while (left.length > 0) {
      if (!timeLeft()) return false;
      const slice = left.slice(0, perDropCall);
      const t = performance.now();
      const rows = await step(() =>
        db.rpc<{ partition_name: string; outcome: string; row_count: number; row_count_estimated: boolean }>('export_partitions_drop', {
          p_partitions: slice,
          p_max_ms: DROP_CALL_MS,
        }),
      );
      const done = rows.filter((r) => r.outcome !== 'not_reached').length;
      perDropCall = Math.max(1, Math.min(MAX_DROP_CALL_PARTITIONS, Math.floor((Math.max(done, 1) * DROP_CALL_MS) / Math.max(performance.now() - t, 1))));
      left = [...rows.filter((r) => r.outcome === 'not_reached').map((r) => r.partition_name), ...left.slice(slice.length)];
      for (const dr of rows) {
        if (dr.outcome === 'dropped') {
          out.partitions_dropped++;
          out.partition_rows_deleted += Number(dr.row_count);
          if (dr.row_count_estimated) out.partition_rows_estimated = true;
          log.info(
            { type: 'export_log_partition_dropped', partition: dr.partition_name, rows: Number(dr.row_count), rows_estimated: Boolean(dr.row_count_estimated) },
            'export log partition dropped',
          );
        } else if (dr.outcome === 'not_archived') {
          // Archived up to its cursor and still holding rows after it: never dropped so.
          const about = dr.row_count_estimated ? 'about ' : '';
          out.errors.push({ subject: dr.partition_name, message: `detached partition still holds ${about}${Number(dr.row_count)} rows not archived; not dropped` });
        } else if (dr.outcome === 'busy') {
          out.partitions_busy.push(dr.partition_name);
          log.warn({ type: 'export_log_partition_busy', partition: dr.partition_name }, 'detached partition lock not granted; the next run drops it');
        }
      }
    }
    return true;
  };

  for (;;) {
    const due = await db.rpc<DueRow>('export_partitions_due', { p_retention_days: retentionDays, p_now: startedAt, p_limit: PARTITION_PAGE });
    const todo = due.filter((p) => !seen.has(p.partition_name));
    if (todo.length === 0) return out;
    // Detached and needing no archive: dropped together once the page is detached.
    const toDrop: string[] = [];
    for (const p of todo) {
      seen.add(p.partition_name);
      if (!timeLeft()) {
        out.partial = true;
        break;
      }
      let archiveIt = Boolean(p.archive);
      if (p.step === 'due') {
        // The table refused its lock once: every other DETACH would queue the app's queries
        // behind another 2 s wait. The rest wait for the next run.
        if (tableBusy) {
          out.partitions_busy.push(p.partition_name);
          continue;
        }
        const [d] = await step(() =>
          db.rpc<{ outcome: string; row_count: number; row_count_estimated: boolean }>('export_partition_detach', {
            p_partition: p.partition_name,
            p_retention_days: retentionDays,
            p_now: startedAt,
            p_archive: archive,
          }),
        );
        if (d.outcome === 'kept') {
          out.partitions_kept.push(p.partition_name);
          continue;
        }
        if (d.outcome === 'busy') {
          out.partitions_busy.push(p.partition_name);
          tableBusy = true;
          log.warn(
            { type: 'export_log_partition_busy', partition: p.partition_name },
            'partition lock not granted within 2 s (a long transaction on the table); no other partition is detached in this run, the next run takes them',
          );
          continue;
        }
        if (d.outcome !== 'detached') continue;
        archiveIt = archive && Number(d.row_count) > 0;
        log.info(
          { type: 'export_log_partition_detached', partition: p.partition_name, rows: Number(d.row_count), rows_estimated: Boolean(d.row_count_estimated), range_from: toDate(p.range_from).toISOString(), range_to: toDate(p.range_to).toISOString() },
          'export log partition detached',
        );
      }

      if (!archiveIt) {
        toDrop.push(p.partition_name);
        continue;
      }
      for (;;) {
        if (!timeLeft()) {
          out.partial = true;
          return out;
        }
        const [b] = await step(() => db.rpc<PartitionBatch>('export_partition_archive_batch', { p_partition: p.partition_name, p_batch_size: batchSize }));
        const n = Number(b?.row_count ?? 0);
        if (!b || n === 0) break;
        const key = b.object_key ?? archiveKeyFor(deps.config.exports.archivePrefix, toDate(b.first_created_at!), b.ndjson);
        if (!b.object_key) await db.rpc('export_partition_archive_begin', { p_partition: p.partition_name, p_object_key: key, p_rows: n });
        let written;
        try {
          written = await step(() =>
            archiveExportLogs(deps, {
              ndjson: b.ndjson,
              rowCount: n,
              firstCreatedAt: toDate(b.first_created_at!),
              lastCreatedAt: toDate(b.last_created_at!),
              retentionDays,
              archivedAt: startedAt,
              key,
            }),
          );
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          out.errors.push({ subject: 'archive', message });
          out.failed = true;
          log.error({ type: 'export_log_archive_failed', partition: p.partition_name, rows: n, error: message }, 'archiving a detached partition failed; nothing dropped');
          return out;
        }
        await db.rpc('export_partition_archived', {
          p_partition: p.partition_name,
          p_object_key: key,
          p_rows: n,
          p_cursor_at: b.cursor_at,
          p_cursor_key: b.cursor_key,
          p_now: startedAt,
        });
        out.partition_rows_archived += n;
        out.archive_objects++;
        if (out.archive_keys.length < 50) out.archive_keys.push(written.key);
        log.info(
          { type: 'export_logs_archived', partition: p.partition_name, object: written.key, rows: n, sha256: written.sha256, bytes: written.bytes },
          'export logs archived',
        );
      }
      // Archived whole: dropped now, so archived partitions do not pile up on disk.
      if (!(await dropAll([p.partition_name]))) {
        out.partial = true;
        return out;
      }
    }
    // Detached partitions not dropped here (the budget ran out) are recorded: the next run
    // drops them before anything else.
    if (!(await dropAll(toDrop)) || out.partial) {
      out.partial = true;
      return out;
    }
  }
}

/** One user's export logs past the retention period (same rules, same archive). */
export function cleanupUserExportLogs(
  deps: LogCleanupDeps,
  userId: string,
  options: Omit<LogCleanupOptions, 'userId'> = {},
): Promise<LogCleanupResult> {
  if (!q.key().safeParse(userId).success) throw new RangeError('cleanupUserExportLogs: userId must be an id');
  return exportLogCleanup(deps, { ...options, userId }).catch((err) => {
    // Not an id of the bound exports table's user column (22P02 from cast_keys).
    if ((err as { code?: string }).code === '22P02') throw new RangeError(`cleanupUserExportLogs: ${userId} is not an id of the bound user column`);
    throw err;
  });
}

const input = z.strictObject({
  retentionDays: q.int(1, 3650).optional(),
  batchSize: q.int(1, 50_000).optional(),
  userId: q.key().optional(),
});

export const exportLogCleanupJob = defineJob({
  name: 'export-log-cleanup',
  description: 'Delete export logs older than EXPORT_LOG_RETENTION_DAYS (archiving them first when enabled)',
  input,
  maxDurationSeconds: 300,
  feature: 'exports',
  async run({ db, storage, log, now, config, input, dryRun, startedAt, budget }) {
    try {
      return await exportLogCleanup(
        { db, storage, log, now, config },
        { retentionDays: input.retentionDays, batchSize: input.batchSize, userId: input.userId, dryRun, budget, startedAt },
      );
    } catch (err) {
      // A userId that is not of the bound user column's type (22P02 from cast_keys).
      if (input.userId && (err as { code?: string }).code === '22P02') {
        throw new AppError(400, 'INVALID_PARAMETER', `Invalid query parameter 'userId': not an id of the bound exports table's user column.`, { parameter: 'userId' });
      }
      throw err;
    }
  },
});
