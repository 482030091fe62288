import { randomBytes } from 'node:crypto';
import { promises as fs, type Dirent } from 'node:fs';
import path from 'node:path';
import { assertListPrefix, assertObjectPath, folderBefore, type ListOptions, type RemoveResult, type Storage, type StoredObject } from './types';

const TEMP_SUFFIX = '.partial-write';
const TEMP_FILE = /\.[0-9a-f]{12}\.partial-write$/;

/** Objects as plain files under a root folder (development and single-host deployments). */
export class LocalStorage implements Storage {
  readonly driver = 'local' as const;
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async put(objectPath: string, body: Uint8Array | string): Promise<void> {
    const target = this.resolve(objectPath);
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
        throw err;
      }
    }
  }

  async get(objectPath: string): Promise<Uint8Array | null> {
    try {
      const buf = await fs.readFile(this.resolve(objectPath));
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    } catch (err) {
      // A folder is not an object.
      if (isMissing(err) || (err as NodeJS.ErrnoException)?.code === 'EISDIR') return null;
      throw err;
    }
  }

  async exists(objectPath: string): Promise<boolean> {
    try {
      return (await fs.stat(this.resolve(objectPath))).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  async list(prefix = '', options: ListOptions = {}): Promise<StoredObject[]> {
    assertListPrefix(prefix);
    const limit = options.limit ?? Infinity;
    const found: StoredObject[] = [];
    if (limit <= 0) return found;
    // Start at the deepest folder the prefix names; the rest of it filters names.
    const startDir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await this.walk(startDir, prefix, limit, found, options.startAfter ?? '');
    return found;
  }

  async remove(paths: string[]): Promise<RemoveResult> {
    paths.forEach(assertObjectPath);
    const result: RemoveResult = { removed: [], failed: [] };
    for (const objectPath of new Set(paths)) {
      const target = this.resolve(objectPath);
      try {
        await fs.unlink(target);
        result.removed.push(objectPath);
        await this.pruneEmptyParents(path.dirname(target));
      } catch (err) {
        if (isMissing(err)) result.removed.push(objectPath);
        else result.failed.push({ path: objectPath, error: errorMessage(err) });
      }
    }
    return result;
  }

  private resolve(objectPath: string): string {
    return path.join(this.root, ...assertObjectPath(objectPath).split('/'));
  }

  /**
   * Depth-first in sorted order, where a folder sorts as "name/": that makes the output
   * globally sorted by path, so we can stop as soon as `limit` objects are found.
   */
  private async walk(relDir: string, prefix: string, limit: number, found: StoredObject[], after: string): Promise<void> {
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
        // Descend only where the folder and the prefix can still overlap, and where some path
        // of the folder can sort after `after`.
        if (!folderBefore(rel, after) && (`${rel}/`.startsWith(prefix) || prefix.startsWith(`${rel}/`))) await this.walk(rel, prefix, limit, found, after);
      } else if (rel.startsWith(prefix) && rel > after) {
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
  return e?.code ? `${e.code}: ${e.message}` : String(err);
}
