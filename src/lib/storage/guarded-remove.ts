import type { Db } from '../db/types';
import { assertObjectPath, type RemoveFailure, type Storage } from './types';

/** Why an object was left in place although a job asked to remove it. */
export interface KeptObject {
  path: string;
  reason: 'archive' | 'referenced' | 'invalid';
  /** For 'referenced': which bound table still needs it (exports, imports.temp_uploads, ...). */
  source?: string;
}

export interface GuardedRemoveResult {
  /** Confirmed gone (removed now, or already missing). */
  removed: string[];
  /** Storage refused or failed: retry later. */
  failed: RemoveFailure[];
  /** Never sent to storage, with the reason. */
  kept: KeptObject[];
}

export interface GuardedRemoveOptions {
  /** The archive prefix (config.exports.archivePrefix): nothing under it is ever removed. */
  archivePrefix: string;
  /** The rows being cleaned up right now: their own references do not count. */
  exclude?: { source: string; keys: string[] };
}

/** True when `path` is the archive prefix itself or lies under it. */
export function underArchive(path: string, archivePrefix: string): boolean {
  const prefix = archivePrefix.replace(/\/+$/, '');
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * Which of `paths` may be removed (`removable`) and which must stay (`kept`, with the reason):
 * never a path under the archive prefix, never one that a live row of any bound table still
 * references (cronwarden.storage_paths_in_use; the rows named in `exclude` do not count), never
 * an invalid path. Asks the database in chunks of 1000 paths (PostgREST's max-rows). Changes
 * nothing: what a dry run reports; database errors propagate.
 */
export async function checkObjects(db: Db, paths: string[], options: GuardedRemoveOptions): Promise<{ removable: string[]; kept: KeptObject[] }> {
  const kept: KeptObject[] = [];
  const candidates: string[] = [];
  for (const path of [...new Set(paths)]) {
    try {
      assertObjectPath(path);
    } catch {
      kept.push({ path, reason: 'invalid' });
      continue;
    }
    if (underArchive(path, options.archivePrefix)) kept.push({ path, reason: 'archive' });
    else candidates.push(path);
  }
  const inUse = new Map<string, string>();
  for (let i = 0; i < candidates.length; i += 1000) {
    const rows = await db.rpc<{ storage_path: string; source: string }>('storage_paths_in_use', {
      p_paths: candidates.slice(i, i + 1000),
      p_exclude_source: options.exclude?.source ?? null,
      p_exclude_keys: options.exclude?.keys ?? null,
    });
    for (const r of rows) if (!inUse.has(r.storage_path)) inUse.set(r.storage_path, r.source);
  }
  for (const [path, source] of inUse) kept.push({ path, reason: 'referenced', source });
  return { removable: candidates.filter((p) => !inUse.has(p)), kept };
}

/**
 * Removes stored objects only when nothing else needs them (see checkObjects). Storage errors
 * are reported per path, never thrown; database errors propagate (nothing was removed then).
 */
export async function removeUnreferencedObjects(
  db: Db,
  storage: Storage,
  paths: string[],
  options: GuardedRemoveOptions,
): Promise<GuardedRemoveResult> {
  const { removable: toRemove, kept } = await checkObjects(db, paths, options);
  if (toRemove.length === 0) return { removed: [], failed: [], kept };
  try {
    const res = await storage.remove(toRemove);
    return { removed: res.removed, failed: res.failed, kept };
  } catch (err) {
    const error = err instanceof Error ? err.message : String(err);
    return { removed: [], failed: toRemove.map((path) => ({ path, error })), kept };
  }
}
