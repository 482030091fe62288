import { expect, it } from 'vitest';
import { demoBindings, parseCronwardenConfig } from '../../src/lib/bindings/spec';
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { draftCleanupJob } from '../../src/lib/jobs/draft-cleanup';
import fixtureConfig from '../fixtures/existing-app.config';
import { describeEngines } from '../support/db';
import { testDeps } from '../support/deps';
import { existingApp, type ExistingApp } from '../support/existing-app';
import { HOUR, SEC } from '../support/drafts';

// The existing app's drafts: public.lessons, bigint ids, `is_draft boolean` plus
// `generation_started_at`, no organizations, no update time (see tests/fixtures/).
const NOW = new Date('2026-03-11T12:30:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const CUTOFF = ago(24 * HOUR);
const AUTHOR = '8b1f0c3e-5d2a-4c61-9e0f-0a1b2c3d4e5f';

/** Every table of the app (schemas public and auth) but `except`, each as its rows in JSON, sorted. */
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

/** Rows in the app's other tables, among them its own `courses` with drafts of its own. */
async function otherRows(db: SqlDb) {
  const user = '11111111-2222-4333-8444-555555555555';
  await db.query(`insert into auth.users (id, email, created_at) values ($1, 'ada@example.com', $2)`, [user, ago(400 * 24 * HOUR)]);
  await db.query(`insert into public.users (id, email, full_name, signed_up_at) values ($1, 'ada@example.com', 'Ada', '2025-01-01 10:00:00')`, [user]);
  await db.query(`insert into public.alerts (user_id, message, created_at) values ($1, 'your export is ready', $2)`, [user, ago(48 * HOUR)]);
  await db.query(`insert into public.audit_logs (actor_id, event, payload, at) values ($1, 'login', '{}', $2)`, [user, ago(48 * HOUR)]);
  await db.query(
    `insert into public.courses (title, is_draft, created_at) values
       ('old draft of the app', true, $1), ('null flag', null, $1), ('published', false, $1), ('no time', true, null)`,
    [ago(30 * 24 * HOUR)],
  );
  await db.query(`insert into public.data_exports (owner_id, state, object_key, requested_at) values ($1, 'ready', 'exports/a.csv', $2)`, [user, ago(48 * HOUR)]);
  await db.query(`insert into public.user_files (uploader, path, created_at) values ($1, 'files/a.png', $2)`, [user, ago(48 * HOUR)]);
  await db.query(`insert into public.comments (author_id, body) values ($1, 'hello')`, [user]);
}

interface Lesson {
  title: string | null;
  is_draft: boolean;
  generation_started_at: Date | null;
  inserted_at: Date;
  author_id: string | null;
}

async function insertLesson(db: SqlDb, l: Lesson): Promise<string> {
  const [{ id }] = await db.query<{ id: string }>(
    `insert into public.lessons (title, is_draft, generation_started_at, inserted_at, author_id)
     values ($1, $2, $3, $4, $5) returning id::text as id`,
    [l.title, l.is_draft, l.generation_started_at, l.inserted_at, l.author_id],
  );
  return id;
}

/**
 * The boundaries of the rule "is_draft and generation never started, inserted more than 24 h
 * ago". Inserted in an order unlike their age, so "oldest first" is checked for real.
 */
async function lessons(db: SqlDb) {
  const l = (title: string | null, age: number, extra: Partial<Lesson> = {}) =>
    insertLesson(db, { title, is_draft: true, generation_started_at: null, inserted_at: ago(age), author_id: AUTHOR, ...extra });
  const ids = {
    due: await l('24 h + 1 s', 24 * HOUR + SEC),
    exactly24h: await l('exactly 24 h', 24 * HOUR),
    young: await l('24 h - 1 s', 24 * HOUR - SEC),
    started: await l('generation started', 48 * HOUR, { generation_started_at: ago(47 * HOUR) }),
    startedJustNow: await l('generation started a second ago', 48 * HOUR, { generation_started_at: ago(SEC) }),
    notDraft: await l('published', 30 * 24 * HOUR, { is_draft: false }),
    nullColumns: await l(null, 72 * HOUR, { author_id: null }),
    ancient: await l('a year old', 400 * 24 * HOUR),
  };
  return { ids, eligibleOldestFirst: [ids.ancient, ids.nullColumns, ids.due] };
}

/** The rule, in the team's own terms, over their table. */
async function selectedByRule(db: SqlDb): Promise<string[]> {
  const rows = await db.query<{ id: string }>(
    `select id::text as id from public.lessons
      where is_draft is true and generation_started_at is null and inserted_at < $1
      order by inserted_at, id`,
    [CUTOFF],
  );
  return rows.map((r) => r.id);
}

async function lessonRows(db: SqlDb): Promise<Record<string, unknown>> {
  const rows = await db.query<{ id: string; row: unknown }>(`select id::text as id, to_jsonb(t) as row from public.lessons t order by id`);
  return Object.fromEntries(rows.map((r) => [r.id, r.row]));
}

async function runCleanup(app: ExistingApp, dryRun = false, input: Record<string, number> = {}) {
  const { deps } = testDeps(app.db, { now: () => NOW, bindings: app.bindings, features: app.features });
  const out = await runJob(draftCleanupJob, { input, dryRun }, deps);
  if (out.kind !== 'finished') throw new Error(`run did not finish: ${out.kind}`);
  return out.result;
}

describeEngines('draft cleanup on an existing app (lessons: boolean flag + generation_started_at)', (engine) => {
  it('deletes exactly what its rule selects, oldest first, and leaves every other row of the app as it was', async () => {
    const app = await existingApp(engine);
    expect(app.features.drafts).toMatchObject({ bound: true, problems: [] });
    const { db } = app;
    await otherRows(db);
    const { ids, eligibleOldestFirst } = await lessons(db);
    expect(await selectedByRule(db)).toEqual(eligibleOldestFirst);
    const others = await appTables(db, ['public.lessons']);
    const before = await lessonRows(db);

    const dry = await runCleanup(app, true);
    expect(dry).toMatchObject({ status: 'succeeded', would_delete_count: 3, would_delete_ids: eligibleOldestFirst, deleted_count: 0 });
    expect(await lessonRows(db)).toEqual(before);

    // Batches of 2: the batch boundary falls between the eligible rows.
    const result = await runCleanup(app, false, { batchSize: 2 });
    expect(result).toMatchObject({
      status: 'succeeded',
      deleted_count: 3,
      deleted_ids: eligibleOldestFirst,
      cutoff_time: CUTOFF.toISOString(),
      partial: false,
    });
    const after = await lessonRows(db);
    const kept = Object.keys(before).filter((id) => !eligibleOldestFirst.includes(id));
    expect(Object.keys(after).sort()).toEqual(kept.sort());
    for (const id of kept) expect(after[id]).toEqual(before[id]);
    expect(kept).toEqual(expect.arrayContaining([ids.exactly24h, ids.young, ids.started, ids.startedJustNow, ids.notDraft]));
    expect(await appTables(db, ['public.lessons'])).toEqual(others);
    expect(await selectedByRule(db)).toEqual([]);
    expect(await runCleanup(app)).toMatchObject({ deleted_count: 0, deleted_ids: [] });
  });

  it('trigger_manual_cleanup in public deletes one batch and returns the bigint ids as text', async () => {
    const app = await existingApp(engine);
    const { db } = app;
    await otherRows(db);
    const { eligibleOldestFirst } = await lessons(db);
    const others = await appTables(db, ['public.lessons']);
    expect(await db.rpc('public.trigger_manual_cleanup', { p_batch_size: 2, p_now: NOW })).toEqual([
      { deleted_count: 2, deleted_ids: eligibleOldestFirst.slice(0, 2), cutoff_time: CUTOFF },
    ]);
    expect(await db.rpc('public.trigger_manual_cleanup', { p_now: NOW })).toEqual([
      { deleted_count: 1, deleted_ids: eligibleOldestFirst.slice(2), cutoff_time: CUTOFF },
    ]);
    expect(await db.rpc('public.trigger_manual_cleanup', { p_now: NOW })).toEqual([{ deleted_count: 0, deleted_ids: [], cutoff_time: CUTOFF }]);
    expect(await selectedByRule(db)).toEqual([]);
    expect(await appTables(db, ['public.lessons'])).toEqual(others);
  });

  it('the monitoring queries read the lessons through the binding (no organizations, no update time)', async () => {
    const app = await existingApp(engine);
    const { db } = app;
    const { ids } = await lessons(db);
    const [health] = await db.rpc('draft_system_health', { p_now: NOW });
    expect(health).toMatchObject({ total_courses: 8, total_drafts: 7, unused_drafts: 5, active_drafts: 2, pending_cleanup: 3, created_last_24h: 1 });
    expect(await db.rpc('draft_organization_leaderboard', { p_now: NOW })).toEqual([
      {
        rank: 1, organization_id: null, organization_name: null, total_drafts: 7, unused_drafts: 5, pollution_percentage: 71.43,
        share_of_unused_percentage: 100, pending_cleanup: 3, oldest_unused_at: ago(400 * 24 * HOUR),
      },
    ]);
    const pending = await db.rpc<Record<string, unknown>>('draft_pending_cleanup', { p_now: NOW });
    expect(pending.map((r) => [r.id, r.organization_id, r.organization_name, r.title, r.created_by])).toEqual([
      [ids.ancient, null, null, 'a year old', AUTHOR],
      [ids.nullColumns, null, null, null, null],
      [ids.due, null, null, '24 h + 1 s', AUTHOR],
    ]);
    // No update time bound: every session is 0 s long. Of the last 7 days' rows (all but
    // notDraft and ancient) the two whose generation started converted.
    const sessions = await db.rpc<{ bucket: string; session_count: number; converted_count: number }>('draft_session_duration', { p_now: NOW });
    expect(sessions.map((r) => [r.bucket, r.session_count, r.converted_count])).toEqual([
      ['< 1 min', 6, 2],
      ['1-5 min', 0, 0],
      ['5-15 min', 0, 0],
      ['15-60 min', 0, 0],
      ['60+ min', 0, 0],
    ]);
  });

  it('without its binding the feature is not bound: the job answers 503 FEATURE_NOT_BOUND and touches nothing', async () => {
    const app = await existingApp(engine, demoBindings());
    expect(app.features.drafts.bound).toBe(false);
    // The app's own courses table has no status column: the reason names it and the setting.
    expect(app.features.drafts.problems.join('\n')).toMatch(/public\.courses has no column "status".*bindings\.drafts\.draft\.0/);
    await otherRows(app.db);
    await lessons(app.db);
    const before = await appTables(app.db, []);
    await expect(runCleanup(app)).rejects.toMatchObject({ status: 503, code: 'FEATURE_NOT_BOUND' });
    expect(await app.db.query(`select to_regprocedure('public.trigger_manual_cleanup(integer,integer,timestamp with time zone)') as fn`)).toEqual([{ fn: null }]);
    expect(await appTables(app.db, [])).toEqual(before);
  });

  it('a NULL flag or a NULL creation time is never an unused draft (bound to the app\'s own courses)', async () => {
    const bindings = parseCronwardenConfig({
      bindings: {
        ...fixtureConfig.bindings,
        drafts: {
          table: 'public.courses',
          columns: { id: 'id', createdAt: 'created_at', updatedAt: null, organizationId: null, title: 'title', createdBy: null },
          // `=` gives NULL on a NULL flag: such a row is neither a draft nor deletable.
          draft: [{ column: 'is_draft', op: '=', value: true }],
          unused: [{ column: 'title', op: 'is null' }],
          organizations: false,
        },
      },
    }).bindings;
    const app = await existingApp(engine, bindings);
    expect(app.features.drafts).toMatchObject({ bound: true });
    const { db } = app;
    await otherRows(db);
    await lessons(db);
    const [{ id: due }] = await db.query<{ id: string }>(
      `insert into public.courses (title, is_draft, created_at) values (null, true, $1) returning id::text as id`,
      [ago(48 * HOUR)],
    );
    await db.query(
      `insert into public.courses (title, is_draft, created_at) values
         (null, null, $1), (null, false, $1), (null, true, null), ('titled', true, $1), (null, true, $2)`,
      [ago(48 * HOUR), CUTOFF],
    );
    const others = await appTables(db, ['public.courses']);
    const coursesBefore = await db.query<{ id: string }>(`select id::text as id from public.courses order by id`);

    const [health] = await db.rpc('draft_system_health', { p_now: NOW });
    // drafts: is_draft true (6 rows, among them 'old draft of the app' and 'no time' of otherRows;
    // not the NULL flag); unused: those with no title (3); due: strictly before the cutoff (1).
    expect(health).toMatchObject({ total_courses: 10, total_drafts: 6, unused_drafts: 3, pending_cleanup: 1 });

    const result = await runCleanup(app);
    expect(result).toMatchObject({ deleted_count: 1, deleted_ids: [due] });
    const coursesAfter = await db.query<{ id: string }>(`select id::text as id from public.courses order by id`);
    expect(coursesAfter.map((r) => r.id)).toEqual(coursesBefore.map((r) => r.id).filter((id) => id !== due));
    expect(await appTables(db, ['public.courses'])).toEqual(others);
  });
});
