import { describe, expect, it } from 'vitest';
import { evaluateAlerts } from '../../src/lib/alerts/engine';
import { allRules } from '../../src/lib/alerts/rules';
import { runJob } from '../../src/lib/cron/runner';
import type { Db, SqlDb } from '../../src/lib/db/types';
import {
  cleanupOldExports,
  deleteExportFile,
  exportFileCleanup,
  exportFileCleanupJob,
  FILE_CLAIM_TTL_SECONDS,
  FILE_MAX_ATTEMPTS,
} from '../../src/lib/jobs/export-file-cleanup';
import type { LocalStorage } from '../../src/lib/storage/local';
import type { RemoveResult, Storage } from '../../src/lib/storage/types';
import { PostgresDb } from '../../src/lib/db/postgres';
import { describeEngines, freshPostgresUrl, hasPostgres } from '../support/db';
import { tempStorage, testDeps } from '../support/deps';

const NOW = new Date('2026-11-22T02:00:00Z');
const H = 3600_000;
const USER = '0e000000-0000-4000-8000-000000000001';
const id = (i: number) => `0f000000-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** LocalStorage that refuses to remove the chosen paths (or every path, when `throwAll`). */
function failingStorage(inner: LocalStorage, failPaths: Set<string>, opts: { throwAll?: boolean } = {}): Storage & { removeCalls: string[][] } {
  const removeCalls: string[][] = [];
  return {
    driver: inner.driver,
    removeCalls,
    put: (p, b) => inner.put(p, b),
    get: (p) => inner.get(p),
    exists: (p) => inner.exists(p),
    list: (p, o) => inner.list(p, o),
    async remove(paths: string[]): Promise<RemoveResult> {
      removeCalls.push([...paths]);
      if (opts.throwAll) throw new Error('storage unavailable: 503');
      const ok = paths.filter((p) => !failPaths.has(p));
      const res = await inner.remove(ok);
      return { removed: res.removed, failed: [...res.failed, ...paths.filter((p) => failPaths.has(p)).map((p) => ({ path: p, error: 'HTTP 500: internal error' }))] };
    },
  };
}

interface Fx {
  id: string;
  status: string;
  path: string | null;
  expiresAt: Date | null;
  completedAt: Date | null;
  createdAt: Date;
  hasFile: boolean;
  size: number | null;
}

/**
 * 14 exports: 9 completed and past expiry (7 with files in storage, 1 whose file is already
 * gone, 1 without a file path), 2 completed but not yet expired, and 3 that are not completed
 * (failed, processing, already expired) although their expires_at has passed.
 */
function fixture(): Fx[] {
  const out: Fx[] = [];
  const add = (status: string, expiresInH: number | null, opts: Partial<Fx> = {}) => {
    const i = out.length + 1;
    const completedAt = new Date(NOW.getTime() - 30 * H + i * 60_000);
    out.push({
      id: id(i),
      status,
      path: `exports/${USER}/${id(i)}.jsonl`,
      expiresAt: expiresInH === null ? null : new Date(NOW.getTime() + expiresInH * H),
      completedAt,
      createdAt: new Date(completedAt.getTime() - 5000),
      hasFile: true,
      size: 1000 * i,
      ...opts,
    });
  };
  for (let i = 0; i < 7; i++) add('completed', -(i + 1));
  add('completed', -2, { hasFile: false });
  add('completed', -3, { path: null, hasFile: false, size: null });
  add('completed', 5, { completedAt: new Date(NOW.getTime() - 19 * H) });
  add('completed', 20, { completedAt: new Date(NOW.getTime() - 4 * H) });
  add('failed', -4, { path: null, hasFile: false, size: null });
  add('processing', -4, { hasFile: false });
  add('expired', -40, { hasFile: false });
  return out;
}

async function load(db: SqlDb, storage: Storage, fx: Fx[]) {
  for (const f of fx) {
    await db.rpc('export_record', {
      p_export_id: f.id,
      p_user_id: USER,
      p_format: 'jsonl',
      p_status: f.status,
      p_conversation_count: 10,
      p_file_path: f.path,
      p_file_size_bytes: f.size,
      p_created_at: f.createdAt,
      p_completed_at: f.completedAt,
      p_expires_at: f.expiresAt,
    });
    if (f.hasFile && f.path) await storage.put(f.path, `{"export":"${f.id}"}\n`);
  }
}

async function state(db: SqlDb) {
  const rows = await db.query<{ export_id: string; status: string; cleanup_error: string | null; cleanup_claimed_at: Date | null }>(
    `select e.export_id, e.status, c.last_error as cleanup_error, c.claimed_at as cleanup_claimed_at
       from export_logs e left join cronwarden.export_file_claims c on c.export_key = e.export_id::text
      order by e.export_id`,
  );
  return new Map(rows.map((r) => [r.export_id, r]));
}

const due = (fx: Fx[], at = NOW) => fx.filter((f) => f.status === 'completed' && f.expiresAt && f.expiresAt <= at);

describeEngines('export file cleanup', (engine) => {
  it('removes due files, marks exactly the confirmed-gone rows expired, keeps failures for the next run', async () => {
    const db = await engine.fresh();
    const local = tempStorage();
    const fx = fixture();
    await load(db, local, fx);
    const dueRows = due(fx);
    expect(dueRows).toHaveLength(9);
    const failing = [dueRows[1], dueRows[4]];
    const storage = failingStorage(local, new Set(failing.map((f) => f.path!)));
    const { deps, logs } = testDeps(db, { storage, now: () => NOW });

    const out = await runJob(exportFileCleanupJob, { input: { batchSize: 4 }, dryRun: false }, deps);
    expect(out.kind).toBe('finished');
    if (out.kind !== 'finished') return;
    const withPath = dueRows.filter((f) => f.path);
    expect(out.result).toMatchObject({
      mode: 'expired',
      total_found: 9,
      deleted_count: withPath.length - failing.length,
      failed_count: 2,
      logs_updated: 7,
      batches: 3,
      partial: false,
      status: 'succeeded',
    });
    expect(typeof out.result.duration_ms).toBe('number');
    expect(typeof out.result.timestamp).toBe('string');
    expect(out.result.errors.map((e) => e.subject).sort()).toEqual(failing.map((f) => f.path).sort());
    expect(out.result.errors.every((e) => e.message.includes('HTTP 500'))).toBe(true);
    // One storage call per batch, at most batchSize paths each.
    expect(storage.removeCalls.length).toBe(3);
    expect(storage.removeCalls.every((c) => c.length <= 4)).toBe(true);

    const after = await state(db);
    const failingIds = new Set(failing.map((f) => f.id));
    for (const f of fx) {
      const row = after.get(f.id)!;
      if (dueRows.includes(f) && !failingIds.has(f.id)) expect(row.status).toBe('expired');
      else expect(row.status).toBe(f.status);
      if (f.path && f.hasFile) expect(await local.exists(f.path)).toBe(!(dueRows.includes(f) && !failingIds.has(f.id)));
    }
    for (const f of failing) expect(after.get(f.id)!.cleanup_error).toMatch(/HTTP 500/);
    expect(logs.ofType('export_file_cleanup_complete')).toHaveLength(1);
    expect(logs.ofType('export_file_cleanup_complete')[0]).toMatchObject({ deleted_count: 6, failed_count: 2, logs_updated: 7 });

    // A rerun right away leaves the failed rows alone: their claim is still live.
    const soon = testDeps(db, { storage: local, now: () => new Date(NOW.getTime() + 60_000) }).deps;
    const rerun = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, soon);
    expect(rerun.kind === 'finished' && rerun.result).toMatchObject({ total_found: 0, deleted_count: 0, logs_updated: 0 });

    // The next scheduled run (storage healthy again) takes them and finishes the job.
    const tomorrow = new Date(NOW.getTime() + 24 * H);
    const next = testDeps(db, { storage: local, now: () => tomorrow }).deps;
    const nextOut = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, next);
    const dueTomorrow = due(fx, tomorrow).filter((f) => !dueRows.includes(f) || failingIds.has(f.id));
    expect(nextOut.kind === 'finished' && nextOut.result).toMatchObject({
      total_found: dueTomorrow.length,
      failed_count: 0,
      logs_updated: dueTomorrow.length,
    });
    const final = await state(db);
    for (const f of failing) {
      expect(final.get(f.id)!.status).toBe('expired');
      expect(final.get(f.id)!.cleanup_error).toBeNull();
      expect(await local.exists(f.path!)).toBe(false);
    }
  });

  it('keeps a file that a live export still references: the expired row sharing its path is marked expired, the live row and the object stay', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    const shared = `exports/${USER}/shared.jsonl`;
    const completedAt = new Date(NOW.getTime() - 30 * H);
    const row = (i: number, expiresInH: number): Fx => ({
      id: id(i), status: 'completed', path: shared, expiresAt: new Date(NOW.getTime() + expiresInH * H),
      completedAt, createdAt: completedAt, hasFile: true, size: 100,
    });
    // The reported input: one row expired an hour ago, the other expires in 7 days, one object.
    await load(db, storage, [row(1, -1), row(2, 7 * 24)]);
    const liveBefore = await db.query(`select * from export_logs where export_id = $1`, [id(2)]);

    const out = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, testDeps(db, { storage, now: () => NOW }).deps);
    expect(out.kind === 'finished' && out.result).toMatchObject({
      total_found: 1, deleted_count: 0, failed_count: 0, logs_updated: 1, kept_shared_count: 1, freed_bytes: 0, errors: [],
    });
    expect(await storage.exists(shared)).toBe(true);
    expect((await state(db)).get(id(1))!.status).toBe('expired');
    expect(await db.query(`select * from export_logs where export_id = $1`, [id(2)])).toEqual(liveBefore);

    // Once the second row expires too, nothing needs the object any more: it goes.
    const later = new Date(NOW.getTime() + 7 * 24 * H + 1000);
    const last = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, testDeps(db, { storage, now: () => later }).deps);
    expect(last.kind === 'finished' && last.result).toMatchObject({ total_found: 1, deleted_count: 1, logs_updated: 1, kept_shared_count: 0 });
    expect(await storage.exists(shared)).toBe(false);
  });

  it('sets export rows with invalid paths aside after 3 failed attempts with their reason and an alert; the rest proceeds', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    // The reported inputs, and a valid row beside them.
    const bad = ['/etc/passwd', 'exports/../../x.json', 'exports//x.json'];
    const expired = (i: number, path: string, expiresAt = new Date(NOW.getTime() - H)): Fx => ({
      id: id(i), status: 'completed', path, expiresAt, completedAt: new Date(NOW.getTime() - 29 * H),
      createdAt: new Date(NOW.getTime() - 30 * H), hasFile: false, size: 10,
    });
    await load(db, storage, bad.map((p, i) => expired(i + 1, p)));
    await storage.put('exports/ok-1.json', 'x');
    await load(db, storage, [{ ...expired(11, 'exports/ok-1.json'), hasFile: true }]);

    expect(FILE_MAX_ATTEMPTS).toBe(3);
    const claims = () =>
      db.query<{ export_key: string; attempts: number; aside: boolean; set_aside_reason: string | null }>(
        `select export_key, attempts, set_aside_at is not null as aside, set_aside_reason from cronwarden.export_file_claims order by export_key`,
      );
    const runAt = (k: number) => new Date(NOW.getTime() + k * (FILE_CLAIM_TTL_SECONDS + 1) * 1000);
    for (let k = 0; k < 3; k++) {
      if (k > 0) {
        // Another valid row falls due before each later run: it is cleaned up whatever the bad rows do.
        await storage.put(`exports/ok-${k + 1}.json`, 'x');
        await load(db, storage, [{ ...expired(11 + k, `exports/ok-${k + 1}.json`, runAt(k)), hasFile: true }]);
      }
      const out = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, testDeps(db, { storage, now: () => runAt(k) }).deps);
      expect(out.kind === 'finished' && out.result).toMatchObject({
        total_found: 4, deleted_count: 1, logs_updated: 1, failed_count: 3, set_aside_count: k < 2 ? 0 : 3,
      });
      expect(out.kind === 'finished' && out.result.errors.map((e) => [e.subject, e.message]).sort()).toEqual(
        [...bad].sort().map((p) => [p, 'invalid object path']),
      );
      expect((await claims()).map((c) => [c.export_key, c.attempts, c.aside])).toEqual(bad.map((_, i) => [id(i + 1), k + 1, k === 2]));
      expect(await storage.exists(`exports/ok-${k + 1}.json`)).toBe(false);
    }
    expect((await claims()).map((c) => c.set_aside_reason)).toEqual(bad.map(() => '3 failed attempts; last: invalid object path'));
    expect((await state(db)).get(id(1))!.status).toBe('completed');

    // The alert opens with the rows' reasons.
    const at = runAt(3);
    const { deps } = testDeps(db, { storage, now: () => at });
    const summary = await evaluateAlerts({ db, config: deps.config, log: deps.log, now: at, rules: allRules, channels: [], features: deps.features });
    expect(summary.changes.find((c) => c.rule_id === 'exports.files_set_aside')).toMatchObject({ subject: 'global', transition: 'opened', value: 3 });

    // Later runs leave them alone; a new due row still proceeds.
    await storage.put('exports/ok-4.json', 'x');
    await load(db, storage, [{ ...expired(14, 'exports/ok-4.json', at), hasFile: true }]);
    const later = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, deps);
    expect(later.kind === 'finished' && later.result).toMatchObject({ total_found: 1, deleted_count: 1, failed_count: 0, set_aside_count: 0, errors: [] });
    expect(later.kind === 'finished' && later.status).toBe('succeeded');
    expect((await claims()).map((c) => c.attempts)).toEqual([3, 3, 3]);
  });

  it('dry run counts what it would remove and changes nothing', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    const fx = fixture();
    await load(db, storage, fx);
    const before = await db.query(`select * from export_logs order by export_id`);
    const filesBefore = await storage.list('');
    const { deps, logs } = testDeps(db, { storage, now: () => NOW });

    const out = await runJob(exportFileCleanupJob, { input: {}, dryRun: true }, deps);
    const dueRows = due(fx);
    expect(out.kind === 'finished' && out.result).toMatchObject({
      dry_run: true,
      total_found: dueRows.length,
      would_delete_count: dueRows.filter((f) => f.path).length,
      would_free_bytes: dueRows.reduce((s, f) => s + (f.size ?? 0), 0),
      deleted_count: 0,
      logs_updated: 0,
      rows_affected: 0,
    });
    expect(await db.query(`select * from export_logs order by export_id`)).toEqual(before);
    expect(await storage.list('')).toEqual(filesBefore);
    expect(logs.ofType('export_file_cleanup_complete')[0]).toMatchObject({ dry_run: true, total_found: dueRows.length });
  });

  it('cleanupOldExports removes by age instead of expiry (route: ?retentionHours=)', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    const fx = fixture();
    await load(db, storage, fx);
    const { deps } = testDeps(db, { storage, now: () => NOW });
    // Completed more than 12 h ago: the nine due ones plus the one that expires in 5 h.
    const old = fx.filter((f) => f.status === 'completed' && f.completedAt! <= new Date(NOW.getTime() - 12 * H));
    expect(old).toHaveLength(10);

    const dry = await cleanupOldExports(deps, 12, { dryRun: true });
    expect(dry).toMatchObject({ mode: 'retention', retention_hours: 12, total_found: 10 });

    const out = await runJob(exportFileCleanupJob, { input: { retentionHours: 12 }, dryRun: false }, deps);
    expect(out.kind === 'finished' && out.result).toMatchObject({ mode: 'retention', total_found: 10, logs_updated: 10, failed_count: 0 });
    const after = await state(db);
    for (const f of fx) expect(after.get(f.id)!.status).toBe(old.includes(f) ? 'expired' : f.status);
    expect(() => cleanupOldExports(deps, 0)).toThrow(RangeError);
  });

  it("skips rows claimed by a run that is still live and takes them once that claim has timed out", async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    const fx = fixture();
    await load(db, storage, fx);
    // A run that claimed three rows at NOW and then died.
    const claimed = await db.rpc<{ export_id: string }>('export_claim_expired_files', {
      p_batch_size: 3,
      p_claim_ttl_seconds: FILE_CLAIM_TTL_SECONDS,
      p_now: NOW,
    });
    expect(claimed).toHaveLength(3);
    const { deps } = testDeps(db, { storage, now: () => NOW });
    const during = await exportFileCleanup({ ...deps, now: () => new Date(NOW.getTime() + 60_000) });
    expect(during).toMatchObject({ total_found: 6, logs_updated: 6 });
    const stillClaimed = await state(db);
    for (const c of claimed) expect(stillClaimed.get(c.export_id)!.status).toBe('completed');

    const later = new Date(NOW.getTime() + (FILE_CLAIM_TTL_SECONDS + 1) * 1000);
    const preview = await exportFileCleanup({ ...deps, now: () => later }, { dryRun: true });
    expect(preview.total_found).toBe(3);
    const after = await exportFileCleanup({ ...deps, now: () => later });
    expect(after).toMatchObject({ total_found: 3, logs_updated: 3 });
    // Taken twice (the dead run's claim, then this run's), done: their claims are gone with them.
    const final = await state(db);
    for (const c of claimed) expect(final.get(c.export_id)).toMatchObject({ status: 'expired', cleanup_claimed_at: null });
    expect(await db.query(`select * from cronwarden.export_file_claims`)).toEqual([]);
  });

  it('two cleanups running at once never take the same row', async () => {
    const db = await engine.fresh();
    const local = tempStorage();
    const fx = fixture();
    await load(db, local, fx);
    const a = failingStorage(local, new Set());
    const b = failingStorage(local, new Set());
    const { deps } = testDeps(db, { now: () => NOW });
    const [ra, rb] = await Promise.all([
      exportFileCleanup({ ...deps, storage: a }, { batchSize: 2 }),
      exportFileCleanup({ ...deps, storage: b }, { batchSize: 2 }),
    ]);
    const paths = [...a.removeCalls.flat(), ...b.removeCalls.flat()];
    expect(new Set(paths).size).toBe(paths.length);
    expect(ra.total_found + rb.total_found).toBe(9);
    expect(ra.logs_updated + rb.logs_updated).toBe(9);
  });

  it('when storage is down nothing is marked expired and the run is failed', async () => {
    const db = await engine.fresh();
    const local = tempStorage();
    const fx = fixture();
    await load(db, local, fx);
    const storage = failingStorage(local, new Set(), { throwAll: true });
    const { deps } = testDeps(db, { storage, now: () => NOW });
    const out = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, deps);
    // The row without a file path needs no storage: it is the only one expired.
    expect(out.kind === 'finished' && out.result).toMatchObject({ total_found: 9, deleted_count: 0, failed_count: 8, logs_updated: 1 });
    const after = await state(db);
    expect(fx.filter((f) => after.get(f.id)!.status !== f.status).map((f) => f.path)).toEqual([null]);

    // With every removal failing and nothing else to do, the run reports failure.
    const db2 = await engine.fresh();
    const local2 = tempStorage();
    await load(db2, local2, fx.filter((f) => f.path));
    const out2 = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, testDeps(db2, { storage: failingStorage(local2, new Set(), { throwAll: true }), now: () => NOW }).deps);
    expect(out2.kind === 'finished' && out2.status).toBe('failed');
  });

  it('claims the next batch while this batch\'s files are removed, and a run stopped by its budget leaves nothing it claimed unfinished', async () => {
    const db = await engine.fresh();
    const local = tempStorage();
    const fx = fixture();
    await load(db, local, fx);
    const events: string[] = [];
    const watched: Db = {
      driver: db.driver,
      async rpc(name, args) {
        if (name === 'export_claim_expired_files') events.push('claim');
        return db.rpc(name, args);
      },
      close: () => db.close(),
    };
    const storage: Storage = {
      ...failingStorage(local, new Set()),
      async remove(paths) {
        events.push('remove begins');
        const res = await local.remove(paths);
        events.push('remove ends');
        return res;
      },
    };
    // Room for the first claim and one claim ahead, then none.
    let room = 2;
    const budget = { hasTimeFor: () => room-- > 0 };
    const { deps } = testDeps(watched, { storage, now: () => NOW });
    const first = await exportFileCleanup(deps, { batchSize: 2, budget });
    expect(first).toMatchObject({ batches: 2, total_found: 4, logs_updated: 4, partial: true });
    // The second claim went out before the first batch's files were removed.
    expect(events.slice(0, 3)).toEqual(['claim', 'claim', 'remove begins']);
    expect(events.filter((e) => e === 'claim')).toHaveLength(2);
    // Every claimed row was finished: none waits out the claim's TTL.
    expect(await db.query(`select export_key from cronwarden.export_file_claims`)).toEqual([]);

    // The next run, right away, takes the rest.
    const rest = await exportFileCleanup(testDeps(db, { storage: local, now: () => NOW }).deps, { batchSize: 2 });
    expect(rest).toMatchObject({ total_found: due(fx).length - 4, partial: false, failed_count: 0 });
    expect(first.logs_updated + rest.logs_updated).toBe(due(fx).length);
  });

  it('deleteExportFile removes one file and treats a missing one as removed', async () => {
    const storage = tempStorage();
    await storage.put('exports/a.json', '{}');
    expect(await deleteExportFile(storage, 'exports/a.json')).toEqual({ removed: true });
    expect(await storage.exists('exports/a.json')).toBe(false);
    expect(await deleteExportFile(storage, 'exports/a.json')).toEqual({ removed: true });
    expect(await deleteExportFile(storage, '../etc/passwd')).toMatchObject({ removed: false, error: expect.stringMatching(/Invalid object path/) });
    const broken = failingStorage(storage, new Set(['exports/b.json']));
    expect(await deleteExportFile(broken, 'exports/b.json')).toEqual({ removed: false, error: 'HTTP 500: internal error' });
  });
});

describe.skipIf(!hasPostgres())('export file claims under a race (three connections, real PostgreSQL)', () => {
  const claim = (db: SqlDb, batch: number) =>
    db.query<{ export_id: string }>(`select export_id from cronwarden.export_claim_expired_files($1, $2, null, $3)`, [batch, FILE_CLAIM_TTL_SECONDS, NOW]);

  it('a run whose snapshot predates another run\'s committed claim does not take that row again', async () => {
    const url = await freshPostgresUrl();
    const [a, b, c] = [PostgresDb.connect(url, 1), PostgresDb.connect(url, 1), PostgresDb.connect(url, 1)];
    try {
      const fx = fixture();
      await load(a, tempStorage(), fx);
      // The two oldest due rows, in the claim's order (expiry, then id).
      const [first, second] = due(fx).sort((x, y) => x.expiresAt!.getTime() - y.expiresAt!.getTime() || x.id.localeCompare(y.id));

      // C: an uncommitted (timed-out) claim on the first row, so that B, once it has read its
      // snapshot and locked that row, waits on C's insert.
      const cHolds = deferred();
      const cEnd = deferred();
      const cTx = c
        .transaction(async (tx) => {
          await tx.query(`insert into cronwarden.export_file_claims (export_key, claimed_at, attempts) values ($1, $2, 1)`, [
            first.id,
            new Date(NOW.getTime() - 24 * H),
          ]);
          cHolds.resolve();
          await cEnd.promise;
          throw new Error('rolled back on purpose');
        })
        .catch(() => undefined);
      await cHolds.promise;

      const bClaim = claim(b, 2);
      for (let i = 0; ; i++) {
        const [w] = await a.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`,
        );
        if (w.n > 0) break;
        if (i > 400) throw new Error('the second claimer never waited on the first row');
        await new Promise((r) => setTimeout(r, 25));
      }
      // A: B holds the first row, so A takes the second and commits its claim.
      expect((await claim(a, 1)).map((r) => r.export_id)).toEqual([second.id]);
      cEnd.resolve();
      await cTx;
      // B read its snapshot before A's claim existed; it must still not take the second row.
      expect((await bClaim).map((r) => r.export_id)).toEqual([first.id]);
      const claims = await a.query<{ export_key: string; attempts: number }>(
        `select export_key, attempts from cronwarden.export_file_claims order by export_key`,
      );
      expect(claims).toEqual([first, second].map((f) => ({ export_key: f.id, attempts: 1 })).sort((x, y) => x.export_key.localeCompare(y.export_key)));
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });
});

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
