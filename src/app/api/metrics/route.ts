import { metricsHandler } from '@/lib/monitoring/metrics';

export const dynamic = 'force-dynamic';

/**
 * Prometheus text exposition; `Authorization: Bearer <METRICS_TOKEN>`. Without METRICS_TOKEN it
 * is open on the embedded default only (see src/lib/monitoring/metrics-access.ts).
 */
export const GET = metricsHandler();
