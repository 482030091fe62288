import { cronRoute } from '@/lib/cron/route';
import { draftCleanupJob } from '@/lib/jobs/draft-cleanup';

export const dynamic = 'force-dynamic';
export const maxDuration = 60;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(draftCleanupJob);
