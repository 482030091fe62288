import { z } from 'zod';
import { getApp, getJobDeps } from '../app';
import { errorResponse, jsonResponse } from '../http/errors';
import { dryRunParam, parseOrThrow, queryObject } from '../http/query';
import { maintenanceJob, maintenanceSummary } from '../jobs/maintenance';
import { checkMaintenanceAuth } from './maintenance-auth';
import { failureResponse, outcomeResponse } from './route';
import { runJob } from './runner';

type Handler = (request: Request) => Promise<Response>;

/**
 * GET /api/admin/maintenance, the seed's route: its own guard (CRON_ENABLED, x-cron-secret),
 * then the same `maintenance` job as /api/cron/maintenance through the runner (409 on overlap),
 * answered as `{ timestamp, stuckRunsMarked, tempUploadsPurged, importJobsCompacted,
 * rawItemsPurged, errors, runId, dryRun, partial }`: 200, or 500 when every step failed.
 * After the guard, 503 FEATURE_NOT_BOUND / FEATURE_DISABLED while import maintenance is not
 * bound to this database or is switched off (the runner refuses the job).
 */
export const maintenanceGet: Handler = async (request) => {
  try {
    checkMaintenanceAuth(request.headers, getApp().config.cron);
    const { dryRun: rawDryRun, ...rest } = queryObject(request);
    const dryRun = parseOrThrow(z.object({ dryRun: dryRunParam }), rawDryRun === undefined ? {} : { dryRun: rawDryRun }).dryRun ?? false;
    const input = parseOrThrow(maintenanceJob.input, rest);
    const outcome = await runJob(maintenanceJob, { input, dryRun, trigger: 'http' }, await getJobDeps());
    if (outcome.kind !== 'finished') return outcomeResponse(outcome);
    return jsonResponse(maintenanceSummary(outcome.result), outcome.status === 'failed' ? 500 : 200);
  } catch (err) {
    return failureResponse(err);
  }
};

export const maintenanceNotAllowed: Handler = async (request) =>
  errorResponse(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; this route takes GET.`, {}, { allow: 'GET' });
