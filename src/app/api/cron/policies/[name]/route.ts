import { cronRoute, policyOfRequest } from '@/lib/cron/route';

export const dynamic = 'force-dynamic';
// POLICY_MAX_DURATION_SECONDS (src/lib/jobs/policy.ts): Next reads this export statically.
export const maxDuration = 300;

export const { GET, HEAD, POST, PUT, PATCH, DELETE } = cronRoute(policyOfRequest);
