import { getApp } from '@/lib/app';
import { FEATURES } from '@/lib/bindings/spec';
import { isSqlDb } from '@/lib/db/types';
import { pendingMigrations } from '@/lib/db/migrator';
import { jsonResponse } from '@/lib/http/errors';

export const dynamic = 'force-dynamic';

/**
 * Liveness and readiness without a secret, so it says only what an operator's probe needs:
 * up, database reachable, migrations current, and each feature bound or not with the reasons
 * (table and column names of the bindings, never values). No versions, hosts or error texts.
 */
export async function GET(): Promise<Response> {
  const checks = { app: 'ok', database: 'unknown', migrations: 'unknown' } as Record<string, string>;
  let features: Record<string, { enabled: boolean; bound: boolean; problems: string[] }> | undefined;
  try {
    const app = getApp();
    const db = await app.db();
    await db.rpc('cronwarden_ping');
    checks.database = 'ok';
    if (isSqlDb(db)) checks.migrations = (await pendingMigrations(db)).length === 0 ? 'ok' : 'pending';
    else checks.migrations = 'external';
    const states = await app.features();
    features = Object.fromEntries(FEATURES.map((f) => [f, { enabled: states[f].enabled, bound: states[f].bound, problems: states[f].problems }]));
  } catch (err) {
    if (checks.database === 'unknown') checks.database = 'unreachable';
    try {
      getApp().log.error({ type: 'health_check_failed', err }, 'health check failed');
    } catch {
      checks.app = 'misconfigured';
    }
  }
  // An unbound feature does not make the app unhealthy: the others run. It is listed here.
  const healthy = checks.app === 'ok' && checks.database === 'ok' && checks.migrations !== 'pending';
  return jsonResponse({ status: healthy ? 'ok' : 'degraded', checks, features, timestamp: new Date().toISOString() }, healthy ? 200 : 503);
}
