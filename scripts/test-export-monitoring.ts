/**
 * Checks export monitoring end to end against the configured database:
 *   npx tsx scripts/test-export-monitoring.ts
 * Creates its own exports (two random user ids), runs seven checks, removes its rows, and exits 1
 * when a check failed (2 when it could not run at all). On a terminal it prints PASSED/FAILED for
 * each check under a progress bar; `--json` (and any output that is not a terminal) prints one
 * JSON line with every check. On the embedded default while `npm start` runs, it works on the
 * app's database over its loopback socket.
 */
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../src/lib/config';
import { openToolDb } from '../src/lib/db/tool-db';
import { DataDirLockedError } from '../src/lib/db/pglite';
import type { Db } from '../src/lib/db/types';
import { exportFileCleanup, FILE_CLAIM_TTL_SECONDS } from '../src/lib/jobs/export-file-cleanup';
import { getCleanupStats } from '../src/lib/jobs/export-log-cleanup';
import { createLogger } from '../src/lib/logger';
import { createExportMetricsService, type ExportMetric } from '../src/lib/monitoring/export-metrics';
import { createStorage } from '../src/lib/storage';
import { loadDotEnv } from './lib/env';
import { outputMode, progressBar, terminalPaint } from './lib/terminal';

const mode = outputMode(process.argv.slice(2));
const p = terminalPaint();
const TOTAL_CHECKS = 7;
loadDotEnv();
const config = loadConfig(process.env);
// Log lines (export_metric, export_failure_alert, ...) go to stderr; results to stdout.
const log = createLogger({ level: config.logLevel, secrets: config.secrets, destination: process.stderr });

let db: Db;
try {
  db = await openToolDb(config.db);
} catch (err) {
  if (err instanceof DataDirLockedError) {
    console.error(`Cannot run: ${err.message}`);
  } else {
    console.error(`Cannot open the database: ${err instanceof Error ? err.message : String(err)}`);
  }
  process.exit(2);
}

const now = new Date();
const userA = randomUUID();
const userB = randomUUID();
const metrics = createExportMetricsService({ db, log, config, now: () => now });
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const results: { name: string; ok: boolean; detail: string }[] = [];
const bar = mode === 'human' ? progressBar('Export checks') : null;

async function check(name: string, fn: () => Promise<string>): Promise<void> {
  bar?.update(results.length, TOTAL_CHECKS, name);
  let result: { name: string; ok: boolean; detail: string };
  try {
    result = { name, ok: true, detail: await fn() };
  } catch (err) {
    result = { name, ok: false, detail: err instanceof Error ? err.message : String(err) };
  }
  results.push(result);
  bar?.stop();
  if (mode === 'human') {
    console.log(result.ok ? `${p.green('✅ PASSED')}: ${p.bold(name)}: ${result.detail}` : `${p.red('❌ FAILED')}: ${p.bold(name)}: ${result.detail}`);
  }
}

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

const exportA1 = randomUUID();
const exportA2 = randomUUID();

try {
  await check('1. Create test export', async () => {
    const rows = await db.rpc<{ export_id: string; status: string }>('export_record', {
      p_export_id: exportA1,
      p_user_id: userA,
      p_format: 'jsonl',
      p_status: 'completed',
      p_conversation_count: 150,
      p_file_path: `exports/${userA}/${exportA1}.jsonl`,
      p_file_size_bytes: 524288,
      p_created_at: minutesAgo(6),
      p_completed_at: minutesAgo(5),
      p_expires_at: new Date(now.getTime() + 24 * 3_600_000),
    });
    const failed = await db.rpc<{ export_id: string; status: string }>('export_record', {
      p_export_id: exportA2,
      p_user_id: userA,
      p_format: 'json',
      p_status: 'failed',
      p_conversation_count: 50,
      p_created_at: minutesAgo(6),
      p_completed_at: minutesAgo(5),
      p_error_type: 'DatabaseError',
      p_error_message: 'Connection timeout',
    });
    assert(rows[0]?.export_id === exportA1 && rows[0].status === 'completed', 'completed export not stored');
    assert(failed[0]?.status === 'failed', 'failed export not stored');
    return `created exports ${exportA1} (completed) and ${exportA2} (failed)`;
  });

  await check('2. Export metrics logging', async () => {
    const a = await metrics.logExportMetric({
      export_id: exportA1, user_id: userA, format: 'jsonl', status: 'completed',
      conversation_count: 150, duration_ms: 2500, file_size_bytes: 524288, timestamp: minutesAgo(5),
    });
    const b = await metrics.logExportMetric({
      export_id: exportA2, user_id: userA, format: 'json', status: 'failed', conversation_count: 50,
      duration_ms: 1200, file_size_bytes: null, error_type: 'DatabaseError', error_message: 'Connection timeout',
      timestamp: minutesAgo(5),
    });
    assert(a.count_range === 'medium', `150 conversations should be 'medium', got ${a.count_range}`);
    assert(b.count_range === 'small', `50 conversations should be 'small', got ${b.count_range}`);
    return 'logged 2 export metrics (1 success, 1 failure)';
  });

  await check('3. Metrics aggregation', async () => {
    const agg = await metrics.aggregateMetrics({ from: minutesAgo(60), to: new Date(now.getTime() + 1), period: 'hourly' }, { userId: userA });
    assert(agg.total_exports === 2, `expected 2 exports, got ${agg.total_exports}`);
    assert(agg.success_rate === 0.5, `expected success rate 0.5, got ${agg.success_rate}`);
    assert(agg.avg_duration_by_format.jsonl === 2500, `expected jsonl avg 2500 ms, got ${agg.avg_duration_by_format.jsonl}`);
    assert(agg.max_file_size_by_format.jsonl === 524288, 'max file size by format is wrong');
    return `${agg.total_exports} exports, ${((agg.success_rate ?? 0) * 100).toFixed(1)}% success rate`;
  });

  await check('4. Failure rate alerting', async () => {
    const quiet = await metrics.checkFailureRate(60, { userId: userA, emit: false });
    assert(!quiet.alert, `2 exports are below the minimum sample (${quiet.minSample}) and must not alert`);
    const n = Math.max(20, config.exports.failureMinSample);
    const failed = Math.min(n, Math.floor(n * config.exports.failureRateThreshold) + 1);
    for (let i = 0; i < n; i++) {
      const m: ExportMetric = {
        export_id: randomUUID(), user_id: userB, format: 'csv', status: i < failed ? 'failed' : 'completed',
        conversation_count: 20, duration_ms: 800 + i, file_size_bytes: i < failed ? null : 4096,
        error_type: i < failed ? 'StorageError' : null, error_message: i < failed ? 'Upload failed' : null,
        timestamp: minutesAgo(1 + i),
      };
      await metrics.logExportMetric(m);
    }
    const loud = await metrics.checkFailureRate(60, { userId: userB });
    assert(loud.total === n && loud.failed === failed, `expected ${failed}/${n}, got ${loud.failed}/${loud.total}`);
    assert(loud.alert, `${failed}/${n} is above ${config.exports.failureRateThreshold} and must alert`);
    return `${failed}/${n} failed (${(loud.failureRate * 100).toFixed(1)}%): alert raised; 1/2 stayed quiet`;
  });

  await check('5. Export volume statistics', async () => {
    for (let d = 1; d <= 3; d++) {
      await metrics.logExportMetric({
        export_id: randomUUID(), user_id: userA, format: 'markdown', status: 'completed',
        conversation_count: 700, duration_ms: 6000, file_size_bytes: 2_000_000,
        timestamp: new Date(now.getTime() - d * 86_400_000),
      });
    }
    const week = await metrics.aggregateMetrics({ from: new Date(now.getTime() - 7 * 86_400_000), to: new Date(now.getTime() + 1), period: 'weekly' }, { userId: userA });
    const perDay = week.volume_by_day.reduce((s, d) => s + d.count, 0);
    assert(week.total_exports === 5, `expected 5 exports over 7 days, got ${week.total_exports}`);
    assert(perDay === 5, `daily volume adds up to ${perDay}, expected 5`);
    const days = new Set([5, 86_400_000 / 60_000, 2 * 1440, 3 * 1440].map((m) => minutesAgo(m).toISOString().slice(0, 10)));
    assert(week.volume_by_day.length === days.size, `expected ${days.size} distinct days, got ${week.volume_by_day.length}`);
    return `${week.total_exports} exports over 7 days on ${week.volume_by_day.length} days (avg ${(week.total_exports / 7).toFixed(1)}/day)`;
  });

  await check('6. File cleanup dry run', async () => {
    await db.rpc('export_record', {
      p_export_id: randomUUID(), p_user_id: userA, p_format: 'json', p_status: 'completed', p_conversation_count: 10,
      p_file_path: `exports/${userA}/expired.json`, p_file_size_bytes: 1000,
      p_created_at: minutesAgo(60 * 30), p_completed_at: minutesAgo(60 * 30), p_expires_at: minutesAgo(60 * 6),
    });
    const storage = createStorage(config.storage);
    const dry = await exportFileCleanup({ db, storage, log, now: () => now, config }, { dryRun: true });
    assert(dry.total_found >= 1, 'the expired test export was not found');
    const [again] = await db.rpc<{ due_count: number }>('export_file_cleanup_preview', { p_claim_ttl_seconds: FILE_CLAIM_TTL_SECONDS, p_now: now });
    assert(Number(again.due_count) === dry.total_found, 'the dry run changed what is due');
    return `found ${dry.total_found} expired export(s) eligible for cleanup; nothing changed`;
  });

  await check('7. Log cleanup statistics', async () => {
    await db.rpc('export_record', {
      p_export_id: randomUUID(), p_user_id: userA, p_format: 'csv', p_status: 'expired', p_conversation_count: 10,
      p_created_at: new Date(now.getTime() - 40 * 86_400_000), p_completed_at: new Date(now.getTime() - 40 * 86_400_000),
    });
    const mine = await getCleanupStats({ db, config, now: () => now }, { retentionDays: 30, userId: userA });
    assert(mine.eligible_for_cleanup === 1, `expected 1 eligible log for the test user, got ${mine.eligible_for_cleanup}`);
    assert(mine.estimated_bytes > 0, 'estimated bytes should be positive');
    const all = await getCleanupStats({ db, config, now: () => now });
    return `${all.eligible_for_cleanup} logs eligible for cleanup (${(all.estimated_bytes / 1024 / 1024).toFixed(2)} MB estimated, retention ${all.retention_days} days)`;
  });
} finally {
  try {
    for (const u of [userA, userB]) await db.rpc('export_purge_user_data', { p_user_id: u });
  } catch (err) {
    console.error(`Could not remove the test rows (users ${userA}, ${userB}): ${err instanceof Error ? err.message : String(err)}`);
  }
  await db.close();
}

const failed = results.filter((r) => !r.ok);
if (mode === 'human') {
  const summary = `${results.length - failed.length}/${results.length} checks passed`;
  console.log(`\n${failed.length ? p.red(summary) : p.green(summary)}`);
} else {
  console.log(
    JSON.stringify({ type: 'export_monitoring_checks', passed: results.length - failed.length, failed: failed.length, checks: results }),
  );
}
process.exit(failed.length ? 1 : 0);
