import { z } from 'zod';
import { getApp, getJobDeps } from '../app';
import { ConfigError } from '../config';
import { isDatabaseUnavailable, type DatabaseUnavailableError } from '../db/availability';
import { AppError, appErrorResponse, errorResponse, jsonResponse } from '../http/errors';
import { dryRunParam, parseOrThrow, queryObject } from '../http/query';
import { checkBearer } from './auth';
import { runJob, type RunOutcome, type RunTrigger } from './runner';
import type { CronwardenConfig, RuleKind } from '../bindings/spec';
import type { PolicyJobInput } from '../jobs/policy';
import type { OrphanSweepJobInput } from '../jobs/orphan-sweep';
import { ORPHAN_SWEEP_JOB_PREFIX, POLICY_JOB_PREFIX, ruleJobName } from '../policies/compile';
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
 * The job of /api/cron/<policies|orphan-sweeps>/<name>: the rule of `cronwarden` of that kind and
 * name. Throws 404 POLICY_NOT_FOUND / ORPHAN_SWEEP_NOT_FOUND (with the names there are) when there
 * is none, 503 POLICY_NOT_BOUND (with its one-line reasons) when its shape was refused; a rule
 * refused by the catalog is refused by the runner (same 503).
 */
function ruleJobOfPath(kind: RuleKind, cronwarden: CronwardenConfig, pathname: string): JobDefinition<unknown> {
  const route =
    kind === 'policy'
      ? { prefix: POLICY_PATH_PREFIX, code: 'POLICY_NOT_FOUND', noun: 'retention policy', listed: { policies: cronwarden.policies.map((p) => p.name) } }
      : { prefix: ORPHAN_SWEEP_PATH_PREFIX, code: 'ORPHAN_SWEEP_NOT_FOUND', noun: 'orphan sweep', listed: { orphan_sweeps: cronwarden.orphanSweeps.map((s) => s.name) } };
  const name = pathname.startsWith(route.prefix) ? pathname.slice(route.prefix.length).replace(/\/+$/, '') : '';
  const jobName = ruleJobName(kind, name);
  const job = getJob(jobName, cronwarden);
  if (job) return job;
  const refusal = cronwarden.refusals.find((r) => r.kind === kind && r.name === name);
  if (refusal) throw new RuleUnavailableError(jobName, refusal.problems);
  throw new AppError(404, route.code, `No ${route.noun} named '${name.slice(0, 40)}' in cronwarden.config.ts.`, route.listed);
}

/** The job of /api/cron/orphan-sweeps/<name> (ruleJobOfPath). */
export function orphanSweepJobOfPath(cronwarden: CronwardenConfig, pathname: string): JobDefinition<OrphanSweepJobInput> {
  return ruleJobOfPath('orphanSweep', cronwarden, pathname) as JobDefinition<OrphanSweepJobInput>;
}

/** The job of /api/cron/policies/<name> (ruleJobOfPath). */
export function policyJobOfPath(cronwarden: CronwardenConfig, pathname: string): JobDefinition<PolicyJobInput> {
  return ruleJobOfPath('policy', cronwarden, pathname) as JobDefinition<PolicyJobInput>;
}

/** Where the policies' routes are: /api/cron/policies/<name>. */
export const POLICY_PATH_PREFIX = `${CRON_PATH_PREFIX}${POLICY_JOB_PREFIX}`;
/** Where the orphan sweeps' routes are: /api/cron/orphan-sweeps/<name>. */
export const ORPHAN_SWEEP_PATH_PREFIX = `${CRON_PATH_PREFIX}${ORPHAN_SWEEP_JOB_PREFIX}`;
