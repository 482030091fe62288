import { describe, expect, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import type { Db, SqlDb } from '../../src/lib/db/types';
import { AppError } from '../../src/lib/http/errors';
import { storageCleanupRetryJob } from '../../src/lib/jobs/storage-cleanup-retry';
import type { Budget } from '../../src/lib/cron/types';
import type { RemoveResult, Storage } from '../../src/lib/storage/types';
import { classifyDeletionError, deleteUser, type DeleteUserDeps } from '../../src/lib/users/delete-user';
import { describeEngines } from '../support/db';
import { tempStorage, testDeps } from '../support/deps';

const NOW = new Date('2026-11-20T12:00:00.000Z');

const U = {
  admin: '11111111-1111-4111-8111-111111111111',
  member: '22222222-2222-4222-8222-222222222222',
  guest: '33333333-3333-4333-8333-333333333333',
  other: '44444444-4444-4444-8444-444444444444',
};

/** rows per user: [type, dispatches, addresses, uploads, sessions, preferences] */
const PLAN: Record<string, [string, number, number, number, number, boolean]> = {
  [U.admin]: ['admin', 2, 1, 2, 1, true],
  [U.member]: ['member', 3, 2, 3, 2, true],
  [U.guest]: ['guest', 1, 0, 1, 0, false],
  [U.other]: ['member', 0, 1, 0, 1, true],
};

const TABLES = ['users', 'dispatches', 'addresses', 'file_uploads', 'user_sessions', 'user_preferences'] as const;

async function fixture(db: SqlDb, storage: Storage) {
  let n = 0;
  const id = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
  for (const [userId, [type, d, a, f, s, p]] of Object.entries(PLAN)) {
    await db.query(`insert into users (id, email, type, created_at) values ($1, $2, $3, $4)`, [
      userId,
      `${type}-${userId.slice(0, 4)}@example.com`,
      type,
      new Date('2026-01-01T00:00:00Z'),
    ]);
    for (let i = 0; i < d; i++) await db.query(`insert into dispatches (id, user_id, status) values ($1, $2, 'pending')`, [id(), userId]);
    for (let i = 0; i < a; i++) await db.query(`insert into addresses (id, user_id, line1, city) values ($1, $2, $3, 'Austin')`, [id(), userId, `${i} Main St`]);
    for (let i = 0; i < f; i++) {
      const path = `uploads/${userId}/file-${i}.txt`;
      await db.query(`insert into file_uploads (id, user_id, storage_path, size_bytes) values ($1, $2, $3, 5)`, [id(), userId, path]);
      await storage.put(path, `data${i}`);
    }
    for (let i = 0; i < s; i++) await db.query(`insert into user_sessions (id, user_id) values ($1, $2)`, [id(), userId]);
    if (p) await db.query(`insert into user_preferences (user_id, preferences) values ($1, '{"theme":"dark"}')`, [userId]);
  }
  await storage.put('other/keep.txt', 'unrelated');
}

type Snapshot = Record<(typeof TABLES)[number], Record<string, unknown>[]>;

async function snapshot(db: SqlDb): Promise<Snapshot> {
  const out = {} as Snapshot;
  for (const t of TABLES) out[t] = await db.query(`select * from ${t} order by 1`);
  return out;
}

function withoutUser(s: Snapshot, userId: string): Snapshot {
  const out = {} as Snapshot;
  for (const t of TABLES) out[t] = s[t].filter((r) => (t === 'users' ? r.id !== userId : r.user_id !== userId));
  return out;
}

async function auditRows(db: SqlDb) {
  return db.query<{
    id: string;
    actor: string;
    target_id: string;
    status: string;
    duration_ms: number | null;
    error_type: string | null;
    error_message: string | null;
    details: Record<string, unknown>;
    created_at: Date;
  }>(`select * from cronwarden.audit_logs where action = 'USER_DELETION' order by created_at, id`);
}

async function paths(storage: Storage) {
  return (await storage.list('')).map((o) => o.path);
}

async function setup(db: SqlDb, storage: Storage = tempStorage()) {
  const { deps, logs } = testDeps(db, { now: () => NOW, storage });
  await fixture(db, storage);
  const del: DeleteUserDeps = { db, storage, log: deps.log, now: deps.now, archivePrefix: deps.config.exports.archivePrefix };
  return { deps, del, logs, storage };
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => {
      throw new Error('expected the deletion to fail');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  return err as AppError;
}

/** A test-only trigger on users: raises, or sleeps, when one given user is deleted. */
async function userTrigger(db: SqlDb, userId: string, body: string) {
  await db.exec(`
    create or replace function test_user_delete_hook() returns trigger language plpgsql as $f$
    begin
      if old.id = '${userId}' then ${body} end if;
      return old;
    end $f$;
    create trigger test_user_delete_hook before delete on users for each row execute function test_user_delete_hook();
  `);
}

describe('classifyDeletionError', () => {
  it.each([
    ['P0002', 'not_found'],
    ['57014', 'timeout'],
    ['55P03', 'conflict'],
    ['40001', 'conflict'],
    ['40P01', 'conflict'],
    ['23503', 'conflict'],
    ['XX000', 'db_error'],
    [undefined, 'db_error'],
  ])('SQLSTATE %s → %s', (code, type) => {
    expect(classifyDeletionError(Object.assign(new Error('x'), { code }))).toBe(type);
  });
});

describeEngines('user deletion', (engine) => {
  it("removes exactly the user's rows and files, and leaves every other user's intact", async () => {
    const db = await engine.fresh();
    const { del, logs, storage } = await setup(db);
    const before = await snapshot(db);
    const filesBefore = await paths(storage);

    const result = await deleteUser(del, U.member, { actor: 'tester' });

    expect(result).toMatchObject({
      user_id: U.member,
      user_type: 'member',
      deleted: { dispatches: 3, addresses: 2, file_uploads: 3, sessions: 2, preferences: 1 },
      storage: { objects: 3, removed: 3, failed: 0, queued: 0 },
    });
    expect(await snapshot(db)).toEqual(withoutUser(before, U.member));
    expect(await paths(storage)).toEqual(filesBefore.filter((p) => !p.startsWith(`uploads/${U.member}/`)));
    expect(filesBefore.filter((p) => p.startsWith(`uploads/${U.member}/`))).toHaveLength(3);

    const audit = await auditRows(db);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actor: 'tester', target_id: U.member, status: 'success', error_type: null, id: result.audit_id });
    expect(audit[0].created_at.toISOString()).toBe(NOW.toISOString());
    expect(audit[0].duration_ms).toBe(result.duration_ms);
    expect(audit[0].details).toMatchObject({
      user_type: 'member',
      deleted: { dispatches: 3, addresses: 2, file_uploads: 3, sessions: 2, preferences: 1 },
      storage: { objects: 3, removed: 3, failed: 0, queued: 0 },
    });
    expect(await db.query(`select user_id, user_type from cronwarden.deleted_users`)).toEqual([{ user_id: U.member, user_type: 'member' }]);
    expect(await db.query(`select * from cronwarden.user_deletions_in_progress`)).toEqual([]);
    expect(logs.ofType('user_deletion')).toHaveLength(1);

    // A second deletion of the same user is a 404, recorded as such; nothing else changes.
    const after = await snapshot(db);
    const err = await rejection(deleteUser({ ...del, now: () => new Date(NOW.getTime() + 1000) }, U.member, { actor: 'tester' }));
    expect([err.status, err.code]).toEqual([404, 'USER_NOT_FOUND']);
    expect(await snapshot(db)).toEqual(after);
    expect((await auditRows(db)).map((a) => [a.status, a.error_type])).toEqual([
      ['success', null],
      ['failure', 'not_found'],
    ]);
  });

  it('a failure after the child rows were deleted rolls all of it back and records a failed audit row', async () => {
    const db = await engine.fresh();
    const { del, logs, storage } = await setup(db);
    // Raises inside delete_user_cascade after dispatches, addresses and uploads were deleted.
    await userTrigger(db, U.admin, `raise exception 'simulated failure deleting %', old.id;`);
    const before = await snapshot(db);
    const filesBefore = await paths(storage);

    const err = await rejection(deleteUser(del, U.admin, { actor: 'tester' }));
    expect([err.status, err.code]).toEqual([500, 'DELETION_FAILED']);

    expect(await snapshot(db)).toEqual(before);
    expect(await paths(storage)).toEqual(filesBefore);
    expect(await db.query(`select * from cronwarden.deleted_users`)).toEqual([]);
    expect(await db.query(`select * from cronwarden.user_deletions_in_progress`)).toEqual([]);
    const audit = await auditRows(db);
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ target_id: U.admin, status: 'failure', error_type: 'db_error', id: err.details?.audit_id });
    expect(audit[0].error_message).toContain('simulated failure deleting');
    expect(audit[0].details).toMatchObject({ sqlstate: 'P0001' });
    expect(typeof audit[0].duration_ms).toBe('number');
    expect(logs.ofType('user_deletion_failed')[0]).toMatchObject({ error_type: 'db_error', user_id: U.admin });

    // The same user deletes fine once the cause is gone.
    await db.exec(`drop trigger test_user_delete_hook on users`);
    const ok = await deleteUser(del, U.admin, { actor: 'tester' });
    expect(ok.deleted).toEqual({ dispatches: 2, addresses: 1, file_uploads: 2, sessions: 1, preferences: 1, export_logs: 0 });
    expect(await snapshot(db)).toEqual(withoutUser(before, U.admin));
  });

  it('answers 400 for a malformed id (no audit row) and 404 for an unknown user (audited)', async () => {
    const db = await engine.fresh();
    const { del } = await setup(db);
    const before = await snapshot(db);
    for (const bad of ['not-a-uuid', '', '11111111-1111-4111-8111-11111111111', "1' or '1'='1"]) {
      const err = await rejection(deleteUser(del, bad, { actor: 'tester' }));
      expect([err.status, err.code]).toEqual([400, 'INVALID_USER_ID']);
    }
    expect(await auditRows(db)).toEqual([]);

    const unknown = '99999999-9999-4999-8999-999999999999';
    const err = await rejection(deleteUser(del, unknown, { actor: 'tester' }));
    expect([err.status, err.code]).toEqual([404, 'USER_NOT_FOUND']);
    const audit = await auditRows(db);
    expect(audit.map((a) => [a.target_id, a.status, a.error_type])).toEqual([[unknown, 'failure', 'not_found']]);
    expect(await snapshot(db)).toEqual(before);
    expect(await db.query(`select * from cronwarden.user_deletions_in_progress`)).toEqual([]);
  });

  it('answers 409 while another deletion of the same user holds its claim, and takes over an expired claim', async () => {
    const db = await engine.fresh();
    const { del } = await setup(db);
    const holder = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
    const [claim] = await db.query<{ acquired: boolean }>(
      `select * from cronwarden.user_deletion_begin(p_user_id => $1, p_attempt_id => $2, p_actor => 'other', p_ttl_seconds => 300, p_now => $3)`,
      [U.guest, holder, NOW],
    );
    expect(claim.acquired).toBe(true);
    const before = await snapshot(db);

    const err = await rejection(deleteUser(del, U.guest, { actor: 'tester' }));
    expect([err.status, err.code]).toEqual([409, 'DELETION_IN_PROGRESS']);
    expect(err.details?.holder_attempt_id).toBe(holder);
    expect(await snapshot(db)).toEqual(before);
    expect(await db.query(`select attempt_id from cronwarden.user_deletions_in_progress`)).toEqual([{ attempt_id: holder }]);
    expect((await auditRows(db)).map((a) => [a.target_id, a.error_type])).toEqual([[U.guest, 'conflict']]);

    // 301 s later the holder is presumed dead: its claim expired and the deletion goes ahead.
    const later = new Date(NOW.getTime() + 301_000);
    const result = await deleteUser({ ...del, now: () => later }, U.guest, { actor: 'tester' });
    expect(result.deleted).toEqual({ dispatches: 1, addresses: 0, file_uploads: 1, sessions: 0, preferences: 0, export_logs: 0 });
    expect(await db.query(`select * from cronwarden.user_deletions_in_progress`)).toEqual([]);
  });

  it('two simultaneous deletions of one user: one deletes, the other gets 409', async () => {
    const db = await engine.fresh();
    const { del } = await setup(db);
    await userTrigger(db, U.member, `perform pg_sleep(0.3);`);
    const before = await snapshot(db);
    const outcomes = await Promise.allSettled([
      deleteUser(del, U.member, { actor: 'first' }),
      deleteUser(del, U.member, { actor: 'second' }),
    ]);
    const ok = outcomes.filter((o) => o.status === 'fulfilled');
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    expect(ok).toHaveLength(1);
    expect(refused).toHaveLength(1);
    expect(refused[0].reason).toMatchObject({ status: 409, code: 'DELETION_IN_PROGRESS' });
    expect(await snapshot(db)).toEqual(withoutUser(before, U.member));
    expect((await auditRows(db)).map((a) => [a.status, a.error_type]).sort()).toEqual([
      ['failure', 'conflict'],
      ['success', null],
    ]);
  });

  it('a deletion that overruns its deadline is rolled back and answered as STATEMENT_TIMEOUT (504)', async () => {
    const db = await engine.fresh();
    const { del, storage } = await setup(db);
    await userTrigger(db, U.other, `perform pg_sleep(0.3);`);
    const before = await snapshot(db);
    const filesBefore = await paths(storage);

    const err = await rejection(deleteUser(del, U.other, { actor: 'tester', statementTimeoutMs: 100 }));
    expect([err.status, err.code]).toEqual([504, 'STATEMENT_TIMEOUT']);
    expect(err.details).toMatchObject({ retryable: true });

    expect(await snapshot(db)).toEqual(before);
    expect(await paths(storage)).toEqual(filesBefore);
    const audit = await auditRows(db);
    expect(audit.map((a) => [a.target_id, a.status, a.error_type])).toEqual([[U.other, 'failure', 'timeout']]);
    expect(audit[0].details).toMatchObject({ sqlstate: '57014' });
    // At least the deadline (the sleep may not even have started when a loaded machine reaches it).
    expect(audit[0].duration_ms).toBeGreaterThanOrEqual(100);
    expect(await db.query(`select * from cronwarden.user_deletions_in_progress`)).toEqual([]);
  });

  it('queues a stored file whose removal fails, and the retry job removes it later', async () => {
    const db = await engine.fresh();
    const local = tempStorage();
    let failing = true;
    const blocked = `uploads/${U.admin}/file-1.txt`;
    const flaky: Storage = {
      driver: 'local',
      put: (p, b) => local.put(p, b),
      get: (p) => local.get(p),
      exists: (p) => local.exists(p),
      list: (p, o) => local.list(p, o),
      async remove(ps): Promise<RemoveResult> {
        if (!failing) return local.remove(ps);
        const res = await local.remove(ps.filter((p) => p !== blocked));
        return ps.includes(blocked) ? { ...res, failed: [...res.failed, { path: blocked, error: 'HTTP 503: storage unavailable' }] } : res;
      },
    };
    const { del, deps, logs } = await setup(db, flaky);

    const result = await deleteUser(del, U.admin, { actor: 'tester' });
    expect(result.storage).toEqual({ objects: 2, removed: 1, kept: 0, failed: 1, queued: 1 });
    expect(await local.exists(blocked)).toBe(true);
    expect(await local.exists(`uploads/${U.admin}/file-0.txt`)).toBe(false);
    const queued = await db.query<{ storage_path: string; source: string; reference_id: string; attempts: number; last_error: string }>(
      `select storage_path, source, reference_id, attempts, last_error from cronwarden.storage_cleanup_queue`,
    );
    // The attempt's entry (recorded with the deletion) stays, due at once for the retry job.
    const [success] = await auditRows(db);
    expect(queued).toEqual([
      { storage_path: blocked, source: 'user_deletion', reference_id: success.details.attempt_id, attempts: 0, last_error: 'HTTP 503: storage unavailable' },
    ]);
    expect(logs.ofType('user_deletion_storage_queued')).toHaveLength(1);
    expect(success.details).toMatchObject({ storage: { objects: 2, removed: 1, kept: 0, failed: 1, queued: 1 } });

    // The retry job while storage still fails: the entry stays, rescheduled 30 minutes later.
    const jobDeps = { ...deps, now: () => new Date(NOW.getTime() + 3_600_000) };
    const first = await runJob(storageCleanupRetryJob, { input: {}, dryRun: false }, jobDeps);
    expect(first.kind).toBe('finished');
    if (first.kind !== 'finished') return;
    expect(first.result).toMatchObject({ removed_count: 0, failed_count: 1, pending_count: 1, status: 'failed' });
    const [entry] = await db.query<{ attempts: number; next_attempt_at: Date }>(`select attempts, next_attempt_at from cronwarden.storage_cleanup_queue`);
    expect(entry.attempts).toBe(1);
    expect(entry.next_attempt_at.toISOString()).toBe(new Date(NOW.getTime() + 3_600_000 + 30 * 60_000).toISOString());

    // Not due yet 10 minutes later; due and removed once storage works again.
    const dry = await runJob(storageCleanupRetryJob, { input: {}, dryRun: true }, { ...deps, now: () => new Date(NOW.getTime() + 4_200_000) });
    expect(dry.kind === 'finished' && dry.result).toMatchObject({ would_retry_count: 0, pending_count: 1 });
    failing = false;
    const second = await runJob(storageCleanupRetryJob, { input: {}, dryRun: false }, { ...deps, now: () => new Date(NOW.getTime() + 7_200_000) });
    expect(second.kind === 'finished' && second.result).toMatchObject({ removed_count: 1, failed_count: 0, pending_count: 0, status: 'succeeded' });
    expect(await local.exists(blocked)).toBe(false);
    expect(await db.query(`select * from cronwarden.storage_cleanup_queue`)).toEqual([]);
  });

  it('queues every file when the storage call itself throws', async () => {
    const db = await engine.fresh();
    const local = tempStorage();
    const down: Storage = {
      driver: 'local',
      put: (p, b) => local.put(p, b),
      get: (p) => local.get(p),
      exists: (p) => local.exists(p),
      list: (p, o) => local.list(p, o),
      remove: async () => {
        throw new Error('connect ECONNREFUSED');
      },
    };
    const { del } = await setup(db, down);
    const result = await deleteUser(del, U.member, { actor: 'tester' });
    expect(result.storage).toEqual({ objects: 3, removed: 0, kept: 0, failed: 3, queued: 3 });
    expect((await db.query<{ storage_path: string }>(`select storage_path from cronwarden.storage_cleanup_queue order by storage_path`)).map((r) => r.storage_path)).toEqual([
      `uploads/${U.member}/file-0.txt`,
      `uploads/${U.member}/file-1.txt`,
      `uploads/${U.member}/file-2.txt`,
    ]);
  });

  it("removes the user's export logs and their files, keeps a file another live row still needs and anything under the archive prefix, and keeps export metrics without the id", async () => {
    const db = await engine.fresh();
    const { del, storage } = await setup(db);
    const exportRow = (id: string, user: string, status: string, file: string | null, expires: Date | null) =>
      db.query(
        `insert into export_logs (export_id, user_id, format, status, file_path, created_at, completed_at, expires_at)
         values ($1, $2, 'json', $3, $4, $5, $5, $6)`,
        [id, user, status, file, new Date(NOW.getTime() - 3_600_000), expires],
      );
    const later = new Date(NOW.getTime() + 86_400_000);
    await exportRow('e0000000-0000-4000-8000-000000000001', U.member, 'completed', `exports/${U.member}/mine.json`, later);
    await exportRow('e0000000-0000-4000-8000-000000000002', U.member, 'failed', null, null);
    // The member's export and the other user's live export share one file: it must stay.
    await exportRow('e0000000-0000-4000-8000-000000000003', U.member, 'completed', 'exports/shared.json', later);
    await exportRow('e0000000-0000-4000-8000-000000000004', U.other, 'completed', 'exports/shared.json', later);
    for (const p of [`exports/${U.member}/mine.json`, 'exports/shared.json', 'archive/export-logs/2026/11/20/logs.ndjson.gz']) await storage.put(p, 'x');
    // An upload row that names an archive object: the row goes, the archive never.
    await db.query(`insert into file_uploads (user_id, storage_path) values ($1, 'archive/export-logs/2026/11/20/logs.ndjson.gz')`, [U.member]);
    const metric = (exportId: string, user: string) =>
      db.query(
        `insert into cronwarden.export_metrics (export_id, user_id, format, status, duration_ms, conversation_count, count_range, created_at)
         values ($1, $2, 'json', 'completed', 1200, 40, 'small', $3)`,
        [exportId, user, NOW],
      );
    await metric('m1', U.member);
    await metric('m2', U.member);
    await metric('m3', U.other);

    const result = await deleteUser(del, U.member, { actor: 'tester' });

    expect(result.deleted).toEqual({ dispatches: 3, addresses: 2, file_uploads: 4, sessions: 2, preferences: 1, export_logs: 3 });
    expect(result.storage).toEqual({ objects: 6, removed: 4, kept: 2, failed: 0, queued: 0 });
    expect(await db.query(`select export_id, user_id from export_logs order by export_id`)).toEqual([
      { export_id: 'e0000000-0000-4000-8000-000000000004', user_id: U.other },
    ]);
    expect(await storage.exists(`exports/${U.member}/mine.json`)).toBe(false);
    expect(await storage.exists('exports/shared.json')).toBe(true);
    expect(await storage.exists('archive/export-logs/2026/11/20/logs.ndjson.gz')).toBe(true);
    expect(await db.query(`select * from cronwarden.storage_cleanup_queue`)).toEqual([]);
    // No bound table holds the user's id any more; the metrics keep their counts, not the person.
    for (const t of ['users', 'dispatches', 'addresses', 'file_uploads', 'user_sessions', 'user_preferences', 'export_logs']) {
      const col = t === 'users' ? 'id' : 'user_id';
      expect(await db.query(`select count(*)::int as n from ${t} where ${col} = $1`, [U.member]), t).toEqual([{ n: 0 }]);
    }
    expect(await db.query(`select export_id, user_id, duration_ms, conversation_count from cronwarden.export_metrics order by export_id`)).toEqual([
      { export_id: 'm1', user_id: null, duration_ms: 1200, conversation_count: 40 },
      { export_id: 'm2', user_id: null, duration_ms: 1200, conversation_count: 40 },
      { export_id: 'm3', user_id: U.other, duration_ms: 1200, conversation_count: 40 },
    ]);
  });

  it('accepts the id in any spelling its type reads, and records it as the users table has it', async () => {
    const db = await engine.fresh();
    const { del } = await setup(db);
    const result = await deleteUser(del, U.guest.toUpperCase(), { actor: 'tester' });
    expect(result.user_id).toBe(U.guest);
    expect((await auditRows(db)).map((a) => a.target_id)).toEqual([U.guest]);
  });

  it('the retry job checks again before it removes: a path in use again or under the archive prefix leaves the queue, its object stays', async () => {
    const db = await engine.fresh();
    const { deps, storage } = await setup(db);
    const reused = `uploads/${U.other}/reused.txt`;
    const archived = 'archive/export-logs/2026/11/01/logs.ndjson.gz';
    const gone = 'uploads/left-behind/old.txt';
    for (const p of [reused, archived, gone]) await storage.put(p, 'x');
    await db.rpc('storage_cleanup_enqueue', { p_paths: [reused, archived, gone, '../outside.txt'], p_now: NOW });
    // A new upload took the queued path before the retry ran.
    await db.query(`insert into file_uploads (user_id, storage_path) values ($1, $2)`, [U.other, reused]);

    const out = await runJob(storageCleanupRetryJob, { input: {}, dryRun: false }, { ...deps, now: () => new Date(NOW.getTime() + 60_000) });
    expect(out.kind === 'finished' && out.result).toMatchObject({ removed_count: 1, kept_count: 2, failed_count: 0, pending_count: 0, partial: false });
    expect(out.kind === 'finished' && out.result.errors).toEqual([{ subject: '../outside.txt', message: 'invalid object path: dropped from the queue' }]);
    expect(await storage.exists(reused)).toBe(true);
    expect(await storage.exists(archived)).toBe(true);
    expect(await storage.exists(gone)).toBe(false);
    expect(await db.query(`select * from cronwarden.storage_cleanup_queue`)).toEqual([]);
  });

  it('never reports done while due entries remain, against a stand-in that cuts every answer at 1000 rows as PostgREST does', async () => {
    const db = await engine.fresh();
    const { deps } = await setup(db);
    await db.query(
      `insert into cronwarden.storage_cleanup_queue (storage_path, source, created_at, next_attempt_at)
       select 'uploads/bulk/' || lpad(n::text, 5, '0') || '.bin', 'user_deletion', $1, $1 from generate_series(1, 2500) n`,
      [NOW],
    );
    expect(await db.rpc('storage_cleanup_due', { p_limit: 5000, p_now: NOW })).toHaveLength(1000);
    const capped = cappedAt1000(db);
    const run = (budget: Budget) =>
      storageCleanupRetryJob.run({ ...deps, db: capped, runId: 'r', input: { batchSize: 5000 }, dryRun: false, startedAt: NOW, budget });
    // A budget with room for one batch: 1000 done, the rest still due, so the run is partial.
    let room = 1;
    const oneBatch: Budget = { deadline: 0, remainingMs: () => 0, hasTimeFor: () => room-- > 0 };
    expect(await run(oneBatch)).toMatchObject({ removed_count: 1000, pending_count: 1500, partial: true });
    const plenty: Budget = { deadline: 0, remainingMs: () => 60_000, hasTimeFor: () => true };
    expect(await run(plenty)).toMatchObject({ removed_count: 1500, pending_count: 0, partial: false, batches: 2 });
  });

  it('delete_user_cascade answers counts, and the deletion pages its 2,500 paths through a stand-in that cuts answers at 1000 rows', async () => {
    const db = await engine.fresh();
    const { del, storage } = await setup(db);
    await db.query(
      `insert into file_uploads (user_id, storage_path)
       select $1::uuid, 'uploads/' || $1::text || '/bulk-' || lpad(n::text, 5, '0') || '.bin' from generate_series(1, 2500) n`,
      [U.other],
    );
    const bulk = Array.from({ length: 2500 }, (_, i) => `uploads/${U.other}/bulk-${String(i + 1).padStart(5, '0')}.bin`);
    for (const p of bulk) await storage.put(p, 'x');

    const result = await deleteUser({ ...del, db: cappedAt1000(db) }, U.other, { actor: 'tester' });

    expect(result.deleted.file_uploads).toBe(2500);
    expect(result.storage).toEqual({ objects: 2500, removed: 2500, kept: 0, failed: 0, queued: 0 });
    expect((await paths(storage)).filter((p) => p.startsWith(`uploads/${U.other}/`))).toEqual([]);
    expect(await db.query(`select count(*)::int as n from cronwarden.storage_cleanup_queue`)).toEqual([{ n: 0 }]);
  });
});

/** The Db port as Supabase's PostgREST serves it: every set-returning answer cut at max-rows = 1000. */
function cappedAt1000(db: SqlDb): Db {
  return {
    driver: 'supabase',
    rpc: async <T,>(fn: string, args?: Record<string, unknown>) => (await db.rpc<T>(fn, args)).slice(0, 1000),
    close: async () => {},
  };
}
