import { z } from 'zod';
import { jobsOverview } from '@/lib/admin/jobs';
import { openAlertsBySubject } from '@/lib/alerts/store';
import { adminGet } from '@/lib/http/admin-route';
import { activeScheduler } from '@/lib/schedules/scheduler';

export const dynamic = 'force-dynamic';

/** Every registered job: schedule (cron and words), who fires it, next run, last run, 24 h counts, open alerts. */
export const GET = adminGet(z.strictObject({}), async ({ deps }) => {
  const now = deps.now();
  const jobs = await jobsOverview(deps.db, now, await openAlertsBySubject(deps.db, now), activeScheduler(deps.config));
  return { success: true, jobs, timestamp: now.toISOString() };
});
