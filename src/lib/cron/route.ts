import { z } from 'zod';
import { getApp, getJobDeps } from '../app';
import { ConfigError } from '../config';
import { isDatabaseUnavailable, type DatabaseUnavailableError } from '../db/availability';
import { AppError, appErrorResponse, errorResponse, jsonResponse } from '../http/errors';
import { dryRunParam, parseOrThrow, queryObject } from '../http/query';
import { checkBearer } from './auth';
import { runJob, type RunOutcome, type RunTrigger } from './runner';
import type { CronwardenConfig } from '../bindings/spec';
import type { PolicyJobInput } from '../jobs/policy';
import type { OrphanSweepJobInput } from '../jobs/orphan-sweep';
import { ORPHAN_SWEEP_JOB_PREFIX, orphanSweepJobName, POLICY_JOB_PREFIX, policyJobName } from '../policies/compile';
import { RuleUnavailableError } from '../policies/apply';
import { getJob } from './registry';
import { CRON_PATH_PREFIX } from './schedule';
import type { JobDefinition } from './types';

type Handler = (request: Request) => Promise<Response>;

function triggerOf(headers: Headers): RunTrigger {
  const declared = headers.get('x-cron-trigger');
  if (declared === 'scheduler' || declared === 'admin' || declared === 'script' || declared === 'pg_cron') return declared;
  return (headers.get('user-agent') ?? '').startsWith('vercel-cron') ? 'vercel' : 'http';
}

/**
 * The HTTP answer for a runner outcome, in the seeds' shape. A failed run answers 500 with its
 * result body, so Vercel's cron log and uptime checks see the failure; partial runs stay 200.
 */
export function outcomeResponse(outcome: RunOutcome): Response {
  switch (outcome.kind) {
    case 'finished':
      return jsonResponse(
        { success: outcome.status !== 'failed', result: outcome.result, timestamp: outcome.result.timestamp },
        outcome.status === 'failed' ? 500 : 200,
      );
    case 'conflict':
      return errorResponse(409, 'ALREADY_RUNNING', 'This job is already running; try again when it has finished.', {
        holder_run_id: outcome.holderRunId,
        run_id: outcome.runId,
      });
    case 'crashed':
      if (outcome.error instanceof AppError) return appErrorResponse(outcome.error);
      if (isDatabaseUnavailable(outcome.error)) return databaseUnavailableResponse(outcome.error);
      return errorResponse(500, 'JOB_FAILED', `The job failed; details are recorded with run ${outcome.runId}.`, {
        run_id: outcome.runId,
      });
  }
}

/** 503 naming where the database is (host and port, never credentials); logged once by the app. */
function databaseUnavailableResponse(err: DatabaseUnavailableError): Response {
  const { host, port } = err.endpoint;
  return errorResponse(503, err.code, err.message, { host, port, reason: err.reason }, { 'retry-after': '10' });
}

/** Anything thrown outside a run: caller errors keep their status, the rest is a bare 500. */
export function failureResponse(err: unknown): Response {
  if (err instanceof AppError) return appErrorResponse(err);
  if (isDatabaseUnavailable(err)) return databaseUnavailableResponse(err);
  if (err instanceof ConfigError) {
    return errorResponse(500, 'SERVER_MISCONFIGURED', 'The server configuration is invalid; see the server log.');
  }
  try {
    getApp().log.error({ type: 'request_failed', err }, 'request failed');
  } catch {
    // configuration itself is broken; nothing more to log with
  }
  return errorResponse(500, 'INTERNAL', 'Internal error; see the server log.');
}

/**
 * GET runs the job (Vercel Cron sends GET), HEAD checks credentials only, anything else is 405.
 * The route files stay thin: `export const { GET, HEAD, ... } = cronRoute(job)` plus their
 * static `maxDuration` and `dynamic` exports.
 */
export function cronRoute<I>(
  jobOrResolver: JobDefinition<I> | ((request: Request) => JobDefinition<I>),
): Record<'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', Handler> {
  const GET: Handler = async (request) => {
    try {
      checkBearer(request.headers, getApp().config.cron.secret);
      // Resolved after the secret is checked, so an unauthorised caller learns no job names.
      const job = typeof jobOrResolver === 'function' ? jobOrResolver(request) : jobOrResolver;
      const raw = queryObject(request);
      const { dryRun: rawDryRun, ...rest } = raw;
      const dryRun = parseOrThrow(z.object({ dryRun: dryRunParam }), rawDryRun === undefined ? {} : { dryRun: rawDryRun }).dryRun ?? false;
      const input = parseOrThrow(job.input, rest);
      const deps = await getJobDeps();
      const outcome = await runJob(job, { input, dryRun, trigger: triggerOf(request.headers) }, deps);
      return outcomeResponse(outcome);
    } catch (err) {
      return failureResponse(err);
    }
  };
  const HEAD: Handler = async (request) => {
    try {
      checkBearer(request.headers, getApp().config.cron.secret);
      return new Response(null, { status: 204 });
    } catch (err) {
      const status = err instanceof AppError ? err.status : 500;
      return new Response(null, { status });
    }
  };
  const notAllowed: Handler = async (request) =>
    errorResponse(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; cron routes take GET.`, {}, { allow: 'GET, HEAD' });
  return { GET, HEAD, POST: notAllowed, PUT: notAllowed, PATCH: notAllowed, DELETE: notAllowed };
}

/** The job of a request to /api/cron/policies/<name> (see policyJobOfPath), from the app's cronwarden.config.ts. */
export function policyOfRequest(request: Request): JobDefinition<PolicyJobInput> {
  return policyJobOfPath(getApp().cronwarden, new URL(request.url).pathname);
}

/** The job of a request to /api/cron/orphan-sweeps/<name> (see orphanSweepJobOfPath). */
export function orphanSweepOfRequest(request: Request): JobDefinition<OrphanSweepJobInput> {
  return orphanSweepJobOfPath(getApp().cronwarden, new URL(request.url).pathname);
}

/**
 * The job of /api/cron/orphan-sweeps/<name>: the sweep of `cronwarden` of that name; 404
 * ORPHAN_SWEEP_NOT_FOUND when there is none, 503 POLICY_NOT_BOUND when its shape was refused.
 */
export function orphanSweepJobOfPath(cronwarden: CronwardenConfig, pathname: string): JobDefinition<OrphanSweepJobInput> {
  const name = pathname.startsWith(ORPHAN_SWEEP_PATH_PREFIX) ? pathname.slice(ORPHAN_SWEEP_PATH_PREFIX.length).replace(/\/+$/, '') : '';
  const jobName = orphanSweepJobName(name);
  const job = getJob(jobName, cronwarden) as JobDefinition<OrphanSweepJobInput> | undefined;
  if (job) return job;
  const refusal = cronwarden.refusals.find((r) => r.kind === 'orphanSweep' && r.name === name);
  if (refusal) throw new RuleUnavailableError(jobName, refusal.problems);
  throw new AppError(404, 'ORPHAN_SWEEP_NOT_FOUND', `No orphan sweep named '${name.slice(0, 40)}' in cronwarden.config.ts.`, {
    orphan_sweeps: cronwarden.orphanSweeps.map((s) => s.name),
  });
}

/**
 * The job of /api/cron/policies/<name>: the policy of `cronwarden` of that name. Throws 404
 * POLICY_NOT_FOUND when there is none, 503 POLICY_NOT_BOUND (with its one-line reasons) when its
 * shape was refused; a policy refused by the catalog is refused by the runner (same 503).
 */
export function policyJobOfPath(cronwarden: CronwardenConfig, pathname: string): JobDefinition<PolicyJobInput> {
  const name = pathname.startsWith(POLICY_PATH_PREFIX) ? pathname.slice(POLICY_PATH_PREFIX.length).replace(/\/+$/, '') : '';
  const jobName = policyJobName(name);
  const job = getJob(jobName, cronwarden) as JobDefinition<PolicyJobInput> | undefined;
  if (job) return job;
  const refusal = cronwarden.refusals.find((r) => r.kind === 'policy' && r.name === name);
  if (refusal) throw new RuleUnavailableError(jobName, refusal.problems);
  throw new AppError(404, 'POLICY_NOT_FOUND', `No retention policy named '${name.slice(0, 40)}' in cronwarden.config.ts.`, {
    policies: cronwarden.policies.map((p) => p.name),
  });
}

/** Where the policies' routes are: /api/cron/policies/<name>. */
export const POLICY_PATH_PREFIX = `${CRON_PATH_PREFIX}${POLICY_JOB_PREFIX}`;
/** Where the orphan sweeps' routes are: /api/cron/orphan-sweeps/<name>. */
export const ORPHAN_SWEEP_PATH_PREFIX = `${CRON_PATH_PREFIX}${ORPHAN_SWEEP_JOB_PREFIX}`;
