import { bindFeatures, boundReferenceSources, type FeatureStates } from './bindings/apply';
import { unboundReasons } from './bindings/features';
import { getCronwardenConfig } from './bindings/load';
import type { CronwardenConfig } from './bindings/spec';
import { getConfig, type Config } from './config';
import { openDb } from './db';
import { PgliteDb } from './db/pglite';
import { servePglite } from './db/pglite-socket-server';
import { createAvailability, databaseEndpoint, watchAvailability, type DatabaseAvailability } from './db/availability';
import type { Db } from './db/types';
import { createLogger, type Logger } from './logger';
import { placeDemoObjects } from './demo/objects';
import { createStorage } from './storage';
import type { Storage } from './storage/types';
import type { JobDeps } from './cron/types';
import { bindRules, type RuleStates } from './policies/apply';

/** An unbound feature is checked again after this long (the team may have created its table). */
const RECHECK_UNBOUND_MS = 60_000;

/**
 * The process's wiring, built on first use (never at import: `next build` evaluates route
 * modules and must not open the database or need the environment).
 */
interface App {
  config: Config;
  cronwarden: CronwardenConfig;
  log: Logger;
  storage: Storage;
  /** Whether the database answers; the outage and the recovery are logged once each. */
  database: DatabaseAvailability;
  /** The database; rejects with DatabaseUnavailableError (503) while it cannot be reached. */
  db(): Promise<Db>;
  /** Each feature: switched on or off, bound or not and why (checked at open, see bindFeatures). */
  features(): Promise<FeatureStates>;
  /** Each policy and orphan sweep of cronwarden.config.ts, by job name: bound or not and why (see bindRules). */
  rules(): Promise<RuleStates>;
}

// Kept on globalThis, not in a module variable: `next start` loads route handlers and server
// components (the admin page) as separate module graphs in one process, and a module variable
// gave each its own App, so two PGlite engines on one data directory, each blind to the other's
// writes (measured: a run recorded through /api/admin/... did not show on /admin).
const holder = globalThis as typeof globalThis & { __cronwardenApp?: App };

export function getApp(): App {
  if (holder.__cronwardenApp) return holder.__cronwardenApp;
  const config = getConfig();
  const cronwarden = getCronwardenConfig();
  const log = createLogger({ level: config.logLevel, secrets: config.secrets });
  const storage = createStorage(config.storage);
  const database = createAvailability(databaseEndpoint(config.db), log);
  let dbPromise: Promise<Db> | undefined;
  let states: FeatureStates | undefined;
  let rules: RuleStates | undefined;
  let checkedAt = 0;
  let reported = '';
  let reportedRules = '';

  const check = async (db: Db): Promise<FeatureStates> => {
    const outcome = await bindFeatures(db, cronwarden.bindings);
    states = outcome.features;
    checkedAt = Date.now();
    const reasons = unboundReasons(states);
    // One line per reason when they change, not one per request.
    if (reasons.join('\n') !== reported) {
      reported = reasons.join('\n');
      for (const reason of reasons) log.warn({ type: 'feature_not_bound', reason }, reason);
    }
    if (outcome.applied) log.info({ type: 'bindings_applied', features: Object.values(states).filter((s) => s.bound).map((s) => s.feature) }, 'bindings applied');
    // The team's own rules, beside the bindings: one that does not fit is refused on its own.
    const ruled = await bindRules(db, cronwarden, config.exports.archivePrefix, boundReferenceSources(outcome.compiled, states));
    rules = ruled.rules;
    // Those refused by their shape were said at start (announceStartup, policy_refused).
    const byShape = new Set(cronwarden.refusals.flatMap((r) => r.problems));
    const ruleReasons = [...new Set(Object.values(rules).flatMap((r) => r.problems))].filter((line) => !byShape.has(line));
    if (ruleReasons.join('\n') !== reportedRules) {
      reportedRules = ruleReasons.join('\n');
      for (const reason of ruleReasons) log.warn({ type: 'policy_not_bound', reason }, reason);
    }
    if (ruled.applied) log.info({ type: 'policies_applied', rules: Object.values(rules).filter((r) => r.bound).map((r) => r.job) }, 'policies applied');
    return states;
  };

  const app: App = {
    config,
    cronwarden,
    log,
    storage,
    database,
    db() {
      dbPromise ??= (async () => {
        const db = await openDb(config.db, {
          demo: config.demoApp,
          // The demo's files (its uploads and a few orphans for the example sweep); a failure
          // here leaves the app working, without them.
          onDemoSeeded: async (seeded) => {
            try {
              const written = await placeDemoObjects(seeded, storage);
              if (written > 0) log.info({ type: 'demo_objects_written', objects: written }, 'Demo app: stored objects written to local storage');
            } catch (err) {
              log.warn({ type: 'demo_objects_failed', err: err instanceof Error ? err.message : String(err) }, 'Demo app: could not write its stored objects');
            }
          },
        });
        database.succeeded();
        // The embedded database is served to local tools (monitors, run-job) while the app holds it.
        if (db instanceof PgliteDb && config.db.driver === 'pglite') await serveToTools(db, config.db.dataDir, log);
        const watched = watchAvailability(db, database);
        await check(watched);
        return watched;
      })().catch((err) => {
        dbPromise = undefined; // let the next request try again
        throw database.failed(err);
      });
      return dbPromise;
    },
    async features() {
      const db = await app.db();
      const stale = Date.now() - checkedAt > RECHECK_UNBOUND_MS;
      if (!states || (stale && (Object.values(states).some((s) => s.enabled && !s.bound) || Object.values(rules ?? {}).some((r) => !r.bound)))) return check(db);
      return states;
    },
    async rules() {
      await app.features();
      return rules ?? {};
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
  const db = await a.db();
  return {
    db,
    storage: a.storage,
    config: a.config,
    log: a.log,
    now: () => new Date(),
    features: await a.features(),
    bindings: a.cronwarden.bindings,
    rules: await a.rules(),
  };
}
