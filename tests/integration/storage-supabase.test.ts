import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, SupabaseStorage } from '@/lib/storage';
import type { SupabaseStorageSettings } from '@/lib/storage/supabase';
import { storageContract } from '../support/storage-contract';

const SERVICE_KEY = 'test-service-role-key-0123456789';
const fastRetry = { retries: 3, sleep: async () => {} };

let fake: FakeSupabaseStorage;
let bucketCounter = 0;

beforeAll(async () => {
  fake = await startFakeSupabaseStorage(SERVICE_KEY);
});

afterAll(async () => {
  await fake?.close();
});

function settings(bucket: string, serviceRoleKey = SERVICE_KEY): SupabaseStorageSettings {
  return { driver: 'supabase', url: fake.url, serviceRoleKey, bucket };
}

function newBucket(): string {
  const bucket = `bucket-${++bucketCounter}`;
  fake.createBucket(bucket);
  return bucket;
}

// Through createStorage, with an injected fetch, as the app would build it.
storageContract('supabase (Storage API stand-in)', () =>
  createStorage(settings(newBucket()), { fetch: (input, init) => fetch(input, init) }),
);

describe('SupabaseStorage against a Storage API stand-in', () => {
  it('removes 2500 paths with 3 DELETE requests of at most 1000 prefixes', async () => {
    const bucket = newBucket();
    const paths = Array.from({ length: 2500 }, (_, i) => `bulk/${String(i).padStart(5, '0')}.json`);
    for (const p of paths) fake.seed(bucket, p, '{}');
    const storage = new SupabaseStorage(settings(bucket), { retry: fastRetry });
    fake.requests.length = 0;

    const result = await storage.remove(paths);
    expect(result.failed).toEqual([]);
    expect(result.removed).toHaveLength(2500);

    const deletes = fake.requests.filter((r) => r.method === 'DELETE');
    expect(deletes.map((r) => (r.json as { prefixes: string[] }).prefixes.length)).toEqual([1000, 1000, 500]);
    // Everything was reported deleted, so no follow-up existence checks were needed.
    expect(fake.requests.filter((r) => r.method === 'HEAD')).toHaveLength(0);
    expect(fake.objectCount(bucket)).toBe(0);
  });

  it('lists a folder larger than one page', async () => {
    const bucket = newBucket();
    const paths = Array.from({ length: 1500 }, (_, i) => `many/${String(i).padStart(5, '0')}.json`);
    for (const p of paths) fake.seed(bucket, p, 'x');
    const storage = new SupabaseStorage(settings(bucket), { retry: fastRetry });
    fake.requests.length = 0;

    expect((await storage.list('many/')).map((o) => o.path)).toEqual(paths);
    const pages = fake.requests.filter((r) => r.path.startsWith('/storage/v1/object/list/'));
    // The prefix names the folder, so listing starts there: two pages of it, nothing else.
    expect(pages.map((r) => r.json)).toMatchObject([
      { prefix: 'many', offset: 0, limit: 1000 },
      { prefix: 'many', offset: 1000, limit: 1000 },
    ]);
  });

  it('retries a 429 and succeeds', async () => {
    const bucket = newBucket();
    fake.seed(bucket, 'r/a.txt', 'a');
    const storage = new SupabaseStorage(settings(bucket), { retry: fastRetry });

    let throttled = 0;
    fake.fault = (req) => (req.method === 'DELETE' && throttled++ === 0 ? tooManyRequests : null);
    try {
      fake.requests.length = 0;
      expect(await storage.remove(['r/a.txt'])).toEqual({ removed: ['r/a.txt'], failed: [] });
      expect(fake.requests.filter((r) => r.method === 'DELETE')).toHaveLength(2);

      // Uploads, downloads, listings and existence checks get the same treatment.
      for (const op of [
        () => storage.put('r/b.txt', 'b'),
        () => storage.get('r/b.txt'),
        () => storage.list('r/'),
        () => storage.exists('r/b.txt'),
      ]) {
        let left = 1;
        fake.fault = () => (left-- > 0 ? tooManyRequests : null);
        await op();
        expect(left).toBe(-1);
      }
      expect(await storage.exists('r/b.txt')).toBe(true);
    } finally {
      fake.fault = null;
    }
  });

  it('fails exactly the chunk whose DELETE keeps answering 500; the other chunks succeed', async () => {
    const bucket = newBucket();
    const paths = Array.from({ length: 2500 }, (_, i) => `bulk/${String(i).padStart(5, '0')}.json`);
    for (const p of paths) fake.seed(bucket, p, '{}');
    const doomed = paths.slice(1000, 2000);
    const storage = new SupabaseStorage(settings(bucket), { retry: fastRetry });

    fake.fault = (req) =>
      req.method === 'DELETE' && (req.json as { prefixes: string[] }).prefixes[0] === doomed[0] ? internalError : null;
    try {
      fake.requests.length = 0;
      const result = await storage.remove(paths);
      expect(result.failed.map((f) => f.path)).toEqual(doomed);
      expect(result.failed[0]!.error).toMatch(/500|Internal/);
      expect(result.removed).toEqual([...paths.slice(0, 1000), ...paths.slice(2000)]);
      // First chunk once, second chunk 1 + retries times, third chunk once.
      expect(fake.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1 + (1 + fastRetry.retries) + 1);
      expect(fake.objectCount(bucket)).toBe(1000);
    } finally {
      fake.fault = null;
    }
  });

  it('checks paths the API did not report: gone counts as removed, still there is a failure', async () => {
    const bucket = newBucket();
    fake.seed(bucket, 'p/deletable.txt', 'x');
    fake.seed(bucket, 'p/protected.txt', 'x');
    // Like an RLS policy hiding a row: the API silently skips it.
    fake.undeletable.add(`${bucket}/p/protected.txt`);
    const storage = new SupabaseStorage(settings(bucket), { retry: fastRetry });

    const result = await storage.remove(['p/deletable.txt', 'p/protected.txt', 'p/never-existed.txt']);
    expect(result.removed.sort()).toEqual(['p/deletable.txt', 'p/never-existed.txt']);
    expect(result.failed).toEqual([{ path: 'p/protected.txt', error: 'not deleted: object still exists' }]);
  });

  it('sends the service-role key, and a wrong key is refused', async () => {
    const bucket = newBucket();
    const wrong = new SupabaseStorage(settings(bucket, 'not-the-key'), { retry: fastRetry });
    await expect(wrong.put('a.txt', 'a')).rejects.toMatchObject({ status: 403 });
    const result = await wrong.remove(['a.txt']);
    expect(result.removed).toEqual([]);
    expect(result.failed[0]!.error).toMatch(/403|signature/i);
  });
});

// ---------------------------------------------------------------------------------------------

interface RecordedRequest {
  method: string;
  path: string;
  json: unknown;
}
interface FaultAnswer {
  status: number;
  body: Record<string, unknown>;
}
interface StoredBlob {
  id: string;
  bytes: Buffer;
  contentType: string;
  createdAt: string;
  updatedAt: string;
}
interface FakeSupabaseStorage {
  url: string;
  requests: RecordedRequest[];
  /** Answer a request with an error instead of handling it. */
  fault: ((req: RecordedRequest) => FaultAnswer | null) | null;
  /** "bucket/path" entries DELETE silently skips. */
  undeletable: Set<string>;
  createBucket(name: string): void;
  seed(bucket: string, path: string, body: string): void;
  objectCount(bucket: string): number;
  close(): Promise<void>;
}

const tooManyRequests: FaultAnswer = {
  status: 429,
  body: { statusCode: '429', error: 'too_many_requests', message: 'Too many requests' },
};
const internalError: FaultAnswer = {
  status: 500,
  body: { statusCode: '500', error: 'internal', message: 'Internal Server Error' },
};
const notFound = { statusCode: '404', error: 'not_found', message: 'Object not found' };

/**
 * The subset of the Supabase Storage REST API that storage-js 2.x calls for our adapter,
 * backed by Maps:
 *   POST|PUT /storage/v1/object/:bucket/*path    upload (x-upsert)
 *   GET      /storage/v1/object/:bucket/*path    download
 *   HEAD     /storage/v1/object/:bucket/*path    exists
 *   DELETE   /storage/v1/object/:bucket          remove, body { prefixes }
 *   POST     /storage/v1/object/list/:bucket     list one folder, body { prefix, limit, offset }
 */
async function startFakeSupabaseStorage(serviceKey: string): Promise<FakeSupabaseStorage> {
  const buckets = new Map<string, Map<string, StoredBlob>>();
  const state: Pick<FakeSupabaseStorage, 'requests' | 'fault' | 'undeletable'> = {
    requests: [],
    fault: null,
    undeletable: new Set(),
  };

  const store = (bucket: string, path: string, bytes: Buffer, contentType: string) => {
    const now = new Date().toISOString();
    const existing = buckets.get(bucket)!.get(path);
    buckets.get(bucket)!.set(path, {
      id: existing?.id ?? randomUUID(),
      bytes,
      contentType,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    });
  };

  const fileEntry = (name: string, blob: StoredBlob) => ({
    name,
    id: blob.id,
    updated_at: blob.updatedAt,
    created_at: blob.createdAt,
    last_accessed_at: blob.updatedAt,
    metadata: {
      eTag: `"${blob.id}"`,
      size: blob.bytes.length,
      mimetype: blob.contentType,
      cacheControl: 'max-age=3600',
      lastModified: blob.updatedAt,
      contentLength: blob.bytes.length,
      httpStatusCode: 200,
    },
  });

  const handle = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => {
    const sendJson = (status: number, payload: unknown) =>
      res.writeHead(status, { 'content-type': 'application/json' }).end(req.method === 'HEAD' ? undefined : JSON.stringify(payload));

    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    const isJson = (req.headers['content-type'] ?? '').startsWith('application/json');
    const recorded: RecordedRequest = { method, path: url.pathname, json: isJson ? JSON.parse(body.toString('utf8')) : null };
    state.requests.push(recorded);

    if (req.headers.authorization !== `Bearer ${serviceKey}` || req.headers.apikey !== serviceKey) {
      return sendJson(403, { statusCode: '403', error: 'Unauthorized', message: 'invalid signature' });
    }
    const fault = state.fault?.(recorded);
    if (fault) return sendJson(fault.status, fault.body);

    const segments = url.pathname.split('/').slice(1).map(decodeURIComponent);
    if (segments[0] !== 'storage' || segments[1] !== 'v1' || segments[2] !== 'object') {
      return sendJson(404, { statusCode: '404', error: 'not_found', message: 'Route not found' });
    }
    const isList = segments[3] === 'list' && method === 'POST';
    const bucketName = isList ? segments[4]! : segments[3]!;
    const objects = buckets.get(bucketName);
    if (!objects) return sendJson(400, { statusCode: '404', error: 'Bucket not found', message: 'Bucket not found' });
    const objectPath = segments.slice(4).join('/');

    if (isList) {
      const { prefix = '', limit = 100, offset = 0 } = recorded.json as { prefix?: string; limit?: number; offset?: number };
      const folder = prefix.replace(/\/+$/, '');
      const base = folder ? `${folder}/` : '';
      const files = new Map<string, StoredBlob>();
      const folders = new Set<string>();
      for (const [path, blob] of objects) {
        if (!path.startsWith(base)) continue;
        const rest = path.slice(base.length);
        const slash = rest.indexOf('/');
        if (slash === -1) files.set(rest, blob);
        else folders.add(rest.slice(0, slash));
      }
      const entries = [
        ...[...folders].map((name) => ({
          name,
          id: null,
          updated_at: null,
          created_at: null,
          last_accessed_at: null,
          metadata: null,
        })),
        ...[...files].map(([name, blob]) => fileEntry(name, blob)),
      ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return sendJson(200, entries.slice(offset, offset + limit));
    }

    if (method === 'DELETE' && segments.length === 4) {
      const { prefixes } = recorded.json as { prefixes: string[] };
      if (!Array.isArray(prefixes) || prefixes.length > 1000) {
        return sendJson(400, { statusCode: '400', error: 'invalid_request', message: 'At most 1000 prefixes' });
      }
      const deleted = [];
      for (const p of prefixes) {
        const blob = objects.get(p);
        if (!blob || state.undeletable.has(`${bucketName}/${p}`)) continue;
        objects.delete(p);
        deleted.push({ ...fileEntry(p, blob), bucket_id: bucketName });
      }
      return sendJson(200, deleted);
    }

    if ((method === 'POST' || method === 'PUT') && objectPath) {
      const exists = objects.has(objectPath);
      if (method === 'POST' && exists && req.headers['x-upsert'] !== 'true') {
        return sendJson(400, { statusCode: '409', error: 'Duplicate', message: 'The resource already exists' });
      }
      if (method === 'PUT' && !exists) return sendJson(400, notFound);
      store(bucketName, objectPath, body, String(req.headers['content-type'] ?? 'application/octet-stream'));
      return sendJson(200, { Key: `${bucketName}/${objectPath}`, Id: objects.get(objectPath)!.id });
    }

    if ((method === 'GET' || method === 'HEAD') && objectPath) {
      const blob = objects.get(objectPath);
      if (!blob) return sendJson(404, notFound);
      res.writeHead(200, { 'content-type': blob.contentType, 'content-length': blob.bytes.length });
      return res.end(method === 'HEAD' ? undefined : blob.bytes);
    }

    return sendJson(400, { statusCode: '400', error: 'invalid_request', message: `Unsupported ${method} ${url.pathname}` });
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      try {
        handle(req, Buffer.concat(chunks), res);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: '500', error: String(err) }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    createBucket: (name: string) => void buckets.set(name, new Map()),
    seed: (bucket: string, path: string, body: string) => store(bucket, path, Buffer.from(body), 'application/json'),
    objectCount: (bucket: string) => buckets.get(bucket)?.size ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
