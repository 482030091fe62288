import { cronRoute, orphanSweepOfRequest } from '@/lib/cron/route';

export const dynamic = 'force-dynamic';
// ORPHAN_SWEEP_MAX_DURATION_SECONDS (src/lib/jobs/orphan-sweep.ts): Next reads this export statically.
export const maxDuration = 300;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(orphanSweepOfRequest);
