import type { DbSettings } from '../config';
import { migrate, type DemoMode } from './migrator';
import { PgliteDb } from './pglite';
import { PostgresDb } from './postgres';
import { SupabaseDb } from './supabase';
import type { Db } from './types';

export type { Db, SqlDb, SqlTx, Row } from './types';
export { isSqlDb } from './types';

/**
 * Opens the configured database. On the embedded and postgres adapters the migrations are
 * applied here (and the demo app's tables and rows when asked); on Supabase they are
 * `supabase db push`'s job. `onDemoSeeded` runs once the demo rows were (re)applied by this call.
 */
export async function openDb(
  settings: DbSettings,
  options: { demo?: DemoMode; onDemoSeeded?: (db: Db) => Promise<void> } = {},
): Promise<Db> {
  switch (settings.driver) {
    case 'supabase':
      return SupabaseDb.connect(settings.url, settings.serviceRoleKey);
    case 'postgres': {
      const db = PostgresDb.connect(settings.url, settings.poolMax);
      try {
        const { demo } = await migrate(db, { demo: options.demo ?? 'off' });
        if (demo.includes('demo/seed.sql')) await options.onDemoSeeded?.(db);
      } catch (err) {
        await db.close().catch(() => undefined); // a server that is down must not leave a pool behind per attempt
        throw err;
      }
      return db;
    }
    case 'pglite': {
      const db = await PgliteDb.open(settings.dataDir);
      try {
        const { demo } = await migrate(db, { demo: options.demo ?? 'off' });
        if (demo.includes('demo/seed.sql')) await options.onDemoSeeded?.(db);
      } catch (err) {
        await db.close();
        throw err;
      }
      return db;
    }
  }
}
