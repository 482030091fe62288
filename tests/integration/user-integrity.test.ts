import { expect, it } from 'vitest';
import { userRules } from '../../src/lib/alerts/rules/users';
import type { SqlDb } from '../../src/lib/db/types';
import { validateUserIntegrity } from '../../src/lib/monitoring/user-integrity';
import { deleteUser } from '../../src/lib/users/delete-user';
import { describeEngines } from '../support/db';
import { captureLogs, tempStorage, testConfig } from '../support/deps';

const NOW = new Date('2026-11-20T12:00:00.000Z');

const A = 'a0000000-0000-4000-8000-000000000001'; // exists; a success audit row claims it was deleted
const B = 'b0000000-0000-4000-8000-000000000002'; // exists, clean
const C = 'c0000000-0000-4000-8000-000000000003'; // deleted with a plain DELETE: no audit row, its upload left behind
const E = 'e0000000-0000-4000-8000-000000000005'; // deleted through deleteUser: complete trail
const GONE1 = 'f1000000-0000-4000-8000-0000000000f1';
const GONE2 = 'f2000000-0000-4000-8000-0000000000f2';
const GONE3 = 'f3000000-0000-4000-8000-0000000000f3';
const row = (n: number) => `${String(n).padStart(8, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function user(db: SqlDb, id: string, type = 'member') {
  await db.query(`insert into users (id, email, type) values ($1, $2, $3)`, [id, `${id.slice(0, 2)}@example.com`, type]);
}

/** Rows the foreign keys would refuse, written the way a restore or a disabled trigger writes them. */
async function bypassingForeignKeys(db: SqlDb, sql: string, params: unknown[]) {
  await db.transaction(async (tx) => {
    await tx.exec(`set local session_replication_role = replica`);
    await tx.query(sql, params);
  });
}

async function cleanBase(db: SqlDb, storage = tempStorage()) {
  for (const id of [A, B, C, E]) await user(db, id);
  await db.query(`insert into dispatches (id, user_id) values ($1, $2)`, [row(1), B]);
  await db.query(`insert into addresses (id, user_id, line1, city) values ($1, $2, 'x', 'y')`, [row(2), B]);
  await db.query(`insert into file_uploads (id, user_id, storage_path) values ($1, $2, 'uploads/b/known.txt')`, [row(3), B]);
  await db.query(`insert into user_sessions (id, user_id) values ($1, $2)`, [row(4), B]);
  await db.query(`insert into user_preferences (user_id) values ($1)`, [B]);
  await storage.put('uploads/b/known.txt', 'k');
  await db.query(`insert into file_uploads (id, user_id, storage_path) values ($1, $2, 'uploads/e/e.txt')`, [row(5), E]);
  await storage.put('uploads/e/e.txt', 'e');
  const { log } = captureLogs();
  await deleteUser({ db, storage, log, now: () => NOW, archivePrefix: 'archive/export-logs' }, E, { actor: 'tester' });
  return storage;
}

describeEngines('user data integrity validator', (engine) => {
  it('passes on data whose deletions all went through the endpoint', async () => {
    const db = await engine.fresh();
    const storage = await cleanBase(db);
    const report = await validateUserIntegrity({ db, storage, now: NOW, batchSize: 2 });
    expect(report.data_integrity_validation).toMatchObject({ total_issues_found: 0, validation_status: 'PASSED', severity_level: 'OK' });
    expect(Object.values(report.counts).every((n) => n === 0)).toBe(true);
    expect(report.checks.audit_trail).toMatchObject({ tracked: true, deletions_recorded: 1, audited_deletions: 1 });
    expect(report.checks.manual_cleanup.file_uploads).toMatchObject({ table_name: 'public.file_uploads', user_column: 'user_id', on_delete: 'declared', scanned: 1 });
    // Every table the deletion reaches is scanned: the foreign-key children and the declared ones (the export log).
    expect(Object.keys(report.checks.manual_cleanup).sort()).toEqual(['addresses', 'dispatches', 'export_logs', 'file_uploads']);
    expect(Object.keys(report.checks.cascade_deletions).sort()).toEqual(['preferences', 'sessions']);
    expect(report.checks.storage_objects).toMatchObject({ prefix: 'uploads/', listed: 1, truncated: false, orphaned: { count: 0, paths: [] } });
    const orphanRule = userRules.find((r) => r.id === 'users.orphaned_records')!;
    const obs = await orphanRule.observe({ db, config: testConfig(), now: NOW, log: captureLogs().log });
    expect(obs).toEqual([{ subject: 'global', value: 0, details: { addresses: 0, dispatches: 0, export_logs: 0, file_uploads: 0 } }]);
  });

  it('finds exactly the orphans, dangling keys, audit gaps and stray objects a fixture plants', async () => {
    const db = await engine.fresh();
    const storage = await cleanBase(db);

    // Manual-cleanup tables: 1 dispatch and 1 address past their foreign keys, 2 uploads without a user.
    await bypassingForeignKeys(db, `insert into dispatches (id, user_id) values ($1, $2)`, [row(6), GONE1]);
    await bypassingForeignKeys(db, `insert into addresses (id, user_id, line1, city) values ($1, $2, 'x', 'y')`, [row(7), GONE1]);
    await db.query(`insert into file_uploads (id, user_id, storage_path) values ($1, $2, 'uploads/g/1.txt'), ($3, $2, 'uploads/g/2.txt')`, [row(8), GONE2, row(9)]);
    // A cascade that did not run.
    await bypassingForeignKeys(db, `insert into user_sessions (id, user_id) values ($1, $2)`, [row(10), GONE3]);
    // C deleted by hand: its upload row stays (no foreign key) and no audit row exists.
    await db.query(`insert into file_uploads (id, user_id, storage_path) values ($1, $2, 'uploads/c/c.txt')`, ['0000000c-0000-4000-8000-00000000000c', C]);
    await db.query(`delete from users where id = $1`, [C]);
    // A success audit row for a user that still exists, and one without duration or counts.
    await db.query(
      `insert into cronwarden.audit_logs (action, actor, target_type, target_id, status, duration_ms, details) values
         ('USER_DELETION', 'x', 'user', $1, 'success', 120, '{"deleted": {}}'),
         ('USER_DELETION', 'x', 'user', 'd0000000-0000-4000-8000-000000000004', 'success', null, '{}')`,
      [A],
    );
    const [incomplete] = await db.query<{ id: string }>(`select id from cronwarden.audit_logs where duration_ms is null`);
    // An object under uploads/ with no row, and one outside the prefix (not checked).
    await storage.put('uploads/stray/file.bin', 'x');
    await storage.put('other/outside.txt', 'x');

    const progress: number[] = [];
    const report = await validateUserIntegrity({ db, storage, now: NOW, batchSize: 2, onProgress: (p) => progress.push(p.done) });

    expect(report.counts).toEqual({
      orphaned_rows: 5,
      cascade_leftovers: 1,
      dangling_foreign_keys: 3,
      deletions_without_success_audit: 1,
      incomplete_audit_rows: 1,
      audited_users_still_present: 1,
      orphaned_storage_objects: 1,
    });
    const m = report.checks.manual_cleanup;
    expect(m.dispatches.samples).toEqual([{ id: row(6), user_id: GONE1 }]);
    expect(m.addresses.samples).toEqual([{ id: row(7), user_id: GONE1 }]);
    expect(m.file_uploads.samples).toEqual([
      { id: row(8), user_id: GONE2 },
      { id: row(9), user_id: GONE2 },
      { id: '0000000c-0000-4000-8000-00000000000c', user_id: C },
    ]);
    // 4 upload rows scanned two at a time: the keyset paging visited all of them.
    expect(m.file_uploads.scanned).toBe(4);
    expect(m.file_uploads.batches).toBeGreaterThanOrEqual(2);
    expect(m.dispatches.orphans + m.addresses.orphans + m.file_uploads.orphans + m.export_logs.orphans).toBe(5);
    expect(report.checks.cascade_deletions.sessions.samples).toEqual([{ id: row(10), user_id: GONE3 }]);
    expect(report.checks.cascade_deletions.preferences.orphans).toBe(0);

    const fks = Object.fromEntries(report.checks.foreign_key_constraints.map((f) => [f.constraint_name, f]));
    expect(fks.dispatches_user_id_fkey).toMatchObject({ table_name: 'public.dispatches', validated: true, enforced: true, dangling_rows: 1, on_delete: 'no action' });
    expect(fks.addresses_user_id_fkey).toMatchObject({ table_name: 'public.addresses', validated: false, dangling_rows: 1 });
    expect(fks.user_sessions_user_id_fkey).toMatchObject({ on_delete: 'cascade', dangling_rows: 1 });
    expect(fks.user_preferences_user_id_fkey).toMatchObject({ on_delete: 'cascade', dangling_rows: 0 });

    expect(report.checks.audit_trail).toEqual({
      tracked: true,
      deletions_recorded: 2,
      audited_deletions: 3,
      missing_success_audit: { count: 1, user_ids: [C] },
      incomplete_audit_rows: { count: 1, audit_ids: [incomplete.id] },
    });
    expect(report.checks.data_consistency).toEqual({ audited_but_present: { count: 1, user_ids: [A] } });
    expect(report.checks.storage_objects).toEqual({
      prefix: 'uploads/',
      listed: 2,
      truncated: false,
      orphaned: { count: 1, paths: ['uploads/stray/file.bin'] },
    });

    // 5 orphan rows + 1 cascade leftover + 1 object = 7 (> 5: WARNING); 3 violated constraints (WARNING);
    // 2 audit gaps (> 1: CRITICAL); 1 inconsistency (LOW).
    expect(report.severity_by_category).toEqual({ orphaned_records: 'WARNING', failed_constraints: 'WARNING', audit_gaps: 'CRITICAL', inconsistencies: 'LOW' });
    expect(report.data_integrity_validation).toMatchObject({ total_issues_found: 13, validation_status: 'FAILED', severity_level: 'CRITICAL' });
    expect(report.summary).toEqual({
      foreign_key_constraints: '3 issues',
      cascade_deletions: '1 issue',
      manual_cleanup: '5 issues',
      audit_trail: '2 issues',
      data_consistency: '1 issue',
      storage_objects: '1 issue',
    });
    expect(progress.length).toBeGreaterThan(5);
    expect(progress.at(-1)).toBe(progress.reduce((a, b) => Math.max(a, b), 0));

    const orphanRule = userRules.find((r) => r.id === 'users.orphaned_records')!;
    const obs = await orphanRule.observe({ db, config: testConfig(), now: NOW, log: captureLogs().log });
    expect(obs).toEqual([{ subject: 'global', value: 5, details: { addresses: 1, dispatches: 1, export_logs: 0, file_uploads: 3 } }]);
  });

  it('reports a truncated storage listing and caps the samples', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    for (let i = 0; i < 5; i++) {
      await db.query(`insert into file_uploads (user_id, storage_path) values ($1, $2)`, [GONE2, `uploads/g/${i}.txt`]);
      await storage.put(`uploads/stray/${i}.bin`, 'x');
    }
    const report = await validateUserIntegrity({ db, storage, now: NOW, sampleLimit: 2, storageListLimit: 3 });
    expect(report.counts.orphaned_rows).toBe(5);
    expect(report.checks.manual_cleanup.file_uploads.samples).toHaveLength(2);
    expect(report.checks.storage_objects).toEqual({
      prefix: 'uploads/',
      listed: 3,
      truncated: true,
      orphaned: { count: 3, paths: ['uploads/stray/0.bin', 'uploads/stray/1.bin'] },
    });
  });

  it('without a trigger feeding cronwarden.deleted_users, audit gaps are not counted and the report gives the statement that installs it', async () => {
    const db = await engine.fresh();
    await db.exec(`drop trigger users_record_deletion on users`);
    await user(db, A);
    await user(db, B);
    await db.query(`delete from users where id = $1`, [A]);
    const report = await validateUserIntegrity({ db, now: NOW });
    const statement =
      "create trigger cronwarden_record_deletion after delete on public.users for each row execute function cronwarden.users_record_deletion('id', 'type', 'created_at');";
    expect(report.checks.audit_trail).toMatchObject({
      tracked: false,
      deletions_recorded: 0,
      missing_success_audit: { count: 0, user_ids: [] },
      trigger_statement: statement,
    });
    expect(report.checks.audit_trail.note).toContain('No trigger records deletions');
    expect(report.counts.deletions_without_success_audit).toBe(0);

    // Installed as printed, the next deletion outside the endpoint is a gap.
    await db.exec(statement);
    await db.query(`delete from users where id = $1`, [B]);
    const after = await validateUserIntegrity({ db, now: NOW });
    expect(after.checks.audit_trail).toMatchObject({ tracked: true, deletions_recorded: 1, missing_success_audit: { count: 1, user_ids: [B] } });
    expect(after.checks.audit_trail.trigger_statement).toBeUndefined();
  });

  it('a table that references users, created after the binding, is scanned and cleaned (the catalog is read at call time)', async () => {
    const db = await engine.fresh();
    await db.exec(`create table public.reviews (id bigserial primary key, author uuid references public.users (id), body text)`);
    await user(db, A);
    await user(db, B);
    await db.query(`insert into public.reviews (author, body) values ($1, 'a1'), ($1, 'a2'), ($2, 'b1')`, [A, B]);
    await bypassingForeignKeys(db, `insert into public.reviews (author, body) values ($1, 'orphan')`, [GONE1]);

    const report = await validateUserIntegrity({ db, now: NOW });
    expect(report.checks.manual_cleanup.reviews).toMatchObject({ table_name: 'public.reviews', user_column: 'author', on_delete: 'no action', scanned: 4, orphans: 1 });

    const { log } = captureLogs();
    const result = await deleteUser({ db, storage: tempStorage(), log, now: () => NOW, archivePrefix: 'archive/export-logs' }, A, { actor: 'tester' });
    expect(result.deleted.reviews).toBe(2);
    expect(await db.query(`select author, body from public.reviews order by id`)).toEqual([
      { author: B, body: 'b1' },
      { author: GONE1, body: 'orphan' },
    ]);
  });
});
