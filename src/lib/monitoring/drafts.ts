import { z } from 'zod';
import type { FeatureName } from '../bindings/spec';
import type { Config } from '../config';
import { describeSchedule, nextRuns, scheduleOf } from '../cron/schedule';
import type { Db } from '../db/types';
import { q } from '../http/query';
import { checkRedis, type RedisHealth } from './redis';

/**
 * The draft monitoring queries (SQL functions cronwarden.draft_* in the drafts migration, over
 * the drafts binding's views), each with its query parameters, as served by
 * /api/admin/drafts/<name> and read by the alert rules and gauges. Rows come back chart-ready:
 * counts and percentages are JSON numbers, days are 'YYYY-MM-DD' strings of UTC days, times are
 * ISO timestamps, ids of the team's rows are strings. Every query needs the drafts feature bound.
 */

export const DRAFT_CLEANUP_JOB = 'draft-cleanup';
export const DRAFTS_FEATURE = 'drafts' satisfies FeatureName;

export interface DraftQueryContext {
  db: Db;
  config: Config;
  now: Date;
}

export interface DraftQueryResult {
  params: Record<string, unknown>;
  rows: object[];
  [extra: string]: unknown;
}

export interface DraftQuery<Q> {
  description: string;
  query: z.ZodType<Q, Record<string, string>>;
  run(ctx: DraftQueryContext, query: Q): Promise<DraftQueryResult>;
}

function defineQuery<Q>(def: DraftQuery<Q>): DraftQuery<Q> {
  return def;
}

const hours = q.int(1, 720).optional();
const DAY_MS = 86_400_000;

/** A date (`2026-11-01`, read as 00:00 UTC) or a date-time with an offset. */
const instant = z
  .union([z.iso.date(), z.iso.datetime({ offset: true })], { message: 'must be a date (YYYY-MM-DD) or an ISO date-time' })
  .transform((s) => new Date(s.length === 10 ? `${s}T00:00:00Z` : s));

export interface DraftSystemHealth {
  total_courses: number;
  total_drafts: number;
  unused_drafts: number;
  active_drafts: number;
  pollution_percentage: number | null;
  created_last_hour: number;
  created_last_24h: number;
  pending_cleanup: number;
  snapshot_time: Date;
}

export interface DraftCleanupPerformance {
  job: string;
  last_run_id: string | null;
  last_run_at: Date | null;
  last_status: string | null;
  last_duration_ms: number | null;
  last_deleted_count: number | null;
  last_success_at: Date | null;
  hours_since_last_run: number | null;
  hours_since_last_success: number | null;
  runs_24h: number;
  succeeded_24h: number;
  failed_24h: number;
  success_rate_24h: number | null;
  deleted_24h: number;
  avg_duration_ms_24h: number | null;
  consecutive_failures: number;
}

export async function draftSystemHealth(db: Db, now: Date, pendingHours = 24): Promise<DraftSystemHealth> {
  const [row] = await db.rpc<DraftSystemHealth>('draft_system_health', { p_hours: pendingHours, p_now: now });
  return row;
}

export async function draftCleanupPerformance(db: Db, now: Date): Promise<DraftCleanupPerformance> {
  const [row] = await db.rpc<DraftCleanupPerformance>('draft_cleanup_performance', { p_job: DRAFT_CLEANUP_JOB, p_now: now });
  return row;
}

export const draftQueries = {
  'system-health': defineQuery({
    description: 'Current drafts, unused drafts, pollution %, drafts created in the last hour and 24 h, pending cleanup',
    query: z.strictObject({ hours }),
    async run({ db, now }, query) {
      const p = { hours: query.hours ?? 24 };
      return { params: p, rows: [await draftSystemHealth(db, now, p.hours)] };
    },
  }),
  'age-distribution': defineQuery({
    description: 'Drafts by age: < 1h, 1-6h, 6-24h, > 24h',
    query: z.strictObject({}),
    async run({ db, now }) {
      return { params: {}, rows: await db.rpc('draft_age_distribution', { p_now: now }) };
    },
  }),
  'cleanup-performance': defineQuery({
    description: 'The draft-cleanup job: last run, last success, 24 h runs, failures and deletions, next run',
    query: z.strictObject({}),
    async run({ db, now }) {
      const row = await draftCleanupPerformance(db, now);
      const schedule = scheduleOf(DRAFT_CLEANUP_JOB) ?? null;
      const next = schedule ? nextRuns(schedule, 1, now)[0] ?? null : null;
      return {
        params: {},
        rows: [{ ...row, schedule, schedule_text: schedule ? describeSchedule(schedule) : null, next_run_at: next }],
      };
    },
  }),
  'organization-leaderboard': defineQuery({
    description: 'Organizations with the most unused drafts (rank, counts, pollution %, share of all unused)',
    query: z.strictObject({ limit: q.int(1, 100).optional(), hours }),
    async run({ db, now }, query) {
      const p = { limit: query.limit ?? 10, hours: query.hours ?? 24 };
      return { params: p, rows: await db.rpc('draft_organization_leaderboard', { p_limit: p.limit, p_hours: p.hours, p_now: now }) };
    },
  }),
  'daily-trend': defineQuery({
    description: 'Drafts created, used and abandoned per UTC day, with rates and a 7-day moving average',
    query: z.strictObject({ days: q.int(1, 365).optional() }),
    async run({ db, now }, query) {
      const p = { days: query.days ?? 30 };
      return { params: p, rows: await db.rpc('draft_daily_trend', { p_days: p.days, p_now: now }) };
    },
  }),
  'pending-cleanup': defineQuery({
    description: 'Unused drafts older than the cleanup age, oldest first, with cleanup runs since each became eligible',
    query: z.strictObject({ hours, limit: q.int(1, 1000).optional() }),
    async run({ db, now }, query) {
      const p = { hours: query.hours ?? 24, limit: query.limit ?? 100 };
      return { params: p, rows: await db.rpc('draft_pending_cleanup', { p_hours: p.hours, p_limit: p.limit, p_now: now }) };
    },
  }),
  'hourly-traffic': defineQuery({
    description: 'Drafts created per day of week and hour (UTC), 168 cells',
    query: z.strictObject({ days: q.int(1, 365).optional() }),
    async run({ db, now }, query) {
      const p = { days: query.days ?? 7 };
      return { params: p, rows: await db.rpc('draft_hourly_traffic', { p_days: p.days, p_now: now }) };
    },
  }),
  'redis-consistency': defineQuery({
    description: 'Unused drafts in the database from the last window vs draft-session keys in Redis',
    query: z.strictObject({ windowHours: hours }),
    async run({ db, config, now }, query) {
      const p = { windowHours: query.windowHours ?? 24 };
      const redis: RedisHealth = await checkRedis(config.redisUrl);
      const count = redis.status === 'ok' ? redis.draft_session_keys : null;
      const rows = await db.rpc('draft_redis_consistency', {
        p_redis_session_count: count,
        p_window_hours: p.windowHours,
        p_now: now,
      });
      return { params: p, rows, redis };
    },
  }),
  'cleanup-effectiveness': defineQuery({
    description: 'Cleanup runs per ISO week: runs, success rate, drafts deleted, durations',
    query: z.strictObject({ weeks: q.int(1, 52).optional() }),
    async run({ db, now }, query) {
      const p = { weeks: query.weeks ?? 4 };
      return { params: p, rows: await db.rpc('draft_cleanup_effectiveness', { p_weeks: p.weeks, p_job: DRAFT_CLEANUP_JOB, p_now: now }) };
    },
  }),
  'before-after': defineQuery({
    description: 'Pollution before and after a cut-over date (default: 14 days ago), and now',
    query: z.strictObject({ cutover: instant.optional(), days: q.int(1, 3650).optional() }),
    async run({ db, now }, query) {
      const cutover = query.cutover ?? new Date(now.getTime() - 14 * DAY_MS);
      const p = { cutover: cutover.toISOString(), days: query.days ?? 30 };
      return { params: p, rows: await db.rpc('draft_before_after', { p_cutover: cutover, p_days: p.days, p_now: now }) };
    },
  }),
  'session-duration': defineQuery({
    description: 'Draft sessions (creation to last update) in five duration buckets, with conversion rates',
    query: z.strictObject({ days: q.int(1, 365).optional() }),
    async run({ db, now }, query) {
      const p = { days: query.days ?? 7 };
      return { params: p, rows: await db.rpc('draft_session_duration', { p_days: p.days, p_now: now }) };
    },
  }),
} as const;

export type DraftQueryName = keyof typeof draftQueries;

export const draftQueryNames = Object.keys(draftQueries) as [DraftQueryName, ...DraftQueryName[]];

export const draftQueryName = z.enum(draftQueryNames);
