/**
 * Log retention through a binding to a table of the team's own naming: the same rows as the
 * log-retention case, in `public.bench_data_exports` (bigint id, owner_id, state 'ready' /
 * 'error' / 'purged', object_key, requested_at, ...), bound in the exports binding. Compared in
 * the same run with the job on the demo app's `export_logs` and with one DELETE on the renamed
 * table: the bindings are views our SQL reads through, and should cost nothing measurable.
 */
import { bindFeatures } from '../../src/lib/bindings/apply';
import { demoBindings, parseCronwardenConfig, type Bindings } from '../../src/lib/bindings/spec';
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { exportLogCleanupJob } from '../../src/lib/jobs/export-log-cleanup';
import { seedExportLogs } from './log-retention';
import {
  assert,
  atMost,
  count,
  DAY_MS,
  fmtInt,
  fmtMs,
  fmtX,
  jobDeps,
  median,
  NOW,
  settle,
  timed,
  type BenchCase,
  type CaseContext,
  type Measurement,
} from './lib';

const CUTOFF = new Date(NOW.getTime() - 30 * DAY_MS);
const TABLE = 'public.bench_data_exports';

/** The exports binding a team with this table writes (README, "Adopting Cronwarden"). */
function renamedBindings(): Bindings {
  return parseCronwardenConfig({
    bindings: {
      exports: {
        table: TABLE,
        columns: {
          id: 'id',
          userId: 'owner_id',
          status: 'state',
          filePath: 'object_key',
          createdAt: 'requested_at',
          expiresAt: 'ttl_until',
          completedAt: 'ready_at',
          fileSizeBytes: 'bytes',
        },
        statuses: { completed: ['ready'], failed: ['error'], expired: 'purged' },
      },
    },
  }).bindings;
}

/** The job's rule in the renamed table's words. */
const ELIGIBLE_RENAMED = `requested_at < $1 and not (state = 'ready' and object_key is not null)`;
const ELIGIBLE_DEMO = `created_at < $1 and not (status = 'completed' and file_path is not null)`;

/** The log-retention case's rows, copied into the renamed table with its own words. */
async function seedRenamed(db: SqlDb, n: number): Promise<{ eligible: number; total: number }> {
  await db.exec('truncate export_logs');
  await seedExportLogs(db, n);
  await db.exec(`
    create table if not exists ${TABLE} (
      id bigserial primary key,
      owner_id uuid not null,
      state text not null,
      object_key text,
      bytes bigint,
      kind text not null,
      requested_at timestamptz not null,
      ready_at timestamptz,
      ttl_until timestamptz
    );
    -- The demo table's indexes, in this table's words: the comparison is about the binding only.
    create index if not exists bench_data_exports_ttl_idx on ${TABLE} (ttl_until) where state = 'ready';
    create index if not exists bench_data_exports_ready_at_idx on ${TABLE} (ready_at) where state = 'ready';
    create index if not exists bench_data_exports_requested_idx on ${TABLE} (requested_at);
    create index if not exists bench_data_exports_owner_requested_idx on ${TABLE} (owner_id, requested_at);
    create index if not exists bench_data_exports_object_key_idx on ${TABLE} (object_key);
    -- Emptied, not dropped: the bound view in schema cronwarden depends on it.
    truncate ${TABLE} restart identity;
    insert into ${TABLE} (owner_id, state, object_key, bytes, kind, requested_at, ready_at, ttl_until)
    select user_id,
           case status when 'completed' then 'ready' when 'failed' then 'error' when 'expired' then 'purged' else status end,
           file_path, file_size_bytes, format, created_at, completed_at, expires_at
      from export_logs order by created_at;
    truncate export_logs;`);
  await settle(db, ['bench_data_exports']);
  return {
    eligible: await count(db, `select count(*)::integer as n from ${TABLE} where ${ELIGIBLE_RENAMED}`, [CUTOFF]),
    total: await count(db, `select count(*)::integer as n from ${TABLE}`),
  };
}

async function seedDemo(db: SqlDb, n: number): Promise<{ eligible: number; total: number }> {
  await db.exec('truncate export_logs');
  await seedExportLogs(db, n);
  return {
    eligible: await count(db, `select count(*)::integer as n from export_logs where ${ELIGIBLE_DEMO}`, [CUTOFF]),
    total: await count(db, `select count(*)::integer as n from export_logs`),
  };
}

async function runTheJob(db: SqlDb, bindings: Bindings): Promise<{ ms: number; deleted: number }> {
  const deps = { ...jobDeps(db), bindings };
  const { ms, value: out } = await timed(() => runJob(exportLogCleanupJob, { input: {}, dryRun: false, trigger: 'script' }, deps));
  assert(out.kind === 'finished' && out.status === 'succeeded', `export-log-cleanup did not succeed: ${JSON.stringify(out)}`);
  return { ms, deleted: Number(out.result.deleted_count) };
}

async function verify(db: SqlDb, table: string, eligible: string, before: { eligible: number; total: number }, method: string) {
  const left = await count(db, `select count(*)::integer as n from ${table} where ${eligible}`, [CUTOFF]);
  const total = await count(db, `select count(*)::integer as n from ${table}`);
  assert(left === 0 && total === before.total - before.eligible, `${method}: ${left} eligible rows left, ${total} rows in total`);
}

export const logRetentionRenamed: BenchCase = {
  id: 'log-retention-renamed',
  title: 'log retention through a binding to a renamed table',
  steps: (repeats) => 6 * repeats,
  async run(ctx: CaseContext) {
    const db = await ctx.engine.open();
    const renamed = renamedBindings();
    try {
      const demoMs: number[] = [];
      const boundMs: number[] = [];
      const refMs: number[] = [];
      let before = { eligible: 0, total: 0 };
      // Untimed warm-up on each side, so that neither pays the first run's planning and caching.
      await seedDemo(db, Math.min(ctx.rows, 1000));
      await runTheJob(db, demoBindings());
      for (let r = 1; r <= ctx.repeats; r++) {
        ctx.step(`renamed table: seeding ${fmtInt(ctx.rows)} demo rows, run ${r}/${ctx.repeats}`);
        await bindFeatures(db, demoBindings());
        before = await seedDemo(db, ctx.rows);
        ctx.step(`renamed table: job on the demo table, run ${r}/${ctx.repeats}`);
        const demo = await runTheJob(db, demoBindings());
        assert(demo.deleted === before.eligible, `demo job deleted ${demo.deleted}, expected ${before.eligible}`);
        await verify(db, 'export_logs', ELIGIBLE_DEMO, before, 'job (demo table)');
        demoMs.push(demo.ms);

        ctx.step(`renamed table: seeding ${fmtInt(ctx.rows)} rows in ${TABLE}, run ${r}/${ctx.repeats}`);
        await seedRenamed(db, Math.min(ctx.rows, 1000));
        const outcome = await bindFeatures(db, renamed);
        assert(outcome.features.exports.bound, `exports binding refused: ${outcome.features.exports.problems.join('; ')}`);
        // Untimed warm-up through the new binding, as the demo side had.
        await runTheJob(db, renamed);
        before = await seedRenamed(db, ctx.rows);
        ctx.step(`renamed table: job through the binding, run ${r}/${ctx.repeats}`);
        const bound = await runTheJob(db, renamed);
        assert(bound.deleted === before.eligible, `bound job deleted ${bound.deleted}, expected ${before.eligible}`);
        await verify(db, TABLE, ELIGIBLE_RENAMED, before, 'job (renamed table)');
        boundMs.push(bound.ms);

        ctx.step(`renamed table: one DELETE on ${TABLE}, run ${r}/${ctx.repeats}`);
        before = await seedRenamed(db, ctx.rows);
        const ref = await timed(() => db.query(`delete from ${TABLE} where ${ELIGIBLE_RENAMED}`, [CUTOFF]));
        await verify(db, TABLE, ELIGIBLE_RENAMED, before, 'reference');
        refMs.push(ref.ms);
        ctx.step(`renamed table: run ${r}/${ctx.repeats} done`);
      }
      const job = median(boundMs);
      const demo = median(demoMs);
      const ref = median(refMs);
      const measurements: Measurement[] = [
        { method: 'job', label: `runJob(export-log-cleanup) on ${TABLE} through its binding`, rows: before.eligible, ms: job, runs: ctx.repeats, details: { runs_ms: boundMs.map(Math.round) } },
        { method: 'baseline', label: 'runJob(export-log-cleanup) on the demo app\'s export_logs (default binding)', rows: before.eligible, ms: demo, runs: ctx.repeats, details: { runs_ms: demoMs.map(Math.round) } },
        { method: 'reference', label: `delete from ${TABLE} where requested_at < $1 ... (one statement)`, rows: before.eligible, ms: ref, runs: ctx.repeats, details: { runs_ms: refMs.map(Math.round) } },
      ];
      return {
        id: this.id,
        title: this.title,
        tableRows: before.total,
        measurements,
        targets: [atMost('job through a renamed-table binding within 1.1x of the demo table', job / demo, 1.1, fmtX)],
        notes: [
          `the same ${fmtInt(before.total)} rows (${fmtInt(before.eligible)} eligible) in the demo table and in ${TABLE}; job through the binding ${boundMs.map(fmtMs).join(' / ')}, on the demo table ${demoMs.map(fmtMs).join(' / ')}`,
        ],
      };
    } finally {
      // The engine hands this database to the next case: bound to the demo app again, table gone.
      await bindFeatures(db, demoBindings());
      await db.exec(`drop table if exists ${TABLE}`);
      await ctx.engine.release(db);
    }
  },
};
