import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { SqlDb } from './types';

// Read at run time from the project folder (next start runs there); tracing must not follow them.
export const MIGRATIONS_DIR = path.join(/*turbopackIgnore: true*/ process.cwd(), 'supabase', 'migrations');
export const SEED_FILE = path.join(/*turbopackIgnore: true*/ process.cwd(), 'supabase', 'seed.sql');

const TABLE = 'cronwarden_migrations';
const NAME = /^\d{14}_[a-z0-9_]+\.sql$/;

export interface MigrationFile {
  name: string;
  sql: string;
  checksum: string;
}

export function readMigrations(dir = MIGRATIONS_DIR): MigrationFile[] {
  return fs
    .readdirSync(/*turbopackIgnore: true*/ dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((name) => {
      if (!NAME.test(name)) throw new Error(`Migration file name must be <14-digit timestamp>_<name>.sql: ${name}`);
      const sql = fs.readFileSync(/*turbopackIgnore: true*/ path.join(dir, name), 'utf8');
      return { name, sql, checksum: sha256(sql) };
    });
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

async function ensureTable(db: SqlDb): Promise<void> {
  await db.exec(
    `create table if not exists ${TABLE} (
       name text primary key,
       checksum text not null,
       applied_at timestamptz not null default now()
     )`,
  );
}

export async function appliedMigrations(db: SqlDb): Promise<Map<string, string>> {
  await ensureTable(db);
  const rows = await db.query<{ name: string; checksum: string }>(`select name, checksum from ${TABLE}`);
  return new Map(rows.map((r) => [r.name, r.checksum]));
}

/**
 * Applies every migration not yet recorded, in name order, each in its own transaction together
 * with its record, under an advisory lock so two processes starting at once apply it once.
 * The seed (demo data, written to be re-runnable) is applied when it is new or has changed.
 */
export async function migrate(
  db: SqlDb,
  options: { dir?: string; seedFile?: string | null } = {},
): Promise<{ applied: string[]; seeded: boolean }> {
  const files = readMigrations(options.dir);
  await ensureTable(db);
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
  let seeded = false;
  const seedFile = options.seedFile === undefined ? null : options.seedFile;
  if (seedFile && fs.existsSync(/*turbopackIgnore: true*/ seedFile)) {
    const sql = fs.readFileSync(/*turbopackIgnore: true*/ seedFile, 'utf8');
    seeded = await applyOnce('seed.sql', sql, sha256(sql), true);
  }
  return { applied, seeded };
}

/** Names of migration files not yet applied (for /api/health). */
export async function pendingMigrations(db: SqlDb, dir?: string): Promise<string[]> {
  const done = await appliedMigrations(db);
  return readMigrations(dir)
    .map((f) => f.name)
    .filter((n) => !done.has(n));
}
