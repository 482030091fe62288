import { metricsHandler } from '@/lib/monitoring/metrics';

export const dynamic = 'force-dynamic';

/** Prometheus text exposition; `Authorization: Bearer <METRICS_TOKEN>` when METRICS_TOKEN is set. */
export const GET = metricsHandler();
