import { randomUUID } from 'node:crypto';
import { onTestFinished } from 'vitest';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { SqlDb } from '../../src/lib/db/types';
import { freshPostgresUrl, type Engine } from './db';

export const HOUR = 3_600_000;
export const MIN = 60_000;
export const SEC = 1_000;

export async function insertOrg(db: SqlDb, name: string, id = randomUUID()): Promise<string> {
  await db.query(`insert into organizations (id, name) values ($1, $2)`, [id, name]);
  return id;
}

export interface CourseSpec {
  org: string;
  status?: 'draft' | 'published' | 'archived';
  generation_status?: string | null;
  created_at: Date;
  /** Seconds from creation to the last update (default 0). */
  session_seconds?: number;
  id?: string;
}

export async function insertCourse(db: SqlDb, c: CourseSpec): Promise<string> {
  const id = c.id ?? randomUUID();
  const updated = new Date(c.created_at.getTime() + (c.session_seconds ?? 0) * 1000);
  await db.query(
    `insert into courses (id, organization_id, title, status, generation_status, created_at, updated_at)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [id, c.org, `Course ${id.slice(0, 8)}`, c.status ?? 'draft', c.generation_status ?? null, c.created_at, updated],
  );
  return id;
}

/** `n` courses in one statement, all created at `createdAt` (for threshold fixtures). */
export async function insertCourses(
  db: SqlDb,
  n: number,
  c: { org: string; status?: string; generation_status?: string | null; created_at: Date },
): Promise<void> {
  if (n <= 0) return;
  await db.query(
    `insert into courses (organization_id, status, generation_status, created_at, updated_at)
     select $1, $2, $3, $4, $4 from generate_series(1, $5::integer)`,
    [c.org, c.status ?? 'draft', c.generation_status ?? null, c.created_at, n],
  );
}

export interface RunSpec {
  job?: string;
  status: 'running' | 'succeeded' | 'failed' | 'partial' | 'skipped';
  started_at: Date;
  duration_ms?: number | null;
  deleted_count?: number;
  dry_run?: boolean;
}

/** A cron_job_runs row as the runner writes it (finished_at = started_at + duration). */
export async function insertRun(db: SqlDb, r: RunSpec): Promise<string> {
  const id = randomUUID();
  const done = r.status !== 'running';
  const duration = done ? (r.duration_ms ?? 0) : null;
  const finished = done ? new Date(r.started_at.getTime() + (duration ?? 0)) : null;
  const result = done && r.status !== 'failed' ? { errors: [], rows_affected: r.deleted_count ?? 0, deleted_count: r.deleted_count ?? 0 } : null;
  await db.query(
    `insert into cronwarden.cron_job_runs (id, job, status, started_at, finished_at, duration_ms, dry_run, result, rows_affected, error)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
    [
      id,
      r.job ?? 'draft-cleanup',
      r.status,
      r.started_at,
      finished,
      duration,
      r.dry_run ?? false,
      result,
      r.deleted_count ?? 0,
      r.status === 'failed' ? 'database unreachable' : null,
    ],
  );
  return id;
}

/**
 * Session time zones the draft queries are tested under: their buckets and labels must be UTC
 * whatever the session says. New York is behind UTC (and changes to daylight time on
 * 2026-03-08); Chatham is 13:45 ahead, so an afternoon in UTC is already the next day there.
 */
export const SESSION_TIME_ZONES = ['UTC', 'America/New_York', 'Pacific/Chatham'] as const;

/**
 * A fresh demo database whose every query runs with session time zone `zone`. PGlite has one
 * session; on PostgreSQL the database gets a pool of one connection, so the `set` holds for
 * every query (the adapter's own connections start in UTC). Closed when the test ends.
 */
export async function freshInTimeZone(engine: Engine, zone: string): Promise<SqlDb> {
  if (zone === 'UTC') return engine.fresh();
  const db = engine.name === 'pglite' ? await engine.fresh() : PostgresDb.connect(await freshPostgresUrl(), 1);
  if (engine.name === 'postgres') onTestFinished(() => db.close());
  await db.exec(`set time zone '${zone.replace(/'/g, "''")}'`);
  const [{ tz }] = await db.query<{ tz: string }>(`select current_setting('TimeZone') as tz`);
  if (tz !== zone) throw new Error(`session time zone is ${tz}, not ${zone}`);
  return db;
}
