import { getConfig, type Config } from './config';
import { openDb } from './db';
import { PgliteDb } from './db/pglite';
import { servePglite } from './db/pglite-socket-server';
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
  let dbPromise: Promise<Db> | undefined;
  const app: App = {
    config,
    log,
    storage,
    db() {
      dbPromise ??= openDb(config.db, { seed: config.seedDemoData && config.db.driver !== 'supabase' })
        .then(async (db) => {
          if (db instanceof PgliteDb && config.db.driver === 'pglite') await serveToTools(db, config.db.dataDir, log);
          return db;
        })
        .catch((err) => {
          dbPromise = undefined; // let the next request try again
          throw err;
        });
      return dbPromise;
    },
  };
  holder.__cronwardenApp = app;
  return app;
}

/**
 * The embedded database allows one process: serve it on loopback so the monitors, run-job and
 * the test scripts work while the app runs. A failure here leaves the app itself working.
 */
async function serveToTools(db: PgliteDb, dataDir: string, log: Logger): Promise<void> {
  try {
    const served = await servePglite(db.pg, dataDir, { onWarning: (message) => log.warn({ type: 'pglite_socket_warning' }, message) });
    log.info({ type: 'pglite_socket_listening', host: served.info.host, port: served.info.port, file: served.file }, 'Embedded database served to local tools');
  } catch (err) {
    log.warn({ type: 'pglite_socket_failed', err: err instanceof Error ? err.message : String(err) }, 'Could not serve the embedded database to local tools');
  }
}

export async function getJobDeps(): Promise<JobDeps> {
  const a = getApp();
  return { db: await a.db(), storage: a.storage, config: a.config, log: a.log, now: () => new Date() };
}
