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
import { getRun } from './jobs';

export const runNowBody = z
  .strictObject({
    dryRun: z.boolean({ message: 'must be true or false' }).optional(),
    rerunOf: z.guid({ message: 'must be the id of a failed run of this job' }).optional(),
  })
  .refine((b) => b.dryRun !== undefined || b.rerunOf !== undefined, { message: 'give dryRun (true or false), or rerunOf (a failed run\'s id)' });

/**
 * A recorded input as the job's query parameters: runs record their parsed input (numbers,
 * booleans, strings), and parsing it again checks it against today's input schema.
 */
function recordedInputAsQuery(input: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (v === null || v === undefined) continue;
    if (typeof v === 'object') throw new AppError(422, 'INPUT_NOT_REPEATABLE', `The run's input '${k.slice(0, 64)}' is not a query value; run the job with its own parameters instead.`);
    out[k] = String(v);
  }
  return out;
}

/**
 * POST /api/admin/jobs/<job>/run: the admin page's "Run now", "Dry run" and "Run again". Same
 * runner as the cron route (lease, run row, budget), trigger 'admin'.
 * Body `{ dryRun }` runs the job with its default input; `{ rerunOf: <run id> }` runs a failed run
 * of this job again with the same input (and as a dry run if it was one, unless `dryRun` says).
 * 404 for a job not in the registry or a run that does not exist, 400 for a run of another job,
 * 409 RUN_NOT_FAILED for a run that did not fail, 409 ALREADY_RUNNING while the job runs.
 */
export async function runNow(request: Request, jobName: string): Promise<Response> {
  try {
    const { config } = getApp();
    assertSameOrigin(request, config);
    await requireAdmin(request.headers, config);
    parseOrThrow(z.strictObject({}), queryObject(request));
    const job = getJob(jobName);
    if (!job) throw new AppError(404, 'UNKNOWN_JOB', `No job named '${jobName.slice(0, 64)}'.`);
    const body = await parseJsonBody(request, runNowBody);
    const deps = await getJobDeps();
    let input = parseOrThrow(job.input, {});
    let dryRun = body.dryRun ?? false;
    if (body.rerunOf) {
      const original = await getRun(deps.db, body.rerunOf);
      if (!original) throw new AppError(404, 'RUN_NOT_FOUND', 'No run with this id.');
      if (original.job !== job.name) throw new AppError(400, 'RUN_OF_ANOTHER_JOB', `Run ${original.id} is a run of ${original.job}, not of ${job.name}.`);
      if (original.status !== 'failed') {
        throw new AppError(409, 'RUN_NOT_FAILED', `Run ${original.id} ${original.status === 'running' ? 'is still running' : `did not fail (${original.status})`}: only a failed run is run again.`);
      }
      input = parseOrThrow(job.input, recordedInputAsQuery(original.input), 'input of the run');
      dryRun = body.dryRun ?? original.dry_run;
    }
    const outcome = await runJob(job, { input, dryRun, trigger: 'admin', rerunOf: body.rerunOf }, deps);
    return outcomeResponse(outcome);
  } catch (err) {
    return failureResponse(err);
  }
}
