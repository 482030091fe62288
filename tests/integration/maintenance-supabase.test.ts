import { afterEach, expect, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import { SupabaseDb } from '../../src/lib/db/supabase';
import type { Db, SqlDb } from '../../src/lib/db/types';
import { maintenanceJob, type MaintenanceResult } from '../../src/lib/jobs/maintenance';
import type { LocalStorage } from '../../src/lib/storage/local';
import { describeEngines } from '../support/db';
import { tempStorage, testDeps } from '../support/deps';
import { startFakePostgrest, type FakePostgrest } from '../support/postgrest';

/**
 * Import maintenance through the Supabase driver, against a PostgREST stand-in that is as
 * strict as Supabase's: schema by profile header, results cut at max-rows = 1000.
 */

const KEY = 'service-role-key-for-tests-0123456789';
const T = new Date('2026-11-20T03:00:00.000Z');
const EXPIRED = 3000;

let server: FakePostgrest | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** 3,000 temp uploads expired between 25 h and ~75 h before T, each with its object, and one fresh upload. */
async function seedExpired(db: SqlDb, storage: LocalStorage) {
  await db.query(
    `insert into temp_uploads (id, storage_path, size_bytes, created_at)
     select gen_random_uuid(), format('tmp/bulk/%s.csv', n), 10, $1::timestamptz - make_interval(mins => 25 * 60 + n)
       from generate_series(1, $2::int) n`,
    [T, EXPIRED],
  );
  await db.query(`insert into temp_uploads (storage_path, size_bytes, created_at) values ('tmp/fresh.csv', 10, $1)`, [T]);
  for (let n = 1; n <= EXPIRED; n++) await storage.put(`tmp/bulk/${n}.csv`, 'x'.repeat(10));
}

/** The Db the job uses, recording how many rows each list call answered (and moving a budget clock). */
function recording(db: Db, onList?: () => void) {
  const pages: number[] = [];
  const wrapped: Db = {
    driver: db.driver,
    close: () => db.close(),
    async rpc<T>(fn: string, args?: Record<string, unknown>) {
      if (fn === 'list_expired_temp_uploads') onList?.();
      const rows = await db.rpc<T>(fn, args);
      if (fn === 'list_expired_temp_uploads') pages.push(rows.length);
      return rows;
    },
  };
  return { db: wrapped, pages };
}

describeEngines('import maintenance through the Supabase driver (max-rows 1000)', (engine) => {
  it('the stand-in serves schema cronwarden by profile header only and cuts results at 1000 rows, as PostgREST does', async () => {
    const sql = await engine.fresh();
    server = await startFakePostgrest(sql, KEY);
    const post = (fn: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server!.url}/rest/v1/rpc/${fn}`, {
        method: 'POST',
        headers: { apikey: KEY, authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const noProfile = await post('cronwarden_ping', {});
    expect(noProfile.status).toBe(404);
    expect(await noProfile.json()).toMatchObject({ code: 'PGRST202' });
    expect((await post('cronwarden_ping', {}, { 'content-profile': 'public' })).status).toBe(404);
    const other = await post('cronwarden_ping', {}, { 'content-profile': 'auth' });
    expect(other.status).toBe(406);
    expect(await other.json()).toMatchObject({ code: 'PGRST106', message: 'The schema must be one of the following: public, cronwarden' });
    expect((await post('cronwarden_ping', {}, { 'content-profile': 'cronwarden' })).status).toBe(200);

    // storage_paths_in_use answers one row per referenced path: 1,500 of them are cut to 1,000.
    await sql.query(
      `insert into temp_uploads (storage_path, created_at) select format('tmp/cut/%s.csv', n), $1 from generate_series(1, 1500) n`,
      [T],
    );
    const paths = Array.from({ length: 1500 }, (_, i) => `tmp/cut/${i + 1}.csv`);
    expect(await sql.rpc('storage_paths_in_use', { p_paths: paths })).toHaveLength(1500);
    const cut = await post('storage_paths_in_use', { p_paths: paths }, { 'content-profile': 'cronwarden' });
    expect(cut.status).toBe(200);
    expect(await cut.json()).toHaveLength(1000);
  });

  it('list_expired_temp_uploads never answers more than 1000 rows, whatever the batch size', async () => {
    const sql = await engine.fresh();
    await seedExpired(sql, tempStorage());
    const page = await sql.rpc<{ id: string }>('list_expired_temp_uploads', { p_batch_size: 5000, p_now: T });
    expect(page).toHaveLength(1000);
    const next = await sql.rpc<{ id: string }>('list_expired_temp_uploads', { p_batch_size: 5000, p_after_id: page[999].id, p_now: T });
    expect(next).toHaveLength(1000);
    expect(next[0].id > page[999].id).toBe(true);
  });

  it('with 3,000 expired temp uploads and batchSize=5000, every one is purged before the run says it is done', async () => {
    const sql = await engine.fresh();
    const storage = tempStorage();
    await seedExpired(sql, storage);
    server = await startFakePostgrest(sql, KEY);
    const { db, pages } = recording(SupabaseDb.connect(server.url, KEY));
    const { deps } = testDeps(db, { now: () => T, storage });
    const out = await runJob(maintenanceJob, { input: { batchSize: 5000 }, dryRun: false }, deps);
    if (out.kind !== 'finished') throw new Error(out.kind);
    const result = out.result as unknown as MaintenanceResult;
    expect(out.status).toBe('succeeded');
    expect(result).toMatchObject({ tempUploadsPurged: EXPIRED, tempUploadsFailed: 0, tempUploadBytesFreed: EXPIRED * 10, partial: false, errors: [] });
    expect(pages).toEqual([1000, 1000, 1000, 0]);
    expect(await sql.query(`select storage_path from temp_uploads`)).toEqual([{ storage_path: 'tmp/fresh.csv' }]);
    expect(await storage.list('tmp/bulk/')).toEqual([]);
    expect((await sql.rpc('get_maintenance_status', { p_now: T }))[0]).toMatchObject({ old_temp_uploads: 0 });
  });

  it('when the time budget ends the run before the last page, it says partial, and the next run finishes the work', async () => {
    const sql = await engine.fresh();
    const storage = tempStorage();
    await seedExpired(sql, storage);
    server = await startFakePostgrest(sql, KEY);
    // Each page "takes" 60% of the budget on a driven clock: the second page still fits (whatever
    // the real time a page takes, far below the rest), the third is never started.
    let clock = 0;
    const { db, pages } = recording(SupabaseDb.connect(server.url, KEY), () => (clock += 600_000));
    const { deps } = testDeps(db, { now: () => T, storage });
    const out = await runJob(maintenanceJob, { input: { batchSize: 5000 }, dryRun: false, budgetMs: 1_000_000, budgetClock: () => clock }, deps);
    if (out.kind !== 'finished') throw new Error(out.kind);
    const result = out.result as unknown as MaintenanceResult;
    expect(out.status).toBe('partial');
    expect(result).toMatchObject({ tempUploadsPurged: 2000, partial: true });
    expect(result.steps.temp_uploads).toBe('partial');
    expect(pages).toEqual([1000, 1000]);
    const [{ n }] = await sql.query<{ n: number }>(`select count(*)::int as n from temp_uploads where created_at < $1::timestamptz - interval '24 hours'`, [T]);
    expect(n).toBe(1000);

    const again = await runJob(maintenanceJob, { input: { batchSize: 5000 }, dryRun: false }, testDeps(recording(SupabaseDb.connect(server.url, KEY)).db, { now: () => T, storage }).deps);
    if (again.kind !== 'finished') throw new Error(again.kind);
    expect(again.status).toBe('succeeded');
    expect(again.result).toMatchObject({ tempUploadsPurged: 1000, partial: false });
    expect(await storage.list('tmp/bulk/')).toEqual([]);
  });
});
