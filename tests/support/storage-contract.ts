import { describe, expect, it } from 'vitest';
import { InvalidObjectPathError, type Storage } from '@/lib/storage/types';

/**
 * What every Storage adapter must do, run against a real backend (folder, s3rver, or the
 * Supabase Storage stand-in). `makeStorage` must return an adapter over an empty bucket/folder.
 */
export function storageContract(name: string, makeStorage: () => Promise<Storage> | Storage): void {
  describe(`Storage contract: ${name}`, () => {
    const text = (bytes: Uint8Array | null) => (bytes === null ? null : new TextDecoder().decode(bytes));

    it('stores bytes and strings, reads them back, and overwrites on put', async () => {
      const storage = await makeStorage();
      const binary = new Uint8Array([0, 1, 2, 250, 255]);
      await storage.put('exports/2026/run-1.bin', binary, { contentType: 'application/octet-stream' });
      await storage.put('exports/2026/run-1.csv', 'id,status\n1,ok\n', { contentType: 'text/csv' });

      expect(await storage.get('exports/2026/run-1.bin')).toEqual(binary);
      expect(text(await storage.get('exports/2026/run-1.csv'))).toBe('id,status\n1,ok\n');

      await storage.put('exports/2026/run-1.csv', 'replaced');
      expect(text(await storage.get('exports/2026/run-1.csv'))).toBe('replaced');
    });

    it('stores empty objects', async () => {
      const storage = await makeStorage();
      await storage.put('markers/empty.txt', '');
      await storage.put('markers/empty.bin', new Uint8Array());
      expect(await storage.get('markers/empty.txt')).toEqual(new Uint8Array());
      expect(await storage.exists('markers/empty.bin')).toBe(true);
      expect((await storage.list('markers/')).map((o) => [o.path, o.size])).toEqual([
        ['markers/empty.bin', 0],
        ['markers/empty.txt', 0],
      ]);
    });

    it('answers null / false for objects that do not exist', async () => {
      const storage = await makeStorage();
      await storage.put('a/present.txt', 'x');
      expect(await storage.get('a/missing.txt')).toBeNull();
      expect(await storage.exists('a/missing.txt')).toBe(false);
      expect(await storage.exists('a/present.txt')).toBe(true);
      // A folder is not an object.
      expect(await storage.exists('a')).toBe(false);
    });

    it('keeps names with spaces and URL-special characters intact', async () => {
      const storage = await makeStorage();
      const odd = "reports/q1 summary (final) & more+plus,it's=1;@$!.txt";
      await storage.put(odd, 'odd');
      expect(text(await storage.get(odd))).toBe('odd');
      expect(await storage.exists(odd)).toBe(true);
      expect((await storage.list('reports/')).map((o) => o.path)).toEqual([odd]);
      expect(await storage.remove([odd])).toEqual({ removed: [odd], failed: [] });
      expect(await storage.exists(odd)).toBe(false);
    });

    it('lists recursively under a prefix, sorted by path, with sizes', async () => {
      const storage = await makeStorage();
      const files: Record<string, string> = {
        'exports/b.csv': 'bb',
        'exports/a/2.csv': '2222',
        'exports/a/1.csv': '1',
        'exports/a-b.csv': '333',
        'exports/deep/er/still.csv': '55555',
        'other/x.csv': 'x',
        'exports.csv': 'not under exports/',
      };
      for (const [path, body] of Object.entries(files)) await storage.put(path, body);

      const listed = await storage.list('exports/');
      // Global path order: "a-b.csv" < "a/1.csv" because '-' < '/'.
      expect(listed.map((o) => o.path)).toEqual([
        'exports/a-b.csv',
        'exports/a/1.csv',
        'exports/a/2.csv',
        'exports/b.csv',
        'exports/deep/er/still.csv',
      ]);
      for (const o of listed) {
        expect(o.size).toBe(files[o.path]!.length);
        expect(o.updatedAt === null || o.updatedAt instanceof Date).toBe(true);
      }

      // Without a trailing slash the prefix is a plain string prefix, as in S3.
      expect((await storage.list('exports')).map((o) => o.path)).toContain('exports.csv');
      expect((await storage.list('exports/a')).map((o) => o.path)).toEqual([
        'exports/a-b.csv',
        'exports/a/1.csv',
        'exports/a/2.csv',
      ]);
      expect((await storage.list()).length).toBe(Object.keys(files).length);
      expect(await storage.list('nothing-here/')).toEqual([]);
    });

    it('honors the list limit', async () => {
      const storage = await makeStorage();
      for (const i of [5, 3, 1, 4, 2]) await storage.put(`runs/2026-01-0${i}.json`, '{}');
      await storage.put('runs/zz/later.json', '{}');

      expect((await storage.list('runs/', { limit: 3 })).map((o) => o.path)).toEqual([
        'runs/2026-01-01.json',
        'runs/2026-01-02.json',
        'runs/2026-01-03.json',
      ]);
      expect(await storage.list('runs/', { limit: 100 })).toHaveLength(6);
    });

    it('pages through a prefix with startAfter, across folders, each object exactly once', async () => {
      const storage = await makeStorage();
      // (No "a-b" beside "a/" here: s3rver walks folders instead of key order; S3 itself does not.)
      const paths = ['up/a/1.txt', 'up/a/2.txt', 'up/b.txt', 'up/c/d/3.txt', 'up/c/d/4.txt', 'up/e.txt'];
      for (const p of [...paths].reverse()) await storage.put(p, 'x');
      await storage.put('upper.txt', 'not under up/');
      const seen: string[] = [];
      let startAfter: string | undefined;
      for (let page = 0; page < 10; page++) {
        const got = await storage.list('up/', { limit: 2, startAfter });
        seen.push(...got.map((o) => o.path));
        if (got.length < 2) break;
        startAfter = got[got.length - 1].path;
      }
      expect(seen).toEqual(paths);
      // A cursor inside a folder resumes inside it; one past everything gives nothing.
      expect((await storage.list('up/', { startAfter: 'up/a/1.txt' })).map((o) => o.path)).toEqual(paths.slice(1));
      expect((await storage.list('up/', { startAfter: 'up/c/' })).map((o) => o.path)).toEqual(['up/c/d/3.txt', 'up/c/d/4.txt', 'up/e.txt']);
      expect(await storage.list('up/', { startAfter: 'up/zzz' })).toEqual([]);
    });

    it('removes objects; a path that does not exist counts as removed', async () => {
      const storage = await makeStorage();
      await storage.put('tmp/one.txt', '1');
      await storage.put('tmp/two.txt', '2');
      await storage.put('keep/three.txt', '3');

      const result = await storage.remove(['tmp/one.txt', 'tmp/never-existed.txt', 'tmp/two.txt']);
      expect(result.failed).toEqual([]);
      expect([...result.removed].sort()).toEqual(['tmp/never-existed.txt', 'tmp/one.txt', 'tmp/two.txt']);
      expect(await storage.exists('tmp/one.txt')).toBe(false);
      expect(await storage.exists('tmp/two.txt')).toBe(false);
      expect(await storage.exists('keep/three.txt')).toBe(true);
      expect((await storage.list()).map((o) => o.path)).toEqual(['keep/three.txt']);

      expect(await storage.remove([])).toEqual({ removed: [], failed: [] });
    });

    it('rejects invalid object paths before touching the backend', async () => {
      const storage = await makeStorage();
      await storage.put('safe.txt', 'safe');
      for (const bad of ['../x', '/abs', 'a//b', '', 'a/./b', 'a\\b', 'trailing/']) {
        await expect(storage.put(bad, 'x'), bad).rejects.toBeInstanceOf(InvalidObjectPathError);
        await expect(storage.get(bad), bad).rejects.toBeInstanceOf(InvalidObjectPathError);
        await expect(storage.exists(bad), bad).rejects.toBeInstanceOf(InvalidObjectPathError);
        // One bad path rejects the whole call: nothing is removed.
        await expect(storage.remove(['safe.txt', bad]), bad).rejects.toBeInstanceOf(InvalidObjectPathError);
      }
      for (const bad of ['../', '/abs', 'a//', '..']) {
        await expect(storage.list(bad), bad).rejects.toBeInstanceOf(InvalidObjectPathError);
      }
      expect(await storage.exists('safe.txt')).toBe(true);
    });
  });
}
