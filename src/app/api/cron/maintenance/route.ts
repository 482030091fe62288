import { cronRoute } from '@/lib/cron/route';
import { maintenanceJob } from '@/lib/jobs/maintenance';

export const dynamic = 'force-dynamic';
export const maxDuration = 300;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(maintenanceJob);
