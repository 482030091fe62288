/**
 * What every benchmark case shares: the engines (an in-memory PGlite of the bench's own, or a
 * database of its own on a PostgreSQL server), job dependencies with a fixed clock, a Db
 * wrapper that times each SQL function call, and the result shapes the table is printed from.
 */
import { bindFeatures } from '../../src/lib/bindings/apply';
import { allFeaturesBound } from '../../src/lib/bindings/features';
import { demoBindings } from '../../src/lib/bindings/spec';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { loadConfig, type Config } from '../../src/lib/config';
import type { JobDeps } from '../../src/lib/cron/types';
import { migrate } from '../../src/lib/db/migrator';
import { PgliteDb } from '../../src/lib/db/pglite';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { Db, Row, SqlDb } from '../../src/lib/db/types';
import { createLogger } from '../../src/lib/logger';
import { LocalStorage } from '../../src/lib/storage/local';
import type { Storage } from '../../src/lib/storage/types';

export type EngineName = 'pglite' | 'postgres';

/** The bench's clock: seeds are laid out relative to it and every job runs "now" = NOW. */
export const NOW = new Date('2026-12-01T03:00:00Z');
export const DAY_MS = 86_400_000;

/** Tables the cases fill; emptied between cases on a shared database (those that exist). */
const BENCH_TABLES = [
  'public.export_logs',
  'public.courses',
  'public.organizations',
  'cronwarden.export_metrics',
  'cronwarden.export_metrics_hourly',
  'cronwarden.export_rollup_coverage',
  'cronwarden.export_partitions_detached',
  'cronwarden.export_log_archive_pending',
  'cronwarden.export_file_claims',
  'cronwarden.cron_job_run_logs',
  'cronwarden.cron_job_runs',
  'cronwarden.cron_job_leases',
];

export interface BenchEngine {
  name: EngineName;
  /** Human label: engine, version, where the data lives. */
  label: string;
  /** A migrated database with the bench tables empty, for one case. */
  open(): Promise<SqlDb>;
  /** Hands the case's database back (PGlite: closed and freed; PostgreSQL: tables emptied). */
  release(db: SqlDb): Promise<void>;
  /** Frees everything the engine holds (PostgreSQL: drops the bench database). */
  close(): Promise<void>;
}

/**
 * PGlite in memory: migrated once, dumped, and every case loads its own copy of the dump, so
 * a case's 1M rows are gone (closed and collected) before the next case seeds its own.
 */
/** Our schema, the demo app's tables (empty) and the default bindings: what the cases fill. */
async function prepareBenchDb(db: SqlDb): Promise<void> {
  await migrate(db, { demo: 'tables' });
  await bindFeatures(db, demoBindings());
}

export async function pgliteEngine(): Promise<BenchEngine> {
  const first = await PgliteDb.open(undefined);
  let dump: Blob;
  let version: string;
  try {
    await prepareBenchDb(first);
    [{ version }] = await first.query<{ version: string }>(`select current_setting('server_version') as version`);
    dump = await first.pg.dumpDataDir('none');
  } finally {
    await first.close();
  }
  const pkg = JSON.parse(
    fs.readFileSync(path.join(process.cwd(), 'node_modules', '@electric-sql', 'pglite', 'package.json'), 'utf8'),
  ) as { version: string };
  return {
    name: 'pglite',
    label: `PGlite ${pkg.version} (PostgreSQL ${version}, WASM, in memory)`,
    open: () => PgliteDb.fromDump(dump),
    release: (db) => db.close(),
    close: async () => {},
  };
}

/**
 * A database of the bench's own on the server at `adminUrl` (`cw_bench_<pid>`), created and
 * migrated here and dropped by close(), also when the process is interrupted. Nothing else on
 * the server is touched.
 */
export async function postgresEngine(adminUrl: string): Promise<BenchEngine> {
  const name = `cw_bench_${process.pid}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void drop()
      .catch(() => {})
      .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  await admin.unsafe(`create database ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = PostgresDb.connect(url.toString(), 4);
  let version: string;
  try {
    await prepareBenchDb(db);
    [{ version }] = await db.query<{ version: string }>(`select current_setting('server_version') as version`);
  } catch (err) {
    await db.close().catch(() => {});
    await drop().catch(() => {});
    throw err;
  }
  const empty = async () => {
    const present = await db.query<{ name: string }>(`select t as name from unnest($1::text[]) t where to_regclass(t) is not null`, [BENCH_TABLES]);
    if (present.length) await db.exec(`truncate ${present.map((r) => r.name).join(', ')}`);
  };
  return {
    name: 'postgres',
    label: `PostgreSQL ${version} (${url.hostname}:${url.port || 5432}, database ${name})`,
    open: async () => {
      await empty();
      return db;
    },
    release: empty,
    close: async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await db.close().catch(() => {});
      await drop();
    },
  };
}

/**
 * After a seed: statistics and the visibility map as a table in service would have them
 * (autovacuum's job), and a checkpoint so the seed's writes are not flushed during a timed run.
 */
export async function settle(db: SqlDb, tables: string[]): Promise<void> {
  for (const t of tables) await db.exec(`vacuum analyze ${t}`);
  try {
    await db.exec('checkpoint');
  } catch {
    // Needs superuser (or pg_checkpoint) on a server: the run is only noisier without it.
  }
}

export async function count(db: SqlDb, sql: string, params: unknown[] = []): Promise<number> {
  const [r] = await db.query<{ n: number | string }>(sql, params);
  return Number(r.n);
}

/** Per-function call times of everything a job sends through db.rpc. */
export interface RpcTimings {
  db: Db;
  calls: Map<string, number[]>;
  max(fn: string): number;
  /** Every function called, slowest total first: calls, total and slowest ms. */
  byFunction(): Array<{ fn: string; calls: number; total_ms: number; max_ms: number }>;
}

export function timedDb(inner: Db): RpcTimings {
  const calls = new Map<string, number[]>();
  const db: Db = {
    driver: inner.driver,
    async rpc<T = Row>(fn: string, args?: Record<string, unknown>): Promise<T[]> {
      const t = performance.now();
      try {
        return await inner.rpc<T>(fn, args);
      } finally {
        const list = calls.get(fn) ?? [];
        list.push(performance.now() - t);
        calls.set(fn, list);
      }
    },
    close: () => inner.close(),
  };
  const byFunction = () =>
    [...calls]
      .map(([fn, ms]) => ({ fn, calls: ms.length, total_ms: Math.round(ms.reduce((a, b) => a + b, 0)), max_ms: Math.round(Math.max(...ms)) }))
      .sort((a, b) => b.total_ms - a.total_ms);
  return { db, calls, max: (fn) => Math.max(0, ...(calls.get(fn) ?? [])), byFunction };
}

/** The server's checkpoint counters (pg_stat_bgwriter); null where the engine has none. */
export interface CheckpointCounters {
  checkpoints: number;
  /** Of them, requested because the WAL reached max_wal_size. */
  requested: number;
  write_ms: number;
  sync_ms: number;
  /** Buffers a backend had to write itself (no clean buffer to take). */
  backend_writes: number;
}

export async function checkpointCounters(db: SqlDb): Promise<CheckpointCounters | null> {
  try {
    const [r] = await db.query<{ t: string; r: string; w: number; s: number; b: string }>(
      `select checkpoints_timed::text as t, checkpoints_req::text as r, checkpoint_write_time as w, checkpoint_sync_time as s, buffers_backend::text as b from pg_stat_bgwriter`,
    );
    return { checkpoints: Number(r.t) + Number(r.r), requested: Number(r.r), write_ms: Number(r.w), sync_ms: Number(r.s), backend_writes: Number(r.b) };
  } catch {
    return null;
  }
}

/**
 * What the server did around a job while it ran, and how its batch calls were spread: a line
 * for the notes, e.g. "batch calls: median 21 ms, 2 of 197 over 250 ms; during the job: 3
 * checkpoints (3 for WAL volume), sync 812 ms". The slowest batches of a long delete on stock
 * settings are the ones a checkpoint's writes and fsyncs reach.
 */
export function batchSpread(callsMs: number[], before: CheckpointCounters | null, after: CheckpointCounters | null): string {
  const sorted = [...callsMs].sort((a, b) => a - b);
  const median = sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0;
  const over = sorted.filter((ms) => ms > 250).length;
  const slowest = sorted.slice(-3).reverse().map(fmtMs).join(', ');
  const spread = `batch calls: median ${fmtMs(median)}, slowest ${slowest}, ${over} of ${sorted.length} over 250 ms`;
  if (!before || !after) return spread;
  const n = after.checkpoints - before.checkpoints;
  return `${spread}; during the job the server completed ${n} checkpoint${n === 1 ? '' : 's'} (${after.requested - before.requested} for WAL volume; write ${fmtMs(after.write_ms - before.write_ms)}, fsync ${fmtMs(after.sync_ms - before.sync_ms)}) and backends wrote ${fmtInt(after.backend_writes - before.backend_writes)} buffers themselves`;
}

export function benchConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ CRON_SECRET: 'bench-cron-secret-0123456789abcdef', LOG_LEVEL: 'silent', ...env });
}

/** Temporary folders of this run, removed when the process exits. */
const scratch: string[] = [];
process.once('exit', () => {
  for (const dir of scratch) fs.rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  scratch.push(dir);
  return dir;
}

let idleStorage: LocalStorage | undefined;

/** JobDeps as the runner gets them in production, with logging off and the bench's clock. */
export function jobDeps(db: Db, options: { storage?: Storage; env?: Record<string, string> } = {}): JobDeps {
  const config = benchConfig(options.env);
  return {
    db,
    // Jobs that do not touch storage share one empty folder.
    storage: options.storage ?? (idleStorage ??= new LocalStorage(tempDir('cw-bench-storage-'))),
    config,
    log: createLogger({ level: 'silent', secrets: config.secrets }),
    now: () => NOW,
    features: allFeaturesBound(),
    bindings: demoBindings(),
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await fn();
  return { ms: performance.now() - t, value };
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`bench check failed: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/** job: ours; naive: the way without us; baseline: ours on another setup (for a cost ratio); reference: one statement. */
export type Method = 'job' | 'naive' | 'baseline' | 'reference';

export interface Measurement {
  method: Method;
  /** What exactly ran. */
  label: string;
  /** Rows the method worked through (deleted, aggregated, files removed). */
  rows: number;
  ms: number;
  /** How many timed repetitions `ms` is the median of. */
  runs?: number;
  details?: Record<string, unknown>;
}

export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
  /** Measured / limit, or limit / measured for "at least" targets: > 1 means missed by that factor. */
  factor: number;
}

export interface CaseResult {
  id: string;
  title: string;
  /** Rows in the table the case seeded. */
  tableRows: number;
  measurements: Measurement[];
  targets: TargetCheck[];
  notes: string[];
  /** The bench process's highest resident set size while the case ran (MB), sampled every 20 ms. */
  peakRssMb?: number;
}

export interface CaseContext {
  engine: BenchEngine;
  rows: number;
  files: number;
  /** Timed runs of the job and of the reference; the tables show their median. */
  repeats: number;
  /** Run the naive baselines (one round trip per 100 rows: minutes at 10M rows). */
  naive: boolean;
  step(label: string): void;
}

export interface BenchCase {
  id: string;
  title: string;
  /** How many times run() calls ctx.step (for the progress bar). */
  steps(repeats: number): number;
  run(ctx: CaseContext): Promise<CaseResult>;
}

/** "at most" target: met when value <= limit. */
export function atMost(target: string, value: number, limit: number, show: (v: number) => string): TargetCheck {
  return { target, measured: show(value), met: value <= limit, factor: value / limit };
}

/** "at least" target: met when value >= limit. */
export function atLeast(target: string, value: number, limit: number, show: (v: number) => string): TargetCheck {
  return { target, measured: show(value), met: value >= limit, factor: value > 0 ? limit / value : Infinity };
}

export const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
export const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
export const fmtX = (x: number) => `${x.toFixed(x >= 100 ? 0 : 2)}x`;
export const rowsPerSecond = (m: Pick<Measurement, 'rows' | 'ms'>) => (m.ms > 0 ? (m.rows * 1000) / m.ms : 0);

/** Rows the naive way deletes per round trip: what the seeds' "page ids, delete them" implies. */
export const NAIVE_PAGE = 100;

/**
 * The naive baseline: select a page of ids through the client, delete them, repeat until none
 * is left. Returns the number of delete round trips.
 */
export async function naiveDeleteByIds(db: SqlDb, table: string, idColumn: string, eligible: string, params: unknown[]): Promise<number> {
  let trips = 0;
  for (;;) {
    const ids = await db.query<Record<string, string>>(
      `select ${idColumn} from ${table} where ${eligible} order by created_at limit ${NAIVE_PAGE}`,
      params,
    );
    if (ids.length === 0) return trips;
    await db.query(`delete from ${table} where ${idColumn} = any($1::uuid[])`, [ids.map((r) => r[idColumn])]);
    trips++;
  }
}

/**
 * The highest resident set size of this process between start() and stop(), in MB: sampled
 * every 20 ms (a timer, so work that never yields to the event loop is sampled right after it).
 */
export function rssPeak(): { stop(): number } {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 20);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      peak = Math.max(peak, process.memoryUsage.rss());
      return peak / 2 ** 20;
    },
  };
}

export const fmtMb = (mb: number) => `${Math.round(mb)} MB`;
