import { z } from 'zod';
import { q } from '../http/query';
import { loopBatches } from '../cron/batches';
import { defineJob, type JobError } from '../cron/types';

/** At most this many ids are listed in a response; the counts are always complete. */
export const MAX_LISTED_IDS = 100;

const input = z.strictObject({
  hours: q.int(1, 720).optional(),
  batchSize: q.int(1, 10_000).optional(),
});

interface BatchRow {
  deleted_count: number;
  deleted_ids: string[];
  cutoff_time: Date | string;
  has_more: boolean;
  /** Where the run's next batch starts (drafts created at or after it). */
  resume_from: Date | string | null;
}

const iso = (v: Date | string) => (v instanceof Date ? v : new Date(v)).toISOString();

/**
 * Drafts in the first batch call unless the caller says otherwise (?batchSize=, at most
 * 10,000; a size the caller gives is kept for every batch).
 */
export const DEFAULT_BATCH_SIZE = 5000;
/** Time a batch of the default size aims at, in ms: well inside the 250 ms a batch transaction may hold its rows. */
export const BATCH_TARGET_MS = 100;
const MIN_BATCH_SIZE = 500;
const MAX_BATCH_SIZE = 10_000;

/**
 * The next batch's size from the last one's: scaled so it takes about BATCH_TARGET_MS at the
 * rate just measured, at most doubling or halving at a step, between 500 and 10,000 drafts. A
 * batch's fixed cost (its round trip, its commit, the probe for its range) is then paid fewer
 * times where batches are cheap, and a table whose deletes cascade far gets smaller batches.
 * `ms`: the last batch call's time in ms.
 */
export function nextBatchSize(size: number, ms: number): number {
  const scaled = Math.round((size * BATCH_TARGET_MS) / Math.max(ms, 1));
  const stepped = Math.min(size * 2, Math.max(Math.floor(size / 2), scaled));
  return Math.max(MIN_BATCH_SIZE, Math.min(MAX_BATCH_SIZE, stepped));
}

/**
 * Deletes unused drafts (the drafts binding's draft and unused conditions; in the demo app a
 * course with status 'draft' whose generation never started) older than `hours` (24 by
 * default), oldest first, in batches of `batchSize` (or, by default, batches sized to take
about 100 ms each: see nextBatchSize). Each batch is one call of
 * cronwarden.draft_cleanup_batch, one short transaction: a draft another transaction holds
 * locked is never waited for and survives, and the predicate is checked again at delete time,
 * so a draft that starts generating during the cleanup is kept. Lists at most 100 ids (oldest
 * first); the counts are complete.
 */
export const draftCleanupJob = defineJob({
  name: 'draft-cleanup',
  description: 'Delete unused draft courses older than 24 hours',
  feature: 'drafts',
  input,
  maxDurationSeconds: 60,
  async run({ db, log, input, dryRun, startedAt, budget }) {
    const hours = input.hours ?? 24;
    let batchSize = input.batchSize ?? DEFAULT_BATCH_SIZE;
    const errors: JobError[] = [];

    if (dryRun) {
      const [row] = await db.rpc<BatchRow>('draft_cleanup_batch', {
        p_hours: hours,
        p_batch_size: batchSize,
        p_dry_run: true,
        p_now: startedAt,
      });
      const ids = row.deleted_ids ?? [];
      return {
        errors,
        rows_affected: 0,
        deleted_count: 0,
        deleted_ids: [],
        deleted_ids_truncated: false,
        would_delete_count: row.deleted_count,
        would_delete_ids: ids.slice(0, MAX_LISTED_IDS),
        would_delete_ids_truncated: row.deleted_count > Math.min(ids.length, MAX_LISTED_IDS),
        cutoff_time: iso(row.cutoff_time),
        hours,
        batches: 0,
        partial: false,
      };
    }

    let deleted = 0;
    const ids: string[] = [];
    let cutoff = new Date(startedAt.getTime() - hours * 3_600_000).toISOString();
    // Each batch starts where the previous one ended: it neither walks again over the index
    // entries of what this run deleted nor returns to a draft it left locked.
    let from: Date | null = null;
    const loop = await loopBatches(budget, async () => {
      const t = performance.now();
      const [row] = await db.rpc<BatchRow>('draft_cleanup_batch', {
        p_hours: hours,
        p_batch_size: batchSize,
        p_dry_run: false,
        p_now: startedAt,
        p_list_limit: MAX_LISTED_IDS - ids.length,
        p_from: from,
      });
      if (input.batchSize === undefined) batchSize = nextBatchSize(batchSize, performance.now() - t);
      cutoff = iso(row.cutoff_time);
      from = row.resume_from === null ? null : new Date(row.resume_from);
      deleted += row.deleted_count;
      for (const id of row.deleted_ids ?? []) {
        if (ids.length >= MAX_LISTED_IDS) break;
        ids.push(id);
      }
      // A batch that took nothing (every selected row changed under it) ends the run too.
      return row.has_more && row.deleted_count > 0;
    });
    const { batches } = loop;
    const partial = !loop.finished;

    log.info(
      { type: 'draft_cleanup_complete', deleted_count: deleted, cutoff_time: cutoff, hours, batches, partial },
      'draft cleanup finished',
    );
    return {
      errors,
      rows_affected: deleted,
      deleted_count: deleted,
      deleted_ids: ids,
      deleted_ids_truncated: deleted > ids.length,
      cutoff_time: cutoff,
      hours,
      batches,
      partial,
    };
  },
});
