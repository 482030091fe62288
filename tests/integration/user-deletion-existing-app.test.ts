import { expect, it } from 'vitest';
import { parseCronwardenConfig } from '../../src/lib/bindings/spec';
import type { SqlDb } from '../../src/lib/db/types';
import { validateUserIntegrity } from '../../src/lib/monitoring/user-integrity';
import { deleteUser, type DeleteUserDeps } from '../../src/lib/users/delete-user';
import fixtureConfig from '../fixtures/existing-app.config';
import { describeEngines } from '../support/db';
import { captureLogs, tempStorage } from '../support/deps';
import { existingApp } from '../support/existing-app';

/**
 * User deletion on an existing app's own tables (tests/fixtures/existing-app.sql) through its
 * binding: public.users, a profile table whose id references auth.users; orders (a foreign key
 * without cascade), user_settings (cascade), comments (set null, excluded in the binding),
 * user_files (no foreign key, declared with its path column), the app's own public.alerts (a
 * cascading foreign key) and public.audit_logs (never touched), data_exports (the bound exports
 * table, a user's table through owner_id).
 */

const NOW = new Date('2026-11-30T02:00:00Z');
const A = 'aaaaaaaa-0000-4000-8000-00000000000a'; // deleted
const B = 'bbbbbbbb-0000-4000-8000-00000000000b';
const C = 'cccccccc-0000-4000-8000-00000000000c';

const TABLES = [
  'auth.users',
  'public.users',
  'public.orders',
  'public.user_settings',
  'public.comments',
  'public.user_files',
  'public.alerts',
  'public.audit_logs',
  'public.data_exports',
  'public.courses',
  'public.lessons',
] as const;

/** Each table's rows as JSON, in key order. */
async function snapshot(db: SqlDb): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const t of TABLES) {
    const [{ rows }] = await db.query<{ rows: Record<string, unknown>[] }>(
      `select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t) ->> 'id', to_jsonb(t) ->> 'user_id'), '[]') as rows from ${t} t`,
    );
    out[t] = typeof rows === 'string' ? JSON.parse(rows) : rows;
  }
  return out;
}

const OBJECTS = ['files/a/1.pdf', 'files/a/2.pdf', 'files/shared.pdf', 'files/b/1.pdf', 'exports/a/ready.csv', 'exports/a/running.csv', 'exports/b/ready.csv'];

async function load(db: SqlDb) {
  await db.exec(`
    insert into auth.users (id, email) values ('${A}', 'a@example.com'), ('${B}', 'b@example.com'), ('${C}', 'c@example.com');
    insert into public.users (id, email, full_name, plan, signed_up_at) values
      ('${A}', 'a@example.com', 'Ann', 'pro', '2026-01-02 03:04:05.678'),
      ('${B}', 'b@example.com', 'Bea', 'free', '2026-02-03 04:05:06.789'),
      ('${C}', 'c@example.com', null, 'free', '2026-03-04 05:06:07.890');
    insert into public.orders (user_id, total) values ('${A}', 10), ('${A}', 20), ('${B}', 30), ('${C}', 40);
    insert into public.user_settings (user_id, prefs) values ('${A}', '{"theme": "dark"}'), ('${B}', '{}');
    insert into public.comments (author_id, body) values ('${A}', 'a1'), ('${A}', 'a2'), ('${B}', 'b1'), (null, 'anonymous');
    insert into public.user_files (uploader, path) values
      ('${A}', 'files/a/1.pdf'), ('${A}', 'files/a/2.pdf'), ('${A}', 'files/shared.pdf'), ('${B}', 'files/shared.pdf'), ('${B}', 'files/b/1.pdf');
    insert into public.alerts (user_id, message) values ('${A}', 'welcome'), ('${B}', 'welcome'), (null, 'maintenance tonight');
    insert into public.audit_logs (actor_id, event, payload) values ('${A}', 'login', '{}'), ('${B}', 'login', '{}'), (null, 'deploy', '{}');
    insert into public.data_exports (owner_id, state, object_key, requested_at, ttl_until) values
      ('${A}', 'pending', null, '2026-11-29 00:00:00+00', null),
      ('${A}', 'running', 'exports/a/running.csv', '2026-11-29 00:00:00+00', null),
      ('${A}', 'ready', 'exports/a/ready.csv', '2026-11-29 00:00:00+00', '2026-12-06 00:00:00+00'),
      ('${A}', 'error', null, '2026-11-29 00:00:00+00', null),
      ('${A}', 'purged', 'exports/a/purged.csv', '2026-11-01 00:00:00+00', '2026-11-02 00:00:00+00'),
      ('${B}', 'ready', 'exports/b/ready.csv', '2026-11-29 00:00:00+00', '2026-12-06 00:00:00+00');
    insert into public.courses (title, is_draft) values ('not ours', true);
    insert into public.lessons (title, author_id) values ('lesson by a', '${A}');
  `);
  const storage = tempStorage();
  for (const p of OBJECTS) await storage.put(p, 'x');
  return storage;
}

/** `before` without A's rows, with A's comments unlinked (the database sets them to null). */
function withoutA(before: Record<string, Record<string, unknown>[]>) {
  const out = structuredClone(before);
  out['public.users'] = out['public.users'].filter((r) => r.id !== A);
  out['public.orders'] = out['public.orders'].filter((r) => r.user_id !== A);
  out['public.user_settings'] = out['public.user_settings'].filter((r) => r.user_id !== A);
  out['public.user_files'] = out['public.user_files'].filter((r) => r.uploader !== A);
  out['public.alerts'] = out['public.alerts'].filter((r) => r.user_id !== A);
  out['public.data_exports'] = out['public.data_exports'].filter((r) => r.owner_id !== A);
  out['public.comments'] = out['public.comments'].map((r) => (r.author_id === A ? { ...r, author_id: null } : r));
  return out;
}

async function objectsLeft(storage: ReturnType<typeof tempStorage>) {
  const left: string[] = [];
  for (const p of [...OBJECTS, 'exports/a/purged.csv']) if (await storage.exists(p)) left.push(p);
  return left;
}

describeEngines('user deletion on an existing app (bound to public.users)', (engine) => {
  it("deletes exactly the user's rows and objects in every bound table, writes our audit row in cronwarden.audit_logs, and nothing in public.audit_logs", async () => {
    const app = await existingApp(engine);
    expect(app.features.userDeletion).toMatchObject({ bound: true, problems: [] });
    const db = app.db;
    const storage = await load(db);
    const before = await snapshot(db);
    const { log } = captureLogs();
    const deps: DeleteUserDeps = { db, storage, log, now: () => NOW, archivePrefix: 'archive/export-logs' };

    const result = await deleteUser(deps, A, { actor: 'tester' });

    // data_exports is a user's table because exports are bound (owner_id); comments are excluded.
    expect(result.deleted).toEqual({ orders: 2, settings: 1, files: 3, alerts: 1, data_exports: 5 });
    // files/shared.pdf stays: B's row still needs it. The purged export had no object left.
    expect(result.storage).toEqual({ objects: 6, removed: 5, kept: 1, failed: 0, queued: 0 });
    expect(await snapshot(db)).toEqual(withoutA(before));
    expect(await objectsLeft(storage)).toEqual(['files/shared.pdf', 'files/b/1.pdf', 'exports/b/ready.csv']);

    const audit = await db.query<{ target_id: string; status: string; details: { deleted: Record<string, number> } }>(
      `select target_id, status, details from cronwarden.audit_logs`,
    );
    expect(audit.map((a) => [a.target_id, a.status, a.details.deleted])).toEqual([[A, 'success', result.deleted]]);
    expect(await db.query(`select * from cronwarden.storage_cleanup_queue`)).toEqual([]);

    // Deleting another user now removes only that user's rows.
    const afterA = await snapshot(db);
    const second = await deleteUser(deps, C, { actor: 'tester' });
    expect(second.deleted).toEqual({ orders: 1, settings: 0, files: 0, alerts: 0, data_exports: 0 });
    const expected = structuredClone(afterA);
    expected['public.users'] = expected['public.users'].filter((r) => r.id !== C);
    expected['public.orders'] = expected['public.orders'].filter((r) => r.user_id !== C);
    expect(await snapshot(db)).toEqual(expected);
  });

  it('records deletions only once the printed trigger is installed, with the bound columns (a time without zone read as UTC)', async () => {
    const app = await existingApp(engine);
    const db = app.db;
    const storage = await load(db);
    const { log } = captureLogs();
    const deps: DeleteUserDeps = { db, storage, log, now: () => NOW, archivePrefix: 'archive/export-logs' };

    const report = await validateUserIntegrity({ db, now: NOW });
    expect(report.checks.audit_trail).toMatchObject({
      tracked: false,
      missing_success_audit: { count: 0 },
      trigger_statement:
        "create trigger cronwarden_record_deletion after delete on public.users for each row execute function cronwarden.users_record_deletion('id', 'plan', 'signed_up_at');",
    });
    // Every table the deletion reaches is scanned; the excluded comments are not.
    expect(Object.keys(report.checks.manual_cleanup).sort()).toEqual(['data_exports', 'files', 'orders']);
    expect(Object.keys(report.checks.cascade_deletions).sort()).toEqual(['alerts', 'settings']);
    expect(report.data_integrity_validation.validation_status).toBe('PASSED');

    await db.exec(report.checks.audit_trail.trigger_statement as string);
    await deleteUser(deps, B, { actor: 'tester' });
    expect(await db.query(`select user_id, user_type, user_created_at from cronwarden.deleted_users`)).toEqual([
      { user_id: B, user_type: 'free', user_created_at: new Date('2026-02-03T04:05:06.789Z') },
    ]);
    expect((await validateUserIntegrity({ db, now: NOW })).checks.audit_trail).toMatchObject({ tracked: true, deletions_recorded: 1, audited_deletions: 1 });
  });
});

describeEngines('user deletion on an existing app bound to auth.users (children with children)', (engine) => {
  it("deletes the auth user, the profile the database cascades to, and the profile's own children first", async () => {
    const base = parseCronwardenConfig(fixtureConfig).bindings;
    const bindings = {
      ...base,
      userDeletion: {
        ...base.userDeletion,
        users: { table: 'auth.users', columns: { id: 'id', type: null, createdAt: 'created_at' } },
      },
    };
    const app = await existingApp(engine, bindings);
    expect(app.features.userDeletion).toMatchObject({ bound: true, problems: [] });
    const db = app.db;
    const storage = await load(db);
    const before = await snapshot(db);
    const { log } = captureLogs();

    const result = await deleteUser({ db, storage, log, now: () => NOW, archivePrefix: 'archive/export-logs' }, A, { actor: 'tester' });

    // public.users cascades from auth.users, but its orders (no cascade) would block it: they go first.
    expect(result.deleted).toEqual({ users: 1, orders: 2, settings: 1, files: 3, alerts: 1, data_exports: 5 });
    const expected = withoutA(before);
    expected['auth.users'] = expected['auth.users'].filter((r) => r.id !== A);
    expect(await snapshot(db)).toEqual(expected);
    expect(await objectsLeft(storage)).toEqual(['files/shared.pdf', 'files/b/1.pdf', 'exports/b/ready.csv']);
  });
});
