import { DRAFT_CLEANUP_JOB, draftCleanupPerformance, draftSystemHealth, type DraftSystemHealth } from '../../monitoring/drafts';
import { checkRedis } from '../../monitoring/redis';
import type { AlertContext, AlertObservation, AlertRule } from '../types';

/**
 * Draft pollution and the draft-cleanup job, over the drafts binding (quiet while it is not
 * bound). Thresholds are the draft cleanup monitoring spec's:
 * pollution > 30 % (MEDIUM, respond in 4 h), pollution > 50 % or more than 100 unused drafts
 * (HIGH, 1 h), no successful cleanup for more than 2 h (HIGH, 30 min), more than 5 unused drafts
 * older than 24 h (MEDIUM, 2 h), more than 100 drafts created in the last hour (MEDIUM, 1 h),
 * Redis unreachable (HIGH, 15 min, only with REDIS_URL), 3 consecutive cleanup failures (HIGH, 30 min).
 */

const CHECK_CLEANUP =
  'Check the draft-cleanup job: GET /api/admin/drafts/cleanup-performance (last run, last success, failures) and ' +
  'its recent runs in the admin page. Run it now with `curl -H "Authorization: Bearer $CRON_SECRET" ' +
  '"$APP_URL/api/cron/draft-cleanup?dryRun=1"` to see what it would delete, then without dryRun. From SQL, ' +
  '`select * from trigger_manual_cleanup();` deletes one batch of up to 1000 unused drafts older than 24 h (repeat ' +
  'while deleted_count > 0).';

const health = ({ db, now }: AlertContext): Promise<DraftSystemHealth> => draftSystemHealth(db, now);

/** Unrounded, so 30.004 % is above 30 % even though the dashboard shows 30.00. */
function pollution(h: DraftSystemHealth): number {
  return h.total_drafts > 0 ? (100 * h.unused_drafts) / h.total_drafts : 0;
}

function pollutionObservation(h: DraftSystemHealth): AlertObservation[] {
  return [
    {
      subject: 'global',
      value: pollution(h),
      details: { total_drafts: h.total_drafts, unused_drafts: h.unused_drafts, pollution_percentage: h.pollution_percentage },
    },
  ];
}

export const draftPollutionHighRule: AlertRule = {
  id: 'drafts.pollution_high',
  title: 'High draft pollution (over 30 % of drafts unused)',
  feature: 'drafts',
  severity: 'MEDIUM',
  responseSla: '4 hours',
  threshold: 30,
  comparison: 'gt',
  forSeconds: 15 * 60,
  runbook:
    'More than 30 % of current drafts were never used (no generation started). Usually the cleanup is not keeping ' +
    'up or in-progress drafts are being written to the database instead of Redis sessions. ' +
    'GET /api/admin/drafts/age-distribution shows whether old drafts pile up (cleanup problem) or young ones do ' +
    '(creation problem: see organization-leaderboard and redis-consistency). ' +
    CHECK_CLEANUP,
  observe: async (ctx) => pollutionObservation(await health(ctx)),
};

export const draftPollutionCriticalRule: AlertRule = {
  id: 'drafts.pollution_critical',
  title: 'Critical draft pollution (over 50 % of drafts unused)',
  feature: 'drafts',
  severity: 'HIGH',
  responseSla: '1 hour',
  threshold: 50,
  comparison: 'gt',
  forSeconds: 15 * 60,
  runbook:
    'More than half of current drafts are unused. Page the on-call engineer. Run the cleanup now (below), then find ' +
    'the source: GET /api/admin/drafts/organization-leaderboard (one organization creating drafts in a loop?), ' +
    'hourly-traffic (a spike?), redis-consistency (Redis sessions bypassed?). ' +
    CHECK_CLEANUP,
  observe: async (ctx) => pollutionObservation(await health(ctx)),
};

export const draftUnusedCriticalRule: AlertRule = {
  id: 'drafts.unused_critical',
  title: 'More than 100 unused drafts',
  feature: 'drafts',
  severity: 'HIGH',
  responseSla: '1 hour',
  threshold: 100,
  comparison: 'gt',
  forSeconds: 15 * 60,
  runbook:
    'More than 100 drafts exist whose generation never started. If most are older than 24 h the cleanup is failing ' +
    '(see drafts.cleanup_stalled / drafts.cleanup_failures); if they are young, drafts are being created in bulk: ' +
    'GET /api/admin/drafts/organization-leaderboard and hourly-traffic name the source. ' +
    CHECK_CLEANUP,
  async observe(ctx) {
    const h = await health(ctx);
    return [{ subject: 'global', value: h.unused_drafts, details: { unused_drafts: h.unused_drafts, total_drafts: h.total_drafts } }];
  },
};

export const draftCleanupStalledRule: AlertRule = {
  id: 'drafts.cleanup_stalled',
  title: 'Draft cleanup stalled (no successful run for over 2 hours)',
  feature: 'drafts',
  severity: 'HIGH',
  responseSla: '30 minutes',
  threshold: 2,
  comparison: 'gt',
  forSeconds: 0,
  runbook:
    'The hourly draft-cleanup job has not finished successfully for more than 2 hours (value: hours since the last ' +
    'success). Check that the cron fires: on Vercel, the project\'s Cron Jobs tab lists /api/cron/draft-cleanup ' +
    '(schedule in vercel.json); self-hosted, the `npm start` scheduler must be running. Check CRON_SECRET matches on ' +
    'both sides (a 401 in the logs) and whether runs are failing or stuck (a lease held by a dead run expires after ' +
    'maxDuration + 60 s). A job that has never succeeded is not reported here; drafts.old_drafts_pending catches it. ' +
    CHECK_CLEANUP,
  async observe({ db, now }) {
    const p = await draftCleanupPerformance(db, now);
    if (p.hours_since_last_success === null) return [];
    return [
      {
        subject: DRAFT_CLEANUP_JOB,
        value: p.hours_since_last_success,
        details: { last_success_at: p.last_success_at, last_run_at: p.last_run_at, last_status: p.last_status },
      },
    ];
  },
};

export const draftOldPendingRule: AlertRule = {
  id: 'drafts.old_drafts_pending',
  title: 'Unused drafts older than 24 hours pending (more than 5)',
  feature: 'drafts',
  severity: 'MEDIUM',
  responseSla: '2 hours',
  threshold: 5,
  comparison: 'gt',
  forSeconds: 0,
  runbook:
    'More than 5 unused drafts are older than 24 hours although the hourly cleanup should have deleted them. ' +
    'GET /api/admin/drafts/pending-cleanup lists them: cleanup_runs_since_eligible = 0 means the cleanup has not run ' +
    'since (scheduling problem), > 0 means it ran and did not take them (rows locked by a long transaction, or a ' +
    'predicate mismatch: check those rows against bindings.drafts.draft and .unused in cronwarden.config.ts). ' +
    CHECK_CLEANUP,
  async observe(ctx) {
    const h = await health(ctx);
    return [{ subject: 'global', value: h.pending_cleanup, details: { pending_cleanup: h.pending_cleanup } }];
  },
};

export const draftTrafficSpikeRule: AlertRule = {
  id: 'drafts.traffic_spike',
  title: 'Unusual draft creation (more than 100 in the last hour)',
  feature: 'drafts',
  severity: 'MEDIUM',
  responseSla: '1 hour',
  threshold: 100,
  comparison: 'gt',
  forSeconds: 0,
  runbook:
    'More than 100 rows of the drafts table (each starts as a draft) were created in the last hour. Check for abuse or a client ' +
    'retry loop: GET /api/admin/drafts/organization-leaderboard and hourly-traffic show who and when; compare with ' +
    'the usual peak in hourly-traffic?days=28. If it is abuse, rate-limit or suspend the source; the cleanup ' +
    'removes the unused drafts after 24 h (or run it now with ?hours=1).',
  async observe(ctx) {
    const h = await health(ctx);
    return [{ subject: 'global', value: h.created_last_hour, details: { created_last_hour: h.created_last_hour, created_last_24h: h.created_last_24h } }];
  },
};

export const draftRedisUnreachableRule: AlertRule = {
  id: 'drafts.redis_unreachable',
  title: 'Redis (draft sessions) unreachable',
  feature: 'drafts',
  severity: 'HIGH',
  responseSla: '15 minutes',
  threshold: 1,
  comparison: 'gte',
  forSeconds: 2 * 60,
  runbook:
    'The Redis server in REDIS_URL does not answer (details.error). In-progress drafts live there; while it is down ' +
    'the product may fall back to database drafts, so watch drafts.pollution_high. Check the Redis host (memory, ' +
    'maxclients, restarts) and the network path, restart it if needed, then GET /api/admin/drafts/redis-consistency ' +
    'to confirm it answers and sessions are back.',
  enabled: (config) => Boolean(config.redisUrl),
  async observe({ config }) {
    if (!config.redisUrl) return [];
    const r = await checkRedis(config.redisUrl);
    return [{ subject: 'redis', value: r.status === 'unreachable' ? 1 : 0, details: { ...r } }];
  },
};

export const draftCleanupFailuresRule: AlertRule = {
  id: 'drafts.cleanup_failures',
  title: 'Draft cleanup failed 3 times in a row',
  feature: 'drafts',
  severity: 'HIGH',
  responseSla: '30 minutes',
  threshold: 3,
  comparison: 'gte',
  forSeconds: 0,
  runbook:
    'The last 3 or more draft-cleanup runs failed (value: failures since the last success). The error is in each ' +
    'run\'s record (admin page, or GET /api/admin/runs?job=draft-cleanup): a database error (permissions, a drafts ' +
    'table that no longer matches bindings.drafts in cronwarden.config.ts, statement timeout: lower ?batchSize=) or ' +
    'the database unreachable. Fix it and run the job once by hand; the alert clears with the next success. ' +
    CHECK_CLEANUP,
  async observe({ db, now }) {
    const p = await draftCleanupPerformance(db, now);
    return [
      {
        subject: DRAFT_CLEANUP_JOB,
        value: p.consecutive_failures,
        details: { consecutive_failures: p.consecutive_failures, last_run_id: p.last_run_id, last_success_at: p.last_success_at },
      },
    ];
  },
};

export const draftRules: AlertRule[] = [
  draftPollutionHighRule,
  draftPollutionCriticalRule,
  draftUnusedCriticalRule,
  draftCleanupStalledRule,
  draftOldPendingRule,
  draftTrafficSpikeRule,
  draftRedisUnreachableRule,
  draftCleanupFailuresRule,
];
