/**
 * Fires each job at its own schedule (UTC, the schedule table) against the running app, as
 * Vercel Cron does on Pro, so self-hosted installs behave the same. Started by `npm start`; `npm run scheduler` alone.
 */
import { loadConfig } from '../src/lib/config';
import { notRunFromHealth, startLocalScheduler } from '../src/lib/cron/local-scheduler';
import { cronEntries } from '../src/lib/cron/schedule';
import { createLogger } from '../src/lib/logger';
import { ensureLocalCronSecret, loadDotEnv } from './lib/env';

loadDotEnv();
ensureLocalCronSecret();
const config = loadConfig(process.env);
const log = createLogger({ level: config.logLevel, secrets: config.secrets });
if (!config.cron.secret) throw new Error('CRON_SECRET is not set');

const baseUrl = process.env.SCHEDULER_TARGET_URL ?? config.appUrl;
const scheduler = startLocalScheduler({
  entries: cronEntries(),
  baseUrl,
  secret: config.cron.secret,
  log,
  // Jobs whose feature is off or unbound, or whose rule did not bind, are not fired.
  notRun: () => notRunFromHealth(baseUrl),
});

const stop = () => {
  scheduler.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
