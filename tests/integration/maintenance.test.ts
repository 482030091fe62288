import { expect, it } from 'vitest';
import { evaluateAlerts } from '../../src/lib/alerts/engine';
import { allRules } from '../../src/lib/alerts/rules';
import { maintenanceRules, maintenanceStepFailedRule, stuckImportRunsRule, tempUploadsSetAsideRule } from '../../src/lib/alerts/rules/maintenance';
import { bindFeatures } from '../../src/lib/bindings/apply';
import { FeatureUnavailableError, type FeatureStates } from '../../src/lib/bindings/features';
import { parseCronwardenConfig, type Bindings } from '../../src/lib/bindings/spec';
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { maintenanceJob, maintenanceSummary, TEMP_UPLOAD_MAX_ATTEMPTS, type MaintenanceInput, type MaintenanceResult } from '../../src/lib/jobs/maintenance';
import { runHistoryPruneJob } from '../../src/lib/jobs/run-history-prune';
import { readMaintenanceStatus } from '../../src/lib/monitoring/maintenance-status';
import type { Storage } from '../../src/lib/storage/types';
import { describeEngines } from '../support/db';
import { captureLogs, tempStorage, testConfig, testDeps } from '../support/deps';

const S = 1000;
const H = 60 * 60 * S;
const D = 24 * H;
/** The fixed "now" of every test. */
const T = new Date('2026-11-20T03:00:00.000Z');
const before = (ms: number, from = T) => new Date(from.getTime() - ms).toISOString();
const uid = (group: number, n: number) => `00000000-0000-4000-8${String(group).padStart(3, '0')}-${String(n).padStart(12, '0')}`;

type RunStatus = 'queued' | 'processing' | 'completed' | 'failed' | 'cancelled';

async function addRun(
  db: SqlDb,
  id: string,
  status: RunStatus,
  updatedAt: string,
  o: { startedAt?: string; finishedAt?: string | null; error?: string | null } = {},
) {
  await db.query(
    `insert into import_runs (id, status, created_at, started_at, updated_at, finished_at, error) values ($1, $2, $3, $4, $5, $6, $7)`,
    [id, status, o.startedAt ?? updatedAt, o.startedAt ?? updatedAt, updatedAt, o.finishedAt ?? null, o.error ?? null],
  );
}

async function addRawItems(db: SqlDb, runId: string, ids: string[]) {
  for (const [i, id] of ids.entries()) {
    await db.query(`insert into raw_import_items (id, run_id, payload) values ($1, $2, $3)`, [id, runId, { row: i + 1 }]);
  }
}

async function addUpload(db: SqlDb, storage: Storage | null, id: string, path: string, createdAt: string, size = 100) {
  await db.query(`insert into temp_uploads (id, storage_path, size_bytes, created_at) values ($1, $2, $3, $4)`, [id, path, size, createdAt]);
  if (storage) await storage.put(path, 'x'.repeat(size));
}

async function addJob(
  db: SqlDb,
  id: string,
  status: RunStatus,
  createdAt: string,
  finishedAt: string | null,
  o: { errorSummary?: string; compactedAt?: string } = {},
) {
  await db.query(
    `insert into import_jobs (id, status, payload, result, counts, error_summary, created_at, finished_at, compacted_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      id,
      status,
      { file: `tmp/${id}.csv`, rows: Array.from({ length: 20 }, (_, i) => ({ i, name: `row ${i}` })) },
      { inserted: 17, failedRows: [3, 9, 12] },
      { total: 20, succeeded: 17, failed: 3 },
      o.errorSummary ?? null,
      createdAt,
      finishedAt,
      o.compactedAt ?? null,
    ],
  );
}

async function tables(db: SqlDb) {
  return {
    import_runs: await db.query(`select * from import_runs order by id`),
    raw_import_items: await db.query(`select * from raw_import_items order by id`),
    temp_uploads: await db.query(`select * from temp_uploads order by id`),
    import_jobs: await db.query(`select * from import_jobs order by id`),
  };
}

const ids = async (db: SqlDb, sql: string) => (await db.query<{ id: string }>(sql)).map((r) => r.id);

/** A storage whose remove throws (the service is down) or fails for some paths. */
function brokenStorage(inner: Storage, mode: { throws?: boolean; failPaths?: string[] }): Storage {
  return {
    driver: inner.driver,
    put: (p, b, o) => inner.put(p, b, o),
    get: (p) => inner.get(p),
    exists: (p) => inner.exists(p),
    list: (p, o) => inner.list(p, o),
    async remove(paths) {
      if (mode.throws) throw new Error('storage unavailable: 503 Service Unavailable');
      const bad = new Set(mode.failPaths ?? []);
      const res = await inner.remove(paths.filter((p) => !bad.has(p)));
      return { removed: res.removed, failed: [...res.failed, ...paths.filter((p) => bad.has(p)).map((path) => ({ path, error: 'permission denied' }))] };
    },
  };
}

async function runMaintenance(
  db: SqlDb,
  o: { now?: Date; storage?: Storage; input?: MaintenanceInput; dryRun?: boolean; bindings?: Bindings; features?: FeatureStates } = {},
) {
  const { deps, logs } = testDeps(db, { now: () => o.now ?? T, storage: o.storage, bindings: o.bindings, features: o.features });
  const out = await runJob(maintenanceJob, { input: o.input ?? {}, dryRun: o.dryRun ?? false }, deps);
  if (out.kind !== 'finished') throw new Error(`maintenance did not finish: ${out.kind}`);
  return { out, result: out.result as unknown as MaintenanceResult & typeof out.result, logs };
}

/**
 * One fixture with something due in every step, and its neighbours that are not:
 *   stuck runs: 2 (heartbeat 24 h + 1 s and 3 days old); kept: exactly 24 h, 24 h - 1 s, fresh heartbeat
 *   temp uploads: 2 expired (24 h + 1 s, 2 days); kept: exactly 24 h, 1 h
 *   import jobs: 2 due (completed and cancelled, ended 7 d + 1 s ago); kept: exactly 7 d, processing, compacted
 *   raw items: 3 of a run failed 30 d + 1 s ago; kept: 2 of a run failed exactly 30 d ago, 1 of a completed run
 */
async function fullFixture(db: SqlDb, storage: Storage) {
  await addRun(db, uid(1, 1), 'processing', before(24 * H + S));
  await addRun(db, uid(1, 2), 'processing', before(3 * D));
  await addRun(db, uid(1, 3), 'processing', before(24 * H));
  await addRun(db, uid(1, 4), 'processing', before(24 * H - S));
  await addRun(db, uid(1, 5), 'processing', before(60 * S), { startedAt: before(5 * D) });
  await addRun(db, uid(1, 6), 'failed', before(30 * D + S), { finishedAt: before(30 * D + S), error: 'bad file' });
  await addRun(db, uid(1, 7), 'failed', before(30 * D), { finishedAt: before(30 * D), error: 'bad file' });
  await addRun(db, uid(1, 8), 'completed', before(60 * D), { finishedAt: before(60 * D) });
  await addRawItems(db, uid(1, 6), [uid(2, 1), uid(2, 2), uid(2, 3)]);
  await addRawItems(db, uid(1, 7), [uid(2, 4), uid(2, 5)]);
  await addRawItems(db, uid(1, 8), [uid(2, 6)]);
  await addUpload(db, storage, uid(3, 1), 'tmp/a.csv', before(24 * H + S), 1000);
  await addUpload(db, storage, uid(3, 2), 'tmp/b.csv', before(2 * D), 2500);
  await addUpload(db, storage, uid(3, 3), 'tmp/c.csv', before(24 * H), 300);
  await addUpload(db, storage, uid(3, 4), 'tmp/d.csv', before(H), 400);
  await addJob(db, uid(4, 1), 'completed', before(8 * D), before(7 * D + S));
  await addJob(db, uid(4, 2), 'cancelled', before(8 * D), before(7 * D + S), { errorSummary: 'cancelled by user' });
  await addJob(db, uid(4, 3), 'failed', before(8 * D), before(7 * D), { errorSummary: '3 rows failed' });
  await addJob(db, uid(4, 4), 'processing', before(20 * D), null);
  await addJob(db, uid(4, 5), 'completed', before(30 * D), before(29 * D), { compactedAt: before(20 * D) });
}

describeEngines('import maintenance', (engine) => {
  it('marks runs stuck for more than 24 h failed; 24 h exactly, 24 h - 1 s and a fresh heartbeat are left alone', async () => {
    const db = await engine.fresh();
    await addRun(db, uid(1, 1), 'processing', before(24 * H + S));
    await addRun(db, uid(1, 2), 'processing', before(24 * H));
    await addRun(db, uid(1, 3), 'processing', before(24 * H - S));
    // Started five days ago but still beating: not stuck.
    await addRun(db, uid(1, 4), 'processing', before(30 * S), { startedAt: before(5 * D) });
    // Old, but not processing.
    await addRun(db, uid(1, 5), 'queued', before(10 * D));
    await addRun(db, uid(1, 6), 'completed', before(10 * D), { finishedAt: before(10 * D) });
    const untouched = await db.query(`select * from import_runs where id <> $1 order by id`, [uid(1, 1)]);

    const [row] = await db.rpc<{ marked_count: number; run_ids: string[]; has_more: boolean }>('mark_stuck_import_runs', { p_now: T });
    expect(row).toEqual({ marked_count: 1, run_ids: [uid(1, 1)], has_more: false });

    const [marked] = await db.query<{ status: string; error: string; finished_at: Date; updated_at: Date; started_at: Date }>(
      `select status, error, finished_at, updated_at, started_at from import_runs where id = $1`,
      [uid(1, 1)],
    );
    expect(marked.status).toBe('failed');
    expect(marked.error).toBe('Timed out: no progress for more than 24 hours (last heartbeat 2026-11-19T02:59:59Z)');
    expect(marked.finished_at.toISOString()).toBe(T.toISOString());
    expect(marked.updated_at.toISOString()).toBe(T.toISOString());
    expect(marked.started_at.toISOString()).toBe(before(24 * H + S));
    expect(await db.query(`select * from import_runs where id <> $1 order by id`, [uid(1, 1)])).toEqual(untouched);

    // One second later the run at exactly 24 h is past the threshold too.
    const [next] = await db.rpc<{ marked_count: number; run_ids: string[] }>('mark_stuck_import_runs', { p_now: new Date(T.getTime() + S) });
    expect(next).toMatchObject({ marked_count: 1, run_ids: [uid(1, 2)] });
  });

  it('marks stuck runs in batches of p_batch_size, oldest heartbeat first, and honors ?hours', async () => {
    const db = await engine.fresh();
    for (let i = 1; i <= 5; i++) await addRun(db, uid(1, i), 'processing', before(2 * H + i * S));
    const call = async () =>
      (await db.rpc<{ marked_count: number; run_ids: string[]; has_more: boolean }>('mark_stuck_import_runs', { p_hours: 2, p_batch_size: 2, p_now: T }))[0];
    expect(await call()).toEqual({ marked_count: 2, run_ids: [uid(1, 5), uid(1, 4)], has_more: true });
    expect(await call()).toEqual({ marked_count: 2, run_ids: [uid(1, 3), uid(1, 2)], has_more: true });
    expect(await call()).toEqual({ marked_count: 1, run_ids: [uid(1, 1)], has_more: false });

    // Through the job: hours=1 marks a run whose heartbeat is 1 h + 1 s old, not one at 1 h.
    await addRun(db, uid(1, 6), 'processing', before(H + S));
    await addRun(db, uid(1, 7), 'processing', before(H));
    const { result } = await runMaintenance(db, { input: { hours: 1, batchSize: 1 } });
    expect(result.stuckRunsMarked).toBe(1);
    expect(result.stuckRunIds).toEqual([uid(1, 6)]);
    expect(result.thresholds.stuckHours).toBe(1);
    expect(await ids(db, `select id from import_runs where status = 'processing'`)).toEqual([uid(1, 7)]);
    expect(result.errors).toEqual([]);
  });

  it('removes temp uploads older than 24 h from storage, then their rows; 24 h exactly is kept', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    await addUpload(db, storage, uid(3, 1), 'tmp/old-1.csv', before(24 * H + S), 1000);
    await addUpload(db, storage, uid(3, 2), 'tmp/old-2.csv', before(3 * D), 2000);
    await addUpload(db, storage, uid(3, 3), 'tmp/old-3.csv', before(2 * D), 4000);
    await addUpload(db, storage, uid(3, 4), 'tmp/edge.csv', before(24 * H), 300);
    await addUpload(db, storage, uid(3, 5), 'tmp/young.csv', before(24 * H - S), 300);
    // An old row whose object a fresh upload still uses: the row goes, the object stays for the fresh one.
    await addUpload(db, storage, uid(3, 6), 'tmp/shared.csv', before(5 * D), 50);
    await addUpload(db, null, uid(3, 7), 'tmp/shared.csv', before(H), 50);
    // An old row whose object is already gone: counts as removed.
    await addUpload(db, null, uid(3, 8), 'tmp/already-gone.csv', before(2 * D), 10);

    const { result, logs } = await runMaintenance(db, { storage, input: { batchSize: 2 } });
    expect(result.tempUploadsPurged).toBe(5);
    expect(result.tempUploadObjectsKept).toBe(1);
    expect(result.tempUploadBytesFreed).toBe(1000 + 2000 + 4000 + 10);
    expect(result.tempUploadsFailed).toBe(0);
    expect(result.steps.temp_uploads).toBe('ok');
    expect(await ids(db, `select id from temp_uploads order by id`)).toEqual([uid(3, 4), uid(3, 5), uid(3, 7)]);
    expect((await storage.list('tmp/')).map((o) => o.path)).toEqual(['tmp/edge.csv', 'tmp/shared.csv', 'tmp/young.csv']);
    expect(logs.ofType('maintenance_step').find((l) => l.step === 'temp_uploads')).toMatchObject({ count: 5, status: 'ok' });
  });

  it('keeps an expired upload\'s object while a live export, a user\'s file or an upload on a later page references it, and never removes one under the archive prefix', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    const user = uid(9, 1);
    // A live export (completed, not yet expired) and a user's file point at two upload objects;
    // an expired export's path is no longer needed by it.
    await db.query(
      `insert into export_logs (export_id, user_id, format, status, file_path, created_at, expires_at) values
         ($1, $4, 'csv', 'completed', 'tmp/exported.csv', $5, $6),
         ($2, $4, 'csv', 'expired', 'tmp/expired-export.csv', $5, $5),
         ($3, $4, 'csv', 'completed', 'tmp/other.csv', $5, $6)`,
      [uid(8, 1), uid(8, 2), uid(8, 3), user, before(2 * D), new Date(T.getTime() + 7 * D).toISOString()],
    );
    await db.query(`insert into file_uploads (id, user_id, storage_path, size_bytes) values ($1, $2, 'tmp/avatar.png', 5)`, [uid(8, 9), user]);
    await addUpload(db, storage, uid(3, 1), 'tmp/exported.csv', before(2 * D), 100);
    await addUpload(db, storage, uid(3, 2), 'tmp/avatar.png', before(2 * D), 200);
    await addUpload(db, storage, uid(3, 3), 'tmp/expired-export.csv', before(2 * D), 300);
    await addUpload(db, storage, uid(3, 4), 'archive/export-logs/2026/11/01/export-logs-x.ndjson.gz', before(2 * D), 400);
    // Two expired rows of one object, on different pages (batchSize 1): the object goes with the last.
    await addUpload(db, storage, uid(3, 5), 'tmp/twice.csv', before(2 * D), 500);
    await addUpload(db, null, uid(3, 6), 'tmp/twice.csv', before(3 * D), 500);

    const [page] = await db.rpc<{ id: string; path_in_use: boolean }>('list_expired_temp_uploads', { p_batch_size: 1, p_after_id: uid(3, 4), p_now: T });
    expect(page).toMatchObject({ id: uid(3, 5), path_in_use: true });
    // The dry run counts the rows exactly; rows of one object on one page are judged together.
    const dry = await runMaintenance(db, { storage, dryRun: true });
    expect(dry.result).toMatchObject({ tempUploadsPurged: 6, tempUploadObjectsKept: 3, tempUploadBytesFreed: 300 + 500 + 500 });
    const { result } = await runMaintenance(db, { storage, input: { batchSize: 1 } });
    expect(result).toMatchObject({ tempUploadsPurged: 6, tempUploadObjectsKept: 4, tempUploadBytesFreed: 300 + 500, tempUploadsFailed: 0, errors: [] });
    expect(await ids(db, `select id from temp_uploads order by id`)).toEqual([]);
    expect((await storage.list()).map((o) => o.path)).toEqual([
      'archive/export-logs/2026/11/01/export-logs-x.ndjson.gz',
      'tmp/avatar.png',
      'tmp/exported.csv',
    ]);
  });

  it('keeps the rows whose objects could not be removed, reports them, and removes them on the next run', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    await addUpload(db, storage, uid(3, 1), 'tmp/ok-1.csv', before(2 * D), 10);
    await addUpload(db, storage, uid(3, 2), 'tmp/locked.csv', before(2 * D), 20);
    await addUpload(db, storage, uid(3, 3), 'tmp/ok-2.csv', before(2 * D), 30);
    await addUpload(db, null, uid(3, 4), '../escape.csv', before(2 * D), 40);

    const flaky = brokenStorage(storage, { failPaths: ['tmp/locked.csv'] });
    const { result } = await runMaintenance(db, { storage: flaky, input: { batchSize: 2 } });
    expect(result.tempUploadsPurged).toBe(2);
    expect(result.tempUploadsFailed).toBe(2);
    expect(result.errors).toEqual([
      { subject: 'temp_uploads:tmp/locked.csv', message: 'permission denied; row kept for the next run' },
      { subject: `temp_uploads:${uid(3, 4)}`, message: 'not a valid storage path: "../escape.csv"; row kept for the next run' },
    ]);
    expect(await ids(db, `select id from temp_uploads order by id`)).toEqual([uid(3, 2), uid(3, 4)]);
    expect(await storage.exists('tmp/locked.csv')).toBe(true);

    const again = await runMaintenance(db, { storage, now: new Date(T.getTime() + D) });
    expect(again.result.tempUploadsPurged).toBe(1);
    expect(await ids(db, `select id from temp_uploads order by id`)).toEqual([uid(3, 4)]);
    expect(await storage.exists('tmp/locked.csv')).toBe(false);
  });

  it('sets an expired temp upload aside after 3 failed runs (invalid path, storage refusing it) with its reason and an alert; later runs skip it and the rest proceeds', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    const flaky = brokenStorage(storage, { failPaths: ['tmp/locked.csv'] });
    // The reported input: a row whose path leaves the storage root, 48 h old.
    await addUpload(db, null, uid(3, 1), '../outside.csv', before(48 * H), 40);
    await addUpload(db, storage, uid(3, 2), 'tmp/locked.csv', before(48 * H), 20);
    const attempts = () =>
      db.query<{ upload_key: string; attempts: number; aside: boolean; set_aside_reason: string | null }>(
        `select upload_key, attempts, set_aside_at is not null as aside, set_aside_reason from cronwarden.temp_upload_attempts order by upload_key`,
      );
    const alertCtx = (now: Date) => ({ db, config: testConfig(), now, log: captureLogs().log });

    expect(TEMP_UPLOAD_MAX_ATTEMPTS).toBe(3);
    for (let run = 1; run <= 3; run++) {
      const now = new Date(T.getTime() + (run - 1) * D);
      // A fresh, valid upload expires before each run: it is removed whatever the stuck rows do.
      await addUpload(db, storage, uid(4, run), `tmp/ok-${run}.csv`, before(25 * H, now), 10);
      const { out, result, logs } = await runMaintenance(db, { storage: flaky, now });
      expect(out.status).toBe('succeeded');
      expect(result.tempUploadsPurged).toBe(1);
      expect(result.tempUploadsFailed).toBe(2);
      const outcome = run < 3 ? 'row kept for the next run' : 'set aside after 3 failed attempts';
      expect(result.errors).toEqual([
        { subject: `temp_uploads:${uid(3, 1)}`, message: `not a valid storage path: "../outside.csv"; ${outcome}` },
        { subject: 'temp_uploads:tmp/locked.csv', message: `permission denied; ${outcome}` },
      ]);
      expect(result.set_aside_count).toBe(run < 3 ? 0 : 2);
      expect(logs.ofType('temp_upload_set_aside')).toHaveLength(run < 3 ? 0 : 1);
      expect((await attempts()).map((a) => [a.upload_key, a.attempts, a.aside])).toEqual([
        [uid(3, 1), run, run === 3],
        [uid(3, 2), run, run === 3],
      ]);
      expect((await tempUploadsSetAsideRule.observe(alertCtx(now)))[0].value).toBe(run < 3 ? 0 : 2);
    }
    expect((await attempts()).map((a) => a.set_aside_reason)).toEqual([
      '3 failed attempts; last: not a valid storage path: "../outside.csv"',
      '3 failed attempts; last: permission denied',
    ]);

    // The engine opens the set-aside alert, with the rows' reasons in its details.
    const day4 = new Date(T.getTime() + 3 * D);
    const { deps } = testDeps(db, { now: () => day4 });
    const summary = await evaluateAlerts({ db, config: deps.config, log: deps.log, now: day4, rules: allRules, channels: [], features: deps.features });
    const opened = summary.changes.find((c) => c.rule_id === 'maintenance.temp_uploads_set_aside');
    expect(opened).toMatchObject({ subject: 'global', transition: 'opened', value: 2 });
    const [obs] = await tempUploadsSetAsideRule.observe(alertCtx(day4));
    expect(obs.details).toMatchObject({
      samples: expect.arrayContaining([
        expect.objectContaining({ upload_id: uid(3, 1), storage_path: '../outside.csv', attempts: 3, reason: '3 failed attempts; last: not a valid storage path: "../outside.csv"' }),
      ]),
    });

    // Later runs leave the set-aside rows alone: no error, a clean run, and the rest proceeds.
    await addUpload(db, storage, uid(4, 4), 'tmp/ok-4.csv', before(25 * H, day4), 10);
    const later = await runMaintenance(db, { storage: flaky, now: day4 });
    expect(later.result).toMatchObject({ tempUploadsPurged: 1, tempUploadsFailed: 0, set_aside_count: 0, errors: [] });
    expect(later.result.steps.temp_uploads).toBe('ok');
    expect((await attempts()).map((a) => a.attempts)).toEqual([3, 3]);
    expect(await ids(db, `select id from temp_uploads order by id`)).toEqual([uid(3, 1), uid(3, 2)]);
    expect((await maintenanceStepFailedRule.observe(alertCtx(day4)))[0].value).toBe(0);

    // An operator fixes the storage and releases the locked row: the next run removes it and its
    // attempts. Deleting the invalid row clears the alert; retention drops its attempts.
    expect(await db.rpc('temp_upload_release', { p_ids: [uid(3, 2)] })).toEqual([{ released: 1 }]);
    const day5 = new Date(day4.getTime() + D);
    const fixed = await runMaintenance(db, { storage, now: day5 });
    expect(fixed.result).toMatchObject({ tempUploadsPurged: 1, errors: [] });
    expect(await storage.exists('tmp/locked.csv')).toBe(false);
    expect((await tempUploadsSetAsideRule.observe(alertCtx(day5)))[0].value).toBe(1);
    await db.query(`delete from temp_uploads where id = $1`, [uid(3, 1)]);
    expect((await tempUploadsSetAsideRule.observe(alertCtx(day5)))[0].value).toBe(0);
    expect(await attempts()).toHaveLength(1);
    const prune = await runJob(runHistoryPruneJob, { input: {}, dryRun: false }, testDeps(db, { now: () => day5 }).deps);
    expect(prune.kind === 'finished' && prune.result.pruned).toMatchObject({ temp_upload_attempts: 1 });
    expect(await attempts()).toEqual([]);
  });

  it('compacts finished jobs older than 7 days, keeping id, status, timing, counts and error summary; a second run changes nothing', async () => {
    const db = await engine.fresh();
    await addJob(db, uid(4, 1), 'completed', before(8 * D), before(7 * D + S));
    await addJob(db, uid(4, 2), 'failed', before(8 * D), before(7 * D + S), { errorSummary: '3 rows failed' });
    await addJob(db, uid(4, 3), 'cancelled', before(9 * D), null);
    await addJob(db, uid(4, 4), 'completed', before(8 * D), before(7 * D));
    await addJob(db, uid(4, 5), 'completed', before(30 * D), before(1 * D));
    await addJob(db, uid(4, 6), 'processing', before(30 * D), null);
    await addJob(db, uid(4, 7), 'queued', before(30 * D), null);
    const beforeRows = await db.query<Record<string, unknown>>(`select * from import_jobs order by id`);

    const { result } = await runMaintenance(db, { input: { batchSize: 2 } });
    expect(result.importJobsCompacted).toBe(3);
    expect(result.importJobBytesFreed).toBeGreaterThan(0);
    const after = await db.query<Record<string, unknown>>(`select * from import_jobs order by id`);
    const due = new Set([uid(4, 1), uid(4, 2), uid(4, 3)]);
    for (const [i, row] of after.entries()) {
      const was = beforeRows[i];
      if (due.has(row.id as string)) {
        expect(row).toEqual({ ...was, payload: null, result: null, compacted_at: T });
      } else {
        expect(row).toEqual(was);
      }
    }
    expect(after.find((r) => r.id === uid(4, 2))).toMatchObject({
      status: 'failed',
      counts: { total: 20, succeeded: 17, failed: 3 },
      error_summary: '3 rows failed',
    });

    const second = await runMaintenance(db);
    expect(second.result.importJobsCompacted).toBe(0);
    expect(second.result.importJobBytesFreed).toBe(0);
    expect(await db.query(`select * from import_jobs order by id`)).toEqual(after);
    const [direct] = await db.rpc('compact_old_import_jobs', { p_now: T });
    expect({ ...direct, bytes_freed: Number(direct.bytes_freed) }).toEqual({ compacted_count: 0, bytes_freed: 0, has_more: false });

    // One second later the job that ended exactly 7 days before T is due, and only it.
    const [later] = await db.rpc<{ compacted_count: number }>('compact_old_import_jobs', { p_now: new Date(T.getTime() + S) });
    expect(later.compacted_count).toBe(1);
    expect(await ids(db, `select id from import_jobs where compacted_at is not null order by id`)).toEqual([uid(4, 1), uid(4, 2), uid(4, 3), uid(4, 4)]);
  });

  it('deletes raw items of runs that failed more than 30 days ago, in batches', async () => {
    const db = await engine.fresh();
    await addRun(db, uid(1, 1), 'failed', before(30 * D + S), { finishedAt: before(30 * D + S) });
    await addRun(db, uid(1, 2), 'failed', before(30 * D), { finishedAt: before(30 * D) });
    await addRun(db, uid(1, 3), 'completed', before(90 * D), { finishedAt: before(90 * D) });
    // No finished_at: its last update is when it failed.
    await addRun(db, uid(1, 4), 'failed', before(31 * D));
    await addRawItems(db, uid(1, 1), [uid(2, 1), uid(2, 2), uid(2, 3)]);
    await addRawItems(db, uid(1, 2), [uid(2, 4), uid(2, 5)]);
    await addRawItems(db, uid(1, 3), [uid(2, 6)]);
    await addRawItems(db, uid(1, 4), [uid(2, 7)]);

    const call = async () =>
      (await db.rpc<{ deleted_count: number; has_more: boolean }>('purge_failed_run_raw_items', { p_batch_size: 3, p_now: T }))[0];
    expect(await call()).toEqual({ deleted_count: 3, has_more: true });
    expect(await call()).toEqual({ deleted_count: 1, has_more: false });
    expect(await ids(db, `select id from raw_import_items order by id`)).toEqual([uid(2, 4), uid(2, 5), uid(2, 6)]);
    expect(await ids(db, `select id from import_runs order by id`)).toEqual([uid(1, 1), uid(1, 2), uid(1, 3), uid(1, 4)]);
  });

  it('runs all four steps with exact counts and answers the seed summary', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    await fullFixture(db, storage);
    const { out, result, logs } = await runMaintenance(db, { storage, input: { batchSize: 1 } });
    expect(out.status).toBe('succeeded');
    expect(result).toMatchObject({
      stuckRunsMarked: 2,
      tempUploadsPurged: 2,
      importJobsCompacted: 2,
      rawItemsPurged: 3,
      tempUploadsFailed: 0,
      tempUploadBytesFreed: 3500,
      rows_affected: 9,
      errors: [],
      partial: false,
      steps: { stuck_runs: 'ok', temp_uploads: 'ok', compact_import_jobs: 'ok', raw_items: 'ok' },
    });
    expect([...result.stuckRunIds].sort()).toEqual([uid(1, 1), uid(1, 2)]);
    expect(maintenanceSummary(out.result)).toEqual({
      timestamp: out.result.timestamp,
      stuckRunsMarked: 2,
      tempUploadsPurged: 2,
      importJobsCompacted: 2,
      rawItemsPurged: 3,
      errors: [],
      runId: out.runId,
      dryRun: false,
      partial: false,
    });
    expect(logs.ofType('maintenance_summary')).toHaveLength(1);
    const [run] = await db.query<{ status: string; rows_affected: string | number }>(`select status, rows_affected from cronwarden.cron_job_runs where job = 'maintenance'`);
    expect(run.status).toBe('succeeded');
    expect(Number(run.rows_affected)).toBe(9);
    // Nothing is due any more.
    const status = await readMaintenanceStatus(db, T);
    expect(status).toMatchObject({ stuckRuns: 0, oldTempUploads: 0, oldRawItems: 0, jobsDueForCompaction: 0 });
  });

  it('reports a failing step (storage down) in errors while the other steps complete', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    await fullFixture(db, storage);
    const uploadsBefore = await db.query(`select * from temp_uploads order by id`);
    const { out, result, logs } = await runMaintenance(db, { storage: brokenStorage(storage, { throws: true }) });
    expect(out.status).toBe('succeeded');
    expect(result.errors).toEqual([{ subject: 'temp_uploads', message: 'storage unavailable: 503 Service Unavailable' }]);
    expect(result.steps).toEqual({ stuck_runs: 'ok', temp_uploads: 'failed', compact_import_jobs: 'ok', raw_items: 'ok' });
    expect(result).toMatchObject({ stuckRunsMarked: 2, tempUploadsPurged: 0, importJobsCompacted: 2, rawItemsPurged: 3, failed: false });
    expect(await db.query(`select * from temp_uploads order by id`)).toEqual(uploadsBefore);
    expect((await storage.list('tmp/')).length).toBe(4);
    expect(logs.ofType('maintenance_step_failed')).toMatchObject([{ step: 'temp_uploads' }]);
    expect(maintenanceSummary(out.result).errors).toEqual(['temp_uploads: storage unavailable: 503 Service Unavailable']);

    // The "maintenance step failed" alert sees it; a clean run clears it.
    const ctx = { db, config: testConfig(), now: T, log: captureLogs().log };
    const [obs] = await maintenanceStepFailedRule.observe(ctx);
    expect(obs).toMatchObject({ subject: 'maintenance', value: 1, details: { run_id: out.runId, error_count: 1 } });
    await runMaintenance(db, { storage, now: new Date(T.getTime() + H) });
    expect((await maintenanceStepFailedRule.observe({ ...ctx, now: new Date(T.getTime() + H) }))[0].value).toBe(0);
  });

  it('reports a failing SQL step while the others complete, and fails the run only when every step fails', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    await fullFixture(db, storage);
    await db.exec(`
      create function test_refuse() returns trigger language plpgsql as $$
      begin raise exception 'import_jobs is read-only during the test'; end; $$;
      create trigger test_refuse_jobs before update on import_jobs for each row execute function test_refuse();`);
    const { result } = await runMaintenance(db, { storage });
    expect(result.errors).toEqual([{ subject: 'compact_import_jobs', message: 'import_jobs is read-only during the test' }]);
    expect(result).toMatchObject({ stuckRunsMarked: 2, tempUploadsPurged: 2, importJobsCompacted: 0, rawItemsPurged: 3, failed: false });

    // Every step broken: the run is recorded failed.
    await db.exec(`
      create trigger test_refuse_runs before update on import_runs for each row execute function test_refuse();
      create trigger test_refuse_items before delete on raw_import_items for each row execute function test_refuse();`);
    await addRun(db, uid(1, 20), 'processing', before(2 * D));
    await addRun(db, uid(1, 21), 'failed', before(40 * D), { finishedAt: before(40 * D) });
    await addRawItems(db, uid(1, 21), [uid(2, 20)]);
    await addUpload(db, storage, uid(3, 20), 'tmp/late.csv', before(2 * D));
    const { out } = await runMaintenance(db, { storage: brokenStorage(storage, { throws: true }), now: new Date(T.getTime() + H) });
    expect(out.status).toBe('failed');
    expect(out.result.errors.map((e) => e.subject)).toEqual(['stuck_runs', 'temp_uploads', 'compact_import_jobs', 'raw_items']);
    const [run] = await db.query<{ status: string; error: string }>(`select status, error from cronwarden.cron_job_runs where id = $1`, [out.runId]);
    expect(run.status).toBe('failed');
    expect(run.error).toContain('stuck_runs: import_jobs is read-only during the test');
    expect((await maintenanceStepFailedRule.observe({ db, config: testConfig(), now: T, log: captureLogs().log }))[0].value).toBe(4);
  });

  it('dry run changes nothing (tables and storage) and reports exactly what the real run then does', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    await fullFixture(db, storage);
    const snapshot = await tables(db);
    const objects = await storage.list();

    const dry = await runMaintenance(db, { storage, dryRun: true, input: { batchSize: 1 } });
    expect(await tables(db)).toEqual(snapshot);
    expect(await storage.list()).toEqual(objects);
    expect(dry.out.result.dry_run).toBe(true);
    expect(dry.result).toMatchObject({
      stuckRunsMarked: 2,
      tempUploadsPurged: 2,
      tempUploadBytesFreed: 3500,
      importJobsCompacted: 2,
      rawItemsPurged: 3,
      rows_affected: 0,
      errors: [],
    });

    const real = await runMaintenance(db, { storage });
    for (const k of ['stuckRunsMarked', 'tempUploadsPurged', 'tempUploadBytesFreed', 'importJobsCompacted', 'importJobBytesFreed', 'rawItemsPurged'] as const) {
      expect(real.result[k], k).toBe(dry.result[k]);
    }
  });

  it('run_maintenance_cleanup() runs the SQL-only steps with one summary and isolates a failing step', async () => {
    const db = await engine.fresh();
    await fullFixture(db, tempStorage());
    const dry = await db.query(`select * from run_maintenance_cleanup(p_dry_run => true, p_now => $1)`, [T]);
    expect(dry).toEqual([
      { stuck_runs_marked: 2, import_jobs_compacted: 2, raw_items_purged: 3, temp_uploads_pending: 2, errors: [], ran_at: T },
    ]);
    const snapshot = await tables(db);
    await db.exec(`
      create function test_refuse() returns trigger language plpgsql as $$
      begin raise exception 'no deletes today'; end; $$;
      create trigger test_refuse_items before delete on raw_import_items for each row execute function test_refuse();`);
    const [summary] = await db.query(`select * from run_maintenance_cleanup(p_batch_size => 1, p_now => $1)`, [T]);
    expect(summary).toEqual({
      stuck_runs_marked: 2,
      import_jobs_compacted: 2,
      raw_items_purged: 0,
      temp_uploads_pending: 2,
      errors: [{ step: 'raw_items', message: 'no deletes today', sqlstate: 'P0001' }],
      ran_at: T,
    });
    const after = await tables(db);
    expect(after.raw_import_items).toEqual(snapshot.raw_import_items);
    expect(after.temp_uploads).toEqual(snapshot.temp_uploads);
    expect(await ids(db, `select id from import_runs where status = 'processing' order by id`)).toEqual([uid(1, 3), uid(1, 4), uid(1, 5)]);
    expect(await ids(db, `select id from import_jobs where compacted_at = '${T.toISOString()}' order by id`)).toEqual([uid(4, 1), uid(4, 2)]);

    // Called with no arguments, as pg_cron would.
    const [plain] = await db.query<{ stuck_runs_marked: number; errors: unknown[] }>(`select * from run_maintenance_cleanup()`);
    expect(plain.errors).toEqual([{ step: 'raw_items', message: 'no deletes today', sqlstate: 'P0001' }]);
    await expect(db.query(`select * from run_maintenance_cleanup(p_batch_size => 0)`)).rejects.toThrow(/p_batch_size must be between 1 and 10000/);
  });

  it('maintenance_status (view and function) counts what is due; the stuck-runs alert observes it', async () => {
    const db = await engine.fresh();
    await fullFixture(db, tempStorage());
    const [row] = await db.rpc('get_maintenance_status', { p_now: T });
    expect({ ...row, old_temp_upload_bytes: Number(row.old_temp_upload_bytes) }).toEqual({
      stuck_runs: 2,
      oldest_stuck_heartbeat_at: new Date(before(3 * D)),
      old_temp_uploads: 2,
      old_temp_upload_bytes: 3500,
      old_raw_items: 3,
      jobs_due_for_compaction: 2,
      checked_at: T,
    });
    // The view is the function at now(): add one run stuck relative to the wall clock.
    const wallBefore = (await db.query<Record<string, number>>(`select stuck_runs from maintenance_status`))[0].stuck_runs;
    await addRun(db, uid(1, 30), 'processing', new Date(Date.now() - 25 * H).toISOString());
    expect((await db.query<Record<string, number>>(`select stuck_runs from maintenance_status`))[0].stuck_runs).toBe(wallBefore + 1);

    const ctx = { db, config: testConfig(), now: T, log: captureLogs().log };
    expect(await stuckImportRunsRule.observe(ctx)).toEqual([
      { subject: 'global', value: 2, details: { stuck_runs: 2, oldest_stuck_heartbeat_at: before(3 * D) } },
    ]);
    expect(stuckImportRunsRule).toMatchObject({ severity: 'MEDIUM', comparison: 'gt', threshold: 0 });
    expect(maintenanceStepFailedRule).toMatchObject({ severity: 'HIGH', comparison: 'gt', threshold: 0 });
    expect(tempUploadsSetAsideRule).toMatchObject({ severity: 'MEDIUM', comparison: 'gt', threshold: 0 });
    expect(maintenanceRules).toEqual([stuckImportRunsRule, maintenanceStepFailedRule, tempUploadsSetAsideRule]);
    // No maintenance run yet: nothing to report.
    expect(await maintenanceStepFailedRule.observe(ctx)).toEqual([]);
    await runMaintenance(db);
    expect((await stuckImportRunsRule.observe(ctx))[0].value).toBe(0);
  });
  it('skips the temp-upload step when bindings.imports.tempUploads is false; the other steps run and the SQL answers nothing for it', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    await fullFixture(db, storage);
    const bindings = parseCronwardenConfig({ bindings: { imports: { tempUploads: false } } }).bindings;
    const { features } = await bindFeatures(db, bindings);
    expect(features.imports).toMatchObject({ enabled: true, bound: true });
    const uploads = await db.query(`select * from temp_uploads order by id`);

    const { out, result, logs } = await runMaintenance(db, { storage, bindings, features });
    expect(out.status).toBe('succeeded');
    expect(result.steps).toEqual({ stuck_runs: 'ok', temp_uploads: 'skipped', compact_import_jobs: 'ok', raw_items: 'ok' });
    expect(result).toMatchObject({ stuckRunsMarked: 2, tempUploadsPurged: 0, importJobsCompacted: 2, rawItemsPurged: 3, errors: [], partial: false, failed: false });
    expect(logs.ofType('maintenance_step').find((l) => l.step === 'temp_uploads')).toMatchObject({ status: 'skipped', reason: 'not bound' });
    expect(await db.query(`select * from temp_uploads order by id`)).toEqual(uploads);
    expect(await storage.list('tmp/')).toHaveLength(4);

    expect(await db.query(`select to_regclass('cronwarden.import_temp_uploads') as v`)).toEqual([{ v: null }]);
    expect(await db.rpc('list_expired_temp_uploads', { p_now: T })).toEqual([]);
    expect(await db.rpc('delete_temp_uploads', { p_ids: [uid(3, 1)], p_now: T })).toEqual([{ deleted_count: 0, bytes_freed: 0, deleted_ids: [] }]);
    expect((await db.rpc('get_maintenance_status', { p_now: T }))[0]).toMatchObject({ old_temp_uploads: 0, old_temp_upload_bytes: 0 });
    expect((await db.query(`select * from run_maintenance_cleanup(p_dry_run => true, p_now => $1)`, [T]))[0]).toMatchObject({ temp_uploads_pending: 0, errors: [] });
  });

  it('skips raw items and job compaction when bindings.imports.rawItems and jobs are false', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    await fullFixture(db, storage);
    const bindings = parseCronwardenConfig({ bindings: { imports: { rawItems: false, jobs: false } } }).bindings;
    const { features } = await bindFeatures(db, bindings);
    const before = await tables(db);

    const { out, result } = await runMaintenance(db, { storage, bindings, features });
    expect(out.status).toBe('succeeded');
    expect(result.steps).toEqual({ stuck_runs: 'ok', temp_uploads: 'ok', compact_import_jobs: 'skipped', raw_items: 'skipped' });
    expect(result).toMatchObject({ stuckRunsMarked: 2, tempUploadsPurged: 2, importJobsCompacted: 0, rawItemsPurged: 0, errors: [] });
    const after = await tables(db);
    expect(after.raw_import_items).toEqual(before.raw_import_items);
    expect(after.import_jobs).toEqual(before.import_jobs);
    expect(await db.rpc('compact_old_import_jobs', { p_now: T })).toEqual([{ compacted_count: 0, bytes_freed: 0, has_more: false }]);
    expect(await db.rpc('purge_failed_run_raw_items', { p_now: T })).toEqual([{ deleted_count: 0, has_more: false }]);
    expect((await db.rpc('get_maintenance_status', { p_now: T }))[0]).toMatchObject({ old_raw_items: 0, jobs_due_for_compaction: 0 });
    expect((await db.query(`select * from run_maintenance_cleanup(p_now => $1)`, [T]))[0]).toMatchObject({
      import_jobs_compacted: 0,
      raw_items_purged: 0,
      errors: [],
    });
  });

  it('a switched-off feature is neither run nor reachable: the job is refused, the SQL says why, the contract names are gone', async () => {
    const db = await engine.fresh();
    await fullFixture(db, tempStorage());
    const bindings = parseCronwardenConfig({ bindings: { imports: { enabled: false } } }).bindings;
    const { features } = await bindFeatures(db, bindings);
    expect(features.imports).toMatchObject({ enabled: false, bound: false });
    const snapshot = await tables(db);

    const { deps } = testDeps(db, { now: () => T, bindings, features });
    const err = await runJob(maintenanceJob, { input: {}, dryRun: false }, deps).catch((e) => e);
    expect(err).toBeInstanceOf(FeatureUnavailableError);
    expect(err).toMatchObject({ status: 503, code: 'FEATURE_DISABLED' });
    expect(maintenanceJob.feature).toBe('imports');
    expect(stuckImportRunsRule.feature).toBe('imports');
    expect(maintenanceStepFailedRule.feature).toBe('imports');

    await expect(db.rpc('mark_stuck_import_runs', { p_now: T })).rejects.toThrow(/Import maintenance is not bound to this database/);
    await expect(db.rpc('get_maintenance_status', { p_now: T })).rejects.toMatchObject({ code: '55000' });
    expect(await db.query(`select to_regclass('public.maintenance_status') as v, to_regprocedure('public.run_maintenance_cleanup(integer,integer,integer,boolean,timestamptz)') as f`)).toEqual([
      { v: null, f: null },
    ]);
    expect(await tables(db)).toEqual(snapshot);
    expect(await db.query(`select count(*)::int as n from cronwarden.cron_job_runs`)).toEqual([{ n: 0 }]);
  });
});
