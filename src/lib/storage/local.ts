import { randomBytes } from 'node:crypto';
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { assertListPrefix, assertObjectPath, type RemoveResult, type Storage, type StoredObject } from './types';

const TEMP_SUFFIX = '.partial-write';
const TEMP_FILE = /\.[0-9a-f]{12}\.partial-write$/;

/**
 * A path whose real location, after following symbolic links, is outside the storage root (or a
 * link that points nowhere, which cannot be checked). Refused for every operation.
 */
export class OutsideStorageRootError extends Error {
  readonly code = 'PATH_OUTSIDE_ROOT';
  constructor(objectPath: string) {
    super(`Refused: ${JSON.stringify(objectPath).slice(0, 200)} resolves outside the storage root (a symbolic link)`);
    this.name = 'OutsideStorageRootError';
  }
}

/**
 * A file system error with every path in it shown relative to the storage root, so job results,
 * run records, logs and responses never carry the server's absolute paths. Keeps the errno code.
 */
export class LocalStorageError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'LocalStorageError';
  }
}

/**
 * Objects as plain files under a root folder (development and single-host deployments). A path
 * that leads out of the root through a symbolic link is refused: the root may hold links (a
 * mounted volume, an operator's shortcut), but no operation reads, writes or deletes through one
 * to a place outside it. Errors name paths relative to the root.
 */
export class LocalStorage implements Storage {
  readonly driver = 'local' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async put(objectPath: string, body: Uint8Array | string): Promise<void> {
    const target = await this.locate(objectPath);
    // Write beside the target and rename, so readers never see a half-written file.
    const temp = `${target}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`;
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.mkdir(path.dirname(target), { recursive: true });
        await fs.writeFile(temp, body);
        await fs.rename(temp, target);
        return;
      } catch (err) {
        await fs.rm(temp, { force: true }).catch(() => {});
        // A concurrent remove() may prune the folder between mkdir and write: try once more.
        if (attempt === 0 && isMissing(err)) continue;
        throw this.relative(err);
      }
    }
  }

  async get(objectPath: string): Promise<Uint8Array | null> {
    const target = await this.locate(objectPath);
    try {
      const buf = await fs.readFile(target);
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      // A folder is not an object.
      if (isMissing(err) || isNotDir(err) || (err as NodeJS.ErrnoException)?.code === 'EISDIR') return null;
      throw this.relative(err);
    }
  }

  async exists(objectPath: string): Promise<boolean> {
    const target = await this.locate(objectPath);
    try {
      return (await fs.stat(target)).isFile();
    } catch (err) {
      if (isMissing(err) || isNotDir(err)) return false;
      throw this.relative(err);
    }
  }

  async list(prefix = '', options: { limit?: number } = {}): Promise<StoredObject[]> {
    assertListPrefix(prefix);
    const limit = options.limit ?? Infinity;
    const found: StoredObject[] = [];
    if (limit <= 0) return found;
    // Start at the deepest folder the prefix names; the rest of it filters names.
    const startDir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    if (startDir) await this.locate(startDir);
    try {
      await this.walk(startDir, prefix, limit, found);
    } catch (err) {
      throw this.relative(err);
    }
    return found;
  }

  async remove(paths: string[]): Promise<RemoveResult> {
    paths.forEach(assertObjectPath);
    const result: RemoveResult = { removed: [], failed: [] };
    for (const objectPath of new Set(paths)) {
      try {
        const target = await this.locate(objectPath);
        try {
          await fs.unlink(target);
          result.removed.push(objectPath);
          await this.pruneEmptyParents(path.dirname(target));
        } catch (err) {
          if (isMissing(err)) result.removed.push(objectPath);
          else throw err;
        }
      } catch (err) {
        result.failed.push({ path: objectPath, error: errorMessage(this.relative(err)) });
      }
    }
    return result;
  }

  /**
   * The file for an object path, once its real location is known to be inside the root: the
   * deepest part of the path that exists is resolved (symbolic links followed) and must lie
   * inside the root's own real location. Throws OutsideStorageRootError otherwise.
   */
  private async locate(objectPath: string): Promise<string> {
    const target = path.join(this.root, ...assertObjectPath(objectPath).split('/'));
    let realRoot: string;
    let real: string;
    try {
      realRoot = await realLocation(this.root);
      real = await realLocation(target);
    } catch (err) {
      if (err instanceof DanglingLinkError) throw new OutsideStorageRootError(objectPath);
      throw this.relative(err);
    }
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) throw new OutsideStorageRootError(objectPath);
    return target;
  }

  /** The same error with the root (lexical and real) cut from every path it names. */
  private relative(err: unknown): Error {
    if (err instanceof OutsideStorageRootError || err instanceof LocalStorageError) return err;
    const e = err as NodeJS.ErrnoException;
    const message = e instanceof Error ? e.message : String(err);
    return new LocalStorageError(relativeToRoot(message, this.root), typeof e?.code === 'string' ? e.code : undefined);
  }

  /**
   * Depth-first in sorted order, where a folder sorts as "name/": that makes the output
   * globally sorted by path, so we can stop as soon as `limit` objects are found.
   */
  private async walk(relDir: string, prefix: string, limit: number, found: StoredObject[]): Promise<void> {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(relDir ? path.join(this.root, ...relDir.split('/')) : this.root, {
        withFileTypes: true,
      });
    } catch (err) {
      if (isMissing(err) || isNotDir(err)) return;
      throw err;
    }
    const items = entries
      .filter((e) => e.isDirectory() || (e.isFile() && !TEMP_FILE.test(e.name)))
      .map((e) => ({ name: e.name, isFolder: e.isDirectory() }))
      .sort(byListingOrder);
    for (const item of items) {
      if (found.length >= limit) return;
      const rel = relDir ? `${relDir}/${item.name}` : item.name;
      if (item.isFolder) {
        // Descend only where the folder and the prefix can still overlap.
        if (`${rel}/`.startsWith(prefix) || prefix.startsWith(`${rel}/`)) await this.walk(rel, prefix, limit, found);
      } else if (rel.startsWith(prefix)) {
        const stat = await fs.stat(path.join(this.root, ...rel.split('/'))).catch(() => null);
        if (stat?.isFile()) found.push({ path: rel, size: stat.size, updatedAt: stat.mtime });
      }
    }
  }

  private async pruneEmptyParents(dir: string): Promise<void> {
    // Best effort: keeps the tree from filling with empty date folders; rmdir refuses non-empty ones.
    while (dir.startsWith(this.root + path.sep)) {
      try {
        await fs.rmdir(dir);
      } catch {
        return;
      }
      dir = path.dirname(dir);
    }
  }
}

/** A folder sorts as "name/", so depth-first output is in global path order ("a-b" < "a/x"). */
function byListingOrder(a: { name: string; isFolder: boolean }, b: { name: string; isFolder: boolean }): number {
  const ka = a.isFolder ? `${a.name}/` : a.name;
  const kb = b.isFolder ? `${b.name}/` : b.name;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOENT';
}

function isNotDir(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOTDIR';
}

function errorMessage(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e instanceof Error && e.code && !e.message.startsWith(`${e.code}:`)) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(err);
}

class DanglingLinkError extends Error {}

/**
 * Where a path really is: the deepest part of it that exists, with symbolic links resolved, plus
 * the rest as written. A link that points nowhere throws DanglingLinkError (where it would lead
 * cannot be checked).
 */
async function realLocation(p: string): Promise<string> {
  const missing: string[] = [];
  let probe = p;
  for (;;) {
    try {
      return path.join(await fs.realpath(probe), ...missing);
    } catch (err) {
      if (!isMissing(err) && !isNotDir(err)) throw err;
      const entry = await fs.lstat(probe).catch(() => null);
      if (entry?.isSymbolicLink()) throw new DanglingLinkError();
      const parent = path.dirname(probe);
      if (parent === probe) return p;
      missing.unshift(path.basename(probe));
      probe = parent;
    }
  }
}

/** `'<root>/a/b'` becomes `'a/b'` and `'<root>'` becomes `'.'` wherever the message names them. */
function relativeToRoot(message: string, root: string): string {
  return message.split(`${root}${path.sep}`).join('').split(`'${root}'`).join("'.'");
}
