import { afterEach, expect, inject, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import { PostgresDb } from '../../src/lib/db/postgres';
import { SupabaseDb } from '../../src/lib/db/supabase';
import type { Db, SqlDb } from '../../src/lib/db/types';
import { maintenanceJob, type MaintenanceResult } from '../../src/lib/jobs/maintenance';
import type { Storage } from '../../src/lib/storage/types';
import { describeEngines, type Engine } from '../support/db';
import { tempStorage, testDeps } from '../support/deps';
import { existingApp, type ExistingApp } from '../support/existing-app';
import { startFakePostgrest, type FakePostgrest } from '../support/postgrest';

/**
 * Import maintenance on an existing app's own tables (tests/fixtures/existing-app.sql, bound by
 * tests/fixtures/existing-app.config.ts): ingest_batches with a heartbeat WITHOUT time zone and
 * statuses running/failed/done, ingest_rows, upload_staging with text keys and no size column,
 * ingest_tasks whose bulky columns are blob and report and that has no compacted column.
 */

const S = 1000;
const H = 60 * 60 * S;
const D = 24 * H;
const T = new Date('2026-11-20T03:00:00.000Z');
const at = (ms: number) => new Date(T.getTime() - ms);
/** A UTC wall-clock value for a timestamp-without-time-zone column. */
const utcWall = (d: Date) => d.toISOString().replace('T', ' ').replace(/(\.000)?Z$/, '');
const task = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const KEY = 'service-role-key-for-tests-0123456789';

/** The app's tables that import maintenance must never touch. */
const OTHER_TABLES = [
  'auth.users',
  'public.users',
  'public.alerts',
  'public.audit_logs',
  'public.data_exports',
  'public.lessons',
  'public.courses',
  'public.user_files',
  'public.orders',
  'public.user_settings',
  'public.comments',
];

async function snapshot(db: SqlDb, names: string[]) {
  const out: Record<string, unknown[]> = {};
  for (const t of names) out[t] = await db.query(`select to_jsonb(x) as row from ${t} x order by to_jsonb(x)::text`);
  return out;
}

/**
 * Every status, both sides of every cutoff, NULLs. Due now:
 *   batches 1 and 10 stuck (heartbeat 24 h + 1 s and 40 days old); batch 2 at exactly 24 h is not;
 *   raw items of batch 6 (failed 30 d + 1 s ago) and 8 (no done_at; heartbeat 30 d + 1 s ago);
 *   uploads k-1 (24 h + 1 s), k-2, and k-5/k-6/k-7/k-9 whose objects are referenced elsewhere or archived;
 *   tasks 1 (done 7 d + 1 s), 3 (failed, no closed_at, opened 8 d), 7 (only report left).
 */
async function seed(db: SqlDb, storage: Storage) {
  const user = '11111111-1111-4111-8111-111111111111';
  await db.query(`insert into auth.users (id, email) values ($1, 'ada@example.com')`, [user]);
  await db.query(`insert into public.users (id, email, full_name) values ($1, 'ada@example.com', 'Ada')`, [user]);
  await db.query(`insert into public.alerts (user_id, message) values ($1, 'your import finished')`, [user]);
  await db.query(`insert into public.audit_logs (actor_id, event, payload) values ($1, 'import.started', '{"batch": 1}')`, [user]);
  await db.query(
    `insert into public.data_exports (owner_id, state, object_key, bytes, requested_at, ready_at, ttl_until) values
       ($1, 'ready', 'exports/e1.csv', 10, $2, $2, $3),
       ($1, 'purged', 'exports/purged.csv', 10, $2, $2, $2)`,
    [user, at(3 * D), new Date(T.getTime() + 7 * D)],
  );
  await db.query(`insert into public.user_files (uploader, path) values ($1, 'user-files/u1.png')`, [user]);
  await db.query(`insert into public.lessons (title) values ('Draft lesson')`);
  await db.query(`insert into public.courses (title, is_draft) values ('Their course', false)`);
  await db.query(`insert into public.orders (user_id, total) values ($1, 12.5)`, [user]);
  await db.query(`insert into public.user_settings (user_id) values ($1)`, [user]);
  await db.query(`insert into public.comments (author_id, body) values ($1, 'hello')`, [user]);

  const batches: [number, string, Date, Date | null, string | null][] = [
    [1, 'running', at(24 * H + S), null, null],
    [2, 'running', at(24 * H), null, null],
    [3, 'running', at(H), null, null],
    [4, 'queued', at(10 * D), null, null],
    [5, 'done', at(60 * D), at(60 * D), null],
    [6, 'failed', at(40 * D), at(30 * D + S), 'bad header'],
    [7, 'failed', at(40 * D), at(30 * D), 'bad header'],
    [8, 'failed', at(30 * D + S), null, null],
    [9, 'failed', at(30 * D), null, 'bad row'],
    [10, 'running', at(40 * D), null, null],
    [11, 'cancelled', at(90 * D), at(90 * D), null],
  ];
  for (const [id, phase, beat, done, failure] of batches) {
    await db.query(`insert into public.ingest_batches (id, phase, last_beat_at, done_at, failure) values ($1, $2, $3::timestamp, $4, $5)`, [
      id,
      phase,
      utcWall(beat),
      done,
      failure,
    ]);
  }
  const items: [number, number][] = [
    [1, 5],
    [2, 6],
    [3, 6],
    [4, 7],
    [5, 8],
    [6, 9],
    [7, 10],
    [8, 11],
  ];
  for (const [id, batch] of items) await db.query(`insert into public.ingest_rows (id, batch_id, body) values ($1, $2, $3)`, [id, batch, { row: id }]);

  const uploads: [string, string, Date][] = [
    ['k-1', 'staging/a.csv', at(24 * H + S)],
    ['k-10', 'staging/b.csv', at(24 * H)],
    ['k-2', 'staging/c.csv', at(2 * D)],
    ['k-3', 'staging/d.csv', at(H)],
    ['k-5', 'user-files/u1.png', at(3 * D)],
    ['k-6', 'archive/export-logs/2026/11/01/x.ndjson.gz', at(3 * D)],
    ['k-7', 'exports/purged.csv', at(3 * D)],
    ['k-9', 'exports/e1.csv', at(3 * D)],
  ];
  for (const [key, path, when] of uploads) {
    await db.query(`insert into public.upload_staging (key, object_path, uploaded_at) values ($1, $2, $3)`, [key, path, when]);
    await storage.put(path, `object ${key}`);
  }

  const tasks: [number, string, unknown, unknown, Date, Date | null][] = [
    [1, 'done', { rows: 3 }, { ok: 3 }, at(8 * D), at(7 * D + S)],
    [2, 'done', { rows: 3 }, { ok: 3 }, at(8 * D), at(7 * D)],
    [3, 'failed', { rows: 3 }, null, at(8 * D), null],
    [4, 'running', { rows: 3 }, null, at(30 * D), null],
    [5, 'cancelled', { rows: 3 }, null, at(31 * D), at(30 * D)],
    [6, 'done', null, null, at(31 * D), at(30 * D)],
    [7, 'done', null, { ok: 1 }, at(31 * D), at(30 * D)],
    [8, 'queued', { rows: 3 }, null, at(30 * D), null],
  ];
  for (const [n, phase, blob, report, opened, closed] of tasks) {
    await db.query(`insert into public.ingest_tasks (task_id, phase, blob, report, opened_at, closed_at) values ($1, $2, $3, $4, $5, $6)`, [
      task(n),
      phase,
      blob,
      report,
      opened,
      closed,
    ]);
  }
}

/** The import tables as text, whatever the session's time zone. */
async function importTables(db: SqlDb) {
  return {
    batches: await db.query<{ id: number; phase: string; beat: string; done: string | null; failure: string | null }>(
      `select id::int as id, phase, last_beat_at::text as beat,
              to_char(done_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as done, failure
         from public.ingest_batches order by id`,
    ),
    rows: (await db.query<{ id: number }>(`select id::int as id from public.ingest_rows order by id`)).map((r) => r.id),
    uploads: (await db.query<{ key: string }>(`select key from public.upload_staging order by key`)).map((r) => r.key),
    tasks: await db.query<{ id: string; phase: string; blob: unknown; report: unknown; opened: string; closed: string | null }>(
      `select task_id::text as id, phase, blob, report,
              to_char(opened_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as opened,
              to_char(closed_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as closed
         from public.ingest_tasks order by task_id`,
    ),
  };
}

const utc = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** What every run at T must leave, whatever the driver and the session's time zone. */
async function expectMaintainedAtT(db: SqlDb, before: Awaited<ReturnType<typeof importTables>>) {
  const after = await importTables(db);
  const timedOut = (beat: Date) => `Timed out: no progress for more than 24 hours (last heartbeat ${utc(beat)})`;
  expect(after.batches).toEqual(
    before.batches.map((b) =>
      b.id === 1
        ? { ...b, phase: 'failed', beat: utcWall(T), done: utc(T), failure: timedOut(at(24 * H + S)) }
        : b.id === 10
          ? { ...b, phase: 'failed', beat: utcWall(T), done: utc(T), failure: timedOut(at(40 * D)) }
          : b,
    ),
  );
  // Items of batches 6 and 8 are gone; batch 10 failed just now, so its items stay.
  expect(after.rows).toEqual([1, 4, 6, 7, 8]);
  expect(after.uploads).toEqual(['k-10', 'k-3']);
  expect(after.tasks).toEqual(
    before.tasks.map((t) => ([task(1), task(3), task(7)].includes(t.id) ? { ...t, blob: null, report: null } : t)),
  );
}

let server: FakePostgrest | undefined;
const extraDbs: SqlDb[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const db of extraDbs.splice(0)) await db.close();
});

/** A connection of the same database whose session time zone is `zone` (one connection, so the setting holds). */
async function inZone(engine: Engine, app: ExistingApp, zone: string): Promise<SqlDb> {
  if (engine.name === 'pglite') {
    await app.db.exec(`set time zone '${zone}'`);
    return app.db;
  }
  const [{ name }] = await app.db.query<{ name: string }>(`select current_database() as name`);
  const url = new URL(inject('pgAdminUrl'));
  url.pathname = `/${name}`;
  const db = PostgresDb.connect(url.toString(), 1);
  extraDbs.push(db);
  await db.exec(`set time zone '${zone}'`);
  return db;
}

async function run(app: ExistingApp, db: Db, storage: Storage, batchSize?: number) {
  const { deps } = testDeps(db, { now: () => T, storage, features: app.features, bindings: app.bindings });
  const out = await runJob(maintenanceJob, { input: batchSize ? { batchSize } : {}, dryRun: false }, deps);
  if (out.kind !== 'finished') throw new Error(`maintenance did not finish: ${out.kind}`);
  return { out, result: out.result as unknown as MaintenanceResult & typeof out.result };
}

describeEngines('import maintenance on an existing app', (engine) => {
  it('does exactly what each rule selects on the app\'s tables at every boundary, status and NULL, and leaves its other tables alone', async () => {
    const app = await existingApp(engine);
    expect(app.features.imports).toMatchObject({ enabled: true, bound: true, problems: [] });
    const storage = tempStorage();
    await seed(app.db, storage);
    const others = await snapshot(app.db, OTHER_TABLES);
    const before = await importTables(app.db);

    const [status] = await app.db.rpc('get_maintenance_status', { p_now: T });
    expect(status).toEqual({
      stuck_runs: 2,
      oldest_stuck_heartbeat_at: at(40 * D),
      old_temp_uploads: 6,
      old_temp_upload_bytes: 0,
      old_raw_items: 3,
      jobs_due_for_compaction: 3,
      checked_at: T,
    });
    await run(app, app.db, storage, 2);
    await expectMaintainedAtT(app.db, before);
    expect(await snapshot(app.db, OTHER_TABLES)).toEqual(others);
    expect((await storage.list()).map((o) => o.path)).toEqual([
      'archive/export-logs/2026/11/01/x.ndjson.gz',
      'exports/e1.csv',
      'staging/b.csv',
      'staging/d.csv',
      'user-files/u1.png',
    ]);
    // Nothing is due any more; a second run changes nothing.
    expect((await app.db.rpc('get_maintenance_status', { p_now: T }))[0]).toMatchObject({
      stuck_runs: 0,
      old_temp_uploads: 0,
      old_raw_items: 0,
      jobs_due_for_compaction: 0,
    });
    const settled = await importTables(app.db);
    const again = await run(app, app.db, storage);
    expect(again.result).toMatchObject({ stuckRunsMarked: 0, tempUploadsPurged: 0, importJobsCompacted: 0, rawItemsPurged: 0, errors: [] });
    expect(await importTables(app.db)).toEqual(settled);

    // One second later the run and the task exactly at their cutoffs are due, and only they.
    const later = new Date(T.getTime() + S);
    expect((await app.db.rpc('mark_stuck_import_runs', { p_now: later }))[0]).toEqual({ marked_count: 1, run_ids: ['2'], has_more: false });
    expect((await app.db.rpc('compact_old_import_jobs', { p_now: later }))[0]).toMatchObject({ compacted_count: 1 });
    expect((await app.db.query(`select task_id::text as id from public.ingest_tasks where blob is null and report is null order by 1`)).map((r) => r.id)).toEqual([
      task(1),
      task(2),
      task(3),
      task(6),
      task(7),
    ]);
    expect((await app.db.rpc('purge_failed_run_raw_items', { p_now: later }))[0]).toEqual({ deleted_count: 2, has_more: false });
    expect((await app.db.query<{ id: number }>(`select id::int as id from public.ingest_rows order by id`)).map((r) => r.id)).toEqual([1, 7, 8]);
  });

  it('runs every step with exact counts and answers ids as text', async () => {
    const app = await existingApp(engine);
    const storage = tempStorage();
    await seed(app.db, storage);
    const { out, result } = await run(app, app.db, storage, 2);
    expect(out.status).toBe('succeeded');
    expect(result).toMatchObject({
      stuckRunsMarked: 2,
      tempUploadsPurged: 6,
      tempUploadObjectsKept: 3,
      tempUploadsFailed: 0,
      importJobsCompacted: 3,
      rawItemsPurged: 3,
      errors: [],
      partial: false,
      steps: { stuck_runs: 'ok', temp_uploads: 'ok', compact_import_jobs: 'ok', raw_items: 'ok' },
    });
    expect([...result.stuckRunIds].sort()).toEqual(['1', '10']);
  });

  for (const zone of ['America/New_York', 'Pacific/Chatham']) {
    it(`through the Supabase driver with session time zone ${zone}: cutoffs, written times and labels are UTC`, async () => {
      const app = await existingApp(engine);
      const storage = tempStorage();
      await seed(app.db, storage);
      const before = await importTables(app.db);
      const zoned = await inZone(engine, app, zone);
      expect(await zoned.query(`select current_setting('TimeZone') as tz`)).toEqual([{ tz: zone }]);
      server = await startFakePostgrest(zoned, KEY);
      const { result } = await run(app, SupabaseDb.connect(server.url, KEY), storage, 2);
      expect(result).toMatchObject({ stuckRunsMarked: 2, tempUploadsPurged: 6, importJobsCompacted: 3, rawItemsPurged: 3, errors: [] });
      await expectMaintainedAtT(zoned, before);
    });
  }

  if (engine.name === 'postgres') {
    it('leaves alone a run whose worker is writing its heartbeat while the sweep runs', async () => {
      const app = await existingApp(engine);
      const storage = tempStorage();
      await seed(app.db, storage);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let locked!: () => void;
      const isLocked = new Promise<void>((r) => (locked = r));
      const worker = app.db.transaction(async (tx) => {
        await tx.query(`update public.ingest_batches set last_beat_at = $1::timestamp where id = 10`, [utcWall(T)]);
        locked();
        await held;
      });
      await isLocked;
      const [row] = await app.db.rpc('mark_stuck_import_runs', { p_now: T });
      release();
      await worker;
      expect(row).toEqual({ marked_count: 1, run_ids: ['1'], has_more: false });
      expect(await app.db.query(`select phase, last_beat_at::text as beat from public.ingest_batches where id = 10`)).toEqual([
        { phase: 'running', beat: utcWall(T) },
      ]);
    });
  }
});
