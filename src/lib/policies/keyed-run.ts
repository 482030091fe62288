import type { PolicySpec } from '../bindings/spec';
import type { Budget, JobContext } from '../cron/types';
import { loopBatches } from '../cron/batches';
import { archiveBatch, ArchiveError, archiveObjectKey } from '../storage/archive';
import { underArchive } from '../storage/guarded-remove';
import { assertObjectPath } from '../storage/types';

/**
 * The run of a policy that archives its rows or removes the stored objects they name
 * (`archive`, `storagePathColumn`): keyed batches over the policy's view, in the order of
 * supabase/migrations/20261201001400_policy_archive_and_files.sql:
 *   1. the oldest selected rows after a cursor (time, key), at most `batchSize`;
 *   2. their objects removed unless something else needs them: never under the archive prefix,
 *      never one another live row of a bound table references (the batch's own rows do not
 *      count), never an invalid path; an object already missing counts as removed;
 *   3. the rows whose object is gone (or not theirs to remove) archived, when archival is on,
 *      as one verified gzipped NDJSON object under `<archive prefix>/policies/<name>/`;
 *   4. exactly those rows deleted (or updated), each re-checked as still selected.
 * A row whose object storage failed to remove stays, and the next run tries again; the run then
 * fails, naming the paths. A batch archived but not deleted (the process stopped) is finished
 * first by the next run, under the same object key: no deleted row is in two archives.
 */

interface BatchRow {
  object_key: string | null;
  keys: string[];
  paths: (string | null)[];
  row_jsons: (string | null)[];
  row_count: number;
  first_at: Date | string | null;
  last_at: Date | string | null;
  cursor_time: string | null;
  cursor_key: string | null;
}

/** What a keyed run did: counts (rows, objects) and the first error lines. */
export interface KeyedRunOutcome {
  affected: number;
  batches: number;
  finished: boolean;
  failed: boolean;
  archivedRows: number;
  archiveObjects: string[];
  objectsRemoved: number;
  /** Objects left in place on purpose, by reason. */
  objectsKept: { referenced: number; archive: number; invalid: number };
  /** Rows left for the next run because storage failed to remove their object. */
  rowsKeptForFailedObjects: number;
  errors: { subject: string; message: string }[];
}

const toDate = (v: Date | string) => (v instanceof Date ? v : new Date(v));

/** Where a policy's archive objects go: under the archive prefix, so no cleanup ever takes them. */
export const policyArchivePrefix = (archivePrefix: string, policy: string) => `${archivePrefix}/policies/${policy}`;

/**
 * Runs the policy's keyed batches until none is left or the budget ends (`finished` false).
 * Database errors propagate; storage errors are reported per path, archive errors stop the run
 * with nothing of that batch deleted. See the module comment for the order of the steps.
 */
export async function runKeyedPolicy(
  spec: PolicySpec,
  ctx: Pick<JobContext<unknown>, 'db' | 'storage' | 'config' | 'log' | 'startedAt'>,
  options: { cutoff: Date; batchSize: number; budget?: Pick<Budget, 'hasTimeFor'> },
): Promise<KeyedRunOutcome> {
  const { db, storage, log } = ctx;
  const archivePrefix = ctx.config.exports.archivePrefix;
  const out: KeyedRunOutcome = {
    affected: 0,
    batches: 0,
    finished: false,
    failed: false,
    archivedRows: 0,
    archiveObjects: [],
    objectsRemoved: 0,
    objectsKept: { referenced: 0, archive: 0, invalid: 0 },
    rowsKeptForFailedObjects: 0,
    errors: [],
  };
  const base = { p_policy: spec.name, p_cutoff: options.cutoff };
  let cursor: { time: string | null; key: string | null } = { time: null, key: null };

  /** Removes the batch's objects; answers the keys whose rows may go now. */
  const releaseObjects = async (b: BatchRow): Promise<string[]> => {
    const pathOf = new Map<string, string | null>(b.keys.map((k, i) => [k, b.paths[i] ?? null]));
    const candidates: string[] = [];
    for (const path of new Set([...pathOf.values()].filter((p): p is string => p !== null && p !== ''))) {
      try {
        assertObjectPath(path);
      } catch {
        out.objectsKept.invalid++;
        continue;
      }
      if (underArchive(path, archivePrefix)) out.objectsKept.archive++;
      else candidates.push(path);
    }
    const inUse = new Set<string>();
    for (let i = 0; i < candidates.length; i += 1000) {
      const rows = await db.rpc<{ storage_path: string }>('policy_paths_in_use', { p_policy: spec.name, p_paths: candidates.slice(i, i + 1000), p_keys: b.keys });
      for (const r of rows) inUse.add(r.storage_path);
    }
    out.objectsKept.referenced += inUse.size;
    const removable = candidates.filter((p) => !inUse.has(p));
    const failed = new Set<string>();
    if (removable.length > 0) {
      const res = await storage.remove(removable).catch((err: unknown) => ({
        removed: [] as string[],
        failed: removable.map((path) => ({ path, error: err instanceof Error ? err.message : String(err) })),
      }));
      out.objectsRemoved += res.removed.length;
      for (const f of res.failed) {
        failed.add(f.path);
        if (out.errors.length < 100) out.errors.push({ subject: f.path, message: f.error });
      }
    }
    const free = b.keys.filter((k) => {
      const path = pathOf.get(k);
      return path === null || path === undefined || !failed.has(path);
    });
    out.rowsKeptForFailedObjects += b.keys.length - free.length;
    if (failed.size > 0) out.failed = true;
    return free;
  };

  /** Deletes / updates exactly `keys` (archived first when archival is on). False: stop the run. */
  const act = async (b: BatchRow, keys: string[], pending: boolean): Promise<boolean> => {
    if (!spec.archive) {
      if (keys.length === 0) return true;
      const [row] = await db.rpc<{ affected_count: number }>('policy_act_on_keys', { p_policy: spec.name, p_keys: keys, p_cutoff: options.cutoff, p_object_key: null });
      out.affected += Number(row.affected_count);
      return true;
    }
    const wanted = new Set(keys);
    const lines = b.keys.flatMap((k, i) => (wanted.has(k) && b.row_jsons[i] !== null ? [b.row_jsons[i] as string] : []));
    const ndjson = lines.join('\n');
    const firstAt = b.first_at === null ? ctx.startedAt : toDate(b.first_at);
    const key = pending && b.object_key ? b.object_key : archiveObjectKey(policyArchivePrefix(archivePrefix, spec.name), spec.name, firstAt, ndjson);
    if (!pending && keys.length === 0) return true;
    try {
      const outcome = await archiveBatch(
        storage,
        {
          begin: async (objectKey, k) => {
            await db.rpc('policy_archive_begin', { p_policy: spec.name, p_object_key: objectKey, p_keys: k, p_now: ctx.startedAt });
          },
          finish: async (objectKey, k) => {
            const [row] = await db.rpc<{ affected_count: number }>('policy_act_on_keys', { p_policy: spec.name, p_keys: k, p_cutoff: options.cutoff, p_object_key: objectKey });
            return Number(row.affected_count);
          },
        },
        {
          key,
          keys,
          ndjson,
          pending,
          manifest:
            keys.length === 0
              ? {}
              : {
                  table: spec.table,
                  policy: spec.name,
                  first_at: firstAt.toISOString(),
                  last_at: b.last_at === null ? null : toDate(b.last_at).toISOString(),
                  cutoff_time: options.cutoff.toISOString(),
                  archived_at: ctx.startedAt.toISOString(),
                },
        },
      );
      if (outcome.archived) {
        out.archivedRows += outcome.archived.rows;
        if (out.archiveObjects.length < 50) out.archiveObjects.push(outcome.archived.key);
        log.info({ type: 'policy_rows_archived', policy: spec.name, object: outcome.archived.key, rows: outcome.archived.rows, deleted_count: outcome.deleted, sha256: outcome.archived.sha256 }, `policy ${spec.name}: rows archived`);
        if (outcome.deleted !== outcome.archived.rows) {
          // Rows changed between archiving and deleting: the archive holds them, the table keeps what is no longer selected.
          out.errors.push({ subject: outcome.archived.key, message: `archived ${outcome.archived.rows} rows but deleted ${outcome.deleted}` });
        }
      }
      out.affected += outcome.deleted;
      return true;
    } catch (err) {
      if (!(err instanceof ArchiveError)) throw err;
      out.errors.push({ subject: 'archive', message: err.message });
      out.failed = true;
      log.error({ type: 'policy_archive_failed', policy: spec.name, rows: keys.length, error: err.message }, `policy ${spec.name}: archiving failed; nothing of the batch deleted`);
      return false;
    }
  };

  const loop = await loopBatches(options.budget, async () => {
    if (spec.archive) {
      // A batch an earlier run archived but did not get to delete comes first, under its own key
      // (its objects were removed before it was recorded).
      const [pending] = await db.rpc<BatchRow>('policy_archive_pending_batch', base);
      if (pending) return act(pending, pending.keys, true);
    }
    const [b] = await db.rpc<BatchRow>('policy_select_batch', {
      ...base,
      p_batch_size: options.batchSize,
      p_after_time: cursor.time,
      p_after_key: cursor.key,
      p_with_rows: spec.archive,
    });
    const count = Number(b.row_count);
    if (count === 0) return false;
    cursor = { time: b.cursor_time, key: b.cursor_key };
    const keys = spec.storagePathColumn ? await releaseObjects(b) : b.keys;
    if (!(await act(b, keys, false))) return false;
    return count >= options.batchSize;
  });
  out.batches = loop.batches;
  // An archive failure ends the loop early: that is a failed run, not a finished one.
  out.finished = loop.finished && !(out.failed && out.errors.some((e) => e.subject === 'archive'));
  return out;
}
