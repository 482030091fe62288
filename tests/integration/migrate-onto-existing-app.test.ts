import { describe, expect, it } from 'vitest';
import { bindFeatures } from '../../src/lib/bindings/apply';
import { migrate } from '../../src/lib/db/migrator';
import type { SqlDb } from '../../src/lib/db/types';
import { blankEngines } from '../support/blank-db';
import { EXISTING_APP_SQL, existingAppBindings } from '../support/existing-app';

/**
 * The reported failure: a team's database that already has its own `users`, `courses`, `alerts`
 * and `audit_logs` (the existing-app fixture, with rows) gets Cronwarden's migrations applied
 * for the first time, then its bindings. The migrations apply, and the team's tables (their
 * columns, types, defaults, indexes, constraints, triggers) and rows are exactly as before.
 */

const ROWS = `
  insert into auth.users (id, email) values
    ('51000000-0000-4000-8000-000000000001', 'ada@example.com'), ('51000000-0000-4000-8000-000000000002', 'lin@example.com');
  insert into public.users (id, email, full_name, plan, signed_up_at) values
    ('51000000-0000-4000-8000-000000000001', 'ada@example.com', 'Ada', 'pro', '2026-10-01 09:00:00'),
    ('51000000-0000-4000-8000-000000000002', 'lin@example.com', null, 'free', '2026-11-01 09:00:00');
  insert into public.alerts (user_id, message, created_at) values ('51000000-0000-4000-8000-000000000001', 'Your export is ready', '2026-11-20T10:00:00Z');
  insert into public.audit_logs (actor_id, event, payload, at) values ('51000000-0000-4000-8000-000000000002', 'login', '{"ip":"10.0.0.1"}', '2026-11-21T10:00:00Z');
  insert into public.data_exports (owner_id, state, object_key, bytes, requested_at, ttl_until) values
    ('51000000-0000-4000-8000-000000000001', 'ready', 'exports/1.csv', 1200, '2026-11-01T00:00:00Z', '2026-11-02T00:00:00Z');
  insert into public.lessons (title, is_draft, inserted_at) values (null, true, '2026-11-01T00:00:00Z');
  insert into public.courses (title, is_draft, created_at) values ('Intro', true, '2026-11-01T00:00:00Z'), (null, false, null);
`;

/** Every table of schemas public and auth: its definition as the catalog has it, and its rows. */
async function snapshot(db: SqlDb): Promise<Record<string, { columns: unknown; indexes: unknown; constraints: unknown; triggers: unknown; rows: unknown }>> {
  const tables = await db.query<{ t: string }>(
    `select format('%I.%I', n.nspname, c.relname) as t from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname in ('public', 'auth') and c.relkind in ('r', 'p') order by 1`,
  );
  const out: Record<string, { columns: unknown; indexes: unknown; constraints: unknown; triggers: unknown; rows: unknown }> = {};
  for (const { t } of tables) {
    out[t] = {
      columns: await db.query(
        `select a.attname, format_type(a.atttypid, a.atttypmod) as type, a.attnotnull, pg_get_expr(d.adbin, d.adrelid) as default
           from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
          where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped order by a.attnum`,
        [t],
      ),
      indexes: await db.query(`select pg_get_indexdef(indexrelid) as def from pg_index where indrelid = $1::regclass order by 1`, [t]),
      constraints: await db.query(`select conname, pg_get_constraintdef(oid) as def from pg_constraint where conrelid = $1::regclass order by 1`, [t]),
      triggers: await db.query(`select tgname from pg_trigger where tgrelid = $1::regclass and not tgisinternal order by 1`, [t]),
      rows: await db.query(`select to_jsonb(x) as r from ${t} x order by to_jsonb(x)::text`),
    };
  }
  return out;
}

const blanks = blankEngines();

for (const blank of blanks) {
  describe(`Cronwarden's first migration onto an existing app's database [${blank.name}]`, () => {
    it('applies cleanly over the team\'s own users, courses, alerts and audit_logs, and leaves their tables and rows exactly as they were', async () => {
      const db = await blank.open();
      // The team's tables and rows first, on a database Cronwarden never touched.
      await db.exec(EXISTING_APP_SQL);
      await db.exec(ROWS);
      const before = await snapshot(db);
      expect(Object.keys(before)).toEqual(expect.arrayContaining(['public.users', 'public.courses', 'public.alerts', 'public.audit_logs', 'auth.users']));

      const { applied } = await migrate(db);
      expect(applied.length).toBeGreaterThan(0);
      const { features } = await bindFeatures(db, existingAppBindings());
      for (const f of ['exports', 'imports', 'drafts', 'userDeletion'] as const) expect(features[f], f).toMatchObject({ bound: true });

      const after = await snapshot(db);
      // Nothing of ours among their tables, and theirs unchanged, row for row. (User deletion
      // records deletions with a trigger on the users table: that trigger is the one addition.)
      expect(Object.keys(after)).toEqual(Object.keys(before));
      for (const t of Object.keys(before)) {
        const { triggers, ...rest } = after[t];
        const { triggers: triggersBefore, ...restBefore } = before[t];
        expect(rest, t).toEqual(restBefore);
        if (t !== 'public.users') expect(triggers, t).toEqual(triggersBefore);
      }
      // Applying again changes nothing either.
      expect((await migrate(db)).applied).toEqual([]);
      expect(await snapshot(db)).toEqual(after);
    });
  });
}
