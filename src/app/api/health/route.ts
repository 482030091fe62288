import { getApp } from '@/lib/app';
import { FEATURES } from '@/lib/bindings/spec';
import { configuredChannels, NO_ALERT_CHANNEL_WARNING, type ChannelName } from '@/lib/alerts/channels';
import { unavailableReason } from '@/lib/cron/availability';
import { jobs as builtInJobs, ruleJobs } from '@/lib/cron/registry';
import { isDatabaseUnavailable } from '@/lib/db/availability';
import { isSqlDb } from '@/lib/db/types';
import { pendingMigrations } from '@/lib/db/migrator';
import { jsonResponse } from '@/lib/http/errors';
import { METRICS_OPEN_WARNING, METRICS_REFUSED_MESSAGE, metricsAccess, type MetricsAccess } from '@/lib/monitoring/metrics-access';
import { ruleJobName } from '@/lib/policies/compile';
import { scheduleStatus, type ScheduleStatus } from '@/lib/schedules/firing';
import { activeScheduler } from '@/lib/schedules/scheduler';

export const dynamic = 'force-dynamic';

/**
 * Liveness and readiness without a secret, so it says only what an operator's probe needs:
 * up, database reachable, migrations current, each feature bound or not with the reasons (table
 * and column names of the bindings, never values), what is set up to tell anyone
 * (`alert_channels`: slack, webhook, pagerduty, email; `metrics`: bearer, open or refused) with
 * `warnings` in words (with the rules of cronwarden.config.ts that cannot run), and which scheduler fires each job and when it last did (so a scheduler
 * that never fires shows), and `jobs_not_run`: the names of the jobs not run here (feature off or
 * unbound, rule not bound), which the local scheduler does not fire. No versions, hosts or error texts.
 */
export async function GET(): Promise<Response> {
  const checks = { app: 'ok', database: 'unknown', migrations: 'unknown' } as Record<string, string>;
  let features: Record<string, { enabled: boolean; bound: boolean; problems: string[] }> | undefined;
  let alertChannels: ChannelName[] | undefined;
  let metrics: MetricsAccess | undefined;
  let schedules: ScheduleStatus | undefined;
  let jobsNotRun: string[] | undefined;
  const warnings: string[] = [];
  try {
    const app = getApp();
    alertChannels = configuredChannels(app.config);
    if (alertChannels.length === 0) warnings.push(NO_ALERT_CHANNEL_WARNING);
    metrics = metricsAccess(app.config);
    if (metrics === 'open') warnings.push(METRICS_OPEN_WARNING);
    if (metrics === 'refused') warnings.push(METRICS_REFUSED_MESSAGE);
    const db = await app.db();
    await db.rpc('cronwarden_ping');
    checks.database = 'ok';
    if (isSqlDb(db)) checks.migrations = (await pendingMigrations(db)).length === 0 ? 'ok' : 'pending';
    else checks.migrations = 'external';
    const states = await app.features();
    features = Object.fromEntries(FEATURES.map((f) => [f, { enabled: states[f].enabled, bound: states[f].bound, problems: states[f].problems }]));
    // Rules of cronwarden.config.ts that cannot run, by job name only (their reasons may quote
    // the file's values: the start log and `npm run doctor` give them).
    const ruleStates = await app.rules();
    jobsNotRun = [...builtInJobs, ...ruleJobs(app.cronwarden)].filter((j) => unavailableReason(j, { features: states, rules: ruleStates }) !== null).map((j) => j.name);
    const unbound = new Set([
      ...Object.values(ruleStates).filter((r) => !r.bound).map((r) => r.job),
      ...app.cronwarden.refusals.map((r) => ruleJobName(r.kind, r.name)),
    ]);
    if (unbound.size > 0) {
      warnings.push(`${unbound.size} rule${unbound.size === 1 ? '' : 's'} of cronwarden.config.ts cannot run: ${[...unbound].join(', ')} (the reasons: npm run doctor, or the start log)`);
    }
    schedules = await scheduleStatus(db, activeScheduler(app.config), new Date());
  } catch (err) {
    if (checks.database === 'unknown') checks.database = 'unreachable';
    try {
      // An unreachable database is logged once by the app when it goes away, not once per probe.
      if (!isDatabaseUnavailable(err)) getApp().log.error({ type: 'health_check_failed', err }, 'health check failed');
    } catch {
      checks.app = 'misconfigured';
    }
  }
  // An unbound feature does not make the app unhealthy: the others run. It is listed here.
  const healthy = checks.app === 'ok' && checks.database === 'ok' && checks.migrations !== 'pending';
  return jsonResponse(
    {
      status: healthy ? 'ok' : 'degraded',
      checks,
      features,
      alert_channels: alertChannels ?? null,
      metrics: metrics ?? null,
      warnings,
      ...(schedules ? { schedules } : {}),
      ...(jobsNotRun ? { jobs_not_run: jobsNotRun } : {}),
      timestamp: new Date().toISOString(),
    },
    healthy ? 200 : 503,
  );
}
