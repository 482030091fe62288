import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Storage } from './types';

/**
 * Archives of deleted rows: one gzipped NDJSON object per batch (one JSON object per row) and a
 * manifest beside it (`.manifest.json`: rows, sha256 and size of the object, plus what the
 * caller adds), both read back and verified before a single row is deleted. Used by the export
 * log retention and the retention policies, with the same pending-batch protocol (archiveBatch).
 */

export interface ArchivedBatch {
  key: string;
  manifestKey: string;
  rows: number;
  sha256: string;
  bytes: number;
}

export class ArchiveError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ArchiveError';
  }
}

export const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

export const manifestKeyOf = (key: string) => key.replace(/\.ndjson\.gz$/, '.manifest.json');

/**
 * `<prefix>/YYYY/MM/DD/<base>-<first time>-<sha256 of the NDJSON, 16 hex>.ndjson.gz`, named from
 * the batch's first time (UTC) and its content.
 */
export function archiveObjectKey(prefix: string, base: string, firstAt: Date, ndjson: string): string {
  const d = firstAt.toISOString();
  const stamp = d.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${prefix}/${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${base}-${stamp}-${sha256(ndjson).slice(0, 16)}.ndjson.gz`;
}

/**
 * Writes `ndjson` (rowCount lines) gzipped under `key` and its manifest (`manifest` plus format,
 * object, rows, sha256, bytes) beside it, reads both back and checks the sha256, that the object
 * unzips to rowCount lines and that the manifest matches. Throws ArchiveError when anything does
 * not match or storage fails.
 */
export async function writeVerifiedArchive(
  storage: Storage,
  batch: { key: string; ndjson: string; rowCount: number; manifest: Record<string, unknown> },
): Promise<ArchivedBatch> {
  const { key } = batch;
  const manifestKey = manifestKeyOf(key);
  const gz = gzipSync(Buffer.from(`${batch.ndjson}\n`, 'utf8'), { level: 6 });
  const digest = sha256(gz);
  const { table, ...rest } = batch.manifest;
  const manifest = { format: 'ndjson+gzip', ...(table === undefined ? {} : { table }), object: key, rows: batch.rowCount, sha256: digest, bytes: gz.byteLength, ...rest };
  try {
    await storage.put(key, new Uint8Array(gz.buffer, gz.byteOffset, gz.byteLength), { contentType: 'application/gzip' });
    await storage.put(manifestKey, JSON.stringify(manifest, null, 2), { contentType: 'application/json' });
  } catch (err) {
    throw new ArchiveError(`writing ${key}: ${err instanceof Error ? err.message : String(err)}`);
  }

  let back: Uint8Array | null;
  let manifestBack: Uint8Array | null;
  try {
    back = await storage.get(key);
    manifestBack = await storage.get(manifestKey);
  } catch (err) {
    throw new ArchiveError(`reading back ${key}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!back) throw new ArchiveError(`${key} is missing after writing it`);
  if (!manifestBack) throw new ArchiveError(`${manifestKey} is missing after writing it`);
  if (sha256(back) !== digest) throw new ArchiveError(`${key}: sha256 of the stored object does not match what was written`);
  let lines: number;
  try {
    const text = gunzipSync(back).toString('utf8');
    lines = text.split('\n').filter((l) => l.length > 0).length;
  } catch (err) {
    throw new ArchiveError(`${key}: stored object is not valid gzip (${(err as Error).message})`);
  }
  if (lines !== batch.rowCount) throw new ArchiveError(`${key}: holds ${lines} rows, expected ${batch.rowCount}`);
  let stored: { sha256?: unknown; rows?: unknown };
  try {
    stored = JSON.parse(Buffer.from(manifestBack).toString('utf8')) as typeof stored;
  } catch {
    throw new ArchiveError(`${manifestKey}: stored manifest is not valid JSON`);
  }
  if (stored.sha256 !== digest || stored.rows !== batch.rowCount) {
    throw new ArchiveError(`${manifestKey}: stored manifest does not match the archive`);
  }
  return { key, manifestKey, rows: batch.rowCount, sha256: digest, bytes: gz.byteLength };
}

/** The database side of one archive batch (the export log's or a policy's SQL functions). */
export interface ArchiveBatchSteps {
  /** Records the batch (object key, row keys) as pending before its object is written. */
  begin(objectKey: string, keys: string[]): Promise<void>;
  /**
   * Deletes exactly `keys` (re-checking that each is still due) and drops the pending entry of
   * `objectKey`, in one transaction. Returns the rows deleted.
   */
  finish(objectKey: string, keys: string[]): Promise<number>;
}

export interface ArchiveBatchOutcome {
  /** The verified object, or null when the batch had no row left (its object was removed). */
  archived: ArchivedBatch | null;
  deleted: number;
}

/**
 * One batch of archive-then-delete, so that a row is never deleted unarchived and never lands
 * in two objects:
 *   1. a new batch is recorded as pending (`begin`) before its object is written;
 *   2. the object is written and verified (writeVerifiedArchive);
 *   3. the rows are deleted and the pending entry dropped in one transaction (`finish`).
 * A run that stops between 1 and 3 leaves the entry behind; the next run passes that batch back
 * here with `pending: true` (its rows that are still due, same object key), which rewrites the
 * object with exactly those rows before deleting them. A pending batch with no row left has its
 * object removed (it holds nothing that was deleted). Throws ArchiveError with nothing deleted.
 */
export async function archiveBatch(
  storage: Storage,
  steps: ArchiveBatchSteps,
  batch: { key: string; keys: string[]; ndjson: string; pending: boolean; manifest: Record<string, unknown> },
): Promise<ArchiveBatchOutcome> {
  if (!batch.pending) await steps.begin(batch.key, batch.keys);
  if (batch.keys.length === 0) {
    const res = await storage.remove([batch.key, manifestKeyOf(batch.key)]).catch((err: unknown) => ({
      removed: [],
      failed: [{ path: batch.key, error: err instanceof Error ? err.message : String(err) }],
    }));
    if (res.failed.length > 0) throw new ArchiveError(`removing ${res.failed[0].path}: ${res.failed[0].error}`);
    await steps.finish(batch.key, []);
    return { archived: null, deleted: 0 };
  }
  const archived = await writeVerifiedArchive(storage, { key: batch.key, ndjson: batch.ndjson, rowCount: batch.keys.length, manifest: batch.manifest });
  const deleted = await steps.finish(batch.key, batch.keys);
  return { archived, deleted };
}
