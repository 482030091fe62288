import { z } from 'zod';
import { alertsOverview } from '@/lib/alerts/admin';
import { adminGet } from '@/lib/http/admin-route';
import { q } from '@/lib/http/query';

export const dynamic = 'force-dynamic';

/** Open and pending alerts, recently resolved ones (`?limit=`, default 50, at most 500), silences, counts. */
export const GET = adminGet(z.strictObject({ limit: q.int(1, 500).optional() }), async ({ deps, query }) => {
  const now = deps.now();
  return { success: true, ...(await alertsOverview(deps.db, now, query.limit ?? 50)), timestamp: now.toISOString() };
});
