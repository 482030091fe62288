import { z } from 'zod';
import { q } from '../http/query';
import { loopBatches } from '../cron/batches';
import { defineJob, type JobError } from '../cron/types';
import { removeUnreferencedObjects } from '../storage/guarded-remove';

export const DEFAULT_RETRY_BATCH_SIZE = 500;
/** Entries per storage_cleanup_due call: PostgREST (Supabase) cuts larger answers at max-rows. */
export const MAX_RETRY_PAGE = 1000;

interface DueRow {
  id: number | string;
  storage_path: string;
  source: string;
  attempts: number;
}

const input = z.strictObject({
  /** Entries per batch; each batch reads at most 1000 (one page). */
  batchSize: q.int(1, 5000).optional(),
});

/**
 * Removes the stored objects left in storage_cleanup_queue: a deletion's objects its process
 * could not remove (storage failed, or the process died after the commit), and failed removals.
 * Each batch: up to 1000 due entries (oldest first) → checked again now: an entry whose path a
 * live row of a bound table references again (a new upload reused it), or that lies under the
 * archive prefix, leaves the queue and its object stays; an invalid path leaves it with an error
 * → one storage.remove for the rest → entries whose objects are gone leave, the others are
 * rescheduled with backoff (30 min doubling, 24 h cap). Runs until no due entry is left or the
 * time budget ends (then `partial`, never done while due entries remain).
 */
export const storageCleanupRetryJob = defineJob({
  name: 'storage-cleanup-retry',
  description: 'Retry removing stored files whose rows were deleted but whose removal failed',
  input,
  maxDurationSeconds: 60,
  feature: 'userDeletion',
  async run({ db, storage, log, input, dryRun, startedAt, budget, config }) {
    const pageSize = Math.min(input.batchSize ?? DEFAULT_RETRY_BATCH_SIZE, MAX_RETRY_PAGE);
    const errors: JobError[] = [];
    if (dryRun) {
      const [s] = await db.rpc<{ pending: number; due: number; max_attempts: number }>('storage_cleanup_stats', { p_now: startedAt });
      return {
        errors,
        rows_affected: 0,
        would_retry_count: Number(s.due),
        pending_count: Number(s.pending),
        max_attempts: Number(s.max_attempts),
        batches: 0,
        partial: false,
      };
    }
    let removed = 0;
    let kept = 0;
    let failed = 0;
    let batches = 0;
    let afterId = 0;
    const loop = await loopBatches(budget, async () => {
      const due = await db.rpc<DueRow>('storage_cleanup_due', { p_limit: pageSize, p_after_id: afterId, p_now: startedAt });
      if (due.length === 0) return false;
      batches++;
      afterId = Math.max(...due.map((d) => Number(d.id)));
      const idOf = new Map(due.map((d) => [d.storage_path, Number(d.id)]));

      const res = await removeUnreferencedObjects(db, storage, [...idOf.keys()], { archivePrefix: config.exports.archivePrefix });
      const failures = new Map<number, string>();
      for (const f of res.failed) {
        const id = idOf.get(f.path);
        if (id !== undefined) failures.set(id, f.error);
      }
      const done = [...res.removed, ...res.kept.map((k) => k.path)].map((p) => idOf.get(p)).filter((id): id is number => id !== undefined);
      await db.rpc('storage_cleanup_resolve', {
        p_done_ids: done,
        p_failed_ids: [...failures.keys()],
        p_failed_errors: [...failures.values()],
        p_now: startedAt,
      });
      removed += res.removed.length;
      const keptNow = res.kept.filter((k) => k.reason !== 'invalid');
      kept += keptNow.length;
      failed += failures.size;
      if (keptNow.length) {
        log.info({ type: 'storage_cleanup_retry_kept', kept: keptNow.slice(0, 50) }, 'queued objects kept: a live row references them again, or they are archives');
      }
      for (const k of res.kept) if (k.reason === 'invalid') errors.push({ subject: k.path, message: 'invalid object path: dropped from the queue' });
      for (const f of res.failed) errors.push({ subject: f.path, message: f.error });
      // An empty page ends the run: a short page may only mean the server cut it.
      return true;
    });
    const [s] = await db.rpc<{ pending: number; due: number }>('storage_cleanup_stats', { p_now: startedAt });
    // Entries rescheduled by this run are due later; any due one left means work remains.
    const partial = !loop.finished || Number(s.due) > 0;
    log.info(
      { type: 'storage_cleanup_retry_complete', removed_count: removed, kept_count: kept, failed_count: failed, pending_count: Number(s.pending), batches, partial },
      'storage clean-up retry finished',
    );
    return {
      errors: errors.slice(0, 100),
      rows_affected: removed,
      removed_count: removed,
      kept_count: kept,
      failed_count: failed,
      pending_count: Number(s.pending),
      batches,
      partial,
      failed: removed === 0 && failed > 0,
    };
  },
});
