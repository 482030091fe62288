import { z } from 'zod';
import type { PolicySpec } from '../bindings/spec';
import { loopBatches } from '../cron/batches';
import { defineJob, type JobDefinition } from '../cron/types';
import { q } from '../http/query';
import { requireRule } from '../policies/apply';
import { policyJobName } from '../policies/compile';
import { runKeyedPolicy } from '../policies/keyed-run';

/** Rows per batch call when the policy names no batchSize. */
export const POLICY_DEFAULT_BATCH_SIZE = 5000;

/** Every policy route's time limit (seconds): the most Vercel Hobby allows; a longer run reports partial. */
export const POLICY_MAX_DURATION_SECONDS = 300;

const input = z.strictObject({
  /** Overrides the policy's batch size for this run. */
  batchSize: q.int(1, 50_000).optional(),
});
export type PolicyJobInput = z.infer<typeof input>;

interface StatsRow {
  selected_count: number | string;
  selected_bytes: number | string;
  with_path_count: number | string;
  kept_by_condition: number | string;
  null_time_count: number | string;
  oldest_at: Date | string | null;
  newest_at: Date | string | null;
}

interface RangeBatchRow {
  affected_count: number;
  has_more: boolean;
  next_after: Date | string | null;
}

const iso = (v: Date | string | null) => (v === null ? null : (v instanceof Date ? v : new Date(v)).toISOString());

/** The admin page's line for a policy without a description: `Delete rows of public.x older than 30 days`. */
export function describePolicy(p: PolicySpec): string {
  const what = p.action === 'delete' ? 'Delete rows of' : `Set ${p.action.update.column} on rows of`;
  return `${what} ${p.table} whose ${p.timeColumn} is older than ${p.age.text}${p.where.length ? ' and that meet its condition' : ''}`;
}

/**
 * The job of one retention policy (cronwarden.config.ts, `policies`): named `policies/<name>`,
 * served at /api/cron/policies/<name>, run by the runner like every job (lease, run record,
 * dry run, time budget and `partial`). Runs only while the start-up check bound the policy
 * (503 POLICY_NOT_BOUND with the reasons otherwise).
 *
 * A run selects the rows whose time column is older than now - age (UTC; NULL times are never
 * selected) and that meet every term of the condition, and applies the action to them, oldest
 * first, in calls of cronwarden.policy_range_batch of at most `batchSize` rows, each one short
 * transaction that re-checks the selection as it changes rows. Answers `deleted_count` or
 * `updated_count` (rows), `cutoff_time` (ISO, UTC), `batches`, `partial`. A dry run changes
 * nothing and answers `would_delete_count` / `would_update_count`, `would_affect_bytes`
 * (pg_column_size of the rows, before indexes and TOAST overhead), the oldest and newest selected
 * time, `kept_by_condition` (old rows the condition keeps) and `null_time_count`.
 *
 * A policy with `archive` or `storagePathColumn` runs keyed batches instead (runKeyedPolicy:
 * objects removed before their rows, rows archived and verified before they are deleted) and
 * answers besides `objects_removed`, `objects_kept` ({referenced, archive, invalid}),
 * `rows_kept_for_failed_objects`, `archived_count` and `archive_objects` (keys, at most 50); its
 * dry run `would_remove_objects` and `would_archive_objects`.
 */
export function policyJob(spec: PolicySpec): JobDefinition<PolicyJobInput> {
  const name = policyJobName(spec.name);
  const action = spec.action === 'delete' ? 'delete' : 'update';
  return defineJob({
    name,
    description: spec.description ?? describePolicy(spec),
    input,
    maxDurationSeconds: POLICY_MAX_DURATION_SECONDS,
    precondition: (deps) => requireRule(deps.rules, name),
    async run(ctx) {
      const { db, log, input, dryRun, startedAt, budget } = ctx;
      const batchSize = input.batchSize ?? spec.batchSize ?? POLICY_DEFAULT_BATCH_SIZE;
      const cutoff = new Date(startedAt.getTime() - spec.age.ms);
      const common = { policy: spec.name, action, table: spec.table, age: spec.age.text, cutoff_time: cutoff.toISOString() };

      if (dryRun) {
        const [s] = await db.rpc<StatsRow>('policy_stats', { p_policy: spec.name, p_cutoff: cutoff });
        const count = Number(s.selected_count);
        return {
          errors: [],
          rows_affected: 0,
          ...common,
          [action === 'delete' ? 'would_delete_count' : 'would_update_count']: count,
          would_affect_bytes: Number(s.selected_bytes),
          oldest_at: iso(s.oldest_at),
          newest_at: iso(s.newest_at),
          kept_by_condition: Number(s.kept_by_condition),
          null_time_count: Number(s.null_time_count),
          ...(spec.storagePathColumn ? { would_remove_objects: Number(s.with_path_count) } : {}),
          ...(spec.archive ? { would_archive_objects: Math.ceil(count / batchSize) } : {}),
          batches: 0,
          partial: false,
        };
      }

      if (spec.archive || spec.storagePathColumn) {
        const k = await runKeyedPolicy(spec, ctx, { cutoff, batchSize, budget });
        const partial = !k.finished && !k.failed;
        log.info(
          { type: 'policy_run_complete', ...common, affected_count: k.affected, batches: k.batches, partial, objects_removed: k.objectsRemoved, archived_count: k.archivedRows },
          `policy ${spec.name} finished`,
        );
        return {
          errors: k.errors,
          rows_affected: k.affected,
          ...common,
          [action === 'delete' ? 'deleted_count' : 'updated_count']: k.affected,
          ...(spec.storagePathColumn
            ? { objects_removed: k.objectsRemoved, objects_kept: k.objectsKept, rows_kept_for_failed_objects: k.rowsKeptForFailedObjects }
            : {}),
          ...(spec.archive ? { archived_count: k.archivedRows, archive_objects: k.archiveObjects } : {}),
          batches: k.batches,
          partial,
          failed: k.failed,
        };
      }

      let affected = 0;
      // Each call starts where the previous one ended, so it never walks again over what this run changed.
      let after: Date | null = null;
      const loop = await loopBatches(budget, async () => {
        const [row] = await db.rpc<RangeBatchRow>('policy_range_batch', {
          p_policy: spec.name,
          p_cutoff: cutoff,
          p_batch_size: batchSize,
          p_after: after,
        });
        affected += row.affected_count;
        after = row.next_after === null ? null : new Date(row.next_after);
        return row.has_more;
      });
      const partial = !loop.finished;
      log.info({ type: 'policy_run_complete', ...common, affected_count: affected, batches: loop.batches, partial }, `policy ${spec.name} finished`);
      return {
        errors: [],
        rows_affected: affected,
        ...common,
        [action === 'delete' ? 'deleted_count' : 'updated_count']: affected,
        batches: loop.batches,
        partial,
      };
    },
  });
}
