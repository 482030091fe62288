import { cronRoute } from '@/lib/cron/route';
import { alertsEvaluateJob } from '@/lib/jobs/alerts-evaluate';

export const dynamic = 'force-dynamic';
export const maxDuration = 60;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(alertsEvaluateJob);
