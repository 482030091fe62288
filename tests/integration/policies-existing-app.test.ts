import { afterAll, afterEach, expect, inject, it } from 'vitest';
import { parseCronwardenConfig, type PolicyInput } from '../../src/lib/bindings/spec';
import { AppError } from '../../src/lib/http/errors';
import { runJob, type RunOutcome } from '../../src/lib/cron/runner';
import type { Db, SqlDb } from '../../src/lib/db/types';
import { policyJob } from '../../src/lib/jobs/policy';
import { SupabaseDb } from '../../src/lib/db/supabase';
import { bindRules, ruleMigrationSql, type RuleStates } from '../../src/lib/policies/apply';
import { compileRules, ruleTables } from '../../src/lib/policies/compile';
import { readCatalog } from '../../src/lib/bindings/catalog';
import { startFakePostgrest, type FakePostgrest } from '../support/postgrest';
import fixtureConfig from '../fixtures/existing-app.config';
import { describeEngines, type Engine } from '../support/db';
import { PostgresDb } from '../../src/lib/db/postgres';
import { testDeps } from '../support/deps';
import { existingApp } from '../support/existing-app';

// Retention policies on the existing app's own tables (tests/fixtures/existing-app.sql): what a
// run changes is exactly what the policy selects, at the boundaries of its age and condition.
const NOW = new Date('2026-03-11T12:30:00.000Z');
const SEC = 1000;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const ARCHIVE_PREFIX = 'archives/';

function configWith(policies: unknown[]) {
  return parseCronwardenConfig({ ...fixtureConfig, policies });
}

const oldAuditEvents: PolicyInput = {
  name: 'old-audit-events',
  table: 'public.audit_logs',
  keyColumn: 'id',
  timeColumn: 'at',
  age: '30 days',
  where: [{ column: 'event', op: 'in', value: ['login', 'logout'] }],
  batchSize: 2,
  schedule: '15 4 * * *',
};

const stalledIngests: PolicyInput = {
  name: 'stalled-ingests',
  table: 'public.ingest_batches',
  keyColumn: 'id',
  // timestamp without time zone, holding UTC wall time
  timeColumn: 'last_beat_at',
  age: '2 hours',
  where: [{ column: 'phase', op: '=', value: 'running' }],
  action: { update: { column: 'phase', value: 'stalled' } },
  batchSize: 2,
  schedule: '*/10 * * * *',
};

async function bind(db: SqlDb, policies: unknown[]) {
  const config = configWith(policies);
  const outcome = await bindRules(db, config, ARCHIVE_PREFIX);
  return { config, ...outcome };
}

/** Runs the policy's job as the runner does for its route, at NOW. */
async function run(db: Db, rules: RuleStates, spec: ReturnType<typeof configWith>['policies'][number], options: { dryRun?: boolean; budgetMs?: number; budgetClock?: () => number } = {}) {
  const { deps } = testDeps(db, { now: () => NOW, rules });
  return runJob(policyJob(spec), { input: {}, dryRun: options.dryRun ?? false, budgetMs: options.budgetMs, budgetClock: options.budgetClock }, deps);
}

function finished(outcome: RunOutcome) {
  if (outcome.kind !== 'finished') throw new Error(`run ${outcome.kind}: ${outcome.kind === 'crashed' ? String(outcome.error) : ''}`);
  return outcome;
}

/** Every table of the app but `except`, each as its rows in JSON, sorted. */
async function appTables(db: SqlDb, except: string[]): Promise<Record<string, unknown[]>> {
  const tables = await db.query<{ name: string }>(
    `select format('%I.%I', schemaname, tablename) as name from pg_tables
      where schemaname in ('public', 'auth') and format('%I.%I', schemaname, tablename) <> all ($1::text[])
      order by 1`,
    [except],
  );
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) {
    const [{ rows }] = await db.query<{ rows: unknown[] }>(
      `select coalesce(jsonb_agg(to_jsonb(t) order by to_jsonb(t)::text), '[]'::jsonb) as rows from ${name} t`,
    );
    out[name] = rows;
  }
  return out;
}

async function auditRow(db: SqlDb, event: string, at: Date): Promise<string> {
  const [{ id }] = await db.query<{ id: string }>(`insert into public.audit_logs (event, payload, at) values ($1, '{}', $2) returning id::text as id`, [event, at]);
  return id;
}

async function ingest(db: SqlDb, phase: string, lastBeatUtc: Date): Promise<string> {
  // The column holds UTC wall time: written from the instant in UTC, whatever the session's zone.
  const [{ id }] = await db.query<{ id: string }>(
    `insert into public.ingest_batches (phase, last_beat_at) values ($1, $2::timestamptz at time zone 'UTC') returning id::text as id`,
    [phase, lastBeatUtc],
  );
  return id;
}

const KEY = 'service-role-key-for-tests-0123456789';

const extraDbs: SqlDb[] = [];
afterAll(async () => {
  await Promise.all(extraDbs.map((db) => db.close().catch(() => {})));
});

/** The same database seen from a session in `zone` (PGlite: its one session). */
async function inZone(engine: Engine, db: SqlDb, zone: string): Promise<SqlDb> {
  if (engine.name === 'pglite') {
    await db.exec(`set time zone '${zone}'`);
    return db;
  }
  const [{ name }] = await db.query<{ name: string }>(`select current_database() as name`);
  const url = new URL(inject('pgAdminUrl'));
  url.pathname = `/${name}`;
  const zoned = PostgresDb.connect(url.toString(), 1);
  extraDbs.push(zoned);
  await zoned.exec(`set time zone '${zone}'`);
  return zoned;
}
let server: FakePostgrest | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describeEngines('retention policies on an existing app', (engine) => {
  it('a delete policy removes exactly the rows it selects, oldest first in batches, and its dry run counted them before', async () => {
    const { db } = await existingApp(engine);
    const due = {
      older: await auditRow(db, 'login', ago(30 * DAY + SEC)),
      logout: await auditRow(db, 'logout', ago(45 * DAY)),
      // five rows at one instant with batches of 2: the batch function takes them by key
      same: await Promise.all([1, 2, 3, 4, 5].map(() => auditRow(db, 'login', ago(60 * DAY)))),
      justPast: await auditRow(db, 'login', ago(30 * DAY + 1)),
    };
    const kept = {
      exactly: await auditRow(db, 'login', ago(30 * DAY)),
      younger: await auditRow(db, 'login', ago(29 * DAY)),
      otherEvent: await auditRow(db, 'export', ago(90 * DAY)),
      future: await auditRow(db, 'logout', new Date(NOW.getTime() + DAY)),
    };
    await db.query(`insert into public.alerts (message, created_at) values ('old alert of the app', $1)`, [ago(400 * DAY)]);
    const { config, rules } = await bind(db, [oldAuditEvents]);
    expect(rules['policies/old-audit-events']).toMatchObject({ bound: true, problems: [] });
    const before = await appTables(db, ['public.audit_logs']);
    const dueIds = [due.older, due.logout, ...due.same, due.justPast];

    const dry = finished(await run(db, rules, config.policies[0], { dryRun: true }));
    expect(dry.status).toBe('succeeded');
    expect(dry.result).toMatchObject({
      would_delete_count: dueIds.length,
      kept_by_condition: 1,
      oldest_at: ago(60 * DAY).toISOString(),
      newest_at: ago(30 * DAY + 1).toISOString(),
      cutoff_time: ago(30 * DAY).toISOString(),
      rows_affected: 0,
    });
    expect(Number(dry.result.would_affect_bytes)).toBeGreaterThan(0);
    const [{ n }] = await db.query<{ n: number }>(`select count(*)::int as n from public.audit_logs`);
    expect(n).toBe(dueIds.length + Object.keys(kept).length);

    const out = finished(await run(db, rules, config.policies[0]));
    expect(out.status).toBe('succeeded');
    expect(out.result).toMatchObject({ deleted_count: dueIds.length, rows_affected: dueIds.length, partial: false, action: 'delete' });
    expect(Number(out.result.batches)).toBeGreaterThan(3);
    const left = await db.query<{ id: string }>(`select id::text as id from public.audit_logs order by id`);
    expect(left.map((r) => r.id).sort()).toEqual(Object.values(kept).sort());
    expect(await appTables(db, ['public.audit_logs'])).toEqual(before);

    // Its run history, under the job's name.
    const [runRow] = await db.query<{ status: string; rows_affected: string; dry_run: boolean }>(
      `select status, rows_affected::text, dry_run from cronwarden.cron_job_runs where job = 'policies/old-audit-events' and not dry_run`,
    );
    expect(runRow).toEqual({ status: 'succeeded', rows_affected: String(dueIds.length), dry_run: false });

    const again = finished(await run(db, rules, config.policies[0]));
    expect(again.result).toMatchObject({ deleted_count: 0 });
  });

  it('the update action sets the column on exactly the selected rows of a table whose time has no time zone, and a second run finds none', async () => {
    const { db } = await existingApp(engine);
    const due = [await ingest(db, 'running', ago(2 * HOUR + SEC)), await ingest(db, 'running', ago(3 * DAY)), await ingest(db, 'running', ago(2 * HOUR + 1))];
    const kept = {
      exactly: await ingest(db, 'running', ago(2 * HOUR)),
      fresh: await ingest(db, 'running', ago(HOUR)),
      queued: await ingest(db, 'queued', ago(5 * DAY)),
      done: await ingest(db, 'done', ago(5 * DAY)),
    };
    const { config, rules } = await bind(db, [stalledIngests]);
    expect(rules['policies/stalled-ingests']).toMatchObject({ bound: true });
    const before = await appTables(db, ['public.ingest_batches']);
    const beats = await db.query<{ id: string; last_beat_at: string }>(`select id::text as id, last_beat_at::text from public.ingest_batches order by id`);

    const dry = finished(await run(db, rules, config.policies[0], { dryRun: true }));
    expect(dry.result).toMatchObject({ would_update_count: 3, kept_by_condition: 2 });

    const out = finished(await run(db, rules, config.policies[0]));
    expect(out.result).toMatchObject({ updated_count: 3, rows_affected: 3, partial: false, action: 'update' });
    const rows = await db.query<{ id: string; phase: string }>(`select id::text as id, phase from public.ingest_batches order by id`);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.phase]))).toEqual({
      [due[0]]: 'stalled',
      [due[1]]: 'stalled',
      [due[2]]: 'stalled',
      [kept.exactly]: 'running',
      [kept.fresh]: 'running',
      [kept.queued]: 'queued',
      [kept.done]: 'done',
    });
    // Only the status column changed.
    expect(await db.query(`select id::text as id, last_beat_at::text from public.ingest_batches order by id`)).toEqual(beats);
    expect(await appTables(db, ['public.ingest_batches'])).toEqual(before);

    const again = finished(await run(db, rules, config.policies[0]));
    expect(again.result).toMatchObject({ updated_count: 0 });
  });

  for (const zone of ['America/New_York', 'Pacific/Chatham']) {
    it(`with session time zone ${zone}: the age of a time without time zone is counted in UTC, to the second`, async () => {
      const { db } = await existingApp(engine);
      const due = [await ingest(db, 'running', ago(2 * HOUR + SEC)), await ingest(db, 'running', ago(14 * HOUR))];
      const kept = [await ingest(db, 'running', ago(2 * HOUR)), await ingest(db, 'running', ago(2 * HOUR - SEC)), await ingest(db, 'running', ago(-12 * HOUR))];
      const zoned = await inZone(engine, db, zone);
      expect(await zoned.query(`select current_setting('TimeZone') as tz`)).toEqual([{ tz: zone }]);
      const { config, rules } = await bind(zoned, [stalledIngests]);
      const dry = finished(await run(zoned, rules, config.policies[0], { dryRun: true }));
      expect(dry.result).toMatchObject({ would_update_count: 2, oldest_at: ago(14 * HOUR).toISOString(), newest_at: ago(2 * HOUR + SEC).toISOString() });
      const out = finished(await run(zoned, rules, config.policies[0]));
      expect(out.result).toMatchObject({ updated_count: 2 });
      const stalled = await zoned.query<{ id: string }>(`select id::text as id from public.ingest_batches where phase = 'stalled' order by id`);
      expect(stalled.map((r) => r.id)).toEqual(due);
      const running = await zoned.query<{ id: string }>(`select id::text as id from public.ingest_batches where phase = 'running' order by id`);
      expect(running.map((r) => r.id)).toEqual(kept);
    });
  }

  it('a run whose time budget ends says partial, and the next run finishes the work', async () => {
    const { db } = await existingApp(engine);
    for (let i = 0; i < 7; i++) await auditRow(db, 'login', ago((31 + i) * DAY));
    const { config, rules } = await bind(db, [oldAuditEvents]);
    // Each batch call "takes" 60% of the budget on a driven clock: the second still fits, the third never starts.
    let clock = 0;
    const slow = new Proxy(db, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop === 'rpc') {
          return async (name: string, args?: Record<string, unknown>) => {
            if (name === 'policy_range_batch') clock += 600_000;
            return target.rpc(name, args);
          };
        }
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const out = finished(await run(slow, rules, config.policies[0], { budgetMs: 1_000_000, budgetClock: () => clock }));
    expect(out.status).toBe('partial');
    expect(out.result).toMatchObject({ deleted_count: 4, batches: 2, partial: true });
    const [{ n }] = await db.query<{ n: number }>(`select count(*)::int as n from public.audit_logs`);
    expect(n).toBe(3);

    const rest = finished(await run(db, rules, config.policies[0]));
    expect(rest.status).toBe('succeeded');
    expect(rest.result).toMatchObject({ deleted_count: 3, partial: false });
  });

  it('refuses at start, one line naming the policy: a missing column, an unknown operator, a value of the wrong type, an age of zero, a table without the time column; the others run', async () => {
    const { db } = await existingApp(engine);
    const base = { table: 'public.audit_logs', keyColumn: 'id', timeColumn: 'at', age: '30 days', schedule: '0 4 * * *' };
    const { config, rules, compiled } = await bind(db, [
      { ...base, name: 'missing-column', where: [{ column: 'evnt', op: '=', value: 'login' }] },
      { ...base, name: 'unknown-operator', where: [{ column: 'event', op: 'like', value: 'log%' }] },
      { ...base, name: 'wrong-type', where: [{ column: 'id', op: '>', value: 'ten' }] },
      { ...base, name: 'zero-age', age: '0 days' },
      { ...base, name: 'no-time-column', table: 'public.comments', timeColumn: 'created_at' },
      { ...base, name: 'text-time-column', table: 'public.comments', timeColumn: 'body' },
      oldAuditEvents,
    ]);
    const lines = (job: string) => rules[job].problems;
    expect(lines('policies/missing-column')).toEqual([
      'policy missing-column: public.audit_logs has no column "evnt" (set policies[0].where.0.column in cronwarden.config.ts)',
    ]);
    expect(lines('policies/unknown-operator')).toEqual([
      `policy unknown-operator: where.0.op: must be one of =, <>, <, <=, >, >=, in, not in, is null, is not null, is true, is false (set policies[1].where.0.op in cronwarden.config.ts)`,
    ]);
    expect(lines('policies/wrong-type')).toEqual([
      'policy wrong-type: value "ten" does not fit public.audit_logs.id (bigint): give a number (set policies[2].where.0 in cronwarden.config.ts)',
    ]);
    expect(lines('policies/zero-age')).toEqual(['policy zero-age: age: must be more than zero (set policies[3].age in cronwarden.config.ts)']);
    expect(lines('policies/no-time-column')).toEqual([
      'policy no-time-column: public.comments has no column "created_at" (set policies[4].timeColumn in cronwarden.config.ts)',
    ]);
    expect(lines('policies/text-time-column')).toEqual([
      'policy text-time-column: public.comments.body is text; this setting needs a timestamp column (set policies[5].timeColumn in cronwarden.config.ts)',
    ]);
    for (const name of ['missing-column', 'unknown-operator', 'wrong-type', 'zero-age', 'no-time-column', 'text-time-column']) {
      expect(rules[`policies/${name}`].bound, name).toBe(false);
    }
    expect(rules['policies/old-audit-events']).toMatchObject({ bound: true, problems: [] });
    expect(compiled).toHaveLength(7);

    // Refused by shape: not among the runnable policies; refused by the catalog: its job answers 503.
    expect(config.policies.map((p) => p.name)).toEqual(['missing-column', 'wrong-type', 'no-time-column', 'text-time-column', 'old-audit-events']);
    await auditRow(db, 'login', ago(40 * DAY));
    // Refused before it takes a lease (the route answers the AppError: 503 with the reasons).
    const err = await run(db, rules, config.policies[0]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 503, code: 'POLICY_NOT_BOUND' });
    expect((err as Error).message).toContain('public.audit_logs has no column "evnt"');
    const [{ n }] = await db.query<{ n: number }>(`select count(*)::int as n from cronwarden.cron_job_runs where job = 'policies/missing-column'`);
    expect(n).toBe(0);
    expect(finished(await run(db, rules, config.policies[4])).result).toMatchObject({ deleted_count: 1 });
  });

  it('a policy on one of our own tables is refused; a policy removed from the file loses its view and its storage references', async () => {
    const { db } = await existingApp(engine);
    const config = parseCronwardenConfig({
      ...fixtureConfig,
      policies: [
        { ...oldAuditEvents, name: 'ours', table: 'cronwarden.cron_job_runs' },
        { ...oldAuditEvents, name: 'with-files', table: 'public.user_files', timeColumn: 'created_at', where: [], storagePathColumn: 'path' },
        oldAuditEvents,
      ],
      orphanSweeps: [{ name: 'uploads', prefix: 'uploads/', grace: '2 hours', references: [{ table: 'public.comments', column: 'body' }], schedule: '0 5 * * *' }],
    });
    const { rules } = await bindRules(db, config, ARCHIVE_PREFIX);
    expect(rules['orphan-sweeps/uploads']).toEqual({ kind: 'orphanSweep', name: 'uploads', job: 'orphan-sweeps/uploads', bound: true, problems: [] });
    expect(rules['policies/with-files']).toMatchObject({ bound: true, problems: [] });
    const references = async () =>
      (await db.query<{ source: string }>(`select source from cronwarden.bound_storage_references where source like 'orphan-sweep:%' or source like 'policy:%' order by source`)).map((r) => r.source);
    expect(await references()).toEqual(['orphan-sweep:uploads:public.comments.body', 'policy:with-files']);
    expect(rules['policies/ours'].problems).toEqual([
      "policy ours: cronwarden.cron_job_runs is one of Cronwarden's own tables; policies work on your tables (set policies[0].table in cronwarden.config.ts)",
    ]);
    const views = async () =>
      (await db.query<{ v: string }>(`select table_name as v from information_schema.views where table_schema = 'cronwarden' and table_name like 'policy\\_%' order by 1`)).map((r) => r.v);
    expect(await views()).toEqual(['policy_old_audit_events', 'policy_with_files']);
    const second = await bind(db, []);
    expect(second.applied).toBe(true);
    expect(await views()).toEqual([]);
    expect(await references()).toEqual([]);
    expect(await db.query(`select * from cronwarden.bound_rules`)).toEqual([]);
  });

  it('through Supabase: the written migration applies the policies, and a run through PostgREST deletes exactly what it selects', async () => {
    const { db } = await existingApp(engine);
    const kept = [await auditRow(db, 'login', ago(30 * DAY)), await auditRow(db, 'export', ago(90 * DAY))];
    for (let i = 0; i < 5; i++) await auditRow(db, 'logout', ago((31 + i) * DAY));
    const config = configWith([oldAuditEvents]);
    // What `npm run bindings -- --write-migration` appends for the policies, pushed as a migration.
    const sql = ruleMigrationSql(compileRules(config, await readCatalog(db, ruleTables(config)), ARCHIVE_PREFIX));
    server = await startFakePostgrest(db, KEY);
    const supabase = SupabaseDb.connect(server.url, KEY);
    // Before the push the policy is known but not applied: the job answers 503 naming the command.
    const before = await bindRules(supabase, config, ARCHIVE_PREFIX);
    expect(before.applied).toBe(false);
    expect(before.rules['policies/old-audit-events'].problems).toEqual([
      'policy old-audit-events: cronwarden.config.ts is not applied to this database: run `npm run bindings -- --write-migration` and `supabase db push`',
    ]);
    await db.exec(sql);
    const { rules } = await bindRules(supabase, config, ARCHIVE_PREFIX);
    expect(rules['policies/old-audit-events']).toMatchObject({ bound: true, problems: [] });
    const out = finished(await run(supabase, rules, config.policies[0]));
    expect(out.result).toMatchObject({ deleted_count: 5, partial: false });
    const left = await db.query<{ id: string }>(`select id::text as id from public.audit_logs`);
    expect(left.map((r) => r.id).sort()).toEqual(kept.sort());
  });
});
