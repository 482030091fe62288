import { Counter, Gauge, Registry } from 'prom-client';
import { getApp, getJobDeps } from '../app';
import { alertCounts } from '../alerts/store';
import type { Config } from '../config';
import { bearerTokenOf, MAX_AUTH_HEADER_LENGTH, secretsEqual } from '../cron/auth';
import { failureResponse } from '../cron/route';
import type { Db } from '../db/types';
import { errorResponse } from '../http/errors';
import type { Logger } from '../logger';
import type { FeatureStates } from '../bindings/features';
import type { FeatureGauge } from './gauges';
import { METRICS_OPEN_WARNING, METRICS_REFUSED_MESSAGE, metricsAccess } from './metrics-access';
import { allGauges } from './gauges/index';

/** Statuses a job's last run can have (skipped runs never count as "last run"). */
export const RUN_STATUSES = ['running', 'succeeded', 'partial', 'failed'] as const;

export interface MetricsDeps {
  db: Db;
  config: Config;
  now: Date;
  /** Feature gauges (default: every gauge in src/lib/monitoring/gauges). */
  gauges?: readonly FeatureGauge[];
  /** A gauge whose collect takes longer is skipped for this scrape (default 5 s). */
  gaugeTimeoutMs?: number;
  log?: Logger;
  /** Which features are bound: a gauge of another feature is absent (its tables may not exist). */
  features?: FeatureStates;
}

interface SummaryRow {
  job: string;
  last_status: string | null;
  last_started_at: Date | string | null;
  last_duration_ms: number | null;
  last_success_at: Date | string | null;
  running: boolean;
}

interface TotalRow {
  job: string;
  status: string;
  runs: number | string;
  rows_affected: number | string;
}

const seconds = (v: Date | string) => new Date(v).getTime() / 1000;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The Prometheus text exposition for one scrape, built in a fresh Registry (nothing is kept
 * between scrapes; every number comes from SQL at `now`).
 */
export async function renderMetrics(d: MetricsDeps): Promise<{ body: string; contentType: string }> {
  const { db, config, now } = d;
  const registry = new Registry();
  const registers = [registry];

  const [summary, totals, alerts] = await Promise.all([
    db.rpc<SummaryRow>('cron_job_summary', { p_now: now }),
    db.rpc<TotalRow>('cron_run_totals', {}),
    alertCounts(db, now),
  ]);

  const lastRun = new Gauge({
    name: 'cronwarden_job_last_run_timestamp_seconds',
    help: 'Start of the job\'s latest run (skipped invocations excluded), Unix seconds',
    labelNames: ['job'],
    registers,
  });
  const lastSuccess = new Gauge({
    name: 'cronwarden_job_last_success_timestamp_seconds',
    help: 'End of the job\'s latest successful (succeeded or partial) non-dry run, Unix seconds',
    labelNames: ['job'],
    registers,
  });
  const lastDuration = new Gauge({
    name: 'cronwarden_job_last_duration_seconds',
    help: 'Duration of the job\'s latest finished run, seconds',
    labelNames: ['job'],
    registers,
  });
  const lastStatus = new Gauge({
    name: 'cronwarden_job_last_status',
    help: 'Status of the job\'s latest run: 1 for its status, 0 for the others',
    labelNames: ['job', 'status'],
    registers,
  });
  const running = new Gauge({
    name: 'cronwarden_job_running',
    help: '1 while the job holds its lease (a run is in progress)',
    labelNames: ['job'],
    registers,
  });
  for (const s of summary) {
    const job = { job: s.job };
    if (s.last_started_at) lastRun.set(job, seconds(s.last_started_at));
    if (s.last_success_at) lastSuccess.set(job, seconds(s.last_success_at));
    if (s.last_duration_ms !== null && s.last_duration_ms !== undefined) lastDuration.set(job, Number(s.last_duration_ms) / 1000);
    for (const status of RUN_STATUSES) lastStatus.set({ job: s.job, status }, s.last_status === status ? 1 : 0);
    running.set(job, s.running ? 1 : 0);
  }

  const runsTotal = new Counter({
    name: 'cronwarden_job_runs_total',
    help: 'Finished job invocations by final status (succeeded, partial, failed, skipped) since installation',
    labelNames: ['job', 'status'],
    registers,
  });
  const rowsTotal = new Counter({
    name: 'cronwarden_job_rows_affected_total',
    help: 'Rows (or objects) changed by the job\'s runs since installation',
    labelNames: ['job'],
    registers,
  });
  const rowsByJob = new Map<string, number>();
  for (const t of totals) {
    runsTotal.inc({ job: t.job, status: t.status }, Number(t.runs));
    rowsByJob.set(t.job, (rowsByJob.get(t.job) ?? 0) + Number(t.rows_affected));
  }
  for (const [job, rows] of rowsByJob) rowsTotal.inc({ job }, rows);

  const open = new Gauge({ name: 'cronwarden_alerts_open', help: 'Open alerts by severity', labelNames: ['severity'], registers });
  const pending = new Gauge({
    name: 'cronwarden_alerts_pending',
    help: 'Alerts whose condition holds but not yet for the rule\'s duration, by severity',
    labelNames: ['severity'],
    registers,
  });
  for (const c of alerts) {
    open.set({ severity: c.severity }, c.open_alerts);
    pending.set({ severity: c.severity }, c.pending_alerts);
  }

  let gaugeErrors = 0;
  for (const g of d.gauges ?? allGauges) {
    if (g.feature && d.features && !d.features[g.feature]?.bound) continue;
    try {
      const samples = await withTimeout(
        Promise.resolve().then(() => g.collect({ db, config, now })),
        d.gaugeTimeoutMs ?? 5_000,
        `gauge ${g.name}`,
      );
      if (!Array.isArray(samples)) throw new Error('collect() did not return an array');
      // No samples means the value is unknown: the series stays absent. (prom-client would
      // report a registered gauge without labels as 0, which a rule such as `< 0.9` reads as real.)
      if (samples.length === 0) continue;
      // Built outside the registry and registered only when every sample is valid.
      const gauge = new Gauge({ name: g.name, help: g.help, labelNames: g.labelNames ?? [], registers: [] });
      for (const s of samples) {
        if (typeof s?.value !== 'number' || !Number.isFinite(s.value)) throw new Error(`sample value ${String(s?.value)} is not a finite number`);
        if (s.labels && Object.keys(s.labels).length > 0) gauge.set(s.labels, s.value);
        else gauge.set(s.value);
      }
      registry.registerMetric(gauge);
    } catch (err) {
      gaugeErrors++;
      d.log?.warn({ type: 'metrics_gauge_failed', gauge: g?.name, err }, `gauge ${g?.name} skipped`);
    }
  }
  new Gauge({
    // Not `..._gauge_errors`: Prometheus names say what is measured, never the metric's type.
    name: 'cronwarden_metrics_collectors_failed',
    help: 'Feature gauges skipped in this scrape because their collection failed',
    registers,
  }).set(gaugeErrors);

  return { body: await registry.metrics(), contentType: registry.contentType };
}

/** True when the request carries the bearer `token` (compared in constant time), or no token is set. */
export function metricsAuthorized(headers: Headers, token: string | undefined): boolean {
  if (!token) return true;
  const header = headers.get('authorization');
  if (!header || header.length > MAX_AUTH_HEADER_LENGTH) return false;
  const given = bearerTokenOf(header);
  return given !== null && secretsEqual(given, token);
}

export interface MetricsWorld {
  config: Config;
  deps(): Promise<{ db: Db; config: Config; log: Logger; now: () => Date; features?: FeatureStates }>;
}

const appWorld = (): MetricsWorld => ({ config: getApp().config, deps: getJobDeps });

/**
 * GET /api/metrics: 503 METRICS_TOKEN_UNSET on a server deployment without METRICS_TOKEN, 401
 * without the bearer token when it is set, open on the embedded default (one `metrics_open`
 * warning at the first scrape of the process).
 */
export function metricsHandler(world: () => MetricsWorld = appWorld): (request: Request) => Promise<Response> {
  let warnedOpen = false;
  return async (request) => {
    try {
      const w = world();
      const access = metricsAccess(w.config);
      if (access === 'refused') return errorResponse(503, 'METRICS_TOKEN_UNSET', METRICS_REFUSED_MESSAGE);
      if (access === 'bearer' && !metricsAuthorized(request.headers, w.config.metricsToken)) {
        return errorResponse(401, 'UNAUTHORIZED', 'Send "Authorization: Bearer <METRICS_TOKEN>".', {}, { 'www-authenticate': 'Bearer' });
      }
      const deps = await w.deps();
      if (access === 'open' && !warnedOpen) {
        warnedOpen = true;
        deps.log.warn({ type: 'metrics_open' }, METRICS_OPEN_WARNING);
      }
      const { body, contentType } = await renderMetrics({ db: deps.db, config: deps.config, now: deps.now(), log: deps.log, features: deps.features });
      return new Response(body, { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
    } catch (err) {
      return failureResponse(err);
    }
  };
}
