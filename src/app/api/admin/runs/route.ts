import { z } from 'zod';
import { recentRuns } from '@/lib/admin/jobs';
import { adminGet } from '@/lib/http/admin-route';
import { q } from '@/lib/http/query';

export const dynamic = 'force-dynamic';

const query = z.strictObject({
  job: z.string().regex(/^(?:policies\/)?[a-z0-9-]{1,64}$/, { message: 'must be a job name' }).optional(),
  limit: q.int(1, 500).optional(),
});

/** Recent runs, newest first: `?job=<name>` for one job, `?limit=` up to 500 (default 50). */
export const GET = adminGet(query, async ({ deps, query }) => {
  const runs = await recentRuns(deps.db, query.job ?? null, query.limit ?? 50);
  return { success: true, runs, timestamp: deps.now().toISOString() };
});
