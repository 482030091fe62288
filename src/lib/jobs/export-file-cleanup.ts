import { z } from 'zod';
import { q } from '../http/query';
import { defineJob, type Budget, type JobError, type JobResult } from '../cron/types';
import type { Db } from '../db/types';
import type { Logger } from '../logger';
import type { Config } from '../config';
import { removeUnreferencedObjects } from '../storage/guarded-remove';
import { assertObjectPath, type Storage } from '../storage/types';

/** Seed default for cleanupOldExports: files older than this many hours are removed. */
export const DEFAULT_RETENTION_HOURS = 24;
export const DEFAULT_FILE_BATCH_SIZE = 500;
const MAX_DURATION_SECONDS = 300;
/**
 * A claim older than this belongs to a run that died, or to a removal that failed: the next run
 * takes the row again. Longer than a run can last, so two live runs never share a row.
 */
export const FILE_CLAIM_TTL_SECONDS = MAX_DURATION_SECONDS + 600;
/** After this many failed attempts a row is set aside (with its reason) instead of being retried forever. */
export const FILE_MAX_ATTEMPTS = 3;

export interface FileCleanupDeps {
  db: Db;
  storage: Storage;
  log: Logger;
  now: () => Date;
  config: Pick<Config, 'exports'>;
}

export interface FileCleanupOptions {
  dryRun?: boolean;
  batchSize?: number;
  /** Stops starting new batches when it runs out (default: no limit). */
  budget?: Pick<Budget, 'hasTimeFor'>;
  /** Cutoffs are computed from this (default: now()). */
  startedAt?: Date;
}

export interface FileCleanupResult extends JobResult {
  mode: 'expired' | 'retention';
  retention_hours: number | null;
  /** Due rows this run took (dry run: due rows it would take). */
  total_found: number;
  /** Files confirmed gone (removed now, or already missing). */
  deleted_count: number;
  /** Files whose removal failed; their rows stay 'completed' for the next run. */
  failed_count: number;
  /** Rows marked 'expired'. */
  logs_updated: number;
  /** Rows marked expired whose file stays: another live row still references it. */
  kept_shared_count: number;
  /** Rows set aside after FILE_MAX_ATTEMPTS failed attempts (an alert says so). */
  set_aside_count: number;
  freed_bytes: number;
  batches: number;
  partial: boolean;
  would_delete_count?: number;
  would_free_bytes?: number;
  claimed_elsewhere?: number;
}

interface ClaimedRow {
  export_id: string;
  file_path: string | null;
  file_size_bytes: number | string | null;
  attempts: number;
}

/** Removes one export file; a file that is already gone counts as removed. */
export async function deleteExportFile(storage: Storage, path: string): Promise<{ removed: boolean; error?: string }> {
  try {
    assertObjectPath(path);
  } catch (err) {
    return { removed: false, error: (err as Error).message };
  }
  try {
    const res = await storage.remove([path]);
    const failure = res.failed.find((f) => f.path === path);
    return failure ? { removed: false, error: failure.error } : { removed: res.removed.includes(path) };
  } catch (err) {
    return { removed: false, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The cleanup loop both entry points share: claim a batch in SQL, remove its files with one
 * storage call, then mark expired only the rows whose file is confirmed gone.
 */
async function cleanupFiles(
  deps: FileCleanupDeps,
  retentionHours: number | null,
  options: FileCleanupOptions,
): Promise<FileCleanupResult> {
  const { db, storage, log } = deps;
  const startedAt = options.startedAt ?? deps.now();
  const batchSize = options.batchSize ?? DEFAULT_FILE_BATCH_SIZE;
  const t0 = performance.now();
  const mode = retentionHours === null ? 'expired' : 'retention';
  const errors: JobError[] = [];
  const totals = { total_found: 0, deleted_count: 0, failed_count: 0, logs_updated: 0, freed_bytes: 0, batches: 0, kept_shared_count: 0, set_aside_count: 0 };
  let partial = false;

  if (options.dryRun) {
    const [p] = await db.rpc<{ due_count: number; due_bytes: number; with_file_count: number; claimed_count: number; set_aside_count: number }>(
      'export_file_cleanup_preview',
      { p_retention_hours: retentionHours, p_claim_ttl_seconds: FILE_CLAIM_TTL_SECONDS, p_now: startedAt },
    );
    const result: FileCleanupResult = {
      errors,
      rows_affected: 0,
      mode,
      retention_hours: retentionHours,
      ...totals,
      total_found: Number(p.due_count),
      set_aside_count: Number(p.set_aside_count),
      would_delete_count: Number(p.with_file_count),
      would_free_bytes: Number(p.due_bytes),
      claimed_elsewhere: Number(p.claimed_count),
      partial: false,
    };
    log.info(
      { type: 'export_file_cleanup_complete', dry_run: true, mode, total_found: result.total_found, would_delete_count: result.would_delete_count, duration_ms: Math.round(performance.now() - t0) },
      'export file cleanup (dry run)',
    );
    return result;
  }

  const claim = () => {
    const claiming = db.rpc<ClaimedRow>('export_claim_expired_files', {
      p_batch_size: batchSize,
      p_claim_ttl_seconds: FILE_CLAIM_TTL_SECONDS,
      p_retention_hours: retentionHours,
      p_now: startedAt,
    });
    // Awaited by the next batch; a failure is rethrown there, not reported unhandled here.
    claiming.catch(() => {});
    return claiming;
  };
  /** One claimed batch: its files removed with one storage call, then its rows finished. */
  const processBatch = async (claimed: ClaimedRow[]): Promise<void> => {
    totals.total_found += claimed.length;

    const gone: string[] = [];
    const failed: { id: string; error: string }[] = [];
    const byPath = new Map<string, ClaimedRow[]>();
    for (const row of claimed) {
      if (!row.file_path) gone.push(row.export_id); // nothing stored: nothing to remove
      else byPath.set(row.file_path, [...(byPath.get(row.file_path) ?? []), row]);
    }
    const outcome = await removeUnreferencedObjects(db, storage, [...byPath.keys()], {
      archivePrefix: deps.config.exports.archivePrefix,
      exclude: { source: 'exports', keys: claimed.map((c) => c.export_id) },
    });
    const removed = new Set(outcome.removed);
    const failedPaths = new Map(outcome.failed.map((f) => [f.path, f.error]));
    const kept = new Map(outcome.kept.map((k) => [k.path, k]));
    for (const [path, rows] of byPath) {
      const k = kept.get(path);
      if (k?.reason === 'referenced') {
        // Another live row still needs the object: these rows give it up, the object stays.
        totals.kept_shared_count += rows.length;
        for (const r of rows) gone.push(r.export_id);
      } else if (k) {
        const error = k.reason === 'archive' ? 'the path lies under the archive prefix; archives are never removed' : 'invalid object path';
        for (const r of rows) failed.push({ id: r.export_id, error });
      } else if (removed.has(path) && !failedPaths.has(path)) {
        totals.deleted_count++;
        for (const r of rows) {
          gone.push(r.export_id);
          totals.freed_bytes += Number(r.file_size_bytes ?? 0);
        }
      } else {
        const error = failedPaths.get(path) ?? 'storage did not report the object as removed';
        for (const r of rows) failed.push({ id: r.export_id, error });
      }
    }
    for (const f of failed) {
      const row = claimed.find((c) => c.export_id === f.id);
      errors.push({ subject: row?.file_path ?? f.id, message: f.error });
      log.warn({ type: 'export_file_delete_failed', export_id: f.id, file_path: row?.file_path, attempts: row?.attempts, error: f.error }, 'export file not removed');
    }
    totals.failed_count += failed.length;

    const [fin] = await db.rpc<{ logs_updated: number; failures_recorded: number; set_aside: number }>('export_finish_file_cleanup', {
      p_gone_ids: gone,
      p_failed_ids: failed.map((f) => f.id),
      p_failed_errors: failed.map((f) => f.error),
      p_now: startedAt,
      p_max_attempts: FILE_MAX_ATTEMPTS,
    });
    totals.logs_updated += Number(fin.logs_updated);
    totals.set_aside_count += Number(fin.set_aside);
    if (Number(fin.set_aside) > 0) {
      log.error({ type: 'export_file_set_aside', count: Number(fin.set_aside) }, `export rows set aside after ${FILE_MAX_ATTEMPTS} failed attempts`);
    }
  };

  // A batch is begun by its claim. The next batch is claimed while this one's files are being
  // removed, so the claim's round trip hides behind storage: the two never share a row (this
  // batch's rows are claimed), and a finish never waits on it. A claim is made only when the
  // budget has room for the rest of this batch and the whole next one (three of the slowest
  // batches so far), and every claimed batch is then seen through.
  const { budget } = options;
  let slowest = 0;
  let finished = false;
  let next: Promise<ClaimedRow[]> | null = !budget || budget.hasTimeFor(0) ? claim() : null;
  while (next) {
    const t = performance.now();
    const claimed = await next;
    next = null;
    if (claimed.length === 0) {
      finished = true;
      break;
    }
    if (claimed.length < batchSize) finished = true;
    else if (!budget || budget.hasTimeFor(slowest * 3)) next = claim();
    await processBatch(claimed);
    slowest = Math.max(slowest, performance.now() - t);
    totals.batches++;
  }
  partial = !finished;

  const duration_ms = Math.round(performance.now() - t0);
  const result: FileCleanupResult = {
    errors,
    rows_affected: totals.logs_updated,
    mode,
    retention_hours: retentionHours,
    ...totals,
    partial,
    // Every file we tried failed: the run did not do its job.
    failed: totals.failed_count > 0 && totals.deleted_count === 0 && totals.logs_updated === 0,
  };
  log.info(
    {
      type: 'export_file_cleanup_complete',
      mode,
      total_found: totals.total_found,
      deleted_count: totals.deleted_count,
      failed_count: totals.failed_count,
      logs_updated: totals.logs_updated,
      freed_bytes: totals.freed_bytes,
      partial,
      duration_ms,
    },
    'export file cleanup finished',
  );
  return result;
}

/** Removes the files of completed exports past their expires_at and marks those exports expired. */
export function exportFileCleanup(deps: FileCleanupDeps, options: FileCleanupOptions = {}): Promise<FileCleanupResult> {
  return cleanupFiles(deps, null, options);
}

/** The same, by age: completed exports that finished more than `retentionHours` ago. */
export function cleanupOldExports(
  deps: FileCleanupDeps,
  retentionHours = DEFAULT_RETENTION_HOURS,
  options: FileCleanupOptions = {},
): Promise<FileCleanupResult> {
  if (!Number.isInteger(retentionHours) || retentionHours < 1) throw new RangeError('retentionHours must be a positive whole number');
  return cleanupFiles(deps, retentionHours, options);
}

const input = z.strictObject({
  /** Given: clean up by age (cleanupOldExports) instead of by expires_at. */
  retentionHours: q.int(1, 8760).optional(),
  batchSize: q.int(1, 1000).optional(),
});

export const exportFileCleanupJob = defineJob({
  name: 'export-file-cleanup',
  description: 'Remove expired export files from storage and mark their exports expired',
  input,
  maxDurationSeconds: MAX_DURATION_SECONDS,
  feature: 'exports',
  async run({ db, storage, log, now, config, input, dryRun, startedAt, budget }) {
    const deps = { db, storage, log, now, config };
    const options = { dryRun, batchSize: input.batchSize, budget, startedAt };
    return input.retentionHours === undefined
      ? exportFileCleanup(deps, options)
      : cleanupOldExports(deps, input.retentionHours, options);
  },
});
