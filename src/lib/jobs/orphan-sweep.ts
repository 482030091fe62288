import { z } from 'zod';
import type { OrphanSweepSpec } from '../bindings/spec';
import { loopBatches } from '../cron/batches';
import { defineJob, type JobDefinition } from '../cron/types';
import { q } from '../http/query';
import { requireRule } from '../policies/apply';
import { orphanSweepJobName } from '../policies/compile';
import { checkObjects, underArchive } from '../storage/guarded-remove';
import type { StoredObject } from '../storage/types';

/** Every sweep route's time limit (seconds): the most Vercel Hobby allows; a longer run reports partial. */
export const ORPHAN_SWEEP_MAX_DURATION_SECONDS = 300;

/** Paths (with size and age) a dry run lists, at most. */
export const ORPHAN_SWEEP_LISTED_MAX = 100;

const input = z.strictObject({
  /** Overrides the sweep's page size for this run (objects listed and checked per call). */
  batchSize: q.int(1, 1000).optional(),
});
export type OrphanSweepJobInput = z.infer<typeof input>;

/** The admin page's line for a sweep without a description. */
export function describeOrphanSweep(s: OrphanSweepSpec): string {
  return `Remove objects under ${s.prefix} that no row references, once older than ${s.grace.text}`;
}

/**
 * The job of one orphaned-file sweep (cronwarden.config.ts, `orphanSweeps`): named
 * `orphan-sweeps/<name>`, served at /api/cron/orphan-sweeps/<name>, run by the runner like every
 * job (lease, run record, dry run, time budget and `partial`); 503 POLICY_NOT_BOUND while the
 * start-up check has not bound it.
 *
 * Pages through the objects whose path starts with the sweep's prefix (`batchSize` per page, in
 * path order) and removes each one that is older than the grace period (by the store's last
 * modified time, UTC: an object without one is never taken), not under the archive prefix, and
 * that no live row of a bound table references (bindings, policies' storage path columns, the
 * sweep's own `references`: cronwarden.storage_paths_in_use, asked right before the removal).
 * Answers counts: `objects_listed`, `objects_removed`, `bytes_freed` (bytes, from the listing),
 * `kept_too_young`, `kept_referenced`, `kept_archive`, `kept_unknown_age`, `kept_invalid`,
 * `objects_failed` (storage refused: listed in `errors`, the run fails, the next run tries again),
 * `pages`, `partial`. A dry run removes nothing and answers `would_remove_count`,
 * `would_free_bytes` and `would_remove` (the first 100: path, bytes, updated_at ISO).
 */
export function orphanSweepJob(spec: OrphanSweepSpec): JobDefinition<OrphanSweepJobInput> {
  const name = orphanSweepJobName(spec.name);
  return defineJob({
    name,
    description: spec.description ?? describeOrphanSweep(spec),
    input,
    maxDurationSeconds: ORPHAN_SWEEP_MAX_DURATION_SECONDS,
    precondition: (deps) => requireRule(deps.rules, name),
    async run({ db, storage, config, log, input, dryRun, startedAt, budget }) {
      const pageSize = input.batchSize ?? spec.batchSize;
      const archivePrefix = config.exports.archivePrefix;
      const olderThan = new Date(startedAt.getTime() - spec.grace.ms);
      const counts = {
        objects_listed: 0,
        kept_too_young: 0,
        kept_unknown_age: 0,
        kept_archive: 0,
        kept_referenced: 0,
        kept_invalid: 0,
        objects_removed: 0,
        objects_failed: 0,
        bytes_freed: 0,
      };
      const wouldRemove: { path: string; bytes: number; updated_at: string | null }[] = [];
      let wouldRemoveCount = 0;
      let wouldFreeBytes = 0;
      const errors: { subject: string; message: string }[] = [];
      let startAfter: string | undefined;

      const loop = await loopBatches(budget, async () => {
        const page: StoredObject[] = await storage.list(spec.prefix, { limit: pageSize, startAfter });
        if (page.length === 0) return false;
        startAfter = page[page.length - 1].path;
        counts.objects_listed += page.length;
        const old: StoredObject[] = [];
        for (const o of page) {
          if (underArchive(o.path, archivePrefix)) counts.kept_archive++;
          else if (o.updatedAt === null) counts.kept_unknown_age++;
          else if (o.updatedAt.getTime() >= olderThan.getTime()) counts.kept_too_young++;
          else old.push(o);
        }
        const { removable, kept } = await checkObjects(db, old.map((o) => o.path), { archivePrefix });
        for (const k of kept) {
          if (k.reason === 'referenced') counts.kept_referenced++;
          else if (k.reason === 'archive') counts.kept_archive++;
          else counts.kept_invalid++;
        }
        const sizeOf = new Map(old.map((o) => [o.path, o]));
        if (dryRun) {
          for (const path of removable) {
            const o = sizeOf.get(path)!;
            wouldRemoveCount++;
            wouldFreeBytes += o.size;
            if (wouldRemove.length < ORPHAN_SWEEP_LISTED_MAX) wouldRemove.push({ path, bytes: o.size, updated_at: o.updatedAt?.toISOString() ?? null });
          }
        } else if (removable.length > 0) {
          const res = await storage.remove(removable).catch((err: unknown) => ({
            removed: [] as string[],
            failed: removable.map((path) => ({ path, error: err instanceof Error ? err.message : String(err) })),
          }));
          counts.objects_removed += res.removed.length;
          for (const path of res.removed) counts.bytes_freed += sizeOf.get(path)?.size ?? 0;
          counts.objects_failed += res.failed.length;
          for (const f of res.failed) if (errors.length < 100) errors.push({ subject: f.path, message: f.error });
        }
        return page.length >= pageSize;
      });

      const partial = !loop.finished;
      const common = { sweep: spec.name, prefix: spec.prefix, grace: spec.grace.text, older_than: olderThan.toISOString(), pages: loop.batches, partial };
      if (dryRun) {
        const { objects_listed, kept_too_young, kept_unknown_age, kept_archive, kept_referenced, kept_invalid } = counts;
        return {
          errors: [],
          rows_affected: 0,
          ...common,
          objects_listed,
          kept_too_young,
          kept_unknown_age,
          kept_archive,
          kept_referenced,
          kept_invalid,
          would_remove_count: wouldRemoveCount,
          would_free_bytes: wouldFreeBytes,
          would_remove: wouldRemove,
        };
      }
      log.info({ type: 'orphan_sweep_complete', ...common, ...counts }, `orphan sweep ${spec.name} finished`);
      return { errors, rows_affected: counts.objects_removed, ...common, ...counts, failed: counts.objects_failed > 0 };
    },
  });
}
