import { deletionStats, orphanCounts } from '../../monitoring/user-deletion-stats';
import type { AlertContext, AlertObservation, AlertRule } from '../types';

/**
 * Deletions an hour must hold before its error rate means anything: without it, one failure in a
 * quiet hour is a 100% error rate and pages someone at CRITICAL. As for the export failure rule.
 * A 404 (no such user) is not a deletion: it counts neither in the sample nor as a failure.
 */
export const DELETION_ERROR_RATE_MIN_SAMPLE = 10;

/** Last hour of user deletions (404s left out); no observation when there were fewer than `minSample`. */
async function lastHour(
  ctx: AlertContext,
  pick: (s: Awaited<ReturnType<typeof deletionStats>>) => number | null,
  minSample = 1,
): Promise<AlertObservation[]> {
  const s = await deletionStats(ctx.db, { minutes: 60, now: ctx.now });
  const value = pick(s);
  if (s.total_deletions < minSample || value === null) return [];
  return [
    {
      subject: 'global',
      value,
      details: {
        total_deletions: s.total_deletions,
        failed_deletions: s.failed_deletions,
        not_found: s.not_found,
        timeouts: s.timeouts,
        p95_duration_ms: s.p95_duration_ms,
        window_start: s.window_start,
      },
    },
  ];
}

const errorRateRunbook =
  'Failed user deletions in the last hour: GET /api/admin/users/deletion-stats?minutes=60 shows the split by class ' +
  '(timeouts, conflicts, db_errors; 404s for unknown users are not counted as failures). Read the failure rows: select ' +
  "error_type, error_message from cronwarden.audit_logs where action = 'USER_DELETION' and status = 'failure' " +
  "and error_type <> 'not_found' order by created_at desc limit 20. db_error: check the server log (type " +
  'user_deletion_failed) and recent migrations; timeouts: see the timeout runbook. Every failure rolled back, so no ' +
  'partial deletions need repair.';

export const userRules: AlertRule[] = [
  {
    id: 'users.deletion_error_rate_critical',
    title: 'User deletion error rate above 1% (last hour)',
    severity: 'CRITICAL',
    responseSla: '15 minutes',
    threshold: 1,
    comparison: 'gt',
    forSeconds: 0,
    runbook: errorRateRunbook,
    feature: 'userDeletion',
    observe: (ctx) => lastHour(ctx, (s) => s.error_rate_percent, DELETION_ERROR_RATE_MIN_SAMPLE),
  },
  {
    id: 'users.deletion_error_rate_warning',
    title: 'User deletion error rate above 0.5% (last hour)',
    severity: 'MEDIUM',
    responseSla: '4 hours',
    threshold: 0.5,
    comparison: 'gt',
    forSeconds: 600,
    runbook: errorRateRunbook,
    feature: 'userDeletion',
    observe: (ctx) => lastHour(ctx, (s) => s.error_rate_percent, DELETION_ERROR_RATE_MIN_SAMPLE),
  },
  {
    id: 'users.deletion_p95_slow',
    title: 'User deletion p95 latency above 5 s (last hour)',
    severity: 'HIGH',
    responseSla: '1 hour',
    threshold: 5000,
    comparison: 'gt',
    forSeconds: 300,
    runbook:
      'Deletions are slow. Check which users are slow: cronwarden.audit_logs details->deleted holds the row counts per ' +
      'table of each deletion, details->db_duration_ms the database part versus duration_ms in total (the rest is ' +
      'storage removal). Check lock waits (pg_stat_activity wait_event_type = Lock) and that every user column of ' +
      'the tables in details->deleted has an index (a missing one makes every deletion scan that table). Run npm run ' +
      'monitor:usage-patterns for the latency percentiles.',
    feature: 'userDeletion',
    observe: (ctx) => lastHour(ctx, (s) => s.p95_duration_ms),
  },
  {
    id: 'users.deletion_timeouts',
    title: 'More than 5 user deletion timeouts in the last hour',
    severity: 'HIGH',
    responseSla: '1 hour',
    threshold: 5,
    comparison: 'gt',
    forSeconds: 0,
    runbook:
      'Deletions hit their database deadline (SQLSTATE 57014) and were rolled back; callers got 504 STATEMENT_TIMEOUT. ' +
      'Look for lock contention on the users table and its child tables (pg_locks, pg_stat_activity), long-running ' +
      'transactions, and users with very many rows. Nothing was deleted, so the requests can be retried once the cause is gone.',
    feature: 'userDeletion',
    observe: (ctx) => lastHour(ctx, (s) => s.timeouts),
  },
  {
    id: 'users.orphaned_records',
    title: 'Rows left behind by deleted users',
    severity: 'MEDIUM',
    responseSla: '1 business day',
    threshold: 0,
    comparison: 'gt',
    forSeconds: 0,
    runbook:
      'Rows of the tables the deletion cleans by hand (no cascading foreign key, or declared children such as uploads ' +
      'and the export log) point at users that no longer exist; details name the tables. Run npm run ' +
      'monitor:data-integrity: its report lists the orphaned rows and the deletions without a success audit row ' +
      '(users deleted outside the endpoint, when the deletion trigger is installed). Delete the orphaned rows (their ' +
      'storage objects first) and find the code path that deleted users without DELETE /api/users/[userId].',
    feature: 'userDeletion',
    async observe(ctx) {
      const counts = await orphanCounts(ctx.db);
      const total = counts.reduce((n, c) => n + c.orphans, 0);
      return [{ subject: 'global', value: total, details: Object.fromEntries(counts.map((c) => [c.table, c.orphans])) }];
    },
  },
];
