/**
 * Runs one job from the command line, through the same runner as the HTTP route.
 *
 *   npx tsx scripts/run-job.ts <job> [--dry-run] [--json] [--<param> <value> ...]
 *   npx tsx scripts/run-job.ts <job> --url http://127.0.0.1:3000 [--dry-run]   (call a running app)
 *
 * In-process by default: opens the configured database, or, on the embedded default while
 * `npm start` runs, the app's database over its loopback socket. On a terminal it prints a
 * readable summary (with a progress bar over the job's time budget); `--json`, and any output
 * that is not a terminal, get the JSON result alone on stdout (log lines go to stderr). Exit: 0 done, 1 failed, 2 refused or unknown job.
 */
import { loadConfig } from '../src/lib/config';
import { openToolDb } from '../src/lib/db/tool-db';
import { DataDirLockedError } from '../src/lib/db/pglite';
import { getJob, jobNames } from '../src/lib/cron/registry';
import { settlePings } from '../src/lib/cron/pings';
import { runJob } from '../src/lib/cron/runner';
import { parseOrThrow } from '../src/lib/http/query';
import { AppError } from '../src/lib/http/errors';
import { createLogger } from '../src/lib/logger';
import { openJobDeps } from '../src/lib/world';
import { ensureLocalCronSecret, loadDotEnv } from './lib/env';
import { duration, elapsedBar, keyValues, num, outputMode, terminalPaint } from './lib/terminal';

const USAGE = 'usage: npx tsx scripts/run-job.ts <job> [--dry-run] [--json] [--url URL] [--<param> <value>]';

// --<param> <value> pairs become the route's query parameters; parsed by the job's own schema.
const args = process.argv.slice(2);
const values: { 'dry-run'?: boolean; url?: string; help?: boolean } = {};
const params: Record<string, string> = {};
const positionals: string[] = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--dry-run') values['dry-run'] = true;
  else if (a === '--json') continue;
  else if (a === '--help' || a === '-h') values.help = true;
  else if (a.startsWith('--')) {
    const [key, inline] = a.slice(2).split('=', 2);
    const value = inline ?? args[++i] ?? '';
    if (key === 'url') values.url = value;
    else params[key] = value;
  } else positionals.push(a);
}
const mode = outputMode(args);
const p = terminalPaint();
const name = positionals[0];
const job = name ? getJob(name) : undefined;
if (values.help || !job) {
  if (name && !values.help) console.error(`Unknown job: ${name}`);
  else if (!values.help) console.error('Which job? Name one.');
  console.error(`${USAGE}\nKnown jobs: ${jobNames.join(', ')}`);
  process.exit(values.help ? 0 : 2);
}
const dryRun = Boolean(values['dry-run']);

interface ResultBody {
  run_id?: string;
  status?: string;
  dry_run?: boolean;
  partial?: boolean;
  duration_ms?: number;
  errors?: { subject: string; message: string }[];
  [key: string]: unknown;
}

const BOOKKEEPING = new Set(['run_id', 'job', 'status', 'dry_run', 'partial', 'duration_ms', 'timestamp', 'errors', 'failed']);

/** A figure as a person reads it: numbers grouped, long id lists folded to their count. */
function readable(v: unknown): string {
  if (typeof v === 'number') return num(v);
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.length === 0 ? 'none' : v.length <= 3 ? v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(', ') : `${num(v.length)} (--json lists them)`;
  return JSON.stringify(v);
}

/** The result as a person reads it: a status line, the job's own figures, then its errors. */
function printSummary(jobName: string, result: ResultBody): void {
  const status = String(result.status ?? 'unknown');
  const mark = status === 'succeeded' ? p.green('✔') : status === 'partial' ? p.yellow('◐') : p.red('✘');
  const colour = status === 'succeeded' ? p.green : status === 'partial' ? p.yellow : p.red;
  console.log(
    `${mark} ${p.bold(jobName)} ${colour(status)}${result.dry_run ? p.cyan(' (dry run: nothing changed)') : ''} in ${duration(result.duration_ms)}`,
  );
  const figures = Object.entries(result)
    .filter(([k]) => !BOOKKEEPING.has(k))
    .map(([k, v]): [string, string] => [k.replace(/_/g, ' '), readable(v)]);
  if (figures.length) console.log(keyValues(figures, p));
  if (result.partial) console.log(p.yellow('  The time budget ended the run early; the next run continues where it stopped.'));
  const errors = result.errors ?? [];
  if (errors.length) {
    console.log(p.red(`  ${errors.length} error(s):`));
    for (const e of errors.slice(0, 20)) console.log(`    ${p.red('•')} ${e.subject}: ${e.message}`);
    if (errors.length > 20) console.log(p.dim(`    … ${errors.length - 20} more (--json shows all)`));
  }
  if (result.run_id) console.log(p.dim(`  run ${result.run_id}`));
}

loadDotEnv();
ensureLocalCronSecret();
const config = loadConfig(process.env);
const bar = mode === 'human' ? elapsedBar(`${job.name}${dryRun ? ' (dry run)' : ''}`, job.maxDurationSeconds) : null;

if (typeof values.url === 'string') {
  const url = new URL(`/api/cron/${job.name}`, values.url);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (dryRun) url.searchParams.set('dryRun', '1');
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${config.cron.secret}`, 'x-cron-trigger': 'script' } });
  } catch (err) {
    bar?.stop();
    console.error(`Cannot reach ${url.origin}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  }
  const body = (await res.json().catch(() => null)) as { result?: ResultBody; error?: { code: string; message: string } } | null;
  bar?.stop();
  if (mode === 'json' || !body) console.log(JSON.stringify(body, null, 2));
  else if (body.result) printSummary(job.name, body.result);
  else console.error(`${p.red('✘')} ${job.name}: ${res.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`);
  process.exit(res.ok ? 0 : res.status === 409 ? 2 : 1);
}

// stdout carries the result only (the JSON parses as it is); the run's log lines go to stderr,
// on a terminal warnings and worse only.
const log = createLogger({
  level: mode === 'human' && !process.env.LOG_LEVEL ? 'warn' : config.logLevel,
  secrets: config.secrets,
  destination: process.stderr,
});
try {
  const input = parseOrThrow(job.input, params, 'option');
  const deps = await openJobDeps(config, { log, db: await openToolDb(config.db) });
  const outcome = await runJob(job, { input, dryRun, trigger: 'script' }, deps);
  await Promise.all([deps.db.close(), settlePings()]); // a dead-man's switch ping must leave before exit
  bar?.stop();
  if (outcome.kind === 'finished') {
    if (mode === 'json') console.log(JSON.stringify({ success: outcome.status !== 'failed', result: outcome.result }, null, 2));
    else printSummary(job.name, outcome.result);
    process.exit(outcome.status === 'failed' ? 1 : 0);
  }
  if (outcome.kind === 'conflict') {
    console.error(`${job.name} is already running (run ${outcome.holderRunId}).`);
    process.exit(2);
  }
  console.error(`${job.name} failed: ${outcome.error.message} (run ${outcome.runId})`);
  process.exit(1);
} catch (err) {
  bar?.stop();
  if (err instanceof DataDirLockedError || err instanceof AppError) {
    console.error(err.message);
    process.exit(2);
  }
  throw err;
}
