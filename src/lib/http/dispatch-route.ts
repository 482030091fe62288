import { z } from 'zod';
import { getApp, getJobDeps } from '../app';
import { checkBearer } from '../cron/auth';
import { dispatchDueJobs, type DispatchEntry, type DispatchReport } from '../cron/dispatcher';
import { getJob } from '../cron/registry';
import { failureResponse } from '../cron/route';
import { DISPATCH_MAX_DURATION_SECONDS, dispatchOrder } from '../schedules/table';
import { AppError, errorResponse, jsonResponse } from './errors';
import { dryRunParam, parseOrThrow, queryObject } from './query';

type Handler = (request: Request) => Promise<Response>;

/** Every job of the schedule table with its own schedule, in dispatch order. */
export function dispatchEntries(): DispatchEntry[] {
  return dispatchOrder().map((s) => {
    const job = getJob(s.job);
    if (!job) throw new Error(`schedule table names an unknown job: ${s.job}`);
    return { job, schedule: s.schedule };
  });
}

/**
 * The dispatch's answer: 500 when a job it ran failed, with the whole report (on Vercel Hobby this
 * is the only cron, so its log and any uptime check see the failure), 200 otherwise.
 */
export function dispatchResponse(report: DispatchReport): Response {
  return jsonResponse({ success: report.failed === 0, result: report, timestamp: report.timestamp }, report.failed > 0 ? 500 : 200);
}

/**
 * GET /api/cron/dispatch (Vercel Hobby's single daily cron; any caller with CRON_SECRET): runs
 * every job due since its last recorded run, one after the other within the route's time limit,
 * and answers `{ success, result: { jobs: [{ job, action, status, run_id, ... }], ran, failed,
 * skipped_running, deferred, not_due, dry_run, duration_ms, timestamp }, timestamp }`.
 * success is false, and the status 500, when a job that ran failed. 401/400/500 as every cron route; `?dryRun=1` runs
 * each due job as a dry run.
 */
export function dispatchRoute(): Record<'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', Handler> {
  const GET: Handler = async (request) => {
    try {
      checkBearer(request.headers, getApp().config.cron.secret);
      const { dryRun } = parseOrThrow(z.strictObject({ dryRun: dryRunParam }), queryObject(request));
      const deps = await getJobDeps();
      const report = await dispatchDueJobs(
        dispatchEntries(),
        // Vercel Hobby fires the daily cron anywhere within its hour.
        { budgetMs: DISPATCH_MAX_DURATION_SECONDS * 1000, dryRun: dryRun ?? false, windowMs: 3_600_000 },
        deps,
      );
      return dispatchResponse(report);
    } catch (err) {
      return failureResponse(err);
    }
  };
  const HEAD: Handler = async (request) => {
    try {
      checkBearer(request.headers, getApp().config.cron.secret);
      return new Response(null, { status: 204 });
    } catch (err) {
      return new Response(null, { status: err instanceof AppError ? err.status : 500 });
    }
  };
  const notAllowed: Handler = async (request) =>
    errorResponse(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; cron routes take GET.`, {}, { allow: 'GET, HEAD' });
  return { GET, HEAD, POST: notAllowed, PUT: notAllowed, PATCH: notAllowed, DELETE: notAllowed };
}
