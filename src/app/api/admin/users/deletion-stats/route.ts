import { z } from 'zod';
import { adminGet } from '@/lib/http/admin-route';
import { q } from '@/lib/http/query';
import { deletionStats, errorRateSeries } from '@/lib/monitoring/user-deletion-stats';

export const dynamic = 'force-dynamic';

const query = z.strictObject({
  minutes: q.int(1, 10_080).optional(),
  hours: q.int(1, 744).optional(),
});

/**
 * User deletion figures for the monitors and the admin page: `?minutes=` window (default 60) and
 * an hourly error-rate series over `?hours=` (default 24) for a chart.
 */
export const GET = adminGet(query, async ({ deps, query }) => {
  const now = deps.now();
  const [stats, series] = await Promise.all([
    deletionStats(deps.db, { minutes: query.minutes ?? 60, now }),
    errorRateSeries(deps.db, { hours: query.hours ?? 24, now }),
  ]);
  return { success: true, result: { stats, error_rate_series: series }, timestamp: now.toISOString() };
}, { feature: 'userDeletion' });
