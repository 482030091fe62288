import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { SUPABASE_CRON_FILE_HEADER } from '../schedules/supabase-cron';
import type { SqlDb } from './types';

// Read at run time from the project folder (next start runs there); tracing must not follow them.
export const MIGRATIONS_DIR = path.join(/*turbopackIgnore: true*/ process.cwd(), 'supabase', 'migrations');
/** The demo app: its domain tables (applied only when asked) and its rows. */
export const DEMO_SCHEMA_FILE = path.join(/*turbopackIgnore: true*/ process.cwd(), 'supabase', 'demo', 'schema.sql');
export const DEMO_SEED_FILE = path.join(/*turbopackIgnore: true*/ process.cwd(), 'supabase', 'demo', 'seed.sql');

/** Where applied migrations are recorded (the first release kept it in public). */
const TABLE = 'cronwarden.migrations';
const LEGACY_TABLE = 'public.cronwarden_migrations';
const NAME = /^\d{14}_[a-z0-9_]+\.sql$/;

/** off: our schema only (a team's database); tables: the demo app's tables, empty; data: with its rows. */
export type DemoMode = 'off' | 'tables' | 'data';

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
  /**
   * A Supabase Cron schedules file (`npm run schedules -- --target supabase-cron --write`): its
   * first line is SUPABASE_CRON_FILE_HEADER. `supabase db push` applies it to the project's
   * database; this migrator applies it only where pg_cron is installed, so the embedded
   * database, the tests and a plain PostgreSQL keep working beside it.
   */
  schedules: boolean;
}


export function readMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  return fs
    .readdirSync(/*turbopackIgnore: true*/ dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => {
      if (!NAME.test(name)) throw new Error(`Migration file name must be <14-digit timestamp>_<name>.sql: ${name}`);
      const sql = fs.readFileSync(/*turbopackIgnore: true*/ path.join(dir, name), 'utf8');
      return { name, sql, checksum: sha256(sql), schedules: sql.startsWith(SUPABASE_CRON_FILE_HEADER) };
    });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Creates the record table in schema cronwarden, or moves the first release's record there
 * (with its rows: those migrations stay applied and are never run again).
 */
async function ensureTable(db: SqlDb): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext('cronwarden_migrations'))`);
    await tx.exec(`create schema if not exists cronwarden`);
    const [row] = await tx.query<{ legacy: boolean; current: boolean }>(
      `select to_regclass('${LEGACY_TABLE}') is not null as legacy, to_regclass('${TABLE}') is not null as current`,
    );
    if (row.legacy && !row.current) {
      await tx.exec(`alter table ${LEGACY_TABLE} set schema cronwarden; alter table cronwarden.cronwarden_migrations rename to migrations`);
    }
    await tx.exec(
      `create table if not exists ${TABLE} (
         name text primary key,
         checksum text not null,
         applied_at timestamptz not null default now()
       )`,
    );
  });
}

export async function appliedMigrations(db: SqlDb): Promise<Map<string, string>> {
  await ensureTable(db);
  const rows = await db.query<{ name: string; checksum: string }>(`select name, checksum from ${TABLE}`);
  return new Map(rows.map((r) => [r.name, r.checksum]));
}

async function hasPgCron(db: SqlDb): Promise<boolean> {
  const [row] = await db.query<{ ok: boolean }>(`select exists (select 1 from pg_extension where extname = 'pg_cron') as ok`);
  return row.ok;
}

/**
 * Applies every migration not yet recorded, in name order, each in its own transaction together
 * with its record, under an advisory lock so two processes starting at once apply it once.
 * Supabase Cron schedules files are left out (not recorded) where pg_cron is not installed:
 * `skipped` names them. With `demo`, then the demo app's tables (and rows), each file written to
 * be re-runnable and applied again when it changes. Returns what it applied.
 */
export async function migrate(
  db: SqlDb,
  options: { dir?: string; demo?: DemoMode; demoSchemaFile?: string; demoSeedFile?: string } = {},
): Promise<{ applied: string[]; demo: string[]; skipped: string[] }> {
  const all = readMigrations(options.dir);
  await ensureTable(db);
  const skipped = all.some((f) => f.schedules) && !(await hasPgCron(db)) ? all.filter((f) => f.schedules).map((f) => f.name) : [];
  const files = all.filter((f) => !skipped.includes(f.name));
  const applied: string[] = [];
  const applyOnce = async (name: string, sql: string, checksum: string, reapplyOnChange: boolean) =>
    db.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(hashtext($1))`, [TABLE]);
      const [row] = await tx.query<{ checksum: string }>(`select checksum from ${TABLE} where name = $1`, [name]);
      if (row && (!reapplyOnChange || row.checksum === checksum)) return false;
      await tx.exec(sql);
      await tx.query(
        `insert into ${TABLE} (name, checksum) values ($1, $2)
         on conflict (name) do update set checksum = excluded.checksum, applied_at = now()`,
        [name, checksum],
      );
      return true;
    });
  for (const f of files) {
    if (await applyOnce(f.name, f.sql, f.checksum, false)) applied.push(f.name);
  }
  const demo: string[] = [];
  const mode = options.demo ?? 'off';
  const demoFiles: [string, string][] = [];
  if (mode !== 'off') demoFiles.push(['demo/schema.sql', options.demoSchemaFile ?? DEMO_SCHEMA_FILE]);
  if (mode === 'data') demoFiles.push(['demo/seed.sql', options.demoSeedFile ?? DEMO_SEED_FILE]);
  for (const [name, file] of demoFiles) {
    const sql = fs.readFileSync(/*turbopackIgnore: true*/ file, 'utf8');
    if (await applyOnce(name, sql, sha256(sql), true)) demo.push(name);
  }
  return { applied, demo, skipped };
}

/** Names of migration files not yet applied (for /api/health); schedules files only where pg_cron is installed. */
export async function pendingMigrations(db: SqlDb, dir?: string): Promise<string[]> {
  const done = await appliedMigrations(db);
  const files = readMigrations(dir);
  const cron = files.some((f) => f.schedules) ? await hasPgCron(db) : false;
  return files.filter((f) => !done.has(f.name) && (!f.schedules || cron)).map((f) => f.name);
}
