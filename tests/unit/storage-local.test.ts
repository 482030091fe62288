import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createStorage, LocalStorage } from '@/lib/storage';
import { OutsideStorageRootError } from '@/lib/storage/local';
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

  it('refuses every operation on a path whose real location is outside the root (symbolic links)', async () => {
    const base = await freshRoot();
    const root = path.join(base, 'storage');
    const outside = path.join(base, 'outside');
    await fs.mkdir(path.join(root, 'inside-real'), { recursive: true });
    await fs.mkdir(outside);
    await fs.writeFile(path.join(outside, 'secret.txt'), 'do not touch');
    await fs.symlink(outside, path.join(root, 'exports')); // a folder link leading out
    await fs.symlink(path.join(outside, 'secret.txt'), path.join(root, 'link.txt')); // a file link leading out
    await fs.symlink(path.join(outside, 'nowhere.txt'), path.join(root, 'dangling.txt')); // a link to nothing
    await fs.symlink(path.join(root, 'inside-real'), path.join(root, 'inside-alias')); // a link that stays inside
    const storage = new LocalStorage(root);
    const refused = ['exports/secret.txt', 'exports/new.txt', 'exports/deeper/new.txt', 'link.txt', 'dangling.txt'];

    for (const p of refused) {
      await expect(storage.get(p), p).rejects.toBeInstanceOf(OutsideStorageRootError);
      await expect(storage.exists(p), p).rejects.toBeInstanceOf(OutsideStorageRootError);
      await expect(storage.put(p, 'overwritten'), p).rejects.toBeInstanceOf(OutsideStorageRootError);
    }
    const removal = await storage.remove(refused);
    expect(removal.removed).toEqual([]);
    expect(removal.failed.map((f) => f.path)).toEqual(refused);
    for (const f of removal.failed) expect(f.error).toMatch(/resolves outside the storage root/);
    await expect(storage.list('exports/')).rejects.toBeInstanceOf(OutsideStorageRootError);
    await expect(storage.list('exports/sec')).rejects.toBeInstanceOf(OutsideStorageRootError);

    // Nothing outside changed, and the links themselves are still there.
    expect(await fs.readdir(outside)).toEqual(['secret.txt']);
    expect(await fs.readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('do not touch');
    expect((await fs.lstat(path.join(root, 'link.txt'))).isSymbolicLink()).toBe(true);

    // Links that stay inside the root work, and a full listing never follows a link.
    await storage.put('inside-alias/a.txt', 'a');
    expect(new TextDecoder().decode((await storage.get('inside-real/a.txt'))!)).toBe('a');
    expect(await storage.remove(['inside-alias/a.txt'])).toEqual({ removed: ['inside-alias/a.txt'], failed: [] });
    await storage.put('plain/b.txt', 'b');
    expect((await storage.list('')).map((o) => o.path)).toEqual(['plain/b.txt']);

    // A root that is itself a link to a real folder is fine.
    const viaLink = path.join(base, 'root-link');
    await fs.symlink(root, viaLink);
    const linked = new LocalStorage(viaLink);
    expect(await linked.exists('plain/b.txt')).toBe(true);
    await expect(linked.get('exports/secret.txt')).rejects.toBeInstanceOf(OutsideStorageRootError);
  });

  it("errors name paths relative to the storage root, never the server's absolute path", async () => {
    const root = await freshRoot();
    const storage = new LocalStorage(root);
    await storage.put('logs/folder/inner.txt', 'inner');
    await storage.put('logs/file.txt', 'f');

    const removal = await storage.remove(['logs/folder']);
    expect(removal.failed[0]!.error).toMatch(/^(EISDIR|EPERM): .*'logs\/folder'/);
    // A file where a folder is needed: mkdir fails.
    const putError = await storage.put('logs/file.txt/child.txt', 'x').then(() => null, (e: Error) => e);
    expect(putError?.message).toMatch(/'logs\/file\.txt'/);
    expect((putError as { code?: string }).code).toMatch(/EEXIST|ENOTDIR/);
    for (const text of [removal.failed[0]!.error, putError!.message, putError!.stack ?? '', JSON.stringify(putError)]) {
      expect(text).not.toContain(root);
    }
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
