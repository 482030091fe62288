/**
 * A retention policy against the built-in log retention on the same rows: the log-retention
 * case's export logs (about half past 30 days), deleted once by the export-log-cleanup job and
 * once by a policy declaring the same rule over the same table (`created_at` older than 30 days,
 * `status in ('failed', 'expired')`: in this data every completed export still has its file,
 * so the two rules select the same rows), and once by one DELETE. The policy runs through its
 * view in schema cronwarden and its generic batch function; target: within 1.2x of the job.
 */
import { parseCronwardenConfig } from '../../src/lib/bindings/spec';
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { exportLogCleanupJob } from '../../src/lib/jobs/export-log-cleanup';
import { policyJob } from '../../src/lib/jobs/policy';
import { bindRules, type RuleStates } from '../../src/lib/policies/apply';
import { seedExportLogs } from './log-retention';
import { assert, atMost, count, DAY_MS, fmtInt, fmtMs, fmtX, jobDeps, median, NOW, timed, type BenchCase, type CaseContext, type Measurement } from './lib';

const CUTOFF = new Date(NOW.getTime() - 30 * DAY_MS);
const ELIGIBLE = `created_at < $1 and status in ('failed', 'expired')`;
const JOB_RULE = `created_at < $1 and not (status = 'completed' and file_path is not null)`;

const config = parseCronwardenConfig({
  policies: [
    {
      name: 'bench-export-logs',
      table: 'public.export_logs',
      keyColumn: 'export_id',
      timeColumn: 'created_at',
      age: '30 days',
      where: [{ column: 'status', op: 'in', value: ['failed', 'expired'] }],
      // The built-in job's batch size, so both make the same number of calls.
      batchSize: 20_000,
      schedule: '0 4 * * *',
    },
  ],
});
const spec = config.policies[0];

async function seeded(db: SqlDb, n: number): Promise<{ eligible: number; total: number }> {
  await db.exec('truncate export_logs');
  await seedExportLogs(db, n);
  const eligible = await count(db, `select count(*)::integer as n from export_logs where ${ELIGIBLE}`, [CUTOFF]);
  // The two rules agree on this data (checked, not assumed).
  assert(eligible === (await count(db, `select count(*)::integer as n from export_logs where ${JOB_RULE}`, [CUTOFF])), 'the policy and the job would select different rows');
  return { eligible, total: await count(db, `select count(*)::integer as n from export_logs`) };
}

async function verify(db: SqlDb, before: { eligible: number; total: number }, method: string) {
  const left = await count(db, `select count(*)::integer as n from export_logs where ${ELIGIBLE}`, [CUTOFF]);
  const total = await count(db, `select count(*)::integer as n from export_logs`);
  assert(left === 0 && total === before.total - before.eligible, `${method}: ${left} eligible rows left, ${total} rows in total`);
}

async function runPolicy(db: SqlDb, rules: RuleStates): Promise<{ ms: number; deleted: number }> {
  const { ms, value: out } = await timed(() => runJob(policyJob(spec), { input: {}, dryRun: false, trigger: 'script' }, { ...jobDeps(db), rules }));
  assert(out.kind === 'finished' && out.status === 'succeeded', `policy did not succeed: ${JSON.stringify(out)}`);
  return { ms, deleted: Number(out.result.deleted_count) };
}

async function runBuiltIn(db: SqlDb): Promise<{ ms: number; deleted: number }> {
  const { ms, value: out } = await timed(() => runJob(exportLogCleanupJob, { input: {}, dryRun: false, trigger: 'script' }, jobDeps(db)));
  assert(out.kind === 'finished' && out.status === 'succeeded', `export-log-cleanup did not succeed: ${JSON.stringify(out)}`);
  return { ms, deleted: Number(out.result.deleted_count) };
}

export const policyRetention: BenchCase = {
  id: 'policy-retention',
  title: 'a retention policy vs the built-in log retention on the same rows',
  steps: (repeats) => 6 * repeats,
  async run(ctx: CaseContext) {
    const db = await ctx.engine.open();
    try {
      const { rules } = await bindRules(db, config, jobDeps(db).config.exports.archivePrefix);
      assert(rules['policies/bench-export-logs']?.bound === true, `policy refused: ${rules['policies/bench-export-logs']?.problems.join('; ')}`);
      const policyMs: number[] = [];
      const jobMs: number[] = [];
      const refMs: number[] = [];
      let before = { eligible: 0, total: 0 };
      // Untimed warm-up on each side.
      await seeded(db, Math.min(ctx.rows, 1000));
      await runBuiltIn(db);
      await seeded(db, Math.min(ctx.rows, 1000));
      await runPolicy(db, rules);
      for (let r = 1; r <= ctx.repeats; r++) {
        ctx.step(`policy retention: seeding ${fmtInt(ctx.rows)} rows, run ${r}/${ctx.repeats}`);
        before = await seeded(db, ctx.rows);
        ctx.step(`policy retention: the policy, run ${r}/${ctx.repeats}`);
        const policy = await runPolicy(db, rules);
        assert(policy.deleted === before.eligible, `policy deleted ${policy.deleted}, expected ${before.eligible}`);
        await verify(db, before, 'policy');
        policyMs.push(policy.ms);

        ctx.step(`policy retention: seeding ${fmtInt(ctx.rows)} rows, run ${r}/${ctx.repeats}`);
        before = await seeded(db, ctx.rows);
        ctx.step(`policy retention: the built-in job, run ${r}/${ctx.repeats}`);
        const job = await runBuiltIn(db);
        assert(job.deleted === before.eligible, `job deleted ${job.deleted}, expected ${before.eligible}`);
        await verify(db, before, 'built-in job');
        jobMs.push(job.ms);

        ctx.step(`policy retention: one DELETE, run ${r}/${ctx.repeats}`);
        before = await seeded(db, ctx.rows);
        const ref = await timed(() => db.query(`delete from export_logs where ${ELIGIBLE}`, [CUTOFF]));
        await verify(db, before, 'reference');
        refMs.push(ref.ms);
      }
      const policy = median(policyMs);
      const job = median(jobMs);
      const ref = median(refMs);
      const measurements: Measurement[] = [
        { method: 'job', label: 'runJob(policies/bench-export-logs) on export_logs', rows: before.eligible, ms: policy, runs: ctx.repeats, details: { runs_ms: policyMs.map(Math.round) } },
        { method: 'baseline', label: 'runJob(export-log-cleanup) on export_logs (archival off)', rows: before.eligible, ms: job, runs: ctx.repeats, details: { runs_ms: jobMs.map(Math.round) } },
        { method: 'reference', label: `delete from export_logs where ${ELIGIBLE} (one statement)`, rows: before.eligible, ms: ref, runs: ctx.repeats, details: { runs_ms: refMs.map(Math.round) } },
      ];
      return {
        id: this.id,
        title: this.title,
        tableRows: before.total,
        measurements,
        targets: [atMost('policy within 1.2x of the built-in log retention', policy / job, 1.2, fmtX)],
        notes: [
          `${fmtInt(before.total)} rows, ${fmtInt(before.eligible)} selected; policy ${policyMs.map(fmtMs).join(' / ')}, built-in job ${jobMs.map(fmtMs).join(' / ')}, one DELETE ${refMs.map(fmtMs).join(' / ')}`,
        ],
      };
    } finally {
      await bindRules(db, { policies: [], orphanSweeps: [], refusals: [] }, jobDeps(db).config.exports.archivePrefix);
      await ctx.engine.release(db);
    }
  },
};
