import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStorage, LocalStorage } from '@/lib/storage';
import { httpStatusOf, isTransientError, withRetry } from '@/lib/storage/retry';
import { storageContract } from '../support/storage-contract';

const tempRoots: string[] = [];
async function freshRoot(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cronwarden-storage-'));
  tempRoots.push(dir);
  return dir;
}

afterAll(async () => {
  await Promise.all(tempRoots.map((d) => fs.rm(d, { recursive: true, force: true })));
});

storageContract('local', async () => new LocalStorage(await freshRoot()));

describe('LocalStorage specifics', () => {
  it('is what createStorage builds for the local driver', async () => {
    const root = await freshRoot();
    const storage = createStorage({ driver: 'local', root });
    expect(storage).toBeInstanceOf(LocalStorage);
    await storage.put('x/y.txt', 'y');
    expect(await fs.readFile(path.join(root, 'x', 'y.txt'), 'utf8')).toBe('y');
  });

  it('reports a path it cannot remove in `failed` while the others are removed', async () => {
    const root = await freshRoot();
    const storage = new LocalStorage(root);
    await storage.put('logs/a.txt', 'a');
    await storage.put('logs/b.txt', 'b');
    // A folder where an object is expected: unlink fails with EISDIR (EPERM on macOS).
    await storage.put('logs/folder/inner.txt', 'inner');

    const result = await storage.remove(['logs/a.txt', 'logs/folder', 'logs/b.txt', 'logs/gone.txt']);
    expect(result.removed.sort()).toEqual(['logs/a.txt', 'logs/b.txt', 'logs/gone.txt']);
    expect(result.failed).toHaveLength(1);
    expect(result.failed[0]!.path).toBe('logs/folder');
    expect(result.failed[0]!.error).toMatch(/EISDIR|EPERM/);
    expect(await storage.exists('logs/folder/inner.txt')).toBe(true);
  });

  it('writes atomically: no temp files are left behind or listed', async () => {
    const root = await freshRoot();
    const storage = new LocalStorage(root);
    await Promise.all(Array.from({ length: 20 }, (_, i) => storage.put('same/file.txt', `version ${i}`)));
    expect(await fs.readdir(path.join(root, 'same'))).toEqual(['file.txt']);
    expect(new TextDecoder().decode((await storage.get('same/file.txt'))!)).toMatch(/^version \d+$/);

    // A crashed writer's leftover is not an object.
    await fs.writeFile(path.join(root, 'same', 'file.txt.0123456789ab.partial-write'), 'half');
    expect((await storage.list('same/')).map((o) => o.path)).toEqual(['same/file.txt']);
  });

  it('prunes folders that removal leaves empty, but never the root', async () => {
    const root = await freshRoot();
    const storage = new LocalStorage(root);
    await storage.put('2026/01/02/run.json', '{}');
    await storage.put('2026/keep.json', '{}');
    await storage.remove(['2026/01/02/run.json']);
    expect(await fs.readdir(path.join(root, '2026'))).toEqual(['keep.json']);
    await storage.remove(['2026/keep.json']);
    expect(await fs.readdir(root)).toEqual([]);
  });

  it('lists nothing (rather than failing) before the root folder exists', async () => {
    const storage = new LocalStorage(path.join(await freshRoot(), 'not-yet'));
    expect(await storage.list()).toEqual([]);
    expect(await storage.get('a.txt')).toBeNull();
  });
});

describe('withRetry', () => {
  const httpError = (status: number) => Object.assign(new Error(`HTTP ${status}`), { $metadata: { httpStatusCode: status } });

  it('retries 429 and 5xx with capped, jittered backoff, then gives up', async () => {
    const delays: number[] = [];
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls++;
        throw httpError(503);
      },
      { retries: 4, baseMs: 100, capMs: 300, random: () => 0.999, sleep: async (ms) => void delays.push(ms) },
    );
    await expect(failing).rejects.toThrow('HTTP 503');
    expect(calls).toBe(5);
    // Ceilings 100, 200, 400→300, 800→300, scaled by the (pinned) jitter.
    expect(delays).toEqual([99, 199, 299, 299]);

    let attempts = 0;
    const value = await withRetry(
      async () => {
        if (++attempts < 3) throw httpError(429);
        return 'ok';
      },
      { sleep: async () => {} },
    );
    expect(value).toBe('ok');
    expect(attempts).toBe(3);
  });

  it('does not retry other 4xx errors', async () => {
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          throw httpError(403);
        },
        { sleep: async () => {} },
      ),
    ).rejects.toThrow('HTTP 403');
    expect(calls).toBe(1);
  });

  it('reads statuses from AWS SDK and storage-js errors and spots network failures', () => {
    expect(httpStatusOf(httpError(500))).toBe(500);
    expect(httpStatusOf({ status: 429, statusCode: 'too_many_requests' })).toBe(429);
    expect(httpStatusOf({ statusCode: '502' })).toBe(502);
    expect(httpStatusOf(new Error('plain'))).toBeUndefined();

    const fetchFailed = new TypeError('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) });
    expect(isTransientError(fetchFailed)).toBe(true);
    expect(isTransientError({ name: 'StorageUnknownError', originalError: fetchFailed })).toBe(true);
    expect(isTransientError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isTransientError(new SyntaxError('bad json'))).toBe(false);
    expect(isTransientError(httpError(404))).toBe(false);
  });
});
