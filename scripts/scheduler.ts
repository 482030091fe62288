/**
 * Fires each vercel.json cron at its time (UTC) against the running app, as Vercel Cron does,
 * so self-hosted installs behave the same. Started by `npm start`; `npm run scheduler` alone.
 */
import { Cron } from 'croner';
import { loadConfig } from '../src/lib/config';
import { createLogger } from '../src/lib/logger';
import { cronEntries, jobNameOfPath } from '../src/lib/cron/schedule';
import { ensureLocalCronSecret, loadDotEnv } from './lib/env';

loadDotEnv();
ensureLocalCronSecret();
const config = loadConfig(process.env);
const log = createLogger({ level: config.logLevel, secrets: config.secrets });
const base = (process.env.SCHEDULER_TARGET_URL ?? config.appUrl).replace(/\/$/, '');

async function fire(path: string): Promise<void> {
  const job = jobNameOfPath(path);
  const t0 = performance.now();
  try {
    const res = await fetch(base + path, {
      headers: { authorization: `Bearer ${config.cron.secret}`, 'x-cron-trigger': 'scheduler', 'user-agent': 'cronwarden-scheduler/1' },
      signal: AbortSignal.timeout(15 * 60_000),
    });
    const body = (await res.json().catch(() => null)) as { result?: { run_id?: string; status?: string } } | null;
    log.info(
      { type: 'scheduler_fired', job, http_status: res.status, run_id: body?.result?.run_id, status: body?.result?.status, ms: Math.round(performance.now() - t0) },
      'scheduled job fired',
    );
  } catch (err) {
    log.error({ type: 'scheduler_fire_failed', job, err }, 'scheduled job could not be reached');
  }
}

const timers = cronEntries().map(
  (entry) =>
    new Cron(entry.schedule, { timezone: 'UTC', protect: true, name: entry.path }, () => fire(entry.path)),
);
for (const t of timers) {
  log.info({ type: 'scheduler_registered', path: t.name, next_run: t.nextRun()?.toISOString() }, 'cron registered');
}

const stop = () => {
  for (const t of timers) t.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
