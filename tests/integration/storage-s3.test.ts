import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, S3Storage } from '@/lib/storage';
import type { S3StorageSettings } from '@/lib/storage/s3';
import { storageContract } from '../support/storage-contract';

// s3rver's built-in account.
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
// Our retry layer, minus the real waiting.
const fastRetry = { retries: 3, sleep: async () => {} };

let s3rver: ChildProcess | undefined;
let s3rverUrl: string;
let dataDir: string;
let admin: S3Client;
let bucketCounter = 0;
const proxies: FaultProxy[] = [];

function settings(bucket: string, endpoint = s3rverUrl): S3StorageSettings {
  return { driver: 's3', bucket, region: 'us-east-1', endpoint, forcePathStyle: true, ...credentials };
}

async function newBucket(): Promise<string> {
  const bucket = `bucket-${++bucketCounter}`;
  await admin.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

beforeAll(async () => {
  // s3rver writes three files per object; on tmpfs seeding thousands of keys is ~5x faster.
  dataDir = await fs
    .mkdtemp('/dev/shm/cronwarden-s3rver-')
    .catch(() => fs.mkdtemp(path.join(os.tmpdir(), 'cronwarden-s3rver-')));
  const started = await startS3rver(dataDir);
  s3rver = started.child;
  s3rverUrl = started.url;
  admin = new S3Client({ region: 'us-east-1', endpoint: s3rverUrl, forcePathStyle: true, credentials });
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  admin?.destroy();
  await stopChild(s3rver);
  if (dataDir) await fs.rm(dataDir, { recursive: true, force: true });
});

storageContract('s3 (s3rver)', async () => createStorage(settings(await newBucket())));

describe('S3Storage against s3rver', () => {
  it('removes 2500 keys with 3 DeleteObjects requests of at most 1000 keys', async () => {
    const bucket = await newBucket();
    const proxy = await startFaultProxy(s3rverUrl, () => null);
    const storage = new S3Storage(settings(bucket, proxy.url), { retry: fastRetry });
    // 25 folders of 100 keys. s3rver rescans a key's folder on every delete (small folders keep
    // that cheap) and removes a folder once it looks empty, where two deletes racing to do so
    // answer 500: a sentinel per folder keeps the request count below exact.
    const keys = Array.from({ length: 2500 }, (_, i) => `bulk/${pad(Math.floor(i / 100), 2)}/${pad(i, 5)}.json`);
    const sentinels = Array.from({ length: 25 }, (_, f) => S3RVER_SENTINEL(`bulk/${pad(f, 2)}`));
    await seedDirectly(bucket, [...keys, ...sentinels]);

    // Listing pages through ListObjectsV2 (3 pages of at most 1000).
    const listed = await storage.list('bulk/');
    expect(listed.map((o) => o.path)).toEqual([...keys, ...sentinels].sort());
    expect(proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('list-type=2'))).toHaveLength(3);

    const result = await storage.remove(keys);
    expect(result.failed).toEqual([]);
    expect(result.removed).toHaveLength(2500);

    const deletes = proxy.requests.filter(isDeleteObjects);
    expect(deletes).toHaveLength(3);
    expect(deletes.map((r) => countKeys(r.body))).toEqual([1000, 1000, 500]);
    expect((await storage.list('bulk/')).map((o) => o.path)).toEqual(sentinels);
  });

  it('retries a server that answers 503 twice, then works', async () => {
    const bucket = await newBucket();
    const direct = new S3Storage(settings(bucket));
    await direct.put('r/a.txt', 'a');
    await direct.put('r/b.txt', 'b');
    await direct.put(S3RVER_SENTINEL('r'), 'keep');

    let failuresLeft = 2;
    const proxy = await startFaultProxy(s3rverUrl, () => (failuresLeft-- > 0 ? slowDown() : null));
    const delays: number[] = [];
    const storage = new S3Storage(settings(bucket, proxy.url), {
      retry: { retries: 3, baseMs: 100, sleep: async (ms) => void delays.push(ms) },
    });

    expect(await storage.remove(['r/a.txt', 'r/b.txt'])).toEqual({ removed: ['r/a.txt', 'r/b.txt'], failed: [] });
    expect(proxy.requests.filter(isDeleteObjects)).toHaveLength(3);
    expect(delays).toHaveLength(2);
    expect(delays[0]).toBeLessThan(100);
    expect(delays[1]).toBeLessThan(200);

    // Reads and writes get the same treatment.
    failuresLeft = 2;
    await storage.put('r/c.txt', 'c');
    failuresLeft = 2;
    expect(new TextDecoder().decode((await storage.get('r/c.txt'))!)).toBe('c');
    failuresLeft = 2;
    expect((await storage.list('r/')).map((o) => o.path)).toEqual(['r/c.txt', S3RVER_SENTINEL('r')]);
  });

  it('reports every key of a chunk whose DeleteObjects keeps failing, without throwing', async () => {
    const bucket = await newBucket();
    const direct = new S3Storage(settings(bucket));
    const keys = Array.from({ length: 1200 }, (_, i) => `doomed/${String(i).padStart(4, '0')}`);
    await inBatches(keys.slice(0, 5), 5, (k) => direct.put(k, 'x'));

    const proxy = await startFaultProxy(s3rverUrl, (req) => (isDeleteObjects(req) ? internalError() : null));
    const storage = new S3Storage(settings(bucket, proxy.url), { retry: fastRetry });

    const result = await storage.remove(keys);
    expect(result.removed).toEqual([]);
    expect(result.failed.map((f) => f.path)).toEqual(keys);
    expect(result.failed[0]!.error).toMatch(/500|InternalError|We encountered an internal error/);
    // Two chunks, each tried 1 + retries times.
    expect(proxy.requests.filter(isDeleteObjects)).toHaveLength(2 * (1 + fastRetry.retries));
    expect(await direct.exists('doomed/0000')).toBe(true);
  });

  it('maps per-key Errors into failed and checks keys the answer left out', async () => {
    const bucket = await newBucket();
    const direct = new S3Storage(settings(bucket));
    await direct.put('p/denied.txt', 'x');
    await direct.put('p/skipped-but-present.txt', 'x');

    // A server that answers 200 but refuses one key and forgets two others.
    const proxy = await startFaultProxy(s3rverUrl, (req) =>
      isDeleteObjects(req)
        ? {
            status: 200,
            body:
              '<?xml version="1.0" encoding="UTF-8"?><DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
              '<Deleted><Key>p/ok.txt</Key></Deleted>' +
              '<Error><Key>p/denied.txt</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>' +
              '</DeleteResult>',
          }
        : null,
    );
    const storage = new S3Storage(settings(bucket, proxy.url), { retry: fastRetry });

    const result = await storage.remove(['p/ok.txt', 'p/denied.txt', 'p/skipped-but-present.txt', 'p/skipped-and-gone.txt']);
    expect(result.removed.sort()).toEqual(['p/ok.txt', 'p/skipped-and-gone.txt']);
    expect(result.failed).toEqual([
      { path: 'p/denied.txt', error: 'AccessDenied: Access Denied' },
      { path: 'p/skipped-but-present.txt', error: 'not deleted: object still exists' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

/**
 * s3rver 3.7.1 encrypts ListObjectsV2 continuation tokens with DES, which Node 17+ (OpenSSL 3)
 * refuses unless the legacy provider is loaded: every truncated listing answers 500. So it runs
 * in a child Node with --openssl-legacy-provider instead of in the test worker.
 */
async function startS3rver(directory: string): Promise<{ child: ChildProcess; url: string }> {
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const script = `
    const S3rver = require(${JSON.stringify(s3rverPath)});
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(directory)} });
    server.run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + '\\n'));
    // Exit with the test worker: it holds our stdin open.
    process.stdin.on('end', () => process.exit(0)).resume();
  `;
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]!) as { port: number }).port);
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited early with code ${code}`)));
  });
  return { child, url: `http://127.0.0.1:${port}` };
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 2_000);
  await exited;
  clearTimeout(timer);
}

interface RecordedRequest {
  method: string;
  url: string;
  body: string;
}
interface FaultAnswer {
  status: number;
  body: string;
}
interface FaultProxy {
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * A pass-through HTTP proxy in front of s3rver that records every request and can answer some
 * itself. Headers (Host included) are forwarded untouched, so SigV4 signatures stay valid.
 */
async function startFaultProxy(target: string, decide: (req: RecordedRequest) => FaultAnswer | null): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const recorded = { method: req.method ?? 'GET', url: req.url ?? '/', body: body.toString('utf8') };
      requests.push(recorded);
      const fault = decide(recorded);
      if (fault) {
        res.writeHead(fault.status, { 'content-type': 'application/xml' }).end(fault.body);
        return;
      }
      const upstream = http.request(
        { host: targetUrl.hostname, port: targetUrl.port, method: req.method, path: req.url, headers: req.headers },
        (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', (err) => res.writeHead(502).end(String(err)));
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const proxy: FaultProxy = {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  proxies.push(proxy);
  return proxy;
}

const S3RVER_SENTINEL = (folder: string) => `${folder}/~keep`;

function isDeleteObjects(req: RecordedRequest): boolean {
  return req.method === 'POST' && /[?&]delete(=|&|$)/.test(req.url);
}

function countKeys(xml: string): number {
  return xml.match(/<Key>/g)?.length ?? 0;
}

function s3Error(status: number, code: string, message: string): FaultAnswer {
  return {
    status,
    body: `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  };
}
const slowDown = () => s3Error(503, 'SlowDown', 'Please reduce your request rate.');
const internalError = () => s3Error(500, 'InternalError', 'We encountered an internal error. Please try again.');

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * Seeds objects with plain unsigned PUTs (s3rver accepts anonymous requests): about 6x faster
 * than going through the SDK, which matters for thousands of keys.
 */
async function seedDirectly(bucket: string, keys: string[]): Promise<void> {
  const { hostname, port } = new URL(s3rverUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 20 });
  try {
    await inBatches(keys, 20, (key) =>
      new Promise<void>((resolve, reject) => {
        const req = http.request(
          { host: hostname, port, agent, method: 'PUT', path: `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}` },
          (res) => {
            res.resume();
            res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`seed ${key}: ${res.statusCode}`))));
          },
        );
        req.on('error', reject);
        req.end('{}');
      }),
    );
  } finally {
    agent.destroy();
  }
}

async function inBatches<T>(items: T[], size: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(fn));
}
