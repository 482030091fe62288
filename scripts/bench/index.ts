/**
 * Benchmarks of the data jobs on the embedded PGlite and, when BENCH_DATABASE_URL is set, on a
 * real PostgreSQL server, each against the naive way and against the one-statement reference,
 * measured in the same run on the same data.
 *
 *   npm run bench -- [--rows 1000000] [--engine pglite|postgres|all] [--repeat 3] [--cases a,b] [--files 10000] [--naive auto|on|off]
 *
 * stdout: one table per engine, the targets (every one a ratio or a bound measured in this run)
 * and the process's peak RSS per case. stderr: progress (a bar on a terminal, one line per step
 * otherwise). The results are also written to bench-results/<timestamp>.json (ignored by git;
 * the run behind the README's figures is committed).
 * On PostgreSQL the bench creates a database of its own (cw_bench_<pid>) and drops it at the end.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import cliProgress from 'cli-progress';
import { draftCleanup } from './draft-cleanup';
import { draftHealth } from './draft-health';
import { fileCleanup } from './file-cleanup';
import { logRetention } from './log-retention';
import { logRetentionRenamed } from './log-retention-renamed';
import { metricsAggregation } from './metrics-aggregation';
import { metricsReport } from './metrics-report';
import { partitionRetention } from './partition-retention';
import { policyRetention } from './policy-retention';
import {
  atMost,
  fmtInt,
  fmtMb,
  fmtMs,
  fmtX,
  pgliteEngine,
  postgresEngine,
  rowsPerSecond,
  rssPeak,
  type BenchCase,
  type BenchEngine,
  type CaseResult,
  type EngineName,
} from './lib';

const CASES: BenchCase[] = [
  logRetention,
  logRetentionRenamed,
  policyRetention,
  partitionRetention,
  metricsAggregation,
  metricsReport,
  fileCleanup,
  draftCleanup,
  draftHealth,
];

/** Cases whose process memory must not grow with the row count (on PostgreSQL: the data is on the server). */
const RSS_BOUND_CASES = new Set(['log-retention', 'policy-retention', 'partition-retention', 'draft-cleanup']);
const RSS_LIMIT_MB = 300;
/** --naive auto runs the naive baselines up to this many rows (one round trip per 100 rows beyond is minutes). */
const NAIVE_AUTO_MAX_ROWS = 2_000_000;

const USAGE = `usage: npm run bench -- [--rows N] [--engine pglite|postgres|all] [--repeat N] [--cases ${CASES.map((c) => c.id).join(',')}] [--files N] [--naive auto|on|off]
  --rows    rows per table (default 1000000; 100k, 1M and 1e6 are understood)
  --engine  pglite, postgres (needs BENCH_DATABASE_URL) or all (default: pglite, and postgres when BENCH_DATABASE_URL is set)
  --repeat  timed runs of each job and its reference, each on freshly seeded data; the tables show medians (default 3)
  --cases   a comma-separated subset of the cases (default: all)
  --files   expired exports for the file cleanup case (default: rows / 100, at most 10000)
  --naive   the naive baselines: on, off, or auto (default: on up to ${fmtInt(NAIVE_AUTO_MAX_ROWS)} rows)`;

function parseCount(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(e\d+|k|m)?$/i.exec(text.trim());
  if (!m) throw new Error(`${what}: not a number: ${text}`);
  const suffix = (m[2] ?? '').toLowerCase();
  const mult = suffix === 'k' ? 1e3 : suffix === 'm' ? 1e6 : suffix.startsWith('e') ? 10 ** Number(suffix.slice(1)) : 1;
  const n = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n) || n < 100 || n > 50_000_000) throw new Error(`${what}: must be between 100 and 50,000,000`);
  return n;
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      rows: { type: 'string' },
      engine: { type: 'string' },
      cases: { type: 'string' },
      files: { type: 'string' },
      repeat: { type: 'string' },
      naive: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const rows = values.rows ? parseCount(values.rows, '--rows') : 1_000_000;
  const files = values.files ? parseCount(values.files, '--files') : Math.min(10_000, Math.max(100, Math.round(rows / 100)));
  const repeats = values.repeat ? Number(values.repeat) : 3;
  if (!Number.isInteger(repeats) || repeats < 1 || repeats > 10) throw new Error('--repeat: a whole number from 1 to 10');
  const url = process.env.BENCH_DATABASE_URL?.trim() || '';
  const engine = values.engine ?? 'all';
  let engines: EngineName[];
  if (engine === 'pglite') engines = ['pglite'];
  else if (engine === 'postgres') engines = ['postgres'];
  else if (engine === 'all') engines = url ? ['pglite', 'postgres'] : ['pglite'];
  else throw new Error(`--engine: pglite, postgres or all, not ${engine}`);
  if (engines.includes('postgres') && !url) throw new Error('--engine postgres: set BENCH_DATABASE_URL (a server where the bench may create and drop its own database)');
  let cases = CASES;
  if (values.cases) {
    const wanted = values.cases.split(',').map((s) => s.trim()).filter(Boolean);
    const unknown = wanted.filter((w) => !CASES.some((c) => c.id === w));
    if (unknown.length) throw new Error(`--cases: unknown ${unknown.join(', ')} (known: ${CASES.map((c) => c.id).join(', ')})`);
    cases = CASES.filter((c) => wanted.includes(c.id));
  }
  const naiveOpt = values.naive ?? 'auto';
  if (!['auto', 'on', 'off'].includes(naiveOpt)) throw new Error(`--naive: auto, on or off, not ${naiveOpt}`);
  const naive = naiveOpt === 'on' || (naiveOpt === 'auto' && rows <= NAIVE_AUTO_MAX_ROWS);
  return { rows, files, repeats, engines, cases, url, naive };
}

// ---------------------------------------------------------------------------------------------
// Progress on stderr
// ---------------------------------------------------------------------------------------------

interface Progress {
  step(label: string): void;
  stop(): void;
}

function progress(engine: string, total: number): Progress {
  const started = performance.now();
  const since = () => `${((performance.now() - started) / 1000).toFixed(1)} s`;
  if (!process.stderr.isTTY) {
    let n = 0;
    let stopped = false;
    return {
      step(label) {
        n++;
        process.stderr.write(`[${engine} ${n}/${total} +${since()}] ${label}\n`);
      },
      stop() {
        if (stopped) return;
        stopped = true;
        process.stderr.write(`[${engine}] done in ${since()}\n`);
      },
    };
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: `${engine.padEnd(8)} [{bar}] {value}/{total} | {duration_formatted} | {label}`,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0, { label: 'starting' });
  let n = 0;
  return {
    step(label) {
      // A step is announced when it starts: the bar counts the steps already finished.
      bar.update(n, { label });
      n++;
    },
    stop() {
      if (!bar.isActive) return;
      bar.update(n, { label: 'done' });
      bar.stop();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Tables on stdout
// ---------------------------------------------------------------------------------------------

function table(headers: string[], rows: string[][], rightAligned: number[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (rightAligned.includes(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

function render(engine: BenchEngine, rows: number, repeats: number, results: CaseResult[]): string {
  const out: string[] = [];
  out.push(`== ${engine.label} | --rows ${fmtInt(rows)} | job and reference: median of ${repeats} ==`);
  const measured: string[][] = [];
  for (const r of results) {
    const job = r.measurements.find((m) => m.method === 'job');
    for (const m of r.measurements) {
      const vsJob = job && m !== job ? fmtX(m.ms / job.ms) : m === job ? '1.00x' : '';
      measured.push([
        m === r.measurements[0] ? r.id : '',
        m.method,
        m.label,
        fmtInt(m.rows),
        fmtMs(m.ms),
        fmtInt(rowsPerSecond(m)),
        vsJob,
      ]);
    }
  }
  out.push(table(['case', 'method', 'what ran', 'rows', 'time', 'rows/s', 'time vs job'], measured, [3, 4, 5, 6]));
  out.push('');
  out.push(`peak RSS of the bench process per case: ${results.map((r) => `${r.id} ${r.peakRssMb === undefined ? '?' : fmtMb(r.peakRssMb)}`).join(', ')}`);
  out.push('');
  const checks: string[][] = [];
  for (const r of results) {
    for (const t of r.targets) {
      checks.push([r.id, t.target, t.measured, t.met ? 'met' : `MISSED by ${fmtX(t.factor)}`]);
    }
  }
  if (checks.length) {
    out.push(
      engine.name === 'postgres' ? 'targets (set for real PostgreSQL):' : 'targets (set for real PostgreSQL; shown here for comparison only):',
    );
    out.push(table(['case', 'target', 'measured', 'result'], checks, []));
    out.push('');
  }
  const notes = results.flatMap((r) => r.notes.map((n) => `  ${r.id}: ${n}`));
  if (notes.length) out.push('notes:', ...notes, '');
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------

async function main() {
  let opts: ReturnType<typeof parseOptions>;
  try {
    opts = parseOptions();
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  const startedAt = new Date();
  const report = {
    started_at: startedAt.toISOString(),
    machine: {
      cpus: os.cpus().length,
      cpu_model: os.cpus()[0]?.model ?? 'unknown',
      total_memory_gb: +(os.totalmem() / 2 ** 30).toFixed(1),
      platform: `${os.type()} ${os.release()} ${os.arch()}`,
      node: process.version,
      load_average_at_start: os.loadavg().map((l) => +l.toFixed(2)),
    },
    options: { rows: opts.rows, files: opts.files, repeats: opts.repeats, engines: opts.engines, cases: opts.cases.map((c) => c.id), naive: opts.naive },
    engines: [] as { name: EngineName; label: string; duration_ms: number; cases: CaseResult[]; error?: string }[],
  };
  const m = report.machine;
  console.log(
    `bench ${report.started_at} | ${m.cpus} CPUs (${m.cpu_model}) | ${m.total_memory_gb} GB | load ${m.load_average_at_start.join(' ')} | ${m.platform} | Node ${m.node}\n`,
  );
  const steps = opts.cases.reduce((s, c) => s + c.steps(opts.repeats), 0);
  let failed = false;

  for (const name of opts.engines) {
    const t0 = performance.now();
    const bar = progress(name, steps + 1);
    bar.step(name === 'pglite' ? 'creating and migrating PGlite' : 'creating and migrating the bench database');
    let engine: BenchEngine | undefined;
    let error: string | undefined;
    const results: CaseResult[] = [];
    try {
      engine = name === 'pglite' ? await pgliteEngine() : await postgresEngine(opts.url);
      for (const c of opts.cases) {
        const rss = rssPeak();
        const result = await c
          .run({ engine, rows: opts.rows, files: opts.files, repeats: opts.repeats, naive: opts.naive, step: (label) => bar.step(label) })
          .finally(() => rss.stop());
        const peak = rss.stop();
        result.peakRssMb = +peak.toFixed(1);
        if (name === 'postgres' && RSS_BOUND_CASES.has(c.id)) {
          result.targets.push(atMost(`bench process peak RSS < ${RSS_LIMIT_MB} MB`, peak, RSS_LIMIT_MB, fmtMb));
        }
        results.push(result);
      }
    } catch (err) {
      failed = true;
      error = (err as Error).message ?? String(err);
      bar.stop();
      console.error(`\n${name}: ${(err as Error).stack ?? err}`);
    } finally {
      await engine?.close().catch((err) => console.error(`${name}: closing: ${(err as Error).message}`));
    }
    bar.stop();
    report.engines.push({ name, label: engine?.label ?? name, duration_ms: Math.round(performance.now() - t0), cases: results, error });
    if (engine && results.length) console.log(render(engine, opts.rows, opts.repeats, results));
  }

  const dir = path.join(process.cwd(), 'bench-results');
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify({ ...report, finished_at: new Date().toISOString(), ok: !failed }, null, 2)}\n`);
  console.error(`results: ${path.relative(process.cwd(), file)} (bench ran ${fmtMs(performance.now())})`);
  process.exit(failed ? 1 : 0);
}

await main();
