import { z } from 'zod';
import { adminGet } from '@/lib/http/admin-route';
import { readMaintenanceStatus } from '@/lib/monitoring/maintenance-status';

export const dynamic = 'force-dynamic';

export const GET = adminGet(z.strictObject({}), async ({ deps }) => {
  const now = deps.now();
  return { success: true, result: await readMaintenanceStatus(deps.db, now), timestamp: now.toISOString() };
}, { feature: 'imports' });
