import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import postgres from 'postgres';
import { afterAll, describe, expect, it } from 'vitest';
import { LEASE_GRACE_SECONDS, runJob, type RunOutcome } from '../../src/lib/cron/runner';
import type { JobDefinition } from '../../src/lib/cron/types';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { Db, Row, SqlDb } from '../../src/lib/db/types';
import { draftCleanupJob } from '../../src/lib/jobs/draft-cleanup';
import { exportFileCleanupJob, FILE_CLAIM_TTL_SECONDS } from '../../src/lib/jobs/export-file-cleanup';
import { exportLogCleanupJob } from '../../src/lib/jobs/export-log-cleanup';
import { maintenanceJob } from '../../src/lib/jobs/maintenance';
import { LocalStorage } from '../../src/lib/storage/local';
import type { RemoveResult, Storage } from '../../src/lib/storage/types';
import { describeEngines, freshPostgresUrl, hasPostgres } from '../support/db';
import { tempStorage, testDeps } from '../support/deps';

/**
 * Faults injected into the jobs that delete things, on real engines: a storage that fails some
 * removals, an archive target that fails or corrupts, the database connection killed mid-run,
 * and the process killed between batches. After each fault and a clean rerun, every row the rule
 * selects is handled exactly once, and nothing the rule did not select is touched.
 */

const MIN = 60_000;
const H = 60 * MIN;
const D = 24 * H;
const ARCHIVE_PREFIX = 'archive/export-logs';

/** A small seeded PRNG (mulberry32): the same faults on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const uid = (group: number, n: number) => `00000000-0000-4000-8${String(group).padStart(3, '0')}-${String(n).padStart(12, '0')}`;

function finished(out: RunOutcome) {
  if (out.kind !== 'finished') throw new Error(`expected a finished run, got ${out.kind}: ${out.kind === 'crashed' ? out.error.message : ''}`);
  return out;
}

async function rowsAsJson(db: SqlDb, sql: string, params: unknown[] = []): Promise<string[]> {
  const rows = await db.query<{ j: unknown }>(sql, params);
  return rows.map((r) => (typeof r.j === 'string' ? r.j : JSON.stringify(r.j)));
}

// ---------------------------------------------------------------------------------------------
// Storage that fails a random 20 % of removals
// ---------------------------------------------------------------------------------------------

interface RemovalFault {
  path: string;
  /** 'before': the object stays; 'after': it was removed but the answer was lost. */
  when: 'before' | 'after';
}

/**
 * LocalStorage whose remove() fails each path with probability `rate`: half of the failures
 * before touching the object, half after removing it (the answer lost on the way back).
 */
function flakyRemovals(inner: LocalStorage, seed: number, rate = 0.2): Storage & { faults: RemovalFault[] } {
  const rng = mulberry32(seed);
  const faults: RemovalFault[] = [];
  return {
    driver: inner.driver,
    faults,
    put: (p, b) => inner.put(p, b),
    get: (p) => inner.get(p),
    exists: (p) => inner.exists(p),
    list: (p, o) => inner.list(p, o),
    async remove(paths: string[]): Promise<RemoveResult> {
      const out: RemoveResult = { removed: [], failed: [] };
      for (const p of paths) {
        if (rng() < rate) {
          const when = rng() < 0.5 ? 'before' : 'after';
          if (when === 'after') await inner.remove([p]);
          faults.push({ path: p, when });
          out.failed.push({ path: p, error: `injected: remove ${when === 'before' ? 'refused' : 'timed out'} (503)` });
          continue;
        }
        const res = await inner.remove([p]);
        out.removed.push(...res.removed);
        out.failed.push(...res.failed);
      }
      return out;
    },
  };
}

const FILE_NOW = new Date('2026-11-22T02:00:00.000Z');

interface ExportFx {
  id: string;
  status: string;
  path: string | null;
  expiresAt: Date | null;
  hasFile: boolean;
  eligible: boolean;
}

/**
 * 150 exports: 112 the file cleanup selects (completed, past expiry: 100 with a file, 5 whose file
 * is already gone, 5 without a path, 2 sharing one file) and 38 it must leave alone (completed
 * but not yet expired, and failed / processing / already expired rows past their expiry, some
 * with a file still in storage).
 */
function fileFixture(): ExportFx[] {
  const out: ExportFx[] = [];
  const add = (status: string, expiresInMin: number, o: Partial<ExportFx> = {}) => {
    const i = out.length + 1;
    const id = uid(701, i);
    out.push({
      id,
      status,
      path: `exports/${uid(700, i % 7)}/${id}.jsonl`,
      expiresAt: new Date(FILE_NOW.getTime() + expiresInMin * MIN),
      hasFile: true,
      eligible: status === 'completed' && expiresInMin <= 0,
      ...o,
    });
  };
  for (let i = 0; i < 100; i++) add('completed', -(5 + i * 7));
  for (let i = 0; i < 5; i++) add('completed', -(3 + i * 11), { hasFile: false });
  for (let i = 0; i < 5; i++) add('completed', -(4 + i * 13), { path: null, hasFile: false });
  // The two newest expiries: the last two rows claimed, so always in the same batch.
  add('completed', -1, { path: 'exports/shared/same-file.jsonl' });
  add('completed', -2, { path: 'exports/shared/same-file.jsonl' });
  for (let i = 0; i < 20; i++) add('completed', 5 * 60 + i * 30);
  for (let i = 0; i < 6; i++) add('failed', -(10 + i), { path: null, hasFile: false });
  for (let i = 0; i < 6; i++) add('processing', -(10 + i));
  for (let i = 0; i < 6; i++) add('expired', -(10 + i));
  return out;
}

async function loadExports(db: SqlDb, storage: Storage, fx: ExportFx[]) {
  for (const f of fx) {
    const completedAt = f.expiresAt ? new Date(f.expiresAt.getTime() - D) : null;
    await db.rpc('export_record', {
      p_export_id: f.id,
      p_user_id: uid(700, 1),
      p_format: 'jsonl',
      p_status: f.status,
      p_conversation_count: 12,
      p_file_path: f.path,
      p_file_size_bytes: f.path ? 4096 : null,
      p_created_at: completedAt ? new Date(completedAt.getTime() - 5000) : FILE_NOW,
      p_completed_at: f.status === 'processing' ? null : completedAt,
      p_expires_at: f.expiresAt,
    });
    if (f.path && f.hasFile) await storage.put(f.path, `{"export":"${f.id}"}\n`);
  }
}

async function exportRows(db: SqlDb, ids: string[]) {
  return db.query<{ export_id: string; status: string; file_path: string | null; cleanup_error: string | null }>(
    `select e.export_id, e.status, e.file_path, c.last_error as cleanup_error
       from export_logs e left join cronwarden.export_file_claims c on c.export_key = e.export_id::text
      where e.export_id = any($1::uuid[]) order by e.export_id`,
    [ids],
  );
}

const MAINT_NOW = new Date('2026-11-20T03:00:00.000Z');

interface UploadFx {
  id: string;
  path: string;
  createdAt: Date;
  /** Older than 24 h: the row goes. */
  eligible: boolean;
  /** Its object stays: a recent upload still uses the path. */
  objectStays?: boolean;
}

/**
 * 142 temp uploads: 122 older than 24 h whose rows and objects maintenance removes (two of them
 * share one path), 15 recent ones (kept), and 5 old ones whose path a recent upload still uses
 * (their rows go, their objects stay).
 */
function uploadFixture(): UploadFx[] {
  const out: UploadFx[] = [];
  const add = (p: string, ageMin: number, eligible: boolean, objectStays = false) =>
    out.push({ id: uid(702, out.length + 1), path: p, createdAt: new Date(MAINT_NOW.getTime() - ageMin * MIN), eligible, objectStays });
  for (let i = 0; i < 120; i++) add(`tmp/uploads/old-${i}.csv`, 25 * 60 + i * 9, true);
  add('tmp/uploads/old-shared.csv', 30 * 60, true);
  add('tmp/uploads/old-shared.csv', 31 * 60, true);
  for (let i = 0; i < 15; i++) add(`tmp/uploads/recent-${i}.csv`, 60 + i * 20, false);
  for (let i = 0; i < 5; i++) add(`tmp/uploads/recent-${i}.csv`, 26 * 60 + i * 60, true, true);
  return out;
}

describeEngines('storage failing a random 20% of removals', (engine) => {
  it('export-file-cleanup: no row expired while its file exists, every due file gone after a clean rerun, nothing else touched', async () => {
    const db = await engine.fresh();
    const local = tempStorage();
    const fx = fileFixture();
    await loadExports(db, local, fx);
    const eligible = fx.filter((f) => f.eligible);
    const others = fx.filter((f) => !f.eligible);
    expect(eligible).toHaveLength(112);
    const othersSql = `select to_jsonb(l) as j from export_logs l where not (export_id = any($1::uuid[])) order by export_id`;
    const othersBefore = await rowsAsJson(db, othersSql, [eligible.map((f) => f.id)]);
    expect(othersBefore).toHaveLength(others.length);

    /** No expired row whose file is still there; every other eligible row is completed with the error kept. */
    const checkEligible = async (faultedPaths: Set<string>) => {
      for (const r of await exportRows(db, eligible.map((f) => f.id))) {
        if (r.status === 'expired') {
          if (r.file_path) expect(await local.exists(r.file_path), `${r.export_id} expired but ${r.file_path} exists`).toBe(false);
        } else {
          expect(r.status).toBe('completed');
          expect(faultedPaths.has(r.file_path!), `${r.export_id} left completed without a fault on its path`).toBe(true);
          expect(r.cleanup_error).toMatch(/injected/);
        }
      }
      expect(await rowsAsJson(db, othersSql, [eligible.map((f) => f.id)])).toEqual(othersBefore);
      for (const f of others) if (f.path && f.hasFile) expect(await local.exists(f.path)).toBe(true);
    };

    const ttl = (FILE_CLAIM_TTL_SECONDS + 1) * 1000;
    let expiredTotal = 0;
    const faultsSeen: RemovalFault[] = [];
    // Two faulty runs (the second retries the first one's failures once their claims time out).
    for (const [k, seed] of [0x5eed01, 0x5eed02].entries()) {
      const storage = flakyRemovals(local, seed);
      const at = new Date(FILE_NOW.getTime() + k * ttl);
      const { deps } = testDeps(db, { storage, now: () => at });
      const out = finished(await runJob(exportFileCleanupJob, { input: { batchSize: 25 }, dryRun: false }, deps));
      const faultedRows = eligible.filter((f) => storage.faults.some((x) => x.path === f.path));
      expect(storage.faults.length).toBeGreaterThan(0);
      expect(out.status).toBe('succeeded');
      expect(out.result.failed_count).toBe(faultedRows.length);
      expect(out.result.errors).toHaveLength(faultedRows.length);
      expiredTotal += out.result.rows_affected;
      faultsSeen.push(...storage.faults);
      await checkEligible(new Set(storage.faults.map((x) => x.path)));
    }
    expect(faultsSeen.some((f) => f.when === 'before')).toBe(true);
    expect(faultsSeen.some((f) => f.when === 'after')).toBe(true);

    // Clean rerun after the claims of the last failures have timed out.
    const at = new Date(FILE_NOW.getTime() + 2 * ttl);
    const { deps } = testDeps(db, { storage: local, now: () => at });
    const out = finished(await runJob(exportFileCleanupJob, { input: { batchSize: 25 }, dryRun: false }, deps));
    expect(out.status).toBe('succeeded');
    expect(out.result.failed_count).toBe(0);
    expiredTotal += out.result.rows_affected;

    // Each eligible row was expired exactly once, every eligible file is gone, nothing else changed.
    expect(expiredTotal).toBe(eligible.length);
    for (const r of await exportRows(db, eligible.map((f) => f.id))) expect({ id: r.export_id, status: r.status }).toEqual({ id: r.export_id, status: 'expired' });
    for (const f of eligible) if (f.path) expect(await local.exists(f.path), f.path).toBe(false);
    expect(await rowsAsJson(db, othersSql, [eligible.map((f) => f.id)])).toEqual(othersBefore);
    for (const f of others) if (f.path && f.hasFile) expect(await local.exists(f.path)).toBe(true);
    console.log(`faults [${engine.name}] file cleanup: ${faultsSeen.length} injected removal failures over 2 runs, ${eligible.length} exports expired once each`);
  });

  it('maintenance temp uploads: no row deleted while its object exists (unless a recent upload still uses it), every expired object gone after a clean rerun, nothing else touched', async () => {
    const db = await engine.fresh();
    const local = tempStorage();
    const fx = uploadFixture();
    for (const f of fx) {
      await db.query(`insert into temp_uploads (id, storage_path, size_bytes, created_at) values ($1, $2, $3, $4)`, [f.id, f.path, 100, f.createdAt]);
      await local.put(f.path, 'x'.repeat(100));
    }
    const eligible = fx.filter((f) => f.eligible);
    const others = fx.filter((f) => !f.eligible);
    const othersSql = `select to_jsonb(t) as j from temp_uploads t where not (id = any($1::uuid[])) order by id`;
    const othersBefore = await rowsAsJson(db, othersSql, [eligible.map((f) => f.id)]);
    const present = async () => new Set((await db.query<{ id: string }>(`select id from temp_uploads`)).map((r) => r.id));

    const storage = flakyRemovals(local, 0x5eed03);
    const { deps } = testDeps(db, { storage, now: () => MAINT_NOW });
    const out = finished(await runJob(maintenanceJob, { input: { batchSize: 25 }, dryRun: false }, deps));
    expect(storage.faults.length).toBeGreaterThan(0);
    expect(storage.faults.some((f) => f.when === 'before') && storage.faults.some((f) => f.when === 'after')).toBe(true);
    const faultedPaths = new Set(storage.faults.map((f) => f.path));
    const faultedRows = eligible.filter((f) => faultedPaths.has(f.path));
    expect(out.status).toBe('succeeded');
    expect(out.result).toMatchObject({ tempUploadsPurged: eligible.length - faultedRows.length, tempUploadsFailed: faultedRows.length });
    expect(out.result.errors.filter((e) => e.subject.startsWith('temp_uploads:'))).toHaveLength(faultedPaths.size);

    let ids = await present();
    for (const f of eligible) {
      if (f.objectStays) {
        expect(ids.has(f.id), `row ${f.id} kept although its object stays for another upload`).toBe(false);
        expect(await local.exists(f.path), `${f.path} removed while a recent upload uses it`).toBe(true);
      } else if (!ids.has(f.id)) expect(await local.exists(f.path), `row ${f.id} deleted but ${f.path} exists`).toBe(false);
      else expect(faultedPaths.has(f.path), `row ${f.id} kept without a fault on its path`).toBe(true);
    }
    expect(await rowsAsJson(db, othersSql, [eligible.map((f) => f.id)])).toEqual(othersBefore);
    for (const f of others) expect(await local.exists(f.path)).toBe(true);

    const later = new Date(MAINT_NOW.getTime() + 5 * MIN);
    const clean = finished(await runJob(maintenanceJob, { input: { batchSize: 25 }, dryRun: false }, testDeps(db, { storage: local, now: () => later }).deps));
    expect(clean.status).toBe('succeeded');
    expect(clean.result).toMatchObject({ tempUploadsPurged: faultedRows.length, tempUploadsFailed: 0 });
    ids = await present();
    for (const f of eligible) {
      expect(ids.has(f.id)).toBe(false);
      expect(await local.exists(f.path)).toBe(Boolean(f.objectStays));
    }
    expect(await rowsAsJson(db, othersSql, [eligible.map((f) => f.id)])).toEqual(othersBefore);
    for (const f of others) expect(await local.exists(f.path)).toBe(true);
    console.log(`faults [${engine.name}] temp uploads: ${storage.faults.length} injected removal failures, ${eligible.length} uploads removed once each`);
  });
});

// ---------------------------------------------------------------------------------------------
// Export log fixtures (log cleanup: archive failures, connection kills, process kills)
// ---------------------------------------------------------------------------------------------

const LOG_NOW = new Date('2026-12-01T03:00:00.000Z');

/**
 * `eligible` logs older than the 30-day retention (expired with a path, failed, stuck queued),
 * one a minute from 31 days back; and 90 the cleanup must keep: old completed exports whose file
 * is still there, and recent logs of every status.
 */
async function loadLogs(db: SqlDb, now: Date, eligible: number): Promise<{ eligibleIds: string[]; keptIds: string[] }> {
  await db.query(
    `insert into export_logs (export_id, user_id, format, status, conversation_count, file_path, file_size_bytes,
                              created_at, completed_at, expires_at, error_type, error_message, expired_at)
     select md5('fault-eligible-' || n)::uuid,
            md5('fault-user-' || (n % 9))::uuid,
            (array['json', 'jsonl', 'csv', 'markdown'])[1 + n % 4],
            s.status,
            n % 700,
            case when s.status = 'expired' then 'exports/old/' || md5('fault-eligible-' || n) || '.json' end,
            case when s.status = 'expired' then 1000 + n end,
            s.created_at,
            case when s.status <> 'queued' then s.created_at + interval '4 seconds' end,
            case when s.status = 'expired' then s.created_at + interval '1 day' end,
            case when s.status = 'failed' then 'TimeoutError' end,
            case when s.status = 'failed' then 'Export exceeded 60 s' end,
            case when s.status = 'expired' then s.created_at + interval '26 hours' end
       from generate_series(1, $2::integer) n
      cross join lateral (
        select (array['expired', 'expired', 'failed', 'queued', 'expired'])[1 + n % 5] as status,
               $1::timestamptz - interval '31 days' - make_interval(mins => n) as created_at
      ) s`,
    [now, eligible],
  );
  await db.query(
    `insert into export_logs (export_id, user_id, format, status, conversation_count, file_path, file_size_bytes,
                              created_at, completed_at, expires_at)
     select md5('fault-kept-' || n)::uuid,
            md5('fault-user-' || (n % 9))::uuid,
            'json',
            case when n <= 30 then 'completed' else (array['completed', 'failed', 'expired', 'queued', 'processing'])[1 + n % 5] end,
            n,
            case when n <= 30 or n % 5 = 0 then 'exports/kept/' || md5('fault-kept-' || n) || '.json' end,
            case when n <= 30 or n % 5 = 0 then 500 + n end,
            case when n <= 30 then $1::timestamptz - interval '45 days' - make_interval(mins => n)
                 else $1::timestamptz - interval '29 days' + make_interval(hours => n) end,
            case when n <= 30 then $1::timestamptz - interval '45 days' - make_interval(mins => n) + interval '4 seconds' end,
            case when n <= 30 then $1::timestamptz - interval '44 days' - make_interval(mins => n) end
       from generate_series(1, 90) n`,
    [now],
  );
  const ids = async (sql: string) => (await db.query<{ id: string }>(sql)).map((r) => r.id).sort();
  return {
    eligibleIds: await ids(`select export_id::text as id from export_logs where export_id::text in (select md5('fault-eligible-' || n)::uuid::text from generate_series(1, ${eligible}) n)`),
    keptIds: await ids(`select export_id::text as id from export_logs where export_id::text in (select md5('fault-kept-' || n)::uuid::text from generate_series(1, 90) n)`),
  };
}

const keptSql = `select to_jsonb(l) as j from export_logs l where export_id = any($1::uuid[]) order by export_id`;

async function remainingIds(db: SqlDb): Promise<Set<string>> {
  return new Set((await db.query<{ id: string }>(`select export_id::text as id from export_logs`)).map((r) => r.id));
}

/** Every row in the archive, by object: ids read back from the gzipped NDJSON, checked against the manifests. */
async function readArchive(storage: Storage): Promise<{ ids: string[]; objects: number; orphans: string[] }> {
  const listed = (await storage.list(`${ARCHIVE_PREFIX}/`)).map((o) => o.path);
  const data = listed.filter((p) => p.endsWith('.ndjson.gz'));
  const manifests = new Set(listed.filter((p) => p.endsWith('.manifest.json')));
  const ids: string[] = [];
  const orphans: string[] = [];
  for (const key of data) {
    const lines = gunzipSync((await storage.get(key))!).toString('utf8').split('\n').filter(Boolean);
    const manifestKey = key.replace(/\.ndjson\.gz$/, '.manifest.json');
    if (!manifests.has(manifestKey)) orphans.push(key);
    else expect(JSON.parse(Buffer.from((await storage.get(manifestKey))!).toString('utf8')).rows).toBe(lines.length);
    ids.push(...lines.map((l) => (JSON.parse(l) as { export_id: string }).export_id));
  }
  for (const m of manifests) expect(data).toContain(m.replace(/\.manifest\.json$/, '.ndjson.gz'));
  return { ids, objects: data.length, orphans };
}

const duplicates = (ids: string[]) => ids.filter((x, i) => ids.indexOf(x) !== i);

// ---------------------------------------------------------------------------------------------
// The archive target failing
// ---------------------------------------------------------------------------------------------

type ArchiveFault = 'put fails (object)' | 'put fails (manifest)' | 'get returns corrupted bytes' | 'put stores corrupted bytes';

/** LocalStorage with one archive fault on the `nth` put (or get). */
function faultyArchive(inner: LocalStorage, fault: ArchiveFault, nth: number): Storage & { fired: () => boolean } {
  let puts = 0;
  let gets = 0;
  let fired = false;
  const flip = (b: Uint8Array | string) => {
    const copy = typeof b === 'string' ? new TextEncoder().encode(b) : new Uint8Array(b);
    copy[Math.floor(copy.length / 2)] ^= 0x5a;
    return copy;
  };
  return {
    driver: inner.driver,
    fired: () => fired,
    async put(p, b) {
      puts++;
      if (puts === nth && fault.startsWith('put fails')) {
        fired = true;
        throw new Error('injected: PutObject 503 Slow Down');
      }
      if (puts === nth && fault === 'put stores corrupted bytes') {
        fired = true;
        return inner.put(p, flip(b));
      }
      return inner.put(p, b);
    },
    async get(p) {
      const bytes = await inner.get(p);
      if (p.endsWith('.ndjson.gz') && ++gets === nth && fault === 'get returns corrupted bytes' && bytes) {
        fired = true;
        return flip(bytes);
      }
      return bytes;
    },
    exists: (p) => inner.exists(p),
    list: (p, o) => inner.list(p, o),
    remove: (ps) => inner.remove(ps),
  };
}

describeEngines('the archive target failing', (engine) => {
  // Batches of 200: puts 1-2 are batch 1 (object, manifest), 5-6 batch 3; gets of objects: one per batch.
  const cases: [ArchiveFault, number][] = [
    ['put fails (object)', 5],
    ['put fails (manifest)', 6],
    ['get returns corrupted bytes', 3],
    ['put stores corrupted bytes', 5],
  ];
  it.each(cases)('%s on batch 3: nothing of that batch deleted, error reported, rerun archives and deletes each row once', async (fault, nth) => {
    const db = await engine.fresh();
    const { eligibleIds, keptIds } = await loadLogs(db, LOG_NOW, 1000);
    const keptBefore = await rowsAsJson(db, keptSql, [keptIds]);
    const local = tempStorage();
    const storage = faultyArchive(local, fault, nth);
    const env = { EXPORT_ARCHIVE_ENABLED: 'true', EXPORT_ARCHIVE_PREFIX: ARCHIVE_PREFIX };

    const { deps, logs } = testDeps(db, { storage, env, now: () => LOG_NOW });
    const out = finished(await runJob(exportLogCleanupJob, { input: { batchSize: 200 }, dryRun: false }, deps));
    expect(storage.fired()).toBe(true);
    expect(out.status).toBe('failed');
    expect(out.result).toMatchObject({ deleted_count: 400, archived_count: 400, batches: 2, rows_affected: 400 });
    expect(out.result.errors).toHaveLength(1);
    expect(out.result.errors[0].subject).toBe('archive');
    expect(logs.ofType('export_log_archive_failed')).toHaveLength(1);
    const [run] = await db.query<{ status: string; error: string; rows_affected: number }>(`select status, error, rows_affected::integer from cronwarden.cron_job_runs where id = $1`, [out.runId]);
    expect(run).toMatchObject({ status: 'failed', rows_affected: 400 });
    expect(run.error).toMatch(/^archive: /);
    // Exactly the first two batches are gone: the 400 oldest eligible rows.
    const left = await remainingIds(db);
    const gone = eligibleIds.filter((x) => !left.has(x));
    expect(gone).toHaveLength(400);
    const oldest = (await db.query<{ id: string }>(`select md5('fault-eligible-' || n)::uuid::text as id from generate_series(601, 1000) n`)).map((r) => r.id);
    expect(gone.sort()).toEqual(oldest.sort());

    const rerun = finished(await runJob(exportLogCleanupJob, { input: { batchSize: 200 }, dryRun: false }, testDeps(db, { storage: local, env, now: () => LOG_NOW }).deps));
    expect(rerun.status).toBe('succeeded');
    expect(rerun.result).toMatchObject({ deleted_count: 600, archived_count: 600, batches: 3 });
    const after = await remainingIds(db);
    expect(eligibleIds.filter((x) => after.has(x))).toEqual([]);
    expect(await rowsAsJson(db, keptSql, [keptIds])).toEqual(keptBefore);
    const archive = await readArchive(local);
    expect(duplicates(archive.ids)).toEqual([]);
    expect(archive.ids.sort()).toEqual(eligibleIds);
    expect(archive.orphans).toEqual([]);
    expect(archive.objects).toBe(5);
  });
});

// ---------------------------------------------------------------------------------------------
// The database connection killed mid-run (real PostgreSQL)
// ---------------------------------------------------------------------------------------------

type Sql = postgres.Sql<Record<string, never>>;
const pgCleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of pgCleanup.reverse()) await c().catch(() => {});
});

async function pgDatabase(): Promise<{ url: string; name: string; db: PostgresDb; admin: Sql }> {
  const url = await freshPostgresUrl();
  const db = PostgresDb.connect(url, 4);
  const admin = postgres(url, { max: 1, onnotice: () => {} }) as unknown as Sql;
  pgCleanup.push(() => db.close(), () => admin.end({ timeout: 5 }));
  return { url, name: new URL(url).pathname.slice(1), db, admin };
}

/**
 * Wraps the job's database: the `nth` call of `fn` is sent while a second connection holds a
 * lock that blocks it; once it waits on that lock, every backend of the test database but the
 * killer's is terminated (the job's pooled connections included), so the call fails mid-statement.
 * Results of earlier calls are recorded.
 */
function killingDb(inner: PostgresDb, admin: Sql, dbName: string, fn: string, nth: number, lockTable: string) {
  let calls = 0;
  const seen: { fn: string; rows: Row[] }[] = [];
  let killed: Error | undefined;
  const db: Db = {
    driver: inner.driver,
    close: () => inner.close(),
    async rpc<T = Row>(name: string, args?: Record<string, unknown>): Promise<T[]> {
      if (name === fn && ++calls === nth) {
        await admin.begin(async (tx) => {
          await tx.unsafe(`lock table ${lockTable} in access exclusive mode`);
          const pending = inner.rpc<T>(name, args).then(
            () => new Error('the call was not blocked'),
            (err: Error) => err,
          );
          for (let i = 0; ; i++) {
            const [w] = await tx.unsafe<{ n: number }[]>(
              `select count(*)::integer as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
              [dbName],
            );
            if (w.n > 0) break;
            if (i > 500) throw new Error('the call never blocked');
            await new Promise((r) => setTimeout(r, 10));
          }
          await tx.unsafe(`select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()`, [dbName]);
          killed = await pending;
        });
        throw killed;
      }
      const rows = await inner.rpc<T>(name, args);
      seen.push({ fn: name, rows: rows as Row[] });
      return rows;
    },
  };
  return { db, seen, killed: () => killed };
}

interface KillCase {
  title: string;
  job: JobDefinition<{ batchSize?: number }>;
  archive?: boolean;
  fn: string;
  nth: number;
  lockTable: string;
  /**
   * Before the rerun, an old completed export is expired (as file cleanup would): a newly
   * eligible row older than the interrupted batch, so the rerun's batches fall differently.
   */
  lateRow?: boolean;
}

const killCases: KillCase[] = [
  { title: 'export-log-cleanup, archival on, during the 3rd delete (after its archive was written)', job: exportLogCleanupJob, archive: true, fn: 'export_delete_logs_by_id', nth: 3, lockTable: 'export_logs', lateRow: true },
  { title: 'export-log-cleanup, archival off, during the 3rd batch delete', job: exportLogCleanupJob, archive: false, fn: 'export_delete_old_logs', nth: 3, lockTable: 'export_logs' },
  { title: 'export-log-cleanup, archival on, while recording the end of the run', job: exportLogCleanupJob, archive: true, fn: 'cron_finish_run', nth: 1, lockTable: 'cronwarden.cron_job_runs' },
  { title: 'draft-cleanup, during the 3rd batch', job: draftCleanupJob as unknown as JobDefinition<{ batchSize?: number }>, fn: 'draft_cleanup_batch', nth: 3, lockTable: 'courses' },
];

const DRAFT_NOW = new Date('2026-11-24T10:00:00.000Z');

/** 600 unused drafts older than 24 h (deleted) and 160 courses the cleanup must keep. */
async function loadCourses(db: SqlDb): Promise<{ eligibleIds: string[]; keptIds: string[] }> {
  await db.query(`insert into organizations (id, name, created_at) values ($1, 'Fault Org', $2)`, [uid(703, 0), new Date(DRAFT_NOW.getTime() - 90 * D)]);
  await db.query(
    `insert into courses (id, organization_id, title, status, generation_status, created_at, updated_at)
     select md5('fault-course-' || n)::uuid, $1::uuid, 'Course ' || n,
            case when n <= 600 or n > 700 then 'draft' when n <= 650 then 'published' else 'archived' end,
            case when n > 700 and n <= 730 then 'generating_content' when n > 600 and n <= 700 then 'completed' end,
            case when n <= 730 then $2::timestamptz - interval '25 hours' - make_interval(mins => n)
                 else $2::timestamptz - interval '20 hours' + make_interval(mins => n - 730) end,
            $2::timestamptz - interval '19 hours'
       from generate_series(1, 760) n`,
    [uid(703, 0), DRAFT_NOW],
  );
  const ids = async (from: number, to: number) =>
    (await db.query<{ id: string }>(`select md5('fault-course-' || n)::uuid::text as id from generate_series(${from}, ${to}) n`)).map((r) => r.id).sort();
  return { eligibleIds: await ids(1, 600), keptIds: await ids(601, 760) };
}

describe.skipIf(!hasPostgres())('the database connection killed mid-run [postgres]', () => {
  it.each(killCases)('$title: the run is recorded with its own outcome, the next call runs at once, each selected row goes once', async (c) => {
    const { url, name, db, admin } = await pgDatabase();
    const isDrafts = c.job.name === 'draft-cleanup';
    const now = isDrafts ? DRAFT_NOW : LOG_NOW;
    const fx = isDrafts ? await loadCourses(db) : await loadLogs(db, LOG_NOW, 1500);
    // The late row (one of the old completed exports with a file) moves from kept to eligible.
    const [late] = c.lateRow ? await db.query<{ id: string }>(`select md5('fault-kept-1')::uuid::text as id`) : [];
    const eligibleIds = late ? [...fx.eligibleIds, late.id].sort() : fx.eligibleIds;
    const keptIds = fx.keptIds.filter((x) => x !== late?.id);
    const table = isDrafts ? 'courses' : 'export_logs';
    const key = isDrafts ? 'id' : 'export_id';
    const keptQuery = `select to_jsonb(t) as j from ${table} t where ${key} = any($1::uuid[]) order by ${key}`;
    const keptBefore = await rowsAsJson(db, keptQuery, [keptIds]);
    const left = async (conn: SqlDb) => new Set((await conn.query<{ id: string }>(`select ${key}::text as id from ${table}`)).map((r) => r.id));
    const local = tempStorage();
    const env = { EXPORT_ARCHIVE_ENABLED: c.archive ? 'true' : 'false', EXPORT_ARCHIVE_PREFIX: ARCHIVE_PREFIX };

    const k = killingDb(db, admin, name, c.fn, c.nth, c.lockTable);
    const { deps, logs } = testDeps(k.db, { storage: local, env, now: () => now });
    const out = await runJob(c.job, { input: { batchSize: 200 }, dryRun: false }, deps);
    expect(k.killed()?.message).toMatch(/terminat|CONNECTION_CLOSED|administrator/i);

    // A fresh connection, as a new invocation would have.
    const db2 = PostgresDb.connect(url, 2);
    pgCleanup.push(() => db2.close());
    const [run] = await db2.query<{ status: string; error: string | null; rows_affected: number }>(
      `select status, error, rows_affected::integer from cronwarden.cron_job_runs where id = $1`,
      [out.runId],
    );
    const deletedByKilledRun = eligibleIds.length - [...(await left(db2))].filter((x) => eligibleIds.includes(x)).length;
    if (late) {
      expect(fx.keptIds).toContain(late.id);
      await db2.query(`update export_logs set status = 'expired', expired_at = $2 where export_id = $1 and status = 'completed'`, [late.id, now]);
    }
    // What the killed run deleted is what its completed calls reported (the killed statement rolled back).
    const reported = k.seen
      .filter((s) => ['export_delete_logs_by_id', 'export_delete_old_logs', 'draft_cleanup_batch'].includes(s.fn))
      .reduce((n, s) => n + Number(s.rows[0]?.deleted_count ?? 0), 0);
    expect(deletedByKilledRun).toBe(reported);

    const rerunAt = new Date(now.getTime() + 1000);
    // Killed while recording its end, the run was not recorded when it ended (the process keeps
    // the end and retries it); killed mid-batch, the runner records the failure on a new
    // connection unless that one was killed too.
    const recordKilled = c.fn === 'cron_finish_run';
    if (recordKilled) {
      expect(logs.ofType('cron_run_record_failed')).toHaveLength(1);
      expect(out.kind).toBe('finished');
    } else if (run.status !== 'running') {
      expect(out.kind).toBe('crashed');
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/terminat|CONNECTION_CLOSED|administrator/i);
    }
    const leaseLeft = run.status === 'running';
    // The rerun is the next scheduled call in the same process (its Db, whose pool reconnects):
    // any end it kept is recorded first, so the rerun never waits for the lease to expire. It
    // uses the job's default batch size, not the killed run's.
    const rerun = finished(await runJob(c.job, { input: {}, dryRun: false }, testDeps(k.db, { storage: local, env, now: () => rerunAt }).deps));
    expect(rerun.status).toBe('succeeded');
    const [prev] = await db2.query<{ status: string; error: string | null }>(`select status, error from cronwarden.cron_job_runs where id = $1`, [out.runId]);
    // Its own outcome: the run whose end was killed had done its work.
    expect(prev.status).toBe(recordKilled ? 'succeeded' : 'failed');

    // Every selected row gone, each counted once; nothing else touched.
    const after = await left(db2);
    expect(eligibleIds.filter((x) => after.has(x))).toEqual([]);
    expect(deletedByKilledRun + rerun.result.rows_affected).toBe(eligibleIds.length);
    expect(await rowsAsJson(db2, keptQuery, [keptIds])).toEqual(keptBefore);
    if (c.archive) {
      const archive = await readArchive(local);
      expect(duplicates(archive.ids)).toEqual([]);
      expect(archive.ids.sort()).toEqual(eligibleIds);
      expect(archive.orphans).toEqual([]);
      expect(await db2.query(`select object_key from cronwarden.export_log_archive_pending`)).toEqual([]);
    } else {
      expect(await local.list('')).toEqual([]);
    }
    console.log(
      `faults [postgres] ${c.job.name} killed in call ${c.nth} of ${c.fn}: ${leaseLeft ? 'end kept, recorded before the rerun' : 'recorded failed'}, ${deletedByKilledRun} rows deleted before, ${rerun.result.rows_affected} by the rerun`,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The process killed between batches (real PostgreSQL: the test reads while the child runs)
// ---------------------------------------------------------------------------------------------

describe.skipIf(!hasPostgres())('the process killed between batches [postgres]', () => {
  it('export-log-cleanup with archival, SIGKILLed mid-run: lease expiry marks it failed, the rerun finishes, the archive holds each deleted row once', async () => {
    const { url, db } = await pgDatabase();
    const startNow = new Date();
    const TOTAL = 20_000;
    const { eligibleIds, keptIds } = await loadLogs(db, startNow, TOTAL);
    expect(eligibleIds).toHaveLength(TOTAL);
    const keptBefore = await rowsAsJson(db, keptSql, [keptIds]);
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-kill-'));
    pgCleanup.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
    const storage = new LocalStorage(path.join(dataDir, 'storage'));

    const child = spawn(process.execPath, ['node_modules/tsx/dist/cli.mjs', 'scripts/run-job.ts', 'export-log-cleanup', '--batchSize', '500'], {
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        NODE_ENV: 'production',
        DATABASE_URL: url,
        DATA_DIR: dataDir,
        STORAGE_DRIVER: 'local',
        EXPORT_ARCHIVE_ENABLED: 'true',
        EXPORT_ARCHIVE_PREFIX: ARCHIVE_PREFIX,
        CRON_SECRET: 'fault-cron-secret-0123456789',
        SEED_DEMO_DATA: 'false',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: the tsx CLI runs the script in a child process, and both must die.
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

    // Kill once at least three batches are deleted, preferably while a batch is on its way to
    // the archive (recorded as pending, not yet deleted), and in any case well before the end.
    const probe = async () =>
      (await db.query<{ n: number; pending: number }>(
        `select (select count(*)::integer from export_logs) as n, (select count(*)::integer from cronwarden.export_log_archive_pending) as pending`,
      ))[0];
    const total = TOTAL + keptIds.length;
    const until = Date.now() + 60_000;
    let before = total;
    let windowUntil = 0;
    while (Date.now() < until && child.exitCode === null) {
      const p = await probe();
      before = p.n;
      if (total - before >= 1500) {
        windowUntil ||= Date.now() + 1000;
        if (p.pending > 0 || Date.now() > windowUntil) break;
      }
    }
    expect(child.exitCode, output).toBeNull();
    process.kill(-child.pid!, 'SIGKILL');
    await exited;
    // Wait until no process of the group is left (the script runs in the CLI's child).
    const groupAlive = () => {
      try {
        process.kill(-child.pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    for (let i = 0; groupAlive(); i++) {
      if (i > 200) throw new Error('the killed process group is still alive');
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(before, 'killed before the end').toBeGreaterThan(keptIds.length + 5000);

    // State left by the killed process.
    const [killedRun] = await db.query<{ id: string; status: string; started_at: Date }>(
      `select id, status, started_at from cronwarden.cron_job_runs where job = 'export-log-cleanup'`,
    );
    expect(killedRun.status).toBe('running');
    const leftAfterKill = await remainingIds(db);
    const deletedByKill = eligibleIds.filter((x) => !leftAfterKill.has(x));
    const archiveAfterKill = await readArchive(storage);
    const archivedSet = new Set(archiveAfterKill.ids);
    expect(duplicates(archiveAfterKill.ids)).toEqual([]);
    // No row deleted that was not archived; at most the batch in flight archived but not deleted.
    expect(deletedByKill.filter((x) => !archivedSet.has(x))).toEqual([]);
    const archivedNotDeleted = archiveAfterKill.ids.filter((x) => leftAfterKill.has(x));
    expect(archivedNotDeleted.length).toBeLessThanOrEqual(500);
    expect(deletedByKill.length % 500).toBe(0);
    // A batch caught between being recorded and being deleted: none of its rows is gone.
    const pendingAfterKill = await db.query<{ object_key: string; export_ids: string[] }>(`select object_key, export_keys::text[] as export_ids from cronwarden.export_log_archive_pending`);
    expect(pendingAfterKill.length).toBeLessThanOrEqual(1);
    for (const p of pendingAfterKill) expect(p.export_ids.filter((x) => !leftAfterKill.has(x))).toEqual([]);

    const env = { EXPORT_ARCHIVE_ENABLED: 'true', EXPORT_ARCHIVE_PREFIX: ARCHIVE_PREFIX };
    // While the dead run's lease lasts, nobody else runs.
    const early = await runJob(exportLogCleanupJob, { input: { batchSize: 500 }, dryRun: false }, testDeps(db, { storage, env, now: () => new Date() }).deps);
    expect(early.kind).toBe('conflict');
    const later = new Date(new Date(killedRun.started_at).getTime() + (exportLogCleanupJob.maxDurationSeconds + LEASE_GRACE_SECONDS + 1) * 1000);
    const { deps, logs } = testDeps(db, { storage, env, now: () => later });
    // The next scheduled call: the job's default batch size, not the killed run's 500.
    const rerun = finished(await runJob(exportLogCleanupJob, { input: {}, dryRun: false }, deps));
    expect(rerun.status).toBe('succeeded');
    expect(logs.ofType('cron_lease_expired')[0]).toMatchObject({ expired_run_id: killedRun.id });

    const runs = await db.query<{ id: string; status: string; error: string | null; rows_affected: number }>(
      `select id, status, error, rows_affected::integer from cronwarden.cron_job_runs where job = 'export-log-cleanup' and status <> 'skipped'`,
    );
    const killed = runs.find((r) => r.id === killedRun.id)!;
    expect(killed).toMatchObject({ status: 'failed', rows_affected: 0 });
    expect(killed.error).toMatch(/lease expired/);

    // Every eligible row gone, each archived exactly once; nothing else touched.
    const after = await remainingIds(db);
    expect(eligibleIds.filter((x) => after.has(x))).toEqual([]);
    expect(await rowsAsJson(db, keptSql, [keptIds])).toEqual(keptBefore);
    const archive = await readArchive(storage);
    expect(duplicates(archive.ids)).toEqual([]);
    expect(archive.ids.sort()).toEqual(eligibleIds);
    expect(archive.orphans).toEqual([]);
    // The run history adds up: the finished runs' rows_affected plus what the killed run deleted.
    const recorded = runs.filter((r) => r.status === 'succeeded' || r.status === 'partial').reduce((n, r) => n + r.rows_affected, 0);
    expect(recorded + deletedByKill.length).toBe(eligibleIds.length);
    console.log(
      `faults [postgres] process kill: killed after ${deletedByKill.length} of ${TOTAL} rows deleted, ${pendingAfterKill.length} batch pending (${archivedNotDeleted.length} rows archived but not yet deleted); rerun deleted ${rerun.result.rows_affected}`,
    );
  });
});
