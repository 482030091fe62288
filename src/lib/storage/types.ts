export type StorageDriver = 'local' | 'supabase' | 's3';

export interface StoredObject {
  path: string;
  size: number;
  updatedAt: Date | null;
}

export interface RemoveFailure {
  path: string;
  error: string;
}

/**
 * What `remove` did, path by path. A path that did not exist counts as removed: the goal
 * ("the object is gone") holds. A remote error on some paths never fails the others.
 */
export interface RemoveResult {
  removed: string[];
  failed: RemoveFailure[];
}

export interface ListOptions {
  limit?: number;
  /** Only paths that sort after this one (byte order, as S3's StartAfter). */
  startAfter?: string;
}

/** Object paths are relative, '/'-separated, without '..' segments. */
export interface Storage {
  readonly driver: StorageDriver;
  put(path: string, body: Uint8Array | string, options?: { contentType?: string }): Promise<void>;
  /** The object's bytes, or null when it does not exist. */
  get(path: string): Promise<Uint8Array | null>;
  exists(path: string): Promise<boolean>;
  /**
   * Objects whose path starts with `prefix` (a plain string prefix, as in S3: "exports/" or
   * "exports/2026-"), sorted by path, at most `limit` of them, and only those whose path sorts
   * after `startAfter` (the last path of the previous page: how a caller pages through a prefix).
   */
  list(prefix?: string, options?: ListOptions): Promise<StoredObject[]>;
  remove(paths: string[]): Promise<RemoveResult>;
}

export class InvalidObjectPathError extends Error {
  readonly code = 'INVALID_OBJECT_PATH';
  constructor(p: string) {
    super(`Invalid object path: ${JSON.stringify(p).slice(0, 200)}`);
    this.name = 'InvalidObjectPathError';
  }
}

export function assertObjectPath(p: string): string {
  if (
    typeof p !== 'string' ||
    p.length === 0 ||
    p.length > 1024 ||
    p.startsWith('/') ||
    p.includes('\\') ||
    p.includes('\0') ||
    p.split('/').some((seg) => seg === '..' || seg === '.' || seg === '')
  ) {
    throw new InvalidObjectPathError(p);
  }
  return p;
}

/** A list prefix: empty, or an object path that may end with '/' or stop mid-segment. */
export function assertListPrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new InvalidObjectPathError(String(prefix));
  if (prefix === '') return prefix;
  try {
    assertObjectPath(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  } catch {
    throw new InvalidObjectPathError(prefix);
  }
  return prefix;
}

/** True when every path under `folder` sorts at or before `after` (none can follow it). */
export function folderBefore(folder: string, after: string): boolean {
  return after !== '' && `${folder}/` < after && !after.startsWith(`${folder}/`);
}
