import { getApp } from '@/lib/app';
import { isDatabaseUnavailable } from '@/lib/db/availability';
import { isSqlDb } from '@/lib/db/types';
import { pendingMigrations } from '@/lib/db/migrator';
import { jsonResponse } from '@/lib/http/errors';

export const dynamic = 'force-dynamic';

/**
 * Liveness and readiness without a secret, so it says only what an operator's probe needs:
 * up, database reachable, migrations current. No versions, hosts or error texts.
 */
export async function GET(): Promise<Response> {
  const checks = { app: 'ok', database: 'unknown', migrations: 'unknown' } as Record<string, string>;
  try {
    const app = getApp();
    const db = await app.db();
    await db.rpc('cronwarden_ping');
    checks.database = 'ok';
    if (isSqlDb(db)) checks.migrations = (await pendingMigrations(db)).length === 0 ? 'ok' : 'pending';
    else checks.migrations = 'external';
  } catch (err) {
    if (checks.database === 'unknown') checks.database = 'unreachable';
    try {
      // An unreachable database is logged once by the app when it goes away, not once per probe.
      if (!isDatabaseUnavailable(err)) getApp().log.error({ type: 'health_check_failed', err }, 'health check failed');
    } catch {
      checks.app = 'misconfigured';
    }
  }
  const healthy = checks.app === 'ok' && checks.database === 'ok' && checks.migrations !== 'pending';
  return jsonResponse({ status: healthy ? 'ok' : 'degraded', checks, timestamp: new Date().toISOString() }, healthy ? 200 : 503);
}
