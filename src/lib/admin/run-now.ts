import { z } from 'zod';
import { getApp, getJobDeps } from '../app';
import { getJob } from '../cron/registry';
import { failureResponse, outcomeResponse } from '../cron/route';
import { runJob } from '../cron/runner';
import { requireAdmin } from '../http/admin-auth';
import { AppError } from '../http/errors';
import { parseJsonBody } from '../http/admin-route';
import { parseOrThrow, queryObject } from '../http/query';
import { assertSameOrigin } from '../http/same-origin';

export const runNowBody = z.strictObject({
  dryRun: z.boolean({ message: 'must be true or false' }),
});

/**
 * POST /api/admin/jobs/<job>/run: the admin page's "Run now" and "Dry run". Same runner as the
 * cron route (lease, run row, budget), trigger 'admin', the job's default input.
 * 404 for a job not in the registry, 409 while the job is already running.
 */
export async function runNow(request: Request, jobName: string): Promise<Response> {
  try {
    const { config } = getApp();
    assertSameOrigin(request, config);
    requireAdmin(request.headers, config);
    parseOrThrow(z.strictObject({}), queryObject(request));
    const job = getJob(jobName);
    if (!job) throw new AppError(404, 'UNKNOWN_JOB', `No job named '${jobName.slice(0, 64)}'.`);
    const { dryRun } = await parseJsonBody(request, runNowBody);
    const input = parseOrThrow(job.input, {});
    const deps = await getJobDeps();
    const outcome = await runJob(job, { input, dryRun, trigger: 'admin' }, deps);
    return outcomeResponse(outcome);
  } catch (err) {
    return failureResponse(err);
  }
}
