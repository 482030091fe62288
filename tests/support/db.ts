import fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, describe, inject } from 'vitest';
import { PgliteDb } from '../../src/lib/db/pglite';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { SqlDb } from '../../src/lib/db/types';

export type EngineName = 'pglite' | 'postgres';

export interface Engine {
  name: EngineName;
  /** A fresh, migrated, empty database of its own; closed (and dropped) after the file. */
  fresh(): Promise<SqlDb>;
}

let dump: Blob | undefined;

async function freshPglite(): Promise<SqlDb> {
  dump ??= new Blob([fs.readFileSync(inject('pgliteDumpPath'))]);
  return PgliteDb.fromDump(dump);
}

/** The URL of a new database cloned from the migrated template (real PostgreSQL only). */
export async function freshPostgresUrl(): Promise<string> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('pgTemplate');
  const name = `cw_t_${template.split('_').pop()}_${randomBytes(5).toString('hex')}`;
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

async function freshPostgres(): Promise<SqlDb> {
  return PostgresDb.connect(await freshPostgresUrl(), 4);
}

export const hasPostgres = () => inject('pgAdminUrl') !== '';

export function engines(): Engine[] {
  const list: Engine[] = [];
  const open: SqlDb[] = [];
  const track = (make: () => Promise<SqlDb>) => async () => {
    const db = await make();
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
