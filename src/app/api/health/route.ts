import { getApp } from '@/lib/app';
import { isSqlDb } from '@/lib/db/types';
import { pendingMigrations } from '@/lib/db/migrator';
import { jsonResponse } from '@/lib/http/errors';
import { scheduleStatus, type ScheduleStatus } from '@/lib/schedules/firing';
import { activeScheduler } from '@/lib/schedules/scheduler';

export const dynamic = 'force-dynamic';

/**
 * Liveness and readiness without a secret, so it says only what an operator's probe needs:
 * up, database reachable, migrations current, and which scheduler fires each job and when it
 * last did (so a scheduler that never fires shows). No versions, hosts or error texts.
 */
export async function GET(): Promise<Response> {
  const checks = { app: 'ok', database: 'unknown', migrations: 'unknown' } as Record<string, string>;
  let schedules: ScheduleStatus | undefined;
  try {
    const app = getApp();
    const db = await app.db();
    await db.rpc('cronwarden_ping');
    checks.database = 'ok';
    if (isSqlDb(db)) checks.migrations = (await pendingMigrations(db)).length === 0 ? 'ok' : 'pending';
    else checks.migrations = 'external';
    schedules = await scheduleStatus(db, activeScheduler(app.config), new Date());
  } catch (err) {
    if (checks.database === 'unknown') checks.database = 'unreachable';
    try {
      getApp().log.error({ type: 'health_check_failed', err }, 'health check failed');
    } catch {
      checks.app = 'misconfigured';
    }
  }
  const healthy = checks.app === 'ok' && checks.database === 'ok' && checks.migrations !== 'pending';
  return jsonResponse(
    { status: healthy ? 'ok' : 'degraded', checks, ...(schedules ? { schedules } : {}), timestamp: new Date().toISOString() },
    healthy ? 200 : 503,
  );
}
