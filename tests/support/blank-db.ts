import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, inject } from 'vitest';
import { PgliteDb } from '../../src/lib/db/pglite';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { SqlDb } from '../../src/lib/db/types';
import { hasPostgres } from './db';

/** An engine that opens an empty database: no migration applied, nothing of ours in it. */
export interface BlankEngine {
  name: string;
  open(): Promise<SqlDb>;
}

/**
 * PGlite in memory, and a new PostgreSQL database when TEST_DATABASE_URL is set. Registers an
 * afterAll in the calling file that closes what was opened and drops the PostgreSQL databases.
 */
export function blankEngines(): BlankEngine[] {
  const opened: SqlDb[] = [];
  const dropLater: string[] = [];
  const track = async (db: Promise<SqlDb>) => {
    const d = await db;
    opened.push(d);
    return d;
  };
  const list: BlankEngine[] = [{ name: 'pglite', open: () => track(PgliteDb.open(undefined)) }];
  if (hasPostgres()) {
    list.push({
      name: 'postgres',
      async open() {
        const adminUrl = inject('pgAdminUrl');
        const name = `cw_t_${inject('pgTemplate').split('_').pop()}_${randomBytes(5).toString('hex')}`;
        const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
        await admin.unsafe(`create database ${name}`);
        await admin.end();
        dropLater.push(name);
        const url = new URL(adminUrl);
        url.pathname = `/${name}`;
        return track(Promise.resolve(PostgresDb.connect(url.toString(), 2)));
      },
    });
  }
  afterAll(async () => {
    await Promise.all(opened.map((d) => d.close().catch(() => {})));
    if (!dropLater.length) return;
    const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => {} });
    for (const name of dropLater) await admin.unsafe(`drop database if exists ${name} with (force)`).catch(() => {});
    await admin.end();
  });
  return list;
}
