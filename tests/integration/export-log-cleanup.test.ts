import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import {
  archiveExportLogs,
  cleanupUserExportLogs,
  exportLogCleanupJob,
  getCleanupStats,
  type ArchiveManifest,
} from '../../src/lib/jobs/export-log-cleanup';
import type { LocalStorage } from '../../src/lib/storage/local';
import type { Storage } from '../../src/lib/storage/types';
import { describeEngines } from '../support/db';
import { tempStorage, testConfig, testDeps } from '../support/deps';

const NOW = new Date('2026-12-01T03:00:00Z');
const DAY = 86_400_000;
const USERS = ['1a000000-0000-4000-8000-000000000001', '1a000000-0000-4000-8000-000000000002'];
const id = (i: number) => `1b000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const PREFIX = 'archive/export-logs';

interface Fx {
  id: string;
  user: string;
  status: string;
  path: string | null;
  createdAt: Date;
}

/**
 * 30 logs: 23 older than 30 days that may go (expired, failed, and two stuck in queued), two
 * old completed exports whose file is still there (kept), one exactly at the cutoff (kept: the
 * rule is "older than"), and four recent ones.
 */
function fixture(): Fx[] {
  const out: Fx[] = [];
  const add = (status: string, ageDays: number, path: string | null = null) => {
    const i = out.length + 1;
    out.push({ id: id(i), user: USERS[i % 2], status, path, createdAt: new Date(NOW.getTime() - ageDays * DAY - i * 1000) });
  };
  for (let i = 0; i < 19; i++) add(i % 4 === 0 ? 'failed' : 'expired', 31 + i * 1.5, i % 4 === 0 ? null : `exports/old-${i}.json`);
  add('queued', 40);
  add('queued', 45);
  add('failed', 30.5);
  add('expired', 90, 'exports/very-old.json');
  add('completed', 50, 'exports/still-there-1.json');
  add('completed', 35, 'exports/still-there-2.json');
  out.push({ id: id(26), user: USERS[0], status: 'expired', path: null, createdAt: new Date(NOW.getTime() - 30 * DAY) });
  add('completed', 2, 'exports/recent-1.json');
  add('failed', 10);
  add('expired', 29.9, 'exports/recent-2.json');
  add('processing', 0.1);
  return out;
}

const eligible = (fx: Fx[], days = 30) =>
  fx.filter((f) => f.createdAt.getTime() < NOW.getTime() - days * DAY && !(f.status === 'completed' && f.path));

async function load(db: SqlDb, fx: Fx[]) {
  for (const f of fx) {
    await db.rpc('export_record', {
      p_export_id: f.id,
      p_user_id: f.user,
      p_format: 'json',
      p_status: f.status,
      p_conversation_count: 42,
      p_file_path: f.path,
      p_file_size_bytes: f.path ? 1234 : null,
      p_created_at: f.createdAt,
      p_completed_at: f.status === 'queued' || f.status === 'processing' ? null : new Date(f.createdAt.getTime() + 2000),
      p_expires_at: f.path ? new Date(f.createdAt.getTime() + DAY) : null,
    });
  }
}

const remainingIds = async (db: SqlDb) =>
  (await db.query<{ export_id: string }>(`select export_id from export_logs order by export_id`)).map((r) => r.export_id);

/** Every archived row, read back from the .ndjson.gz objects, and the manifests. */
async function readArchive(storage: Storage) {
  const objects = (await storage.list(`${PREFIX}/`)).map((o) => o.path);
  const gz = objects.filter((p) => p.endsWith('.ndjson.gz'));
  const rows: Record<string, unknown>[] = [];
  const manifests: ArchiveManifest[] = [];
  for (const key of gz) {
    const bytes = (await storage.get(key))!;
    const manifest = JSON.parse(Buffer.from((await storage.get(key.replace(/\.ndjson\.gz$/, '.manifest.json')))!).toString()) as ArchiveManifest;
    expect(manifest.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    const lines = gunzipSync(bytes).toString('utf8').split('\n').filter(Boolean);
    expect(lines).toHaveLength(manifest.rows);
    manifests.push(manifest);
    rows.push(...lines.map((l) => JSON.parse(l) as Record<string, unknown>));
  }
  return { objects, gz, rows, manifests };
}

const archiveConfig = () => testConfig({ EXPORT_ARCHIVE_ENABLED: 'true', EXPORT_ARCHIVE_PREFIX: PREFIX });

/** Local storage whose put fails for keys matching `failOn`, or whose get returns altered bytes. */
function brokenStorage(inner: LocalStorage, mode: { failPutOn?: RegExp; corruptGet?: boolean }): Storage {
  return {
    driver: inner.driver,
    async put(p, b) {
      if (mode.failPutOn?.test(p)) throw new Error('PutObject failed: 503 Slow Down');
      return inner.put(p, b);
    },
    async get(p) {
      const bytes = await inner.get(p);
      if (mode.corruptGet && bytes && p.endsWith('.gz')) {
        const copy = new Uint8Array(bytes);
        copy[copy.length - 1] ^= 0xff;
        return copy;
      }
      return bytes;
    },
    exists: (p) => inner.exists(p),
    list: (p, o) => inner.list(p, o),
    remove: (ps) => inner.remove(ps),
  };
}

describeEngines('export log cleanup', (engine) => {
  it('reports eligible rows and their size, then deletes exactly those in batches', async () => {
    const db = await engine.fresh();
    const fx = fixture();
    await load(db, fx);
    const { deps, logs } = testDeps(db, { now: () => NOW });
    const elig = eligible(fx);
    expect(elig).toHaveLength(23);

    const stats = await getCleanupStats(deps);
    const [bytes] = await db.query<{ b: number }>(
      `select sum(pg_column_size(l.*))::float8 as b from export_logs l where export_id = any($1::uuid[])`,
      [elig.map((f) => f.id)],
    );
    expect(stats).toMatchObject({
      retention_days: 30,
      total_logs: fx.length,
      eligible_for_cleanup: 23,
      kept_with_live_file: 2,
      estimated_bytes: Number(bytes.b),
      oldest_eligible_at: new Date(Math.min(...elig.map((f) => f.createdAt.getTime()))).toISOString(),
      newest_eligible_at: new Date(Math.max(...elig.map((f) => f.createdAt.getTime()))).toISOString(),
    });
    expect(stats.estimated_bytes).toBeGreaterThan(23 * 50);

    const out = await runJob(exportLogCleanupJob, { input: { batchSize: 5 }, dryRun: false }, deps);
    expect(out.kind === 'finished' && out.result).toMatchObject({
      deleted_count: 23,
      archived_count: 0,
      archive_enabled: false,
      batches: 5,
      partial: false,
      status: 'succeeded',
      retention_days: 30,
    });
    const keep = fx.filter((f) => !elig.includes(f)).map((f) => f.id).sort();
    expect(await remainingIds(db)).toEqual(keep);
    expect(logs.ofType('export_log_cleanup_complete')[0]).toMatchObject({ deleted_count: 23 });

    // retentionDays from the route
    const again = await runJob(exportLogCleanupJob, { input: { retentionDays: 5 }, dryRun: false }, deps);
    const elig5 = eligible(fx, 5).filter((f) => !elig.includes(f));
    expect(again.kind === 'finished' && again.result).toMatchObject({ deleted_count: elig5.length, retention_days: 5 });
    expect(elig5.length).toBe(3);
  });

  it('archives each batch (gzipped NDJSON + manifest, verified) before deleting exactly its rows', async () => {
    const db = await engine.fresh();
    const fx = fixture();
    await load(db, fx);
    const storage = tempStorage();
    const before = new Map(
      (await db.query<Record<string, unknown>>(`select to_jsonb(l) as doc from export_logs l`)).map((r) => {
        const doc = r.doc as Record<string, unknown>;
        return [doc.export_id as string, doc];
      }),
    );
    const { deps, logs } = testDeps(db, { storage, config: archiveConfig(), now: () => NOW });
    const out = await runJob(exportLogCleanupJob, { input: { batchSize: 5 }, dryRun: false }, deps);
    const elig = eligible(fx);
    expect(out.kind === 'finished' && out.result).toMatchObject({
      archive_enabled: true,
      deleted_count: 23,
      archived_count: 23,
      archive_objects: 5,
      batches: 5,
      status: 'succeeded',
    });
    const archive = await readArchive(storage);
    expect(archive.gz).toHaveLength(5);
    expect(archive.objects).toHaveLength(10);
    expect(out.kind === 'finished' && [...(out.result.archive_keys as string[])].sort()).toEqual(archive.gz);
    expect(archive.manifests.map((m) => m.rows).sort()).toEqual([3, 5, 5, 5, 5]);
    // The archive holds each deleted row once, exactly as it was.
    expect(archive.rows.map((r) => r.export_id).sort()).toEqual(elig.map((f) => f.id).sort());
    for (const row of archive.rows) expect(row).toEqual(before.get(row.export_id as string));
    expect(await remainingIds(db)).toEqual(fx.filter((f) => !elig.includes(f)).map((f) => f.id).sort());
    expect(logs.ofType('export_logs_archived')).toHaveLength(5);
    // Objects are filed under the day of their first row.
    for (const m of archive.manifests) expect(m.object.startsWith(`${PREFIX}/${m.first_created_at.slice(0, 4)}/${m.first_created_at.slice(5, 7)}/`)).toBe(true);
  });

  it('deletes nothing when the archive cannot be written or does not verify', async () => {
    for (const mode of [{ failPutOn: /\.ndjson\.gz$/ }, { failPutOn: /\.manifest\.json$/ }, { corruptGet: true }]) {
      const db = await engine.fresh();
      const fx = fixture();
      await load(db, fx);
      const storage = brokenStorage(tempStorage(), mode);
      const { deps, logs } = testDeps(db, { storage, config: archiveConfig(), now: () => NOW });
      const out = await runJob(exportLogCleanupJob, { input: { batchSize: 5 }, dryRun: false }, deps);
      expect(out.kind).toBe('finished');
      if (out.kind !== 'finished') return;
      expect(out.status).toBe('failed');
      expect(out.result).toMatchObject({ deleted_count: 0, archived_count: 0, batches: 0 });
      expect(out.result.errors[0].subject).toBe('archive');
      expect(out.result.errors[0].message).toMatch(mode.corruptGet ? /sha256/ : /503 Slow Down/);
      expect(await remainingIds(db)).toHaveLength(fx.length);
      expect(logs.ofType('export_log_archive_failed')).toHaveLength(1);
    }
  });

  it('dry run reports what it would do and changes nothing', async () => {
    const db = await engine.fresh();
    const fx = fixture();
    await load(db, fx);
    const storage = tempStorage();
    const { deps } = testDeps(db, { storage, config: archiveConfig(), now: () => NOW });
    const before = await db.query(`select * from export_logs order by export_id`);
    const out = await runJob(exportLogCleanupJob, { input: { batchSize: 5 }, dryRun: true }, deps);
    expect(out.kind === 'finished' && out.result).toMatchObject({
      dry_run: true,
      would_delete_count: 23,
      would_archive_objects: 5,
      deleted_count: 0,
      rows_affected: 0,
      kept_with_live_file: 2,
    });
    expect(await db.query(`select * from export_logs order by export_id`)).toEqual(before);
    expect(await storage.list('')).toEqual([]);
  });

  it('a run stopped between batches, then rerun, archives and deletes every eligible row exactly once', async () => {
    const db = await engine.fresh();
    const fx = fixture();
    await load(db, fx);
    const local = tempStorage();
    // Each storage write "takes" 20 s of the run's budget clock.
    let clock = 0;
    const storage: Storage = {
      driver: local.driver,
      put: async (p, b) => {
        clock += 20_000;
        return local.put(p, b);
      },
      get: (p) => local.get(p),
      exists: (p) => local.exists(p),
      list: (p, o) => local.list(p, o),
      remove: (ps) => local.remove(ps),
    };
    const { deps } = testDeps(db, { storage, config: archiveConfig(), now: () => NOW });

    // A previous run archived the first batch and died before deleting it.
    const [first] = await db.rpc<{ export_ids: string[]; row_count: number; ndjson: string; first_created_at: Date; last_created_at: Date }>(
      'export_log_archive_batch',
      { p_retention_days: 30, p_batch_size: 4, p_now: NOW },
    );
    await archiveExportLogs(deps, {
      ndjson: first.ndjson,
      rowCount: first.row_count,
      firstCreatedAt: new Date(first.first_created_at),
      lastCreatedAt: new Date(first.last_created_at),
      retentionDays: 30,
      archivedAt: NOW,
    });
    clock = 0;

    // 100 s budget: two writes per batch, so three batches fit and the fourth does not start.
    const stopped = await runJob(exportLogCleanupJob, { input: { batchSize: 4 }, dryRun: false, budgetMs: 100_000, budgetClock: () => clock }, deps);
    expect(stopped.kind).toBe('finished');
    if (stopped.kind !== 'finished') return;
    expect(stopped.status).toBe('partial');
    expect(stopped.result).toMatchObject({ partial: true, batches: 3, deleted_count: 12, archived_count: 12 });
    expect(await remainingIds(db)).toHaveLength(fx.length - 12);

    const rest = await runJob(exportLogCleanupJob, { input: { batchSize: 4 }, dryRun: false }, deps);
    expect(rest.kind === 'finished' && rest.result).toMatchObject({ partial: false, batches: 3, deleted_count: 11, status: 'succeeded' });

    const elig = eligible(fx);
    const archive = await readArchive(local);
    expect(archive.gz).toHaveLength(Math.ceil(elig.length / 4)); // 6 batches, 6 objects
    const archivedIds = archive.rows.map((r) => r.export_id as string);
    expect(new Set(archivedIds).size).toBe(archivedIds.length);
    expect(archivedIds.sort()).toEqual(elig.map((f) => f.id).sort());
    expect(await remainingIds(db)).toEqual(fx.filter((f) => !elig.includes(f)).map((f) => f.id).sort());
  });

  it("cleanupUserExportLogs removes only that user's eligible logs", async () => {
    const db = await engine.fresh();
    const fx = fixture();
    await load(db, fx);
    const { deps } = testDeps(db, { now: () => NOW });
    const mine = eligible(fx).filter((f) => f.user === USERS[1]);
    const stats = await getCleanupStats(deps, { userId: USERS[1] });
    expect(stats).toMatchObject({ eligible_for_cleanup: mine.length, total_logs: fx.filter((f) => f.user === USERS[1]).length });
    const out = await cleanupUserExportLogs(deps, USERS[1], { batchSize: 3 });
    expect(out).toMatchObject({ deleted_count: mine.length, user_id: USERS[1] });
    expect(await remainingIds(db)).toEqual(fx.filter((f) => !mine.includes(f)).map((f) => f.id).sort());
    expect(() => cleanupUserExportLogs(deps, '../etc')).toThrow(RangeError);
    await expect(cleanupUserExportLogs(deps, 'not-a-uuid')).rejects.toThrow(/not an id of the bound user column/);
  });

  it('deletes at most batchSize rows per call, also when more rows than that share one instant', async () => {
    // 12 rows at one instant (4 of them kept: completed with a live file), 6 in the next
    // millisecond at microsecond steps, 3 later old ones (1 kept), 2 recent ones.
    const rows: { id: string; user: string; status: string; path: string | null; at: string }[] = [];
    const add = (status: string, at: string, path: string | null = `exports/f-${rows.length + 1}.json`) =>
      rows.push({ id: id(rows.length + 1), user: USERS[rows.length % 2], status, path, at });
    for (let i = 1; i <= 12; i++) add(i % 3 === 0 ? 'completed' : 'expired', '2026-10-01T00:00:00.000000Z');
    for (let k = 1; k <= 6; k++) add('failed', `2026-10-01T00:00:00.001${k}00Z`, null);
    add('expired', '2026-10-05T10:00:00.000001Z');
    add('completed', '2026-10-06T10:00:00Z');
    add('failed', '2026-10-07T10:00:00.999999Z', null);
    add('expired', '2026-11-30T03:00:00Z');
    add('failed', '2026-11-30T04:00:00Z', null);
    const isKept = (r: (typeof rows)[number]) => r.at >= '2026-11-01' || (r.status === 'completed' && r.path !== null);

    for (const [userId, batchSize] of [[undefined, 4], [USERS[1], 2]] as const) {
      const db = await engine.fresh();
      for (const r of rows) {
        await db.query(
          `insert into export_logs (export_id, user_id, format, status, file_path, created_at) values ($1, $2, 'json', $3, $4, $5::timestamptz)`,
          [r.id, r.user, r.status, r.path, r.at],
        );
      }
      const calls: number[] = [];
      const recording = {
        driver: db.driver,
        close: () => db.close(),
        async rpc<T>(fn: string, args?: Record<string, unknown>) {
          const out = await db.rpc<T>(fn, args);
          if (fn === 'export_delete_old_logs') calls.push(Number((out[0] as { deleted_count: number }).deleted_count));
          return out;
        },
      };
      const { deps } = testDeps(recording, { now: () => NOW });
      const out = userId
        ? await cleanupUserExportLogs(deps, userId, { batchSize })
        : (await runJob(exportLogCleanupJob, { input: { batchSize }, dryRun: false }, deps)).kind === 'finished';
      expect(out).toBeTruthy();
      const gone = rows.filter((r) => !isKept(r) && (!userId || r.user === userId));
      expect(gone.length).toBe(userId ? 7 : 16);
      expect(calls.reduce((a, b) => a + b, 0)).toBe(gone.length);
      expect(Math.max(...calls)).toBeLessThanOrEqual(batchSize);
      expect(await remainingIds(db)).toEqual(rows.filter((r) => !gone.includes(r)).map((r) => r.id).sort());
    }
  });
});
