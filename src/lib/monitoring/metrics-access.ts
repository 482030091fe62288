import type { Config } from '../config';

/**
 * Who may read /api/metrics:
 * - `bearer`: METRICS_TOKEN is set; callers send `Authorization: Bearer <METRICS_TOKEN>`.
 * - `open`: no token on the embedded default (PGlite, no DATABASE_URL / SUPABASE_URL), a local
 *   install: served to anyone, with a warning at the first scrape and in /api/health.
 * - `refused`: no token on a server deployment: answered 503 until METRICS_TOKEN is set, since
 *   run history, alert counts and row counts are operational data.
 */
export type MetricsAccess = 'bearer' | 'open' | 'refused';

export function metricsAccess(config: Pick<Config, 'metricsToken' | 'db'>): MetricsAccess {
  if (config.metricsToken) return 'bearer';
  return config.db.driver === 'pglite' ? 'open' : 'refused';
}

export const METRICS_OPEN_WARNING =
  '/api/metrics is open to anyone because METRICS_TOKEN is unset (allowed on the embedded default only); ' +
  'set METRICS_TOKEN (at least 16 characters) before exposing this app.';

export const METRICS_REFUSED_MESSAGE =
  '/api/metrics needs METRICS_TOKEN on a server deployment: set METRICS_TOKEN (at least 16 characters) ' +
  'and scrape with "Authorization: Bearer <METRICS_TOKEN>".';
