import { z } from 'zod';
import { q } from '../http/query';
import { loopBatches } from '../cron/batches';
import { defineJob, type JobError } from '../cron/types';
import type { Db } from '../db/types';

const input = z.strictObject({
  days: q.int(1, 3650).optional(),
  batchSize: q.int(1, 50_000).optional(),
});

interface PruneRow {
  deleted_count: number;
  has_more: boolean;
}

/**
 * Cronwarden's own retention: every table it writes keeps its rows for a set time (issue: "every
 * table the product writes has a retention setting and a job that applies it"). Finished runs
 * older than RUN_HISTORY_DAYS (default 90; `?days=` overrides), export metrics older than
 * EXPORT_METRICS_RETENTION_DAYS (90), hourly rollups older than EXPORT_ROLLUP_RETENTION_DAYS
 * (400), the deletion audit trail and deleted-user records older than
 * DELETION_AUDIT_RETENTION_DAYS (365), file-cleanup claims of export rows that are gone, and
 * maintenance's failed-attempt counts of temp uploads that are gone.
 * Alert history is pruned by alerts-evaluate. Each in batches inside the time budget.
 */
export const runHistoryPruneJob = defineJob({
  name: 'run-history-prune',
  description: "Prune Cronwarden's own history: runs, export metrics and rollups, the deletion audit",
  input,
  maxDurationSeconds: 60,
  async run({ db, config, input, dryRun, startedAt, budget }) {
    const days = input.days ?? config.runHistoryDays;
    const batchSize = input.batchSize ?? 5000;
    const errors: JobError[] = [];
    const pruned: Record<string, number> = {};
    let batches = 0;
    let finished = true;

    const prune = async (name: string, call: (db: Db) => Promise<PruneRow>) => {
      pruned[name] = 0;
      if (!finished) return; // the budget ran out on an earlier table: the next run goes on
      try {
        const loop = await loopBatches(budget, async () => {
          const row = await call(db);
          pruned[name] += Number(row.deleted_count);
          return !dryRun && row.has_more;
        });
        batches += loop.batches;
        finished = loop.finished;
      } catch (err) {
        errors.push({ subject: name, message: err instanceof Error ? err.message : String(err) });
      }
    };
    const one = async (fn: string, args: Record<string, unknown>) => (await db.rpc<PruneRow>(fn, args))[0];

    await prune('cron_job_runs', () => one('cron_prune_run_history', { p_days: days, p_batch_size: batchSize, p_dry_run: dryRun, p_now: startedAt }));
    for (const [table, keep] of [
      ['export_metrics', config.retention.exportMetricsDays],
      ['export_metrics_hourly', config.retention.exportRollupDays],
      ['audit_logs', config.retention.deletionAuditDays],
      ['deleted_users', config.retention.deletionAuditDays],
    ] as const) {
      await prune(table, () => one('prune_own_table', { p_table: table, p_days: keep, p_batch_size: batchSize, p_dry_run: dryRun, p_now: startedAt }));
    }
    await prune('export_file_claims', () => one('prune_orphan_export_claims', { p_batch_size: batchSize, p_dry_run: dryRun }));
    await prune('temp_upload_attempts', () => one('prune_orphan_temp_upload_attempts', { p_batch_size: batchSize, p_dry_run: dryRun }));

    const total = Object.values(pruned).reduce((a, b) => a + b, 0);
    return {
      errors,
      rows_affected: dryRun ? 0 : total,
      // The seed-era field: run history alone.
      [dryRun ? 'would_delete_count' : 'deleted_count']: pruned.cron_job_runs,
      [dryRun ? 'would_prune' : 'pruned']: pruned,
      retention_days: days,
      retention: {
        cron_job_runs: days,
        export_metrics: config.retention.exportMetricsDays,
        export_metrics_hourly: config.retention.exportRollupDays,
        audit_logs: config.retention.deletionAuditDays,
        deleted_users: config.retention.deletionAuditDays,
      },
      batches,
      partial: !finished,
      failed: errors.length > 0 && total === 0,
    };
  },
});
