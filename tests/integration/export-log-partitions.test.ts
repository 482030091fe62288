import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { bindFeatures } from '../../src/lib/bindings/apply';
import { parseCronwardenConfig } from '../../src/lib/bindings/spec';
import type { Db, SqlDb } from '../../src/lib/db/types';
import { exportLogCleanup, type ArchiveManifest } from '../../src/lib/jobs/export-log-cleanup';
import type { Storage } from '../../src/lib/storage/types';
import { PostgresDb } from '../../src/lib/db/postgres';
import { engines, freshPostgresUrl, hasPostgres, type Engine } from '../support/db';
import { tempStorage, testConfig, testDeps } from '../support/deps';

/**
 * Log retention on a range-partitioned export table: partitions wholly past the cutoff go whole
 * (archived first when archival is on), the partition the cutoff falls in, a partition holding a
 * kept row and the default partition go row by row, and a run stopped between two steps is
 * finished by the next one with nothing lost and nothing archived twice.
 */

const NOW = new Date('2026-12-01T03:00:00Z');
const DAY = 86_400_000;
const CUTOFF = new Date(NOW.getTime() - 30 * DAY); // 2026-11-01T03:00Z
const FIRST_DAY = new Date('2026-10-20T00:00:00Z');
const PREFIX = 'archive/export-logs';
const TABLE = 'export_logs_by_day';

interface Row {
  id: string;
  status: string;
  path: string | null;
  at: Date;
}

const id = (i: number) => `2c000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const keptByRule = (r: Row) => r.status === 'completed' && r.path !== null;
const eligible = (rows: Row[]) => rows.filter((r) => r.at < CUTOFF && !keptByRule(r));

/**
 * Three rows a day from Oct 20 to Nov 30 (expired with a path, failed, queued); a completed
 * export whose file is still there on Oct 25 (its partition must stay); on Nov 1, the partition
 * the cutoff (03:00) falls in, rows just before it, at it and after it; one row from September,
 * before the first partition (the default partition holds it).
 */
function fixture(): Row[] {
  const rows: Row[] = [];
  const add = (status: string, at: Date, path: string | null = null) => rows.push({ id: id(rows.length + 1), status, path, at });
  for (let t = FIRST_DAY.getTime(); t < NOW.getTime() - DAY; t += DAY) {
    add('expired', new Date(t + 6 * 3600_000), `exports/${t}.json`);
    add('failed', new Date(t + 12 * 3600_000));
    add('queued', new Date(t + 18 * 3600_000));
  }
  add('completed', new Date('2026-10-25T09:00:00Z'), 'exports/still-there.json');
  add('failed', new Date(CUTOFF.getTime() - 3600_000));
  add('expired', new Date(CUTOFF.getTime() - 1), 'exports/just-before.json');
  add('expired', CUTOFF, 'exports/at-cutoff.json');
  add('failed', new Date(CUTOFF.getTime() + 1));
  add('failed', new Date('2026-09-01T00:00:00Z'));
  return rows;
}

const withPartman = (db: SqlDb) =>
  db.exec(`create schema if not exists partman; create extension if not exists pg_partman schema partman`);

/**
 * The demo export_logs' columns in a table partitioned by day on created_at, bound in its place:
 * by pg_partman (create_parent: 4.x on Debian, 5.x on Supabase), or by hand with a default
 * partition. Then the fixture's rows.
 */
async function partitionedTable(db: SqlDb, rows: Row[], how: 'partman' | 'declarative') {
  await db.exec(`
    create table public.${TABLE} (like public.export_logs including defaults including constraints, primary key (export_id, created_at))
      partition by range (created_at);
    create index on public.${TABLE} (created_at);
    create index on public.${TABLE} (expires_at) where status = 'completed';`);
  if (how === 'partman') {
    await withPartman(db);
    const [{ v }] = await db.query<{ v: string }>(`select extversion as v from pg_extension where extname = 'pg_partman'`);
    if (Number(v.split('.')[0]) >= 5) {
      await db.query(`select partman.create_parent($1, 'created_at', '1 day', p_start_partition => $2)`, [`public.${TABLE}`, '2026-10-20']);
    } else {
      await db.query(`select partman.create_parent($1, 'created_at', 'native', 'daily', p_start_partition => $2)`, [`public.${TABLE}`, '2026-10-20']);
    }
  } else {
    for (let t = FIRST_DAY.getTime(); t < NOW.getTime() + DAY; t += DAY) {
      const name = `${TABLE}_p${new Date(t).toISOString().slice(0, 10).replace(/-/g, '_')}`;
      await db.exec(`create table public.${name} partition of public.${TABLE} for values from ('${new Date(t).toISOString()}') to ('${new Date(t + DAY).toISOString()}')`);
    }
    await db.exec(`create table public.${TABLE}_default partition of public.${TABLE} default`);
  }
  const { features } = await bindFeatures(db, parseCronwardenConfig({ bindings: { exports: { table: `public.${TABLE}` } } }).bindings);
  expect(features.exports.bound).toBe(true);
  await db.query(
    `insert into public.${TABLE} (export_id, user_id, format, status, file_path, created_at, completed_at, expires_at)
     select r.id::uuid, '2c000000-0000-4000-8000-00000000aaaa', 'json', r.status, r.path, r.at,
            case when r.status in ('completed', 'expired') then r.at + interval '20 seconds' end,
            case when r.path is not null then r.at + interval '1 day' end
       from jsonb_to_recordset($1::text::jsonb) as r(id text, status text, path text, at timestamptz)`,
    [JSON.stringify(rows)],
  );
}

const remaining = async (db: SqlDb) =>
  (await db.query<{ export_id: string }>(`select export_id from public.${TABLE} order by export_id`)).map((r) => r.export_id);

const partitions = async (db: SqlDb) =>
  (
    await db.query<{ name: string }>(
      `select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'public.${TABLE}'::regclass order by 1`,
    )
  ).map((r) => r.name);

const tableExists = async (db: SqlDb, name: string) =>
  (await db.query<{ ok: boolean }>(`select to_regclass($1) is not null as ok`, [name]))[0].ok;

/** Every archived row id, with the manifests checked against the objects. */
async function archivedIds(storage: Storage): Promise<string[]> {
  const ids: string[] = [];
  for (const o of await storage.list(`${PREFIX}/`)) {
    if (!o.path.endsWith('.ndjson.gz')) continue;
    const bytes = (await storage.get(o.path))!;
    const manifest = JSON.parse(Buffer.from((await storage.get(o.path.replace(/\.ndjson\.gz$/, '.manifest.json')))!).toString()) as ArchiveManifest;
    expect(manifest.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const lines = gunzipSync(bytes).toString('utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(manifest.rows);
    for (const l of lines) ids.push(String((JSON.parse(l) as { export_id: string }).export_id));
  }
  return ids.sort();
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Two sessions on a fresh PostgreSQL database (migrated), both closed after `fn`. */
async function withTwoSessions(fn: (a: PostgresDb, b: PostgresDb) => Promise<void>): Promise<void> {
  const url = await freshPostgresUrl();
  const a = PostgresDb.connect(url, 1);
  const b = PostgresDb.connect(url, 1);
  try {
    await fn(a, b);
  } finally {
    await a.close();
    await b.close();
  }
}

/** Runs `sql` in a transaction on `db` and keeps it open, its locks held, until the returned function is called. */
async function holdOpen(db: PostgresDb, sql: string): Promise<() => Promise<void>> {
  const held = deferred();
  const release = deferred();
  const tx = db.transaction(async (t) => {
    await t.query(sql);
    held.resolve();
    await release.promise;
  });
  await held.promise;
  return async () => {
    release.resolve();
    await tx;
  };
}

/** A Db that fails the `nth` call of `fn` (1-based) before it reaches the database: a run that dies there. */
function dyingAt(db: Db, fn: string, nth = 1): Db {
  let calls = 0;
  return {
    driver: db.driver,
    async rpc(name, args) {
      if (name === fn && ++calls === nth) throw new Error(`process killed before ${fn}`);
      return db.rpc(name, args);
    },
    close: () => db.close(),
  };
}

function deps(db: Db, storage: Storage, archive: boolean) {
  const d = testDeps(db, {
    storage,
    config: testConfig({ EXPORT_ARCHIVE_ENABLED: archive ? 'true' : 'false', EXPORT_ARCHIVE_PREFIX: PREFIX }),
    now: () => NOW,
  }).deps;
  return { db: d.db, storage, log: d.log, now: d.now, config: d.config };
}

/** The partitions wholly past the cutoff: Oct 20 to Oct 31 (Nov 1 holds the cutoff). */
const OLD_DAYS = 12;

function suite(engine: Engine, how: 'partman' | 'declarative') {
  it(`archive off: drops the ${OLD_DAYS - 1} partitions wholly past the cutoff, keeps the one with a kept row, deletes the rest row by row`, async () => {
    const db = await engine.fresh();
    const rows = fixture();
    await partitionedTable(db, rows, how);
    const before = await partitions(db);
    const storage = tempStorage();

    const due = await db.rpc<{ partition_name: string; step: string }>('export_partitions_due', { p_retention_days: 30, p_now: NOW, p_limit: 100 });
    expect(due.map((d) => d.step)).toEqual(Array(OLD_DAYS).fill('due'));

    const out = await exportLogCleanup(deps(db, storage, false), {});
    const gone = eligible(rows);
    expect(out).toMatchObject({
      failed: false,
      partial: false,
      deleted_count: gone.length,
      partitions_dropped: OLD_DAYS - 1,
      partitions_kept: 1,
      partition_rows_deleted: (OLD_DAYS - 1) * 3,
      errors: [],
    });
    expect(await remaining(db)).toEqual(rows.filter((r) => !gone.includes(r)).map((r) => r.id).sort());
    const after = await partitions(db);
    expect(before.filter((p) => !after.includes(p))).toEqual(
      [20, 21, 22, 23, 24, 26, 27, 28, 29, 30, 31].map((d) => `${TABLE}_p2026_10_${d}`),
    );
    for (const p of before.filter((p) => !after.includes(p))) expect(await tableExists(db, `public.${p}`)).toBe(false);
    expect(await db.query(`select * from cronwarden.export_partitions_detached`)).toEqual([]);
    expect(await storage.list(`${PREFIX}/`)).toEqual([]);

    // The kept row's partition stays until file cleanup expires that export; then it goes whole.
    const again = await exportLogCleanup(deps(db, storage, false), {});
    expect(again).toMatchObject({ deleted_count: 0, partitions_dropped: 0, partitions_kept: 1 });
    await db.exec(`update public.${TABLE} set status = 'expired' where file_path = 'exports/still-there.json'`);
    const last = await exportLogCleanup(deps(db, storage, false), {});
    expect(last).toMatchObject({ deleted_count: 1, partitions_dropped: 1, partitions_kept: 0 });
    expect(await partitions(db)).not.toContain(`${TABLE}_p2026_10_25`);
  });

  it('a partition of 10,000 rows or more is dropped unread: its rows are the statistics figure, marked estimated; archived rows are counted', async () => {
    const BIG = 12_000;
    for (const archive of [false, true]) {
      const db = await engine.fresh();
      const rows = fixture();
      await partitionedTable(db, rows, how);
      await db.query(
        `insert into public.${TABLE} (export_id, user_id, format, status, created_at)
         select ('2d000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, '2c000000-0000-4000-8000-00000000aaaa', 'json', 'failed',
                timestamptz '2026-10-22T00:00:00Z' + make_interval(secs => i)
           from generate_series(1, $1::integer) i`,
        [BIG],
      );
      // What autovacuum does once a day's writes stop: the statistics now hold its row count.
      await db.exec(`analyze public.${TABLE}`);
      // A statistic that disagrees with the rows: the figure reported is the statistic's, so
      // the job did not read them to count.
      await db.exec(`update pg_class set reltuples = ${BIG + 500} where oid = 'public.${TABLE}_p2026_10_22'::regclass`);
      const storage = tempStorage();
      const out = await exportLogCleanup(deps(db, storage, archive), { batchSize: 5000 });
      const gone = eligible(rows).length + BIG;
      expect(await db.query(`select count(*)::int as n from public.${TABLE} where created_at < $1`, [CUTOFF])).toEqual([{ n: 1 }]);
      expect(await tableExists(db, `public.${TABLE}_p2026_10_22`)).toBe(false);
      if (archive) {
        expect(out).toMatchObject({ failed: false, deleted_count: gone, archived_count: gone, partition_rows_estimated: false });
        expect((await archivedIds(storage)).length).toBe(gone);
      } else {
        expect(out).toMatchObject({
          failed: false,
          partitions_dropped: OLD_DAYS - 1,
          // Oct 22 holds its 3 fixture rows and BIG more; its statistic says BIG + 500.
          partition_rows_deleted: (OLD_DAYS - 2) * 3 + BIG + 500,
          partition_rows_estimated: true,
          deleted_count: gone - (BIG + 3) + (BIG + 500),
        });
      }
    }
  });

  it('archive on: every eligible row lands in exactly one verified object before its partition is dropped', async () => {
    const db = await engine.fresh();
    const rows = fixture();
    await partitionedTable(db, rows, how);
    const storage = tempStorage();
    const out = await exportLogCleanup(deps(db, storage, true), { batchSize: 2 });
    const gone = eligible(rows);
    expect(out).toMatchObject({ failed: false, deleted_count: gone.length, archived_count: gone.length, partitions_dropped: OLD_DAYS - 1 });
    expect(await archivedIds(storage)).toEqual(gone.map((r) => r.id).sort());
    expect(await remaining(db)).toEqual(rows.filter((r) => !gone.includes(r)).map((r) => r.id).sort());
  });
}

for (const engine of engines()) {
  describe(`log retention by partition, declarative partitions [${engine.name}]`, () => suite(engine, 'declarative'));
}

const pg = engines().find((e) => e.name === 'postgres');
describe.skipIf(!hasPostgres())('log retention by partition on a pg_partman-managed table [postgres]', () => {
  if (!pg) return;
  suite(pg, 'partman');

  it('a run that dies between detach and drop: the partitions are out of the table, whole; the next run drops them', async () => {
    const db = await pg.fresh();
    const rows = fixture();
    await partitionedTable(db, rows, 'partman');
    const storage = tempStorage();
    // Archival off: the page's partitions are all detached, then dropped together.
    await expect(exportLogCleanup(deps(dyingAt(db, 'export_partitions_drop'), storage, false), {})).rejects.toThrow(/killed/);
    const detached = await db.query<{ partition_name: string; row_count: number; archive: boolean }>(
      `select partition_name, row_count, archive from cronwarden.export_partitions_detached order by partition_name`,
    );
    const oldDays = [20, 21, 22, 23, 24, 26, 27, 28, 29, 30, 31]; // Oct 25 holds a kept row
    expect(detached).toEqual(oldDays.map((d) => ({ partition_name: `public.${TABLE}_p2026_10_${d}`, row_count: 3, archive: false })));
    // Out of the team's table, still whole on their own.
    for (const d of oldDays) {
      expect(await partitions(db)).not.toContain(`${TABLE}_p2026_10_${d}`);
      expect((await db.query(`select count(*)::int as n from public.${TABLE}_p2026_10_${d}`))[0]).toEqual({ n: 3 });
    }

    const next = await exportLogCleanup(deps(db, storage, false), {});
    const gone = eligible(rows);
    expect(next).toMatchObject({ deleted_count: gone.length, partitions_dropped: OLD_DAYS - 1, failed: false });
    expect(await tableExists(db, `public.${TABLE}_p2026_10_20`)).toBe(false);
    expect(await db.query(`select * from cronwarden.export_partitions_detached`)).toEqual([]);
    expect(await remaining(db)).toEqual(rows.filter((r) => !gone.includes(r)).map((r) => r.id).sort());
  });

  it('drops detached partitions several to a transaction: one another session holds comes back busy and the rest go; a call past its time leaves the rest to the next', async () => {
    await withTwoSessions(async (a, b) => {
      const rows = fixture();
      await partitionedTable(a, rows, 'partman');
      const storage = tempStorage();
      await expect(exportLogCleanup(deps(dyingAt(a, 'export_partitions_drop'), storage, false), {})).rejects.toThrow(/killed/);
      const detached = (await a.query<{ partition_name: string }>(`select partition_name from cronwarden.export_partitions_detached order by 1`)).map((r) => r.partition_name);
      expect(detached).toHaveLength(11);

      // A call past its time: the first drop always runs, the rest are not reached.
      const short = await a.rpc<{ partition_name: string; outcome: string }>('export_partitions_drop', { p_partitions: detached.slice(0, 3), p_max_ms: 0 });
      expect(short.map((r) => r.outcome)).toEqual(['dropped', 'not_reached', 'not_reached']);
      expect(await tableExists(a, detached[0])).toBe(false);

      // Another session reads a detached partition: its lock is not granted within 2 s.
      const release = await holdOpen(b, `lock table ${detached[2]} in access share mode`);
      try {
        const out = await a.rpc<{ partition_name: string; outcome: string; row_count: number }>('export_partitions_drop', { p_partitions: detached.slice(1), p_max_ms: 10_000 });
        expect(out.map((r) => [r.partition_name, r.outcome])).toEqual(detached.slice(1).map((n) => [n, n === detached[2] ? 'busy' : 'dropped']));
        expect(await tableExists(a, detached[2])).toBe(true);
        expect((await a.query(`select count(*)::int as n from ${detached[2]}`))[0]).toEqual({ n: 3 });
      } finally {
        await release();
      }

      // The next run drops the one left, and deletes the rest of the eligible rows.
      const next = await exportLogCleanup(deps(a, storage, false), {});
      expect(next).toMatchObject({ partitions_dropped: 1, failed: false, partial: false });
      expect(await a.query(`select * from cronwarden.export_partitions_detached`)).toEqual([]);
      const gone = eligible(rows);
      expect(await remaining(a)).toEqual(rows.filter((r) => !gone.includes(r)).map((r) => r.id).sort());
    });
  });

  it('a long transaction on the table: one detach waits its 2 s and no other is tried; the rows go row by row and the run is partial', async () => {
    await withTwoSessions(async (a, b) => {
      const rows = fixture();
      await partitionedTable(a, rows, 'partman');
      // A long report on the team's table: its ACCESS SHARE lock blocks every DETACH.
      const release = await holdOpen(b, `select count(*) from public.${TABLE}`);
      let detachCalls = 0;
      const counting: Db = {
        driver: a.driver,
        async rpc(name, args) {
          if (name === 'export_partition_detach') detachCalls++;
          return a.rpc(name, args);
        },
        close: () => a.close(),
      };
      try {
        const out = await exportLogCleanup(deps(counting, tempStorage(), false), {});
        expect(detachCalls).toBe(1);
        // Oct 20 to 31: the 11 droppable partitions and the one holding a kept row.
        expect(out).toMatchObject({ partitions_dropped: 0, partitions_busy: 12, partial: true, failed: false });
        const gone = eligible(rows);
        expect(out.deleted_count).toBe(gone.length);
        expect(await remaining(a)).toEqual(rows.filter((r) => !gone.includes(r)).map((r) => r.id).sort());
      } finally {
        await release();
      }
    });
  });

  it('archive on, runs that die after an object is written and between detach and drop: no row lost, none archived twice', async () => {
    const db = await pg.fresh();
    const rows = fixture();
    await partitionedTable(db, rows, 'partman');
    const storage = tempStorage();
    // Dies after writing the second partition's first object, before its cursor moves.
    await expect(exportLogCleanup(deps(dyingAt(db, 'export_partition_archived', 3), storage, true), { batchSize: 2 })).rejects.toThrow(/killed/);
    const [mid] = await db.query<{ pending_key: string | null; archived_rows: number }>(
      `select pending_key, archived_rows from cronwarden.export_partitions_detached where partition_name = $1`,
      [`public.${TABLE}_p2026_10_21`],
    );
    expect(mid.archived_rows).toBe(0);
    expect(mid.pending_key).toMatch(/^archive\/export-logs\/2026\/10\/21\//);
    expect(await storage.exists(mid.pending_key!)).toBe(true);

    // Another batch size this time: the pending batch is still re-read whole, under its key.
    await expect(exportLogCleanup(deps(dyingAt(db, 'export_partitions_drop', 2), storage, true), { batchSize: 3 })).rejects.toThrow(/killed/);
    const last = await exportLogCleanup(deps(db, storage, true), { batchSize: 3 });
    expect(last).toMatchObject({ failed: false, partial: false });
    const gone = eligible(rows);
    expect(await archivedIds(storage)).toEqual(gone.map((r) => r.id).sort());
    expect(await remaining(db)).toEqual(rows.filter((r) => !gone.includes(r)).map((r) => r.id).sort());
    expect(await db.query(`select * from cronwarden.export_partitions_detached`)).toEqual([]);
    const left = await partitions(db);
    for (let d = 20; d <= 31; d++) expect(left.includes(`${TABLE}_p2026_10_${d}`)).toBe(d === 25);
  });
});
