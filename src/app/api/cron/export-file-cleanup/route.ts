import { cronRoute } from '@/lib/cron/route';
import { exportFileCleanupJob } from '@/lib/jobs/export-file-cleanup';

export const dynamic = 'force-dynamic';
export const maxDuration = 300;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(exportFileCleanupJob);
