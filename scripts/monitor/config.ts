import { z } from 'zod';
import { loadConfig, type Config } from '../../src/lib/config';
import type { ImmediateThresholds } from '../../src/lib/monitoring/user-deletion-monitor';
import type { ReportThresholds } from '../../src/lib/monitoring/user-deletion-reports';
import { loadDotEnv, runningAppUrl } from '../lib/env';

/**
 * The user deletion monitors' settings: the seed's environment variables, parsed once here (the
 * app's own settings come from loadConfig). Durations are in seconds, as in the seed.
 */

const blank = (v: string | undefined) => v === undefined || v.trim() === '';

const intIn = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (blank(v) ? String(fallback) : (v as string)))
    .pipe(
      z.coerce
        .number<string>({ message: 'must be a whole number' })
        .int({ message: 'must be a whole number' })
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

const numIn = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (blank(v) ? String(fallback) : (v as string)))
    .pipe(
      z.coerce
        .number<string>({ message: 'must be a number' })
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (blank(v) ? undefined : (v as string).replace(/\/+$/, '')))
  .pipe(z.url({ message: 'must be an absolute URL such as https://example.com' }).optional());

const DAY = 86_400;

const schema = z.object({
  // Immediate monitoring
  MONITORING_DURATION: intIn(172_800, 1, 31 * DAY),
  CHECK_INTERVAL: intIn(60, 1, DAY),
  PROD_APP_URL: optionalUrl,
  APP_URL: optionalUrl,
  STATS_WINDOW_MINUTES: intIn(60, 1, 10_080),
  // Long-term monitoring
  MONITORING_PERIOD: intIn(2_419_200, 1, 366 * DAY),
  AUDIT_INTERVAL: intIn(DAY, 60, 31 * DAY),
  REPORT_INTERVAL: intIn(604_800, 3600, 366 * DAY),
  COMPLETENESS_SAMPLE_SIZE: intIn(25, 0, 10_000),
  // Usage pattern analysis
  ANALYSIS_PERIOD: intIn(2_419_200, 3600, 366 * DAY),
  // Alert thresholds (the seed's names; the *_WARNING_* / *_CRITICAL_* ones are the table's other level)
  ERROR_RATE_THRESHOLD: numIn(1.0, 0, 100),
  ERROR_RATE_WARNING_THRESHOLD: numIn(0.5, 0, 100),
  RESPONSE_TIME_THRESHOLD: intIn(3000, 1, 3_600_000),
  RESPONSE_TIME_CRITICAL_THRESHOLD: intIn(5000, 1, 3_600_000),
  TIMEOUT_THRESHOLD: intIn(5, 0, 1_000_000),
  TIMEOUT_WARNING_THRESHOLD: intIn(3, 0, 1_000_000),
  MEMORY_WARNING_THRESHOLD: numIn(80, 0, 100),
  MEMORY_CRITICAL_THRESHOLD: numIn(90, 0, 100),
  SLOW_OPERATIONS_THRESHOLD: intIn(10, 0, 1_000_000),
  // Data integrity
  INTEGRITY_BATCH_SIZE: intIn(5000, 1, 100_000),
  /** https://no-color.org: any non-empty value turns the dashboard's colours off. */
  NO_COLOR: z.string().optional(),
  UPLOADS_PREFIX: z
    .string()
    .optional()
    .transform((v) => (blank(v) ? 'uploads/' : (v as string).trim()))
    .pipe(z.string().regex(/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*\/?$/, { message: "must be a storage prefix such as 'uploads/'" })),
});

export interface MonitorConfig {
  app: Config;
  /** PROD_APP_URL or APP_URL when one was given explicitly (else the app `npm start` runs, else the local default). */
  explicitAppUrl?: string;
  appUrl: string;
  /** Read figures over HTTP from the running app (APP_URL + ADMIN_API_TOKEN), else from the database. */
  useHttp: boolean;
  monitoringDurationSeconds: number;
  checkIntervalSeconds: number;
  statsWindowMinutes: number;
  monitoringPeriodSeconds: number;
  auditIntervalSeconds: number;
  reportIntervalSeconds: number;
  completenessSampleSize: number;
  analysisPeriodSeconds: number;
  immediate: ImmediateThresholds;
  report: ReportThresholds;
  integrityBatchSize: number;
  uploadsPrefix: string;
  /** Colours on the terminal dashboard (off with NO_COLOR). */
  color: boolean;
}

export class MonitorConfigError extends Error {}

export function loadMonitorConfig(env: Record<string, string | undefined> = process.env): MonitorConfig {
  if (env === process.env) loadDotEnv();
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new MonitorConfigError(
      `Invalid monitor settings:\n  - ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n  - ')}`,
    );
  }
  const e = parsed.data;
  const app = loadConfig(env);
  const explicitAppUrl = e.PROD_APP_URL ?? e.APP_URL;
  return {
    app,
    explicitAppUrl,
    // The app `npm start` runs on this data dir says where it listens (PORT/HOST of that shell).
    appUrl: explicitAppUrl ?? runningAppUrl(app.dataDir) ?? app.appUrl.replace(/\/+$/, ''),
    useHttp: Boolean(explicitAppUrl && app.admin.apiToken),
    monitoringDurationSeconds: e.MONITORING_DURATION,
    checkIntervalSeconds: e.CHECK_INTERVAL,
    statsWindowMinutes: e.STATS_WINDOW_MINUTES,
    monitoringPeriodSeconds: e.MONITORING_PERIOD,
    auditIntervalSeconds: e.AUDIT_INTERVAL,
    reportIntervalSeconds: e.REPORT_INTERVAL,
    completenessSampleSize: e.COMPLETENESS_SAMPLE_SIZE,
    analysisPeriodSeconds: e.ANALYSIS_PERIOD,
    immediate: {
      errorRateWarning: e.ERROR_RATE_WARNING_THRESHOLD,
      errorRateCritical: e.ERROR_RATE_THRESHOLD,
      responseTimeWarningMs: e.RESPONSE_TIME_THRESHOLD,
      responseTimeCriticalMs: e.RESPONSE_TIME_CRITICAL_THRESHOLD,
      timeoutsWarning: e.TIMEOUT_WARNING_THRESHOLD,
      timeoutsCritical: e.TIMEOUT_THRESHOLD,
      memoryWarning: e.MEMORY_WARNING_THRESHOLD,
      memoryCritical: e.MEMORY_CRITICAL_THRESHOLD,
    },
    report: {
      errorRatePercent: e.ERROR_RATE_THRESHOLD,
      avgDurationMs: e.RESPONSE_TIME_THRESHOLD,
      p95DurationMs: e.RESPONSE_TIME_CRITICAL_THRESHOLD,
      slowOperationMs: e.RESPONSE_TIME_THRESHOLD,
      slowOperationsPerDay: e.SLOW_OPERATIONS_THRESHOLD,
      timeoutsPerHour: e.TIMEOUT_THRESHOLD,
      failureTrendPercent: 20,
    },
    integrityBatchSize: e.INTEGRITY_BATCH_SIZE,
    uploadsPrefix: e.UPLOADS_PREFIX,
    color: blank(e.NO_COLOR),
  };
}
