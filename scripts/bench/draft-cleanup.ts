/**
 * Draft cleanup: the draft-cleanup job over `rows` courses created over the last 60 days, one
 * in ten an unused draft (status 'draft', generation never started); those older than 24 hours
 * are what the job deletes.
 */
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { BATCH_TARGET_MS, DEFAULT_BATCH_SIZE, draftCleanupJob } from '../../src/lib/jobs/draft-cleanup';
import { assert, atMost, batchSpread, checkpointCounters, count, DAY_MS, fmtInt, fmtMs, fmtX, jobDeps, median, NAIVE_PAGE, naiveDeleteByIds, NOW, settle, timed, timedDb, type BenchCase, type CaseContext, type Measurement } from './lib';

const SPAN_DAYS = 60;
const CUTOFF = new Date(NOW.getTime() - DAY_MS);
const ELIGIBLE = `status = 'draft' and generation_status is null and created_at < $1`;

/**
 * 1,000 organizations and `n` courses in creation order over the last 60 days: 10% unused
 * drafts, 20% drafts being or done generating, 60% published, 10% archived.
 */
export async function seedCourses(db: SqlDb, n: number): Promise<void> {
  const start = new Date(NOW.getTime() - SPAN_DAYS * DAY_MS);
  await db.query(
    `insert into organizations (id, name, created_at)
     select ('30000000-0000-4000-8000-' || lpad(i::text, 12, '0'))::uuid, 'Organization ' || i, $1::timestamptz
       from generate_series(1, 1000) i`,
    [start],
  );
  await db.query(
    `insert into courses (organization_id, title, status, generation_status, created_at, updated_at, created_by)
     select ('30000000-0000-4000-8000-' || lpad((1 + (hashint8(i)::bigint & 2147483647) % 1000)::text, 12, '0'))::uuid,
            'Course ' || i,
            case when i % 10 < 3 then 'draft' when i % 10 = 9 then 'archived' else 'published' end,
            case when i % 10 = 0 then null when i % 10 = 1 then 'generating' else 'completed' end,
            t,
            t + make_interval(secs => i % 3600),
            ('00000000-0000-4000-8000-' || lpad((i % 10000)::text, 12, '0'))::uuid
       from generate_series(1, $1::integer) i,
            lateral (select $2::timestamptz + make_interval(secs => i * $3::double precision / 1000)) as c(t)`,
    [n, start, (SPAN_DAYS * DAY_MS) / n],
  );
  await settle(db, ['organizations', 'courses']);
}

async function seeded(ctx: CaseContext, db: SqlDb, n: number, what: string) {
  await db.exec('truncate courses, organizations');
  ctx.step(`draft cleanup: seeding ${fmtInt(n)} courses (${what})`);
  await seedCourses(db, n);
  return {
    eligible: await count(db, `select count(*)::integer as n from courses where ${ELIGIBLE}`, [CUTOFF]),
    total: await count(db, `select count(*)::integer as n from courses`),
  };
}

async function verify(db: SqlDb, before: { eligible: number; total: number }, method: string) {
  const left = await count(db, `select count(*)::integer as n from courses where ${ELIGIBLE}`, [CUTOFF]);
  const total = await count(db, `select count(*)::integer as n from courses`);
  assert(left === 0 && total === before.total - before.eligible, `${method}: ${left} eligible drafts left, ${total} courses in total`);
}

async function runTheJob(db: SqlDb) {
  const t = timedDb(db);
  const before = await checkpointCounters(db);
  const { ms, value: out } = await timed(() => runJob(draftCleanupJob, { input: {}, dryRun: false, trigger: 'script' }, jobDeps(t.db)));
  const after = await checkpointCounters(db);
  assert(out.kind === 'finished' && out.status === 'succeeded', `draft-cleanup did not succeed: ${JSON.stringify(out).slice(0, 500)}`);
  return { ms, result: out.result, maxBatchMs: t.max('draft_cleanup_batch'), spread: batchSpread(t.calls.get('draft_cleanup_batch') ?? [], before, after) };
}

export const draftCleanup: BenchCase = {
  id: 'draft-cleanup',
  title: 'draft cleanup (draft-cleanup job)',
  steps: (repeats) => 8 * repeats + 2,
  async run(ctx) {
    const db = await ctx.engine.open();
    try {
      const n = ctx.rows;
      const runs = ctx.repeats;
      const jobs: Awaited<ReturnType<typeof runTheJob>>[] = [];
      const refMs: number[] = [];
      let before = { eligible: 0, total: 0 };

      for (let r = 1; r <= runs; r++) {
        before = await seeded(ctx, db, n, `job, run ${r}/${runs}`);
        ctx.step(`draft cleanup: draft-cleanup job, run ${r}/${runs}`);
        const job = await runTheJob(db);
        assert(job.result.deleted_count === before.eligible, `job deleted ${job.result.deleted_count}, expected ${before.eligible}`);
        await verify(db, before, 'job');
        jobs.push(job);

        before = await seeded(ctx, db, n, `one statement, run ${r}/${runs}`);
        ctx.step(`draft cleanup: one DELETE statement, run ${r}/${runs}`);
        const ref = await timed(() => db.query(`delete from courses where ${ELIGIBLE}`, [CUTOFF]));
        await verify(db, before, 'reference');
        refMs.push(ref.ms);
      }
      const eligible = before.eligible;

      let naive: { ms: number; value: number; rows: number } | null = null;
      if (ctx.naive) {
        before = await seeded(ctx, db, n, 'naive');
        ctx.step('draft cleanup: naive, 100 ids per round trip');
        naive = { ...(await timed(() => naiveDeleteByIds(db, 'courses', 'id', ELIGIBLE, [CUTOFF]))), rows: before.eligible };
        await verify(db, before, 'naive');
      }

      const small = Math.max(10, Math.round(n / 10));
      const smallMs: number[] = [];
      let smallDeleted = 0;
      for (let r = 1; r <= runs; r++) {
        const smallBefore = await seeded(ctx, db, small, `scaling, run ${r}/${runs}`);
        ctx.step(`draft cleanup: job on ${fmtInt(small)} courses (scaling), run ${r}/${runs}`);
        const smallJob = await runTheJob(db);
        await verify(db, smallBefore, 'job (small)');
        smallMs.push(smallJob.ms);
        smallDeleted = Number(smallJob.result.deleted_count);
      }
      // The one DELETE at the small size too: how much of the job's growth is the server's own
      // (a table that no longer fits in shared_buffers makes every delete write and read more).
      const smallRefMs: number[] = [];
      for (let r = 1; r <= runs; r++) {
        const smallBefore = await seeded(ctx, db, small, `scaling, one statement, run ${r}/${runs}`);
        ctx.step(`draft cleanup: one DELETE on ${fmtInt(small)} courses (scaling), run ${r}/${runs}`);
        smallRefMs.push((await timed(() => db.query(`delete from courses where ${ELIGIBLE}`, [CUTOFF]))).ms);
        await verify(db, smallBefore, 'reference (small)');
      }

      const jobMs = median(jobs.map((j) => j.ms));
      const maxBatchMs = Math.max(...jobs.map((j) => j.maxBatchMs));
      const refMedian = median(refMs);
      const measurements: Measurement[] = [
        {
          method: 'job',
          label: `runJob(draft-cleanup), batches from ${DEFAULT_BATCH_SIZE} sized to ~${BATCH_TARGET_MS} ms`,
          rows: eligible,
          ms: jobMs,
          runs,
          details: { runs_ms: jobs.map((j) => Math.round(j.ms)), batches: jobs[0].result.batches, max_batch_ms: Math.round(maxBatchMs) },
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
          label: "delete ... where status = 'draft' and ... (one statement)",
          rows: eligible,
          ms: refMedian,
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
          atMost('job within 1.5x of one DELETE', jobMs / refMedian, 1.5, fmtX),
          atMost('slowest batch transaction <= 250 ms', maxBatchMs, 250, fmtMs),
          atMost(`time ${fmtInt(n)} / time ${fmtInt(small)} rows <= 11x`, scaling, 11, fmtX),
        ],
        notes: [
          `${fmtInt(eligible)} of ${fmtInt(before.total)} courses eligible (unused drafts past 24 h; 10% of rows are unused drafts, those of the last day are not yet due)`,
          `job ${jobs.map((j) => fmtMs(j.ms)).join(' / ')}, one DELETE ${refMs.map(fmtMs).join(' / ')} (runs in order; medians above); job / DELETE per run: ${jobs.map((j, i) => fmtX(j.ms / refMs[i])).join(' / ')}`,
          `job: ${jobs[0].result.batches} batch calls, slowest call of all runs ${fmtMs(maxBatchMs)}; ${fmtInt(small)}-course table: ${smallMs.map(fmtMs).join(' / ')} for ${fmtInt(smallDeleted)} drafts`,
          `job, run 1: ${jobs[0].spread}`,
          `from ${fmtInt(small)} to ${fmtInt(n)} courses the job took ${fmtX(scaling)} as long and one DELETE ${fmtX(refMedian / median(smallRefMs))} (${fmtMs(median(smallRefMs))} to ${fmtMs(refMedian)})`,
        ],
      };
    } finally {
      await ctx.engine.release(db);
    }
  },
};
