import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, describe, inject } from 'vitest';
import { PgliteDb } from '../../src/lib/db/pglite';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { SqlDb } from '../../src/lib/db/types';

export type EngineName = 'pglite' | 'postgres';

export interface FreshOptions {
  /** Only Cronwarden's schema: no demo tables, no bindings (a team's database before adoption). */
  bare?: boolean;
}

export interface Engine {
  name: EngineName;
  /**
   * A fresh database of its own: migrated, with the demo app's tables (empty) and the default
   * bindings applied, or `bare`. Closed (and dropped) after the file.
   */
  fresh(options?: FreshOptions): Promise<SqlDb>;
}

const dumps = new Map<string, Blob>();

async function freshPglite(options: FreshOptions = {}): Promise<SqlDb> {
  const key = options.bare ? 'pgliteBareDumpPath' : 'pgliteDumpPath';
  let dump = dumps.get(key);
  if (!dump) {
    dump = new Blob([fs.readFileSync(inject(key))]);
    dumps.set(key, dump);
  }
  return PgliteDb.fromDump(dump);
}

/** The URL of a new database cloned from the migrated template (real PostgreSQL only). */
export async function freshPostgresUrl(options: FreshOptions = {}): Promise<string> {
  const adminUrl = inject('pgAdminUrl');
  const template = options.bare ? `${inject('pgTemplate')}_bare` : inject('pgTemplate');
  const name = `cw_t_${inject('pgTemplate').split('_').pop()}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template ${template}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

async function freshPostgres(options: FreshOptions = {}): Promise<SqlDb> {
  return PostgresDb.connect(await freshPostgresUrl(options), 4);
}

export const hasPostgres = () => inject('pgAdminUrl') !== '';

export function engines(): Engine[] {
  const list: Engine[] = [];
  const open: SqlDb[] = [];
  const track = (make: (o?: FreshOptions) => Promise<SqlDb>) => async (o?: FreshOptions) => {
    const db = await make(o);
    open.push(db);
    return db;
  };
  list.push({ name: 'pglite', fresh: track(freshPglite) });
  if (hasPostgres()) list.push({ name: 'postgres', fresh: track(freshPostgres) });
  afterAll(async () => {
    await Promise.all(open.map((db) => db.close().catch(() => {})));
  });
  return list;
}

/** Runs the same suite on PGlite and, when TEST_DATABASE_URL is set, on real PostgreSQL. */
export function describeEngines(title: string, suite: (engine: Engine) => void): void {
  for (const engine of engines()) {
    describe(`${title} [${engine.name}]`, () => suite(engine));
  }
}
