import { getConfig, type Config } from './config';
import { openDb } from './db';
import { createAvailability, databaseEndpoint, watchAvailability, type DatabaseAvailability } from './db/availability';
import type { Db } from './db/types';
import { createLogger, type Logger } from './logger';
import { createStorage } from './storage';
import type { Storage } from './storage/types';
import type { JobDeps } from './cron/types';

/**
 * The process's wiring, built on first use (never at import: `next build` evaluates route
 * modules and must not open the database or need the environment).
 */
interface App {
  config: Config;
  log: Logger;
  storage: Storage;
  /** Whether the database answers; the outage and the recovery are logged once each. */
  database: DatabaseAvailability;
  /** The database; rejects with DatabaseUnavailableError (503) while it cannot be reached. */
  db(): Promise<Db>;
}

// Kept on globalThis, not in a module variable: `next start` loads route handlers and server
// components (the admin page) as separate module graphs in one process, and a module variable
// gave each its own App, so two PGlite engines on one data directory, each blind to the other's
// writes (measured: a run recorded through /api/admin/... did not show on /admin).
const holder = globalThis as typeof globalThis & { __cronwardenApp?: App };

export function getApp(): App {
  if (holder.__cronwardenApp) return holder.__cronwardenApp;
  const config = getConfig();
  const log = createLogger({ level: config.logLevel, secrets: config.secrets });
  const storage = createStorage(config.storage);
  const database = createAvailability(databaseEndpoint(config.db), log);
  let dbPromise: Promise<Db> | undefined;
  const app: App = {
    config,
    log,
    storage,
    database,
    db() {
      dbPromise ??= openDb(config.db, { seed: config.seedDemoData && config.db.driver !== 'supabase' }).then(
        (db) => {
          database.succeeded();
          return watchAvailability(db, database);
        },
        (err) => {
          dbPromise = undefined; // let the next request try again
          throw database.failed(err);
        },
      );
      return dbPromise;
    },
  };
  holder.__cronwardenApp = app;
  return app;
}

export async function getJobDeps(): Promise<JobDeps> {
  const a = getApp();
  return { db: await a.db(), storage: a.storage, config: a.config, log: a.log, now: () => new Date() };
}
