import { z } from 'zod';
import { adminGet } from '@/lib/http/admin-route';
import { q } from '@/lib/http/query';
import { exportCleanupStatsReport } from '@/lib/monitoring/export-admin';

export const dynamic = 'force-dynamic';

/** Export logs eligible for the log cleanup (and their size) and export files due for removal. */
export const GET = adminGet(z.strictObject({ retentionDays: q.int(1, 3650).optional() }), async ({ deps, query }) => {
  const stats = await exportCleanupStatsReport(deps, query.retentionDays);
  return { success: true, ...stats, timestamp: deps.now().toISOString() };
}, { feature: 'exports' });
