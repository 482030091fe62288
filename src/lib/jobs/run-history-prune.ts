import { z } from 'zod';
import { q } from '../http/query';
import { loopBatches } from '../cron/batches';
import { defineJob, type JobError } from '../cron/types';

const input = z.strictObject({
  days: q.int(1, 3650).optional(),
  batchSize: q.int(1, 50_000).optional(),
});

/** Deletes finished cron_job_runs rows older than RUN_HISTORY_DAYS (default 90), in batches. */
export const runHistoryPruneJob = defineJob({
  name: 'run-history-prune',
  description: 'Prune the job run history older than RUN_HISTORY_DAYS',
  input,
  maxDurationSeconds: 60,
  async run({ db, config, input, dryRun, startedAt, budget }) {
    const days = input.days ?? config.runHistoryDays;
    const batchSize = input.batchSize ?? 5000;
    const errors: JobError[] = [];
    let deleted = 0;
    const loop = await loopBatches(budget, async () => {
      const [row] = await db.rpc<{ deleted_count: number; has_more: boolean }>('cron_prune_run_history', {
        p_days: days,
        p_batch_size: batchSize,
        p_dry_run: dryRun,
        p_now: startedAt,
      });
      deleted += row.deleted_count;
      return !dryRun && row.has_more;
    });
    const { batches } = loop;
    const partial = !loop.finished;
    return {
      errors,
      rows_affected: dryRun ? 0 : deleted,
      [dryRun ? 'would_delete_count' : 'deleted_count']: deleted,
      retention_days: days,
      batches,
      partial,
    };
  },
});
