import { z } from 'zod';
import { q } from '../http/query';
import { loopBatches } from '../cron/batches';
import { defineJob, type JobError } from '../cron/types';
import { assertObjectPath } from '../storage/types';

export const DEFAULT_RETRY_BATCH_SIZE = 500;

interface DueRow {
  id: number | string;
  storage_path: string;
  source: string;
  attempts: number;
}

const input = z.strictObject({
  batchSize: q.int(1, 5000).optional(),
});

/**
 * Retries the storage removals that failed after their rows were deleted (user deletion queues
 * them in storage_cleanup_queue). Each batch: due entries → one storage.remove → entries whose
 * objects are gone are dropped, the others rescheduled with backoff (30 min doubling, 24 h cap).
 */
export const storageCleanupRetryJob = defineJob({
  name: 'storage-cleanup-retry',
  description: 'Retry removing stored files whose rows were deleted but whose removal failed',
  input,
  maxDurationSeconds: 60,
  async run({ db, storage, log, input, dryRun, startedAt, budget }) {
    const batchSize = input.batchSize ?? DEFAULT_RETRY_BATCH_SIZE;
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
    let failed = 0;
    let batches = 0;
    let afterId = 0;
    const loop = await loopBatches(budget, async () => {
      const due = await db.rpc<DueRow>('storage_cleanup_due', { p_limit: batchSize, p_after_id: afterId, p_now: startedAt });
      if (due.length === 0) return false;
      batches++;
      afterId = Math.max(...due.map((d) => Number(d.id)));

      const failures = new Map<number, string>();
      const byPath = new Map<string, number>();
      for (const d of due) {
        try {
          byPath.set(assertObjectPath(d.storage_path), Number(d.id));
        } catch (err) {
          failures.set(Number(d.id), (err as Error).message);
        }
      }
      const done: number[] = [];
      if (byPath.size > 0) {
        try {
          const res = await storage.remove([...byPath.keys()]);
          const failedPaths = new Map(res.failed.map((f) => [f.path, f.error]));
          for (const [path, id] of byPath) {
            if (failedPaths.has(path)) failures.set(id, failedPaths.get(path) as string);
            else if (res.removed.includes(path)) done.push(id);
            else failures.set(id, 'storage did not report the object as removed');
          }
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          for (const id of byPath.values()) failures.set(id, message);
        }
      }
      await db.rpc('storage_cleanup_resolve', {
        p_done_ids: done,
        p_failed_ids: [...failures.keys()],
        p_failed_errors: [...failures.values()],
        p_now: startedAt,
      });
      removed += done.length;
      failed += failures.size;
      for (const [id, message] of failures) {
        const path = due.find((d) => Number(d.id) === id)?.storage_path ?? String(id);
        errors.push({ subject: path, message });
      }
      return due.length >= batchSize;
    });
    const partial = !loop.finished;
    const [s] = await db.rpc<{ pending: number; due: number }>('storage_cleanup_stats', { p_now: startedAt });
    log.info(
      { type: 'storage_cleanup_retry_complete', removed_count: removed, failed_count: failed, pending_count: Number(s.pending), batches, partial },
      'storage clean-up retry finished',
    );
    return {
      errors: errors.slice(0, 100),
      rows_affected: removed,
      removed_count: removed,
      failed_count: failed,
      pending_count: Number(s.pending),
      batches,
      partial,
      failed: removed === 0 && failed > 0,
    };
  },
});
