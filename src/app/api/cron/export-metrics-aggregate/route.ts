import { cronRoute } from '@/lib/cron/route';
import { exportMetricsAggregateJob } from '@/lib/jobs/export-metrics-aggregate';

export const dynamic = 'force-dynamic';
export const maxDuration = 60;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(exportMetricsAggregateJob);
