/**
 * Log retention: the export-log-cleanup job (archival off) over a table of `rows` export logs
 * spread over the last 60 days, about half of them past the 30-day retention.
 *
 * created_at follows insertion order (row i is created after row i-1), as an append-only log
 * is written; the rows a retention run deletes are then the table's oldest pages.
 */
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { DEFAULT_LOG_BATCH_SIZE, exportLogCleanupJob } from '../../src/lib/jobs/export-log-cleanup';
import {
  assert,
  atLeast,
  atMost,
  count,
  DAY_MS,
  fmtInt,
  fmtMs,
  fmtX,
  jobDeps,
  median,
  NAIVE_PAGE,
  naiveDeleteByIds,
  NOW,
  rowsPerSecond,
  settle,
  timed,
  timedDb,
  batchSpread,
  checkpointCounters,
  type BenchCase,
  type CaseContext,
  type Measurement,
} from './lib';

const RETENTION_DAYS = 30;
const SPAN_DAYS = 60;
const CUTOFF = new Date(NOW.getTime() - RETENTION_DAYS * DAY_MS);

/** The job's rule: older than the retention, except completed exports whose file still exists. */
const ELIGIBLE = `created_at < $1 and not (status = 'completed' and file_path is not null)`;

/**
 * `n` export logs, oldest first: 75% expired (file gone), 20% failed, 5% completed with a
 * live file (kept by the job's rule however old). 10,000 users, four formats.
 */
export async function seedExportLogs(db: SqlDb, n: number): Promise<void> {
  const start = new Date(NOW.getTime() - SPAN_DAYS * DAY_MS);
  const stepMs = (SPAN_DAYS * DAY_MS) / n;
  await db.query(
    `insert into export_logs (user_id, format, status, conversation_count, file_path, file_size_bytes,
                              created_at, completed_at, expires_at, expired_at, error_type, error_message)
     select ('00000000-0000-4000-8000-' || lpad((i % 10000)::text, 12, '0'))::uuid,
            (array['json', 'jsonl', 'csv', 'markdown'])[1 + i % 4],
            case when i % 20 = 0 then 'completed' when i % 5 = 1 then 'failed' else 'expired' end,
            (i * 37) % 1000,
            case when i % 5 = 1 then null else 'exports/u' || (i % 10000) || '/export-' || i || '.json' end,
            case when i % 5 = 1 then null else 10000 + (i::bigint * 7919) % 5000000 end,
            t,
            t + make_interval(secs => 2 + i % 60),
            case when i % 5 = 1 then null else t + interval '1 day' end,
            case when i % 20 <> 0 and i % 5 <> 1 then t + interval '25 hours' end,
            case when i % 5 = 1 then 'timeout' end,
            case when i % 5 = 1 then 'Export timed out after 300000 ms while writing conversations' end
       from generate_series(1, $1::integer) i,
            lateral (select $2::timestamptz + make_interval(secs => i * $3::double precision / 1000)) as c(t)`,
    [n, start, stepMs],
  );
  await settle(db, ['export_logs']);
}

async function seeded(ctx: CaseContext, db: SqlDb, n: number, what: string) {
  await db.exec('truncate export_logs');
  ctx.step(`log retention: seeding ${fmtInt(n)} rows (${what})`);
  await seedExportLogs(db, n);
  const eligible = await count(db, `select count(*)::integer as n from export_logs where ${ELIGIBLE}`, [CUTOFF]);
  const total = await count(db, `select count(*)::integer as n from export_logs`);
  return { eligible, total };
}

/** After a method ran: every eligible row gone, every other row still there. */
async function verify(db: SqlDb, before: { eligible: number; total: number }, method: string) {
  const left = await count(db, `select count(*)::integer as n from export_logs where ${ELIGIBLE}`, [CUTOFF]);
  const total = await count(db, `select count(*)::integer as n from export_logs`);
  assert(left === 0 && total === before.total - before.eligible, `${method}: ${left} eligible rows left, ${total} rows in total`);
}

async function runTheJob(db: SqlDb) {
  const t = timedDb(db);
  const deps = jobDeps(t.db);
  const before = await checkpointCounters(db);
  const { ms, value: out } = await timed(() => runJob(exportLogCleanupJob, { input: {}, dryRun: false, trigger: 'script' }, deps));
  const after = await checkpointCounters(db);
  assert(out.kind === 'finished' && out.status === 'succeeded', `export-log-cleanup did not succeed: ${JSON.stringify(out)}`);
  const calls = t.calls.get('export_delete_old_logs') ?? [];
  return { ms, result: out.result, batchCalls: calls.length, maxBatchMs: t.max('export_delete_old_logs'), spread: batchSpread(calls, before, after) };
}

export const logRetention: BenchCase = {
  id: 'log-retention',
  title: 'log retention (export-log-cleanup, archival off)',
  steps: (repeats) => 6 * repeats + 2,
  async run(ctx) {
    const db = await ctx.engine.open();
    try {
      const n = ctx.rows;
      const runs = ctx.repeats;
      const jobs: Awaited<ReturnType<typeof runTheJob>>[] = [];
      const refMs: number[] = [];
      let before = { eligible: 0, total: 0 };

      // The job through the runner (lease, run row, budget) as the cron route runs it, and the
      // one-statement reference, alternating, each on a freshly seeded table.
      for (let r = 1; r <= runs; r++) {
        before = await seeded(ctx, db, n, `job, run ${r}/${runs}`);
        ctx.step(`log retention: export-log-cleanup job, run ${r}/${runs}`);
        const job = await runTheJob(db);
        assert(job.result.deleted_count === before.eligible, `job deleted ${job.result.deleted_count}, expected ${before.eligible}`);
        await verify(db, before, 'job');
        jobs.push(job);

        before = await seeded(ctx, db, n, `one statement, run ${r}/${runs}`);
        ctx.step(`log retention: one DELETE statement, run ${r}/${runs}`);
        const ref = await timed(() => db.query(`delete from export_logs where ${ELIGIBLE}`, [CUTOFF]));
        await verify(db, before, 'reference');
        refMs.push(ref.ms);
      }
      const eligible = before.eligible;

      // Naive: page ids through the client, delete 100 per round trip (once: it is slow).
      let naive: { ms: number; value: number; rows: number } | null = null;
      if (ctx.naive) {
        before = await seeded(ctx, db, n, 'naive');
        ctx.step('log retention: naive, 100 ids per round trip');
        naive = { ...(await timed(() => naiveDeleteByIds(db, 'export_logs', 'export_id', ELIGIBLE, [CUTOFF]))), rows: before.eligible };
        await verify(db, before, 'naive');
      }

      // Scaling: the same job on a table a tenth the size.
      const small = Math.max(10, Math.round(n / 10));
      const smallMs: number[] = [];
      let smallDeleted = 0;
      for (let r = 1; r <= runs; r++) {
        const smallBefore = await seeded(ctx, db, small, `scaling, run ${r}/${runs}`);
        ctx.step(`log retention: job on ${fmtInt(small)} rows (scaling), run ${r}/${runs}`);
        const smallJob = await runTheJob(db);
        await verify(db, smallBefore, 'job (small)');
        smallMs.push(smallJob.ms);
        smallDeleted = Number(smallJob.result.deleted_count);
      }

      const jobMs = median(jobs.map((j) => j.ms));
      const ref = median(refMs);
      const maxBatchMs = Math.max(...jobs.map((j) => j.maxBatchMs));
      const measurements: Measurement[] = [
        {
          method: 'job',
          label: `runJob(export-log-cleanup), batchSize ${DEFAULT_LOG_BATCH_SIZE}`,
          rows: eligible,
          ms: jobMs,
          runs,
          details: {
            runs_ms: jobs.map((j) => Math.round(j.ms)),
            batches: jobs[0].result.batches,
            rpc_calls: jobs[0].batchCalls,
            max_batch_ms: Math.round(maxBatchMs),
          },
        },
        ...(naive
          ? [
              {
                method: 'naive' as const,
                label: `select ${NAIVE_PAGE} ids, delete them; repeat`,
                rows: naive.rows,
                ms: naive.ms,
                runs: 1,
                details: { round_trips: naive.value * 2 + 1 },
              },
            ]
          : []),
        {
          method: 'reference',
          label: 'delete ... where created_at < $1 (one statement)',
          rows: eligible,
          ms: ref,
          runs,
          details: { runs_ms: refMs.map(Math.round) },
        },
      ];
      const scaling = jobMs / median(smallMs);
      return {
        id: this.id,
        title: this.title,
        tableRows: before.total,
        measurements,
        targets: [
          atLeast('job >= 250,000 rows/s', rowsPerSecond(measurements[0]), 250_000, (v) => `${fmtInt(v)} rows/s`),
          atMost('job within 1.5x of one DELETE', jobMs / ref, 1.5, fmtX),
          atMost('slowest batch transaction <= 250 ms', maxBatchMs, 250, fmtMs),
          atMost(`time ${fmtInt(n)} / time ${fmtInt(small)} rows <= 11x`, scaling, 11, fmtX),
        ],
        notes: [
          `created_at follows insertion order (append-only log); ${fmtInt(eligible)} of ${fmtInt(before.total)} rows past ${RETENTION_DAYS} days are eligible`,
          `job ${jobs.map((j) => fmtMs(j.ms)).join(' / ')}, one DELETE ${refMs.map(fmtMs).join(' / ')} (runs in order; medians above)`,
          `job: ${jobs[0].result.batches} delete calls that deleted rows, slowest call of all runs ${fmtMs(maxBatchMs)}; ${fmtInt(small)}-row table: ${smallMs.map(fmtMs).join(' / ')} for ${fmtInt(smallDeleted)} rows`,
          `job, run 1: ${jobs[0].spread}`,
        ],
      };
    } finally {
      await ctx.engine.release(db);
    }
  },
};
