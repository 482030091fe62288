import { bindFeatures, boundReferenceSources } from './bindings/apply';
import { getCronwardenConfig } from './bindings/load';
import type { Bindings, CronwardenConfig } from './bindings/spec';
import type { Config } from './config';
import type { JobDeps } from './cron/types';
import { openDb } from './db';
import type { DemoMode } from './db/migrator';
import type { Db } from './db/types';
import { createLogger, type Logger } from './logger';
import { createStorage } from './storage';
import type { Storage } from './storage/types';
import { bindRules } from './policies/apply';

/**
 * JobDeps for a process outside the Next server (scripts, the bench): the configured database
 * opened (migrated; demo app only when asked), the bindings and the policies checked and applied
 * as the app does, storage and a logger. Close the database when done.
 */
export async function openJobDeps(
  config: Config,
  options: { demo?: DemoMode; log?: Logger; storage?: Storage; db?: Db; bindings?: Bindings; cronwarden?: CronwardenConfig } = {},
): Promise<JobDeps> {
  const db = options.db ?? (await openDb(config.db, { demo: options.demo ?? 'off' }));
  const cronwarden = options.cronwarden ?? getCronwardenConfig();
  const bindings = options.bindings ?? cronwarden.bindings;
  const { features, compiled } = await bindFeatures(db, bindings);
  const { rules } = await bindRules(db, cronwarden, config.exports.archivePrefix, boundReferenceSources(compiled, features));
  return {
    db,
    storage: options.storage ?? createStorage(config.storage),
    config,
    log: options.log ?? createLogger({ level: config.logLevel, secrets: config.secrets }),
    now: () => new Date(),
    features,
    bindings,
    rules,
  };
}
