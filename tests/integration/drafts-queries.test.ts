import { expect, it } from 'vitest';
import type { SqlDb } from '../../src/lib/db/types';
import { parseOrThrow } from '../../src/lib/http/query';
import { draftQueries, draftQueryNames } from '../../src/lib/monitoring/drafts';
import { describeEngines } from '../support/db';
import { testConfig } from '../support/deps';
import { HOUR, MIN, SEC, SESSION_TIME_ZONES, freshInTimeZone, insertCourse, insertOrg, insertRun } from '../support/drafts';

// Wednesday 2026-03-11 12:30 UTC; its ISO week starts Monday 2026-03-09.
const NOW = new Date('2026-03-11T12:30:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const at = (iso: string) => new Date(iso);

/**
 * The fixture. Ages are from NOW; "unused" = draft whose generation never started.
 *
 *   name org      status     generation  created              session  note
 *   d1   Alpha    draft      -           12:20 Wed (10 min)   0 s      unused
 *   d2   Alpha    draft      pending     12:00 Wed (30 min)   59 s
 *   p2   Delta    published  -           11:50 Wed (40 min)   60 s     published, null generation: not unused
 *   d3   Bravo    draft      -           11:30 Wed (1 h)      299 s    unused, exactly 1 h
 *   d10  Delta    draft      -           10:30 Wed (2 h)      300 s    unused
 *   d4   Bravo    draft      generating  07:30 Wed (5 h)      899 s
 *   d5   Alpha    draft      -           06:30 Wed (6 h)      900 s    unused, exactly 6 h
 *   d6   Charlie  draft      -           12:30 Tue (24 h)     3599 s   unused, exactly 24 h: not yet due
 *   d7   Charlie  draft      -           12:29:59 Tue         3600 s   unused, 24 h + 1 s: due
 *   p1   Alpha    published  completed   12:30 Mon (2 d)      7200 s
 *   d8   Alpha    draft      -           12:30 Sun 03-08 (3 d) 10 s    unused, due
 *   d9   Bravo    draft      completed   12:30 Sun 03-01 (10 d)
 *   a1   Charlie  archived   completed   12:30 Thu 02-19 (20 d)
 */
async function fixture(db: SqlDb) {
  const alpha = await insertOrg(db, 'Alpha');
  const bravo = await insertOrg(db, 'Bravo');
  const charlie = await insertOrg(db, 'Charlie');
  const delta = await insertOrg(db, 'Delta');
  const ids: Record<string, string> = {};
  const c = async (name: string, spec: Parameters<typeof insertCourse>[1]) => {
    ids[name] = await insertCourse(db, spec);
  };
  await c('d1', { org: alpha, created_at: ago(10 * MIN), session_seconds: 0 });
  await c('d2', { org: alpha, generation_status: 'pending', created_at: ago(30 * MIN), session_seconds: 59 });
  await c('p2', { org: delta, status: 'published', created_at: ago(40 * MIN), session_seconds: 60 });
  await c('d3', { org: bravo, created_at: ago(1 * HOUR), session_seconds: 299 });
  await c('d10', { org: delta, created_at: ago(2 * HOUR), session_seconds: 300 });
  await c('d4', { org: bravo, generation_status: 'generating', created_at: ago(5 * HOUR), session_seconds: 899 });
  await c('d5', { org: alpha, created_at: ago(6 * HOUR), session_seconds: 900 });
  await c('d6', { org: charlie, created_at: ago(24 * HOUR), session_seconds: 3599 });
  await c('d7', { org: charlie, created_at: ago(24 * HOUR + SEC), session_seconds: 3600 });
  await c('p1', { org: alpha, status: 'published', generation_status: 'completed', created_at: ago(48 * HOUR), session_seconds: 7200 });
  await c('d8', { org: alpha, created_at: ago(72 * HOUR), session_seconds: 10 });
  await c('d9', { org: bravo, generation_status: 'completed', created_at: ago(240 * HOUR) });
  await c('a1', { org: charlie, status: 'archived', generation_status: 'completed', created_at: ago(480 * HOUR) });

  // Cleanup run history (job draft-cleanup unless named), by ISO week.
  // week of 02-16
  await insertRun(db, { status: 'succeeded', started_at: at('2026-02-20T10:00:00Z'), duration_ms: 1000, deleted_count: 5 });
  // week of 02-23: nothing
  // week of 03-02
  await insertRun(db, { status: 'succeeded', started_at: at('2026-03-03T10:00:00Z'), duration_ms: 200, deleted_count: 3 });
  await insertRun(db, { status: 'failed', started_at: at('2026-03-04T10:00:00Z'), duration_ms: 100 });
  await insertRun(db, { status: 'partial', started_at: at('2026-03-05T10:00:00Z'), duration_ms: 60000, deleted_count: 10 });
  await insertRun(db, { status: 'succeeded', started_at: at('2026-03-05T11:00:00Z'), duration_ms: 50, deleted_count: 99, dry_run: true });
  await insertRun(db, { status: 'skipped', started_at: at('2026-03-05T12:00:00Z'), duration_ms: 0 });
  await insertRun(db, { job: 'run-history-prune', status: 'succeeded', started_at: at('2026-03-10T04:30:00Z'), duration_ms: 70, deleted_count: 40 });
  // week of 03-09
  await insertRun(db, { status: 'succeeded', started_at: at('2026-03-10T09:00:00Z'), duration_ms: 300, deleted_count: 4 });
  await insertRun(db, { status: 'failed', started_at: at('2026-03-11T09:00:00Z'), duration_ms: 500 });
  await insertRun(db, { status: 'failed', started_at: at('2026-03-11T10:00:00Z'), duration_ms: 700 });
  await insertRun(db, { status: 'failed', started_at: at('2026-03-11T11:00:00Z'), duration_ms: 900 });
  await insertRun(db, { status: 'running', started_at: at('2026-03-11T12:00:00Z') });
  // after NOW: invisible to every query at NOW
  await insertRun(db, { status: 'succeeded', started_at: at('2026-03-11T13:00:00Z'), duration_ms: 10, deleted_count: 77 });
  return { ids, alpha, bravo, charlie, delta };
}

// Every bucket and label is UTC whatever the session time zone: the whole suite runs in each.
for (const zone of SESSION_TIME_ZONES) describeEngines(`draft monitoring queries, session time zone ${zone}`, (engine) => {
  const fresh = () => freshInTimeZone(engine, zone);

  it('rows at 12:00Z on two days are counted and labelled on their UTC days', async () => {
    const db = await fresh();
    const org = await insertOrg(db, 'Org');
    const now = at('2026-11-21T18:00:00Z');
    await insertCourse(db, { org, created_at: at('2026-11-20T12:00:00Z') });
    await insertCourse(db, { org, status: 'published', created_at: at('2026-11-21T12:00:00Z') });
    const trend = await db.rpc<{ date: string; day_start: Date; drafts_created: number; drafts_abandoned: number }>('draft_daily_trend', { p_days: 3, p_now: now });
    expect(trend.map((r) => [r.date, r.day_start.toISOString(), r.drafts_created, r.drafts_abandoned])).toEqual([
      ['2026-11-21', '2026-11-21T00:00:00.000Z', 1, 0],
      ['2026-11-20', '2026-11-20T00:00:00.000Z', 1, 1],
      ['2026-11-19', '2026-11-19T00:00:00.000Z', 0, 0],
    ]);
    const cells = await db.rpc<{ day_name: string; hour_of_day: number; drafts_created: number }>('draft_hourly_traffic', { p_days: 7, p_now: now });
    expect(cells.filter((c) => c.drafts_created > 0).map((c) => [c.day_name, c.hour_of_day, c.drafts_created])).toEqual([
      ['Fri', 12, 1],
      ['Sat', 12, 1],
    ]);
    const [{ tz }] = await db.query<{ tz: string }>(`select current_setting('TimeZone') as tz`);
    expect(tz).toBe(zone);
  });

  it('system health, age buckets, leaderboard, pending audit and Redis consistency equal the hand counts', async () => {
    const db = await fresh();
    const { ids, alpha, bravo, charlie, delta } = await fixture(db);

    const [health] = await db.rpc('draft_system_health', { p_now: NOW });
    expect(health).toEqual({
      total_courses: 13,
      total_drafts: 10, // d1-d10
      unused_drafts: 7, // d1 d3 d5 d6 d7 d8 d10
      active_drafts: 3, // d2 d4 d9
      pollution_percentage: 70,
      created_last_hour: 3, // d1 d2 p2 (d3 is exactly 1 h old)
      created_last_24h: 7, // + d3 d10 d4 d5 (d6 is exactly 24 h old)
      pending_cleanup: 2, // d7 d8
      snapshot_time: NOW,
    });

    expect(await db.rpc('draft_age_distribution', { p_now: NOW })).toEqual([
      { bucket: '< 1h', bucket_order: 1, draft_count: 2, unused_count: 1, unused_percentage: 50 }, // d1 d2
      { bucket: '1-6h', bucket_order: 2, draft_count: 3, unused_count: 2, unused_percentage: 66.67 }, // d3 d10 d4
      { bucket: '6-24h', bucket_order: 3, draft_count: 2, unused_count: 2, unused_percentage: 100 }, // d5 d6
      { bucket: '> 24h', bucket_order: 4, draft_count: 3, unused_count: 2, unused_percentage: 66.67 }, // d7 d8 d9
    ]);

    const board = await db.rpc('draft_organization_leaderboard', { p_now: NOW });
    expect(board).toEqual([
      { rank: 1, organization_id: alpha, organization_name: 'Alpha', total_drafts: 4, unused_drafts: 3, pollution_percentage: 75, share_of_unused_percentage: 42.86, pending_cleanup: 1, oldest_unused_at: ago(72 * HOUR) },
      { rank: 2, organization_id: charlie, organization_name: 'Charlie', total_drafts: 2, unused_drafts: 2, pollution_percentage: 100, share_of_unused_percentage: 28.57, pending_cleanup: 1, oldest_unused_at: ago(24 * HOUR + SEC) },
      { rank: 3, organization_id: bravo, organization_name: 'Bravo', total_drafts: 3, unused_drafts: 1, pollution_percentage: 33.33, share_of_unused_percentage: 14.29, pending_cleanup: 0, oldest_unused_at: ago(1 * HOUR) },
      { rank: 3, organization_id: delta, organization_name: 'Delta', total_drafts: 1, unused_drafts: 1, pollution_percentage: 100, share_of_unused_percentage: 14.29, pending_cleanup: 0, oldest_unused_at: ago(2 * HOUR) },
    ]);
    const top3 = await db.rpc<{ organization_name: string }>('draft_organization_leaderboard', { p_limit: 3, p_now: NOW });
    expect(top3.map((r) => r.organization_name)).toEqual(['Alpha', 'Charlie', 'Bravo']);

    expect(await db.rpc('draft_pending_cleanup', { p_now: NOW })).toEqual([
      {
        id: ids.d8, organization_id: alpha, organization_name: 'Alpha', title: `Course ${ids.d8.slice(0, 8)}`, created_by: null,
        created_at: ago(72 * HOUR), eligible_since: ago(48 * HOUR), age_hours: 72, hours_overdue: 48,
        cleanup_runs_since_eligible: 1, // the 03-10 09:00 success; the dry run and failures do not count
      },
      {
        id: ids.d7, organization_id: charlie, organization_name: 'Charlie', title: `Course ${ids.d7.slice(0, 8)}`, created_by: null,
        created_at: ago(24 * HOUR + SEC), eligible_since: ago(SEC), age_hours: 24, hours_overdue: 0,
        cleanup_runs_since_eligible: 0,
      },
    ]);
    expect((await db.rpc<{ id: string }>('draft_pending_cleanup', { p_limit: 1, p_now: NOW })).map((r) => r.id)).toEqual([ids.d8]);

    // last 24 h: drafts d1 d2 d3 d10 d4 d5, unused d1 d3 d10 d5; Redis holds 5 sessions.
    expect(await db.rpc('draft_redis_consistency', { p_redis_session_count: 5, p_now: NOW })).toEqual([
      { source: 'database', draft_count: 6, unused_count: 4, share_percentage: 44.44 },
      { source: 'redis', draft_count: 5, unused_count: 5, share_percentage: 55.56 },
    ]);
    expect(await db.rpc('draft_redis_consistency', { p_redis_session_count: null, p_now: NOW })).toEqual([
      { source: 'database', draft_count: 6, unused_count: 4, share_percentage: null },
      { source: 'redis', draft_count: null, unused_count: null, share_percentage: null },
    ]);
  });

  it('daily trend: per-day counts, rates and the 7-day moving average reaching before the window', async () => {
    const db = await fresh();
    await fixture(db);
    const rows = await db.rpc('draft_daily_trend', { p_days: 7, p_now: NOW });
    const day = (date: string, created: number, used: number, usage: number | null, abandon: number | null, ma7: number) => ({
      date,
      day_start: at(`${date}T00:00:00Z`),
      drafts_created: created,
      drafts_used: used,
      drafts_abandoned: created - used,
      usage_rate: usage,
      abandonment_rate: abandon,
      ma7_drafts_created: ma7,
    });
    expect(rows).toEqual([
      // 03-11: d1 d2 p2 d3 d10 d4 d5 (unused d1 d3 d10 d5); window 03-05..03-11 holds 7+2+1+1 = 11 → 11/7
      day('2026-03-11', 7, 3, 42.86, 57.14, 1.57),
      day('2026-03-10', 2, 0, 0, 100, 0.57), // d6 d7; 4/7
      day('2026-03-09', 1, 1, 100, 0, 0.29), // p1; 2/7
      day('2026-03-08', 1, 0, 0, 100, 0.14), // d8; 1/7
      day('2026-03-07', 0, 0, null, null, 0.14), // window 03-01..03-07 holds d9 (03-01)
      day('2026-03-06', 0, 0, null, null, 0.14),
      day('2026-03-05', 0, 0, null, null, 0.14), // window 02-27..03-05 still holds d9
    ]);
    const month = await db.rpc('draft_daily_trend', { p_now: NOW });
    expect(month).toHaveLength(30);
  });

  it('hourly traffic: 168 zero-filled cells, ISO weekday x UTC hour, last 7 days', async () => {
    const db = await fresh();
    await fixture(db);
    const rows = await db.rpc<{ day_of_week: number; day_name: string; hour_of_day: number; drafts_created: number; unused_drafts: number }>(
      'draft_hourly_traffic',
      { p_days: 7, p_now: NOW },
    );
    expect(rows).toHaveLength(168);
    const names = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
    // (weekday, hour) → [created, unused]; d9 and a1 are older than 7 days.
    const expected: Record<string, [number, number]> = {
      '3,12': [2, 1], // d1 12:20, d2 12:00
      '3,11': [2, 1], // p2 11:50, d3 11:30
      '3,10': [1, 1], // d10
      '3,7': [1, 0], // d4
      '3,6': [1, 1], // d5
      '2,12': [2, 2], // d6 12:30, d7 12:29:59
      '1,12': [1, 0], // p1
      '7,12': [1, 1], // d8
    };
    let i = 0;
    for (let d = 1; d <= 7; d++) {
      for (let h = 0; h < 24; h++) {
        const [n, u] = expected[`${d},${h}`] ?? [0, 0];
        expect(rows[i++]).toEqual({ day_of_week: d, day_name: names[d - 1], hour_of_day: h, drafts_created: n, unused_drafts: u });
      }
    }
  });

  it('cleanup job performance and weekly effectiveness come from cron_job_runs at p_now', async () => {
    const db = await fresh();
    await fixture(db);
    const [perf] = await db.rpc<Record<string, unknown>>('draft_cleanup_performance', { p_now: NOW });
    const { last_run_id, hours_since_last_success, ...rest } = perf;
    expect(typeof last_run_id).toBe('string');
    // last success finished 2026-03-10 09:00:00.300: 27.5 h minus 0.3 s before NOW
    expect(hours_since_last_success).toBeCloseTo(27.5 - 0.3 / 3600, 9);
    expect(rest).toEqual({
      job: 'draft-cleanup',
      last_run_at: at('2026-03-11T12:00:00Z'),
      last_status: 'running',
      last_duration_ms: null,
      last_deleted_count: null,
      last_success_at: at('2026-03-10T09:00:00.300Z'),
      hours_since_last_run: 0.5,
      runs_24h: 4, // the three failures and the running one
      succeeded_24h: 0,
      failed_24h: 3,
      success_rate_24h: 0,
      deleted_24h: 0,
      avg_duration_ms_24h: 700, // (500 + 700 + 900) / 3
      consecutive_failures: 3,
    });

    expect(await db.rpc('draft_cleanup_effectiveness', { p_now: NOW })).toEqual([
      {
        week_start: at('2026-03-09T00:00:00Z'), total_runs: 5, succeeded_runs: 1, partial_runs: 0, failed_runs: 3,
        success_rate: 25, drafts_deleted: 4, avg_deleted_per_run: 4, avg_duration_ms: 600, max_duration_ms: 900,
      },
      {
        week_start: at('2026-03-02T00:00:00Z'), total_runs: 3, succeeded_runs: 1, partial_runs: 1, failed_runs: 1,
        success_rate: 66.67, drafts_deleted: 13, avg_deleted_per_run: 6.5, avg_duration_ms: 20100, max_duration_ms: 60000,
      },
      {
        week_start: at('2026-02-23T00:00:00Z'), total_runs: 0, succeeded_runs: 0, partial_runs: 0, failed_runs: 0,
        success_rate: null, drafts_deleted: 0, avg_deleted_per_run: null, avg_duration_ms: null, max_duration_ms: null,
      },
      {
        week_start: at('2026-02-16T00:00:00Z'), total_runs: 1, succeeded_runs: 1, partial_runs: 0, failed_runs: 0,
        success_rate: 100, drafts_deleted: 5, avg_deleted_per_run: 5, avg_duration_ms: 1000, max_duration_ms: 1000,
      },
    ]);

    // No history at all: one row of zeros and nulls, not an error.
    const empty = await fresh();
    const [none] = await empty.rpc('draft_cleanup_performance', { p_now: NOW });
    expect(none).toMatchObject({ last_run_id: null, hours_since_last_success: null, runs_24h: 0, consecutive_failures: 0 });
  });

  it('before/after a cut-over and session-duration buckets', async () => {
    const db = await fresh();
    await fixture(db);
    // before: [02-27, 03-09) holds d9 (used) and d8 (unused) → 50 %; after: [03-09, NOW] holds
    // p1 d6 d7 d1 d2 p2 d3 d10 d4 d5, unused d6 d7 d1 d3 d10 d5 → 60 %: 20 % worse than before.
    expect(await db.rpc('draft_before_after', { p_cutover: at('2026-03-09T00:00:00Z'), p_days: 10, p_now: NOW })).toEqual([
      { period: 'before', label: 'Before cut-over', period_start: at('2026-02-27T00:00:00Z'), period_end: at('2026-03-09T00:00:00Z'), total_drafts: 2, unused_drafts: 1, pollution_percentage: 50, improvement_percentage: null },
      { period: 'after', label: 'After cut-over', period_start: at('2026-03-09T00:00:00Z'), period_end: NOW, total_drafts: 10, unused_drafts: 6, pollution_percentage: 60, improvement_percentage: -20 },
      { period: 'current', label: 'Current DB state', period_start: null, period_end: NOW, total_drafts: 10, unused_drafts: 7, pollution_percentage: 70, improvement_percentage: null },
    ]);
    // cut-over 03-10 12:00, 2 days before: [03-08 12:00, 03-10 12:00) holds d8 p1 → 50 %;
    // after holds d6 d7 d1 d2 p2 d3 d10 d4 d5, unused 6 of 9 → 66.67 %: -33.33 %.
    const [, after] = await db.rpc('draft_before_after', { p_cutover: at('2026-03-10T12:00:00Z'), p_days: 2, p_now: NOW });
    expect(after).toMatchObject({ total_drafts: 9, unused_drafts: 6, pollution_percentage: 66.67, improvement_percentage: -33.33 });

    // 11 courses in the last 7 days (d9, a1 are older).
    expect(await db.rpc('draft_session_duration', { p_days: 7, p_now: NOW })).toEqual([
      { bucket: '< 1 min', bucket_order: 1, min_seconds: 0, max_seconds: 60, session_count: 3, converted_count: 1, abandoned_count: 2, conversion_rate: 33.33, share_percentage: 27.27 }, // d1 0 s, d2 59 s, d8 10 s
      { bucket: '1-5 min', bucket_order: 2, min_seconds: 60, max_seconds: 300, session_count: 2, converted_count: 1, abandoned_count: 1, conversion_rate: 50, share_percentage: 18.18 }, // p2 60 s, d3 299 s
      { bucket: '5-15 min', bucket_order: 3, min_seconds: 300, max_seconds: 900, session_count: 2, converted_count: 1, abandoned_count: 1, conversion_rate: 50, share_percentage: 18.18 }, // d10 300 s, d4 899 s
      { bucket: '15-60 min', bucket_order: 4, min_seconds: 900, max_seconds: 3600, session_count: 2, converted_count: 0, abandoned_count: 2, conversion_rate: 0, share_percentage: 18.18 }, // d5, d6
      { bucket: '60+ min', bucket_order: 5, min_seconds: 3600, max_seconds: null, session_count: 2, converted_count: 1, abandoned_count: 1, conversion_rate: 50, share_percentage: 18.18 }, // d7 3600 s, p1
    ]);
  });

  it('serves every query through its endpoint definition with parsed parameters', async () => {
    const db = await fresh();
    await fixture(db);
    const ctx = { db, config: testConfig(), now: NOW };
    for (const name of draftQueryNames) {
      const def = draftQueries[name] as unknown as { query: Parameters<typeof parseOrThrow>[0]; run: (c: typeof ctx, q: unknown) => Promise<{ rows: object[] }> };
      const out = await def.run(ctx, parseOrThrow(def.query, {}));
      expect(out.rows.length, name).toBeGreaterThan(0);
    }
    const ba = draftQueries['before-after'];
    const out = await ba.run(ctx, parseOrThrow(ba.query, { cutover: '2026-03-09', days: '10' }));
    expect(out.params).toEqual({ cutover: '2026-03-09T00:00:00.000Z', days: 10 });
    expect(out.rows[1]).toMatchObject({ period: 'after', improvement_percentage: -20 });
    const byDefault = await ba.run(ctx, parseOrThrow(ba.query, {}));
    expect(byDefault.params.cutover).toBe('2026-02-25T12:30:00.000Z'); // 14 days before NOW
    expect(() => parseOrThrow(ba.query, { cutover: 'last tuesday' })).toThrow(/cutover/);
    expect(() => parseOrThrow(draftQueries['daily-trend'].query, { days: '366' })).toThrow(/at most 365/);
    expect(() => parseOrThrow(draftQueries['age-distribution'].query, { days: '1' })).toThrow(/Unknown/);

    const redis = await draftQueries['redis-consistency'].run(ctx, {});
    expect(redis.redis).toEqual({ status: 'not_configured' });
    expect(redis.rows).toEqual([
      { source: 'database', draft_count: 6, unused_count: 4, share_percentage: null },
      { source: 'redis', draft_count: null, unused_count: null, share_percentage: null },
    ]);
    const perf = await draftQueries['cleanup-performance'].run(ctx, {});
    expect(perf.rows[0]).toMatchObject({ schedule: '0 * * * *', next_run_at: at('2026-03-11T13:00:00Z'), consecutive_failures: 3 });
  });
});
