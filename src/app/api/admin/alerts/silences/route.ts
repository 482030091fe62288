import { silencesPost } from '@/lib/alerts/admin';

export const dynamic = 'force-dynamic';

/** Body `{ "rule_id": "jobs.stalled", "subject"?: "draft-cleanup", "minutes": 60, "reason": "..." }`. */
export const POST = silencesPost();
