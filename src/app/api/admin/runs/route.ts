import { z } from 'zod';
import { jobRunPage, RUN_STATUSES } from '@/lib/admin/job-history';
import { recentRuns } from '@/lib/admin/jobs';
import { adminGet } from '@/lib/http/admin-route';
import { q } from '@/lib/http/query';

export const dynamic = 'force-dynamic';

const query = z
  .strictObject({
    job: z.string().regex(/^(?:policies\/)?[a-z0-9-]{1,64}$/, { message: 'must be a job name' }).optional(),
    limit: q.int(1, 500).optional(),
    status: z.enum(RUN_STATUSES as [string, ...string[]], { message: `must be one of ${RUN_STATUSES.join(', ')}` }).optional(),
    trigger: z.string().regex(/^[a-z]{1,32}$/, { message: 'must be a trigger name' }).optional(),
    dryRun: q.bool().optional(),
    // Any 8-4-4-4-12 hex id, as PostgreSQL's uuid type takes it (not only RFC 4122 versions).
    before: z.guid({ message: 'must be a run id' }).optional(),
  })
  .refine((x) => x.job !== undefined || (x.status === undefined && x.trigger === undefined && x.dryRun === undefined && x.before === undefined), {
    message: 'status, trigger, dryRun and before need job',
    path: ['job'],
  })
  .refine((x) => x.job === undefined || x.limit === undefined || x.limit <= 200 || (x.status === undefined && x.trigger === undefined && x.dryRun === undefined && x.before === undefined), {
    message: 'at most 200 with filters',
    path: ['limit'],
  });

/**
 * Recent runs, newest first: `?limit=` up to 500 (default 50), `?job=<name>` for one job. With a
 * job, `status`, `trigger`, `dryRun` (true/false) filter it and `before=<run id>` pages
 * (`next_before` is the next page's cursor, null on the last page; at most 200 per page).
 */
export const GET = adminGet(query, async ({ deps, query }) => {
  const now = deps.now().toISOString();
  const filtered = query.status !== undefined || query.trigger !== undefined || query.dryRun !== undefined || query.before !== undefined;
  if (query.job && filtered) {
    const page = await jobRunPage(
      deps.db,
      query.job,
      { status: query.status as (typeof RUN_STATUSES)[number] | undefined, trigger: query.trigger, dryRun: query.dryRun },
      query.before ?? null,
      query.limit ?? 50,
    );
    return { success: true, runs: page.runs, next_before: page.nextBefore, timestamp: now };
  }
  const runs = await recentRuns(deps.db, query.job ?? null, query.limit ?? 50);
  return { success: true, runs, timestamp: now };
});
