import { cronRoute } from '@/lib/cron/route';
import { runHistoryPruneJob } from '@/lib/jobs/run-history-prune';

export const dynamic = 'force-dynamic';
export const maxDuration = 60;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(runHistoryPruneJob);
