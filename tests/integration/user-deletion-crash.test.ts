import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import { PgliteDb } from '../../src/lib/db/pglite';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { SqlDb } from '../../src/lib/db/types';
import { storageCleanupRetryJob } from '../../src/lib/jobs/storage-cleanup-retry';
import { LocalStorage } from '../../src/lib/storage/local';
import { freshPostgresUrl, hasPostgres } from '../support/db';
import { testDeps } from '../support/deps';

/**
 * Issue 13 item 2: a user with many uploads, the process killed after the deletion's commit
 * (40,000 files and 0.8 s in the report; 4,000 here, four pages of the outbox, same shape).
 * Whatever the moment, every path is either gone from storage or still in
 * storage_cleanup_queue, and the retry job finishes the work once the attempt's claim expires.
 */

const NOW = new Date('2026-11-20T12:00:00.000Z');
const DOOMED = 'd0000000-0000-4000-8000-00000000000d';
const KEPT = 'e0000000-0000-4000-8000-00000000000e';
const FILES = 4000;
const pathOf = (user: string, i: number) => `uploads/${user}/f-${String(i).padStart(5, '0')}.bin`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

interface Target {
  /** Opens the database (again) in this process. */
  open(): Promise<SqlDb>;
  childEnv: Record<string, string>;
}

/** A data directory of its own, loaded from the migrated and bound dump of the global setup. */
async function pgliteTarget(root: string): Promise<Target> {
  const dir = path.join(root, 'pglite');
  const db = await PgliteDb.open(dir, { loadDataDir: new Blob([fs.readFileSync(inject('pgliteDumpPath'))]) });
  await db.close();
  return { open: () => PgliteDb.open(dir), childEnv: { CW_PGLITE_DIR: dir } };
}

async function postgresTarget(): Promise<Target> {
  const url = await freshPostgresUrl();
  return { open: async () => PostgresDb.connect(url, 2), childEnv: { CW_DB_URL: url } };
}

async function load(db: SqlDb, storage: LocalStorage) {
  await db.query(`insert into users (id, email, type) values ($1, 'doomed@example.com', 'member'), ($2, 'kept@example.com', 'member')`, [DOOMED, KEPT]);
  await db.query(
    `insert into file_uploads (user_id, storage_path, size_bytes)
     select $1::uuid, 'uploads/' || $1::text || '/f-' || lpad(n::text, 5, '0') || '.bin', 1 from generate_series(1, $2::integer) n`,
    [DOOMED, FILES],
  );
  await db.query(
    `insert into file_uploads (user_id, storage_path) select $1::uuid, 'uploads/' || $1::text || '/f-' || lpad(n::text, 5, '0') || '.bin' from generate_series(1, 10) n`,
    [KEPT],
  );
  const paths = [...Array.from({ length: FILES }, (_, i) => pathOf(DOOMED, i + 1)), ...Array.from({ length: 10 }, (_, i) => pathOf(KEPT, i + 1))];
  for (let i = 0; i < paths.length; i += 200) await Promise.all(paths.slice(i, i + 200).map((p) => storage.put(p, 'x')));
}

/** Runs the child until it says it stopped, then kills it with SIGKILL. */
async function runAndKill(env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'tests/support/user-deletion-child.ts'], {
    env: { NODE_ENV: 'test', PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const until = Date.now() + 170_000;
  while (!out.includes('stopped') && child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  expect(child.exitCode, out).toBeNull();
  expect(out, out).toContain(`stopped ${env.CW_STOP}`);
  child.kill('SIGKILL');
  await exited;
  return out;
}

async function existing(storage: LocalStorage, user: string): Promise<Set<string>> {
  return new Set((await storage.list(`uploads/${user}/`)).map((o) => o.path));
}

const engines = [{ name: 'pglite' as const }, ...(hasPostgres() ? [{ name: 'postgres' as const }] : [])];

for (const engine of engines) {
  describe(`user deletion killed after its commit [${engine.name}]`, () => {
    for (const stop of ['after-commit', 'mid-removal'] as const) {
      it(`${stop}: every path of the deleted rows is either gone or queued, and the retry job removes the rest`, async () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-crash-'));
        dirs.push(root);
        const storage = new LocalStorage(path.join(root, 'storage'));
        const target = engine.name === 'pglite' ? await pgliteTarget(root) : await postgresTarget();
        let db = await target.open();
        await load(db, storage);
        if (engine.name === 'pglite') await db.close(); // one process per data directory

        await runAndKill({
          ...target.childEnv,
          CW_STORAGE_ROOT: path.join(root, 'storage'),
          CW_USER_ID: DOOMED,
          CW_NOW: NOW.toISOString(),
          CW_STOP: stop,
        });

        if (engine.name === 'pglite') db = await target.open();
        try {
          // Committed: no row of the user is left.
          expect(await db.query(`select count(*)::int as n from users where id = $1`, [DOOMED])).toEqual([{ n: 0 }]);
          expect(await db.query(`select count(*)::int as n from file_uploads where user_id = $1`, [DOOMED])).toEqual([{ n: 0 }]);

          const queued = new Set(
            (await db.query<{ storage_path: string }>(`select storage_path from cronwarden.storage_cleanup_queue`)).map((r) => r.storage_path),
          );
          const left = await existing(storage, DOOMED);
          const lost = [...left].filter((p) => !queued.has(p));
          expect(lost, 'objects left with no row and no queue entry').toEqual([]);
          if (stop === 'after-commit') {
            expect([left.size, queued.size]).toEqual([FILES, FILES]);
          } else {
            // The first page is gone and settled; half of the second is gone but still queued.
            expect(left.size).toBe(FILES - 1500);
            expect(queued.size).toBe(FILES - 1000);
          }
          expect((await existing(storage, KEPT)).size).toBe(10);

          // While the attempt's claim could still be alive, the retry job leaves its paths alone.
          const { deps } = testDeps(db, { storage });
          const early = await runJob(storageCleanupRetryJob, { input: {}, dryRun: false }, { ...deps, now: () => new Date(NOW.getTime() + 60_000) });
          expect(early.kind === 'finished' && early.result).toMatchObject({ removed_count: 0, pending_count: queued.size, partial: false });

          // Once it has expired, the retry job removes everything that is left.
          const late = await runJob(storageCleanupRetryJob, { input: {}, dryRun: false }, { ...deps, now: () => new Date(NOW.getTime() + 600_000) });
          expect(late.kind === 'finished' && late.result).toMatchObject({ removed_count: queued.size, failed_count: 0, pending_count: 0, partial: false });
          expect((await existing(storage, DOOMED)).size).toBe(0);
          expect((await existing(storage, KEPT)).size).toBe(10);
          expect(await db.query(`select count(*)::int as n from cronwarden.storage_cleanup_queue`)).toEqual([{ n: 0 }]);
        } finally {
          await db.close();
        }
      }, 300_000);
    }
  });
}
