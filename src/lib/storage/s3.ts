import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type DeleteObjectsCommandOutput,
} from '@aws-sdk/client-s3';
import type { StorageSettings } from '../config';
import { describeError, httpStatusOf, withRetry, type RetryOptions } from './retry';
import {
  assertListPrefix,
  assertObjectPath,
  type ListOptions,
  type RemoveResult,
  type Storage,
  type StoredObject,
} from './types';

export type S3StorageSettings = Extract<StorageSettings, { driver: 's3' }>;

/** S3's hard limit on keys per DeleteObjects request. */
export const S3_DELETE_BATCH = 1000;

export interface S3StorageOptions {
  retry?: RetryOptions;
}

/** AWS S3 and S3-compatible services (MinIO, R2, s3rver in tests). */
export class S3Storage implements Storage {
  readonly driver = 's3' as const;
  /** Exposed so callers (and tests) can add middleware, e.g. for metrics. */
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly retry: RetryOptions;

  constructor(settings: S3StorageSettings, options: S3StorageOptions = {}) {
    this.bucket = settings.bucket;
    this.retry = options.retry ?? {};
    this.client = new S3Client({
      region: settings.region,
      endpoint: settings.endpoint,
      forcePathStyle: settings.forcePathStyle,
      // Without explicit keys the SDK's default chain applies (env, profile, instance role).
      credentials:
        settings.accessKeyId && settings.secretAccessKey
          ? { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey }
          : undefined,
      // withRetry is the only retry layer, so attempts and backoff are ours to reason about.
      maxAttempts: 1,
      // Many S3-compatible servers reject the SDK's default CRC32 trailers; send checksums
      // only where the API demands them (DeleteObjects).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 60_000 },
    });
  }

  async put(path: string, body: Uint8Array | string, options: { contentType?: string } = {}): Promise<void> {
    assertObjectPath(path);
    const contentType =
      options.contentType ?? (typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/octet-stream');
    // Bytes with an explicit length: the SDK otherwise guesses (and warns) for empty strings.
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    await withRetry(
      () =>
        this.client.send(
          new PutObjectCommand({
            Bucket: this.bucket,
            Key: path,
            Body: bytes,
            ContentLength: bytes.byteLength,
            ContentType: contentType,
          }),
        ),
      this.retry,
    );
  }

  async get(path: string): Promise<Uint8Array | null> {
    assertObjectPath(path);
    return withRetry(async () => {
      try {
        const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: path }));
        // Read the body inside the retry: a connection can also drop mid-body.
        return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      } catch (err) {
        if (isNotFound(err)) return null;
        throw err;
      }
    }, this.retry);
  }

  async exists(path: string): Promise<boolean> {
    assertObjectPath(path);
    return this.headExists(path);
  }

  async list(prefix = '', options: ListOptions = {}): Promise<StoredObject[]> {
    assertListPrefix(prefix);
    const limit = options.limit ?? Infinity;
    const found: StoredObject[] = [];
    let continuationToken: string | undefined;
    while (found.length < limit) {
      const page = await withRetry(
        () =>
          this.client.send(
            new ListObjectsV2Command({
              Bucket: this.bucket,
              Prefix: prefix || undefined,
              MaxKeys: Math.min(1000, limit - found.length),
              ContinuationToken: continuationToken,
              StartAfter: options.startAfter || undefined,
            }),
          ),
        this.retry,
      );
      for (const obj of page.Contents ?? []) {
        // Folder markers ("a/") and keys we could not address anyway are not objects for us.
        // (Some compatible servers ignore StartAfter: the filter keeps the contract anyway.)
        if (!obj.Key || !isObjectPath(obj.Key) || found.length >= limit) continue;
        if (options.startAfter && obj.Key <= options.startAfter) continue;
        found.push({ path: obj.Key, size: obj.Size ?? 0, updatedAt: obj.LastModified ?? null });
      }
      continuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (!continuationToken) break;
    }
    // S3 already answers in key order; some compatible servers (s3rver) walk folders instead.
    return found.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  async remove(paths: string[]): Promise<RemoveResult> {
    paths.forEach(assertObjectPath);
    const result: RemoveResult = { removed: [], failed: [] };
    // Sequential chunks: a big cleanup should not turn into a burst that trips rate limits.
    for (const keys of chunk([...new Set(paths)], S3_DELETE_BATCH)) {
      await this.removeChunk(keys, result);
    }
    return result;
  }

  private async removeChunk(keys: string[], result: RemoveResult): Promise<void> {
    let out: DeleteObjectsCommandOutput;
    try {
      out = await withRetry(
        () =>
          this.client.send(
            new DeleteObjectsCommand({
              Bucket: this.bucket,
              Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: false },
            }),
          ),
        this.retry,
      );
    } catch (err) {
      const error = describeError(err);
      for (const path of keys) result.failed.push({ path, error });
      return;
    }
    const errors = new Map<string, string>();
    for (const e of out.Errors ?? []) {
      if (e.Key) errors.set(e.Key, [e.Code, e.Message].filter(Boolean).join(': ') || 'delete failed');
    }
    const deleted = new Set((out.Deleted ?? []).map((d) => d.Key));
    const unreported: string[] = [];
    for (const path of keys) {
      const error = errors.get(path);
      if (error !== undefined) result.failed.push({ path, error });
      else if (deleted.has(path)) result.removed.push(path);
      else unreported.push(path);
    }
    // Quiet: false should report every key; if a server skips some, look before claiming success.
    for (const batch of chunk(unreported, 10)) {
      await Promise.all(
        batch.map(async (path) => {
          try {
            if (await this.headExists(path)) result.failed.push({ path, error: 'not deleted: object still exists' });
            else result.removed.push(path);
          } catch (err) {
            result.failed.push({ path, error: describeError(err) });
          }
        }),
      );
    }
  }

  private headExists(path: string): Promise<boolean> {
    return withRetry(async () => {
      try {
        await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: path }));
        return true;
      } catch (err) {
        if (isNotFound(err)) return false;
        throw err;
      }
    }, this.retry);
  }
}

function isNotFound(err: unknown): boolean {
  const name = (err as { name?: unknown })?.name;
  return httpStatusOf(err) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

function isObjectPath(key: string): boolean {
  try {
    assertObjectPath(key);
    return true;
  } catch {
    return false;
  }
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
