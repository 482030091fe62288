import { StorageClient, type FileObject } from '@supabase/storage-js';
import type { StorageSettings } from '../config';
import { describeError, httpStatusOf, withRetry, type RetryOptions } from './retry';
import {
  assertListPrefix,
  assertObjectPath,
  folderBefore,
  type ListOptions,
  type RemoveResult,
  type Storage,
  type StoredObject,
} from './types';

export type SupabaseStorageSettings = Extract<StorageSettings, { driver: 'supabase' }>;

/** Supabase Storage refuses more than this many prefixes in one remove request. */
export const SUPABASE_DELETE_BATCH = 1000;
const LIST_PAGE_SIZE = 1000;
/** The dashboard creates this file to make an empty folder visible; it is not ours. */
const FOLDER_PLACEHOLDER = '.emptyFolderPlaceholder';

export interface SupabaseStorageOptions {
  /** For tests and edge runtimes. */
  fetch?: typeof fetch;
  retry?: RetryOptions;
}

/** Supabase Storage through storage-js with the service-role key (bypasses RLS). */
export class SupabaseStorage implements Storage {
  readonly driver = 'supabase' as const;
  private readonly client: StorageClient;
  private readonly bucket: string;
  private readonly retry: RetryOptions;

  constructor(settings: SupabaseStorageSettings, options: SupabaseStorageOptions = {}) {
    this.bucket = settings.bucket;
    this.retry = options.retry ?? {};
    this.client = new StorageClient(
      `${settings.url.replace(/\/+$/, '')}/storage/v1`,
      { apikey: settings.serviceRoleKey, Authorization: `Bearer ${settings.serviceRoleKey}` },
      options.fetch,
    );
  }

  async put(path: string, body: Uint8Array | string, options: { contentType?: string } = {}): Promise<void> {
    assertObjectPath(path);
    const contentType =
      options.contentType ?? (typeof body === 'string' ? 'text/plain;charset=UTF-8' : 'application/octet-stream');
    await this.call(() => this.files().upload(urlPath(path), body, { upsert: true, contentType }));
  }

  async get(path: string): Promise<Uint8Array | null> {
    assertObjectPath(path);
    return withRetry(async () => {
      const { data, error } = await this.files().download(urlPath(path));
      if (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
      return new Uint8Array(await data.arrayBuffer());
    }, this.retry);
  }

  async exists(path: string): Promise<boolean> {
    assertObjectPath(path);
    // storage-js answers { data: false, error } for 400/404 and throws on anything else, so
    // 5xx and network errors reach withRetry.
    return withRetry(async () => (await this.files().exists(urlPath(path))).data, this.retry);
  }

  async list(prefix = '', options: ListOptions = {}): Promise<StoredObject[]> {
    assertListPrefix(prefix);
    const limit = options.limit ?? Infinity;
    const found: StoredObject[] = [];
    if (limit <= 0) return found;
    // Supabase lists one folder at a time: start at the deepest folder the prefix names.
    const startFolder = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await this.walk(startFolder, prefix, limit, found, options.startAfter ?? '');
    return found;
  }

  async remove(paths: string[]): Promise<RemoveResult> {
    paths.forEach(assertObjectPath);
    const result: RemoveResult = { removed: [], failed: [] };
    // Sequential chunks: a big cleanup should not turn into a burst that trips rate limits.
    for (const batch of chunk([...new Set(paths)], SUPABASE_DELETE_BATCH)) {
      await this.removeChunk(batch, result);
    }
    return result;
  }

  private files() {
    return this.client.from(this.bucket);
  }

  /** storage-js returns errors instead of throwing; throw them so withRetry can see them. */
  private call<T>(operation: () => Promise<{ data: T | null; error: unknown }>): Promise<T> {
    return withRetry(async () => {
      const { data, error } = await operation();
      if (error) throw error;
      return data as T;
    }, this.retry);
  }

  private async removeChunk(paths: string[], result: RemoveResult): Promise<void> {
    let deleted: FileObject[];
    try {
      deleted = await this.call(() => this.files().remove(paths));
    } catch (err) {
      const error = describeError(err);
      for (const path of paths) result.failed.push({ path, error });
      return;
    }
    const reported = new Set(deleted.map((o) => o.name));
    const unreported = paths.filter((p) => !reported.has(p));
    for (const p of paths) if (reported.has(p)) result.removed.push(p);
    // The API lists only what it deleted: a path missing from the answer is either already gone
    // (fine) or was refused. Look, a few at a time, before claiming either.
    for (const batch of chunk(unreported, 10)) {
      await Promise.all(
        batch.map(async (path) => {
          try {
            if (await this.exists(path)) result.failed.push({ path, error: 'not deleted: object still exists' });
            else result.removed.push(path);
          } catch (err) {
            result.failed.push({ path, error: describeError(err) });
          }
        }),
      );
    }
  }

  /**
   * Depth-first, each folder's entries sorted with folders as "name/", which yields paths in
   * global sorted order and lets us stop at `limit` without listing the rest of the bucket.
   */
  private async walk(folder: string, prefix: string, limit: number, found: StoredObject[], after: string): Promise<void> {
    const entries = (await this.listFolder(folder))
      .filter((e) => e.name !== FOLDER_PLACEHOLDER)
      .map((e) => ({ entry: e, name: e.name, isFolder: e.id === null }))
      .sort(byListingOrder);
    for (const { entry, name, isFolder } of entries) {
      if (found.length >= limit) return;
      const path = folder ? `${folder}/${name}` : name;
      if (isFolder) {
        // A folder whose every path sorts at or before `after` is not listed at all.
        if (!folderBefore(path, after) && (`${path}/`.startsWith(prefix) || prefix.startsWith(`${path}/`))) await this.walk(path, prefix, limit, found, after);
      } else if (path.startsWith(prefix) && path > after) {
        found.push({
          path,
          size: entry.metadata?.size ?? 0,
          updatedAt: parseDate(entry.updated_at ?? entry.metadata?.lastModified ?? entry.created_at),
        });
      }
    }
  }

  /** Every entry of one folder level (files and sub-folders), page by page. */
  private async listFolder(folder: string): Promise<FileObject[]> {
    const entries: FileObject[] = [];
    for (let offset = 0; ; offset += LIST_PAGE_SIZE) {
      const page = await this.call(() =>
        this.files().list(folder, { limit: LIST_PAGE_SIZE, offset, sortBy: { column: 'name', order: 'asc' } }),
      );
      entries.push(...page);
      if (page.length < LIST_PAGE_SIZE) return entries;
    }
  }
}

/**
 * storage-js puts the path into the URL as is: encode each segment so '#', '?' and '%' in a
 * name reach the server intact ('/' stays the separator).
 */
function urlPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** Older Storage API versions answer 400 with a body whose statusCode is "404". */
function isNotFound(err: unknown): boolean {
  const e = err as { statusCode?: unknown };
  return httpStatusOf(err) === 404 || e?.statusCode === '404' || e?.statusCode === 'NoSuchKey' || e?.statusCode === 'not_found';
}

function byListingOrder(a: { name: string; isFolder: boolean }, b: { name: string; isFolder: boolean }): number {
  const ka = a.isFolder ? `${a.name}/` : a.name;
  const kb = b.isFolder ? `${b.name}/` : b.name;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

function parseDate(value: string | null | undefined): Date | null {
  if (!value) return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
