import { z } from 'zod';
import { requireFeature } from '@/lib/bindings/features';
import { adminGet } from '@/lib/http/admin-route';
import { readMaintenanceStatus } from '@/lib/monitoring/maintenance-status';

export const dynamic = 'force-dynamic';

export const GET = adminGet(z.strictObject({}), async ({ deps }) => {
  // 503 FEATURE_NOT_BOUND / FEATURE_DISABLED while import maintenance cannot run here.
  requireFeature(deps.features, 'imports');
  const now = deps.now();
  return { success: true, result: await readMaintenanceStatus(deps.db, now), timestamp: now.toISOString() };
}, { feature: 'imports' });
