import { cronRoute } from '@/lib/cron/route';
import { exportLogCleanupJob } from '@/lib/jobs/export-log-cleanup';

export const dynamic = 'force-dynamic';
export const maxDuration = 300;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(exportLogCleanupJob);
