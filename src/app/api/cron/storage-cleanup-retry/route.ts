import { cronRoute } from '@/lib/cron/route';
import { storageCleanupRetryJob } from '@/lib/jobs/storage-cleanup-retry';

export const dynamic = 'force-dynamic';
export const maxDuration = 60;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(storageCleanupRetryJob);
