/**
 * Runs one job from the command line, through the same runner as the HTTP route.
 *
 *   npx tsx scripts/run-job.ts <job> [--dry-run] [--<param> <value> ...]
 *   npx tsx scripts/run-job.ts <job> --url http://127.0.0.1:3000 [--dry-run]   (call a running app)
 *
 * In-process by default (opens the configured database). The embedded database allows one
 * process at a time, so while `npm start` runs, use --url. Exit: 0 done, 1 failed, 2 refused.
 */
import { loadConfig } from '../src/lib/config';
import { openDb } from '../src/lib/db';
import { DataDirLockedError } from '../src/lib/db/pglite';
import { getJob, jobNames } from '../src/lib/cron/registry';
import { settlePings } from '../src/lib/cron/pings';
import { runJob } from '../src/lib/cron/runner';
import { parseOrThrow } from '../src/lib/http/query';
import { AppError } from '../src/lib/http/errors';
import { createLogger } from '../src/lib/logger';
import { createStorage } from '../src/lib/storage';
import { ensureLocalCronSecret, loadDotEnv } from './lib/env';

// --<param> <value> pairs become the route's query parameters; parsed by the job's own schema.
const args = process.argv.slice(2);
const values: { 'dry-run'?: boolean; url?: string; help?: boolean } = {};
const params: Record<string, string> = {};
const positionals: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--dry-run') values['dry-run'] = true;
  else if (a === '--help' || a === '-h') values.help = true;
  else if (a.startsWith('--')) {
    const [key, inline] = a.slice(2).split('=', 2);
    const value = inline ?? args[++i] ?? '';
    if (key === 'url') values.url = value;
    else params[key] = value;
  } else positionals.push(a);
}
const name = positionals[0];
const job = name ? getJob(name) : undefined;
if (values.help || !job) {
  console.error(`usage: npx tsx scripts/run-job.ts <job> [--dry-run] [--url URL] [--<param> <value>]\njobs: ${jobNames.join(', ')}`);
  process.exit(values.help ? 0 : 2);
}
const dryRun = Boolean(values['dry-run']);

loadDotEnv();
ensureLocalCronSecret();
const config = loadConfig(process.env);

if (typeof values.url === 'string') {
  const url = new URL(`/api/cron/${job.name}`, values.url);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (dryRun) url.searchParams.set('dryRun', '1');
  const res = await fetch(url, { headers: { authorization: `Bearer ${config.cron.secret}`, 'x-cron-trigger': 'script' } });
  console.log(JSON.stringify(await res.json(), null, 2));
  process.exit(res.ok ? 0 : res.status === 409 ? 2 : 1);
}

const log = createLogger({ level: config.logLevel, secrets: config.secrets });
try {
  const input = parseOrThrow(job.input, params, 'option');
  const db = await openDb(config.db);
  const outcome = await runJob(job, { input, dryRun, trigger: 'script' }, {
    db,
    storage: createStorage(config.storage),
    config,
    log,
    now: () => new Date(),
  });
  await Promise.all([db.close(), settlePings()]); // a dead-man's switch ping must leave before exit
  if (outcome.kind === 'finished') {
    console.log(JSON.stringify({ success: outcome.status !== 'failed', result: outcome.result }, null, 2));
    process.exit(outcome.status === 'failed' ? 1 : 0);
  }
  if (outcome.kind === 'conflict') {
    console.error(`${job.name} is already running (run ${outcome.holderRunId}).`);
    process.exit(2);
  }
  console.error(`${job.name} failed: ${outcome.error.message} (run ${outcome.runId})`);
  process.exit(1);
} catch (err) {
  if (err instanceof DataDirLockedError || err instanceof AppError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
