import { z } from 'zod';
import { adminGet } from '@/lib/http/admin-route';
import { q } from '@/lib/http/query';
import { exportMetricsReport } from '@/lib/monitoring/export-admin';

export const dynamic = 'force-dynamic';

/** Export aggregates over the last `hours` (default 24) and the hourly series for charts. */
export const GET = adminGet(z.strictObject({ hours: q.int(1, 720).optional() }), async ({ deps, query }) => {
  const report = await exportMetricsReport(deps, query.hours ?? 24);
  return { success: true, ...report, timestamp: report.to };
}, { feature: 'exports' });
