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
  partial: boolean;
  would_delete_count?: number;
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
    const result: LogCleanupResult = {
      errors,
      rows_affected: 0,
      ...base,
      deleted_count: 0,
      archived_count: 0,
      archive_objects: 0,
      archive_keys: [],
      batches: 0,
      partial: false,
      would_delete_count: stats.eligible_for_cleanup,
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
  for (;;) {
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

  const duration_ms = Math.round(performance.now() - t0);
  log.info(
    {
      type: 'export_log_cleanup_complete',
      deleted_count: deleted,
      archived_count: archived,
      archive_objects: archive ? batches : 0,
      retention_days: retentionDays,
      batches,
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
    archive_objects: archive ? batches : 0,
    archive_keys: keys,
    batches,
    partial,
    failed,
  };
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
