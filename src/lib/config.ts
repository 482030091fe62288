import { isIPv4, isIPv6 } from 'node:net';
import path from 'node:path';
import { z } from 'zod';

/**
 * The whole environment, parsed once. This is the only module that reads process.env;
 * everything else receives a Config (or the part of it that it needs) as an argument.
 */

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no', ''])
    .optional()
    .transform((v) => (v === undefined || v === '' ? fallback : v === 'true' || v === '1' || v === 'yes'));

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

/**
 * A secret or token: unset when empty. Leading or trailing whitespace is refused with the
 * variable's name rather than trimmed: HTTP strips it from header values, so such a secret could
 * never match what a caller sends, and trimming would hide a copy-paste accident.
 */
const secret = (minLength: number, options: { bearer?: boolean } = {}) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v === '' ? undefined : v))
    .pipe(
      z
        .string()
        .refine((v) => v === v.trim(), { message: 'has leading or trailing whitespace (spaces, tabs or a newline); remove it' })
        // A bearer token is one run of visible ASCII (RFC 6750's b64token is narrower still): a
        // space or an accented letter inside could never arrive in an Authorization header.
        .refine((v) => !options.bearer || /^[\x21-\x7e]*$/.test(v), {
          message: 'may hold only visible ASCII characters (no spaces, tabs or accented letters): it is sent as a Bearer token',
        })
        .refine((v) => v.length >= minLength, { message: `must be at least ${minLength} characters` })
        .optional(),
    );

const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v))
  .pipe(z.url({ message: 'must be an absolute URL such as https://example.com/...' }).optional());

/** Where alerts are POSTed: only http(s) makes sense (fetch refuses anything else at send time). */
const optionalHttpUrl = optionalUrl.refine((v) => v === undefined || /^https?:\/\//i.test(v), {
  message: 'must be an http:// or https:// URL',
});

const intIn = (fallback: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? String(fallback) : v))
    .pipe(
      z.coerce
        .number<string>({ message: 'must be a whole number' })
        .int({ message: 'must be a whole number' })
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

/** Who fires the jobs (README: Which scheduler?). Unset CRON_SCHEDULER: what scheduler.json declares. */
export const SCHEDULER_NAMES = ['vercel-pro', 'vercel-hobby', 'supabase-cron', 'local'] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).optional().default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
  PORT: intIn(3000, 1, 65535),
  // Where `npm start` listens: loopback unless told otherwise (0.0.0.0 for every interface).
  HOST: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? '127.0.0.1' : v.trim()))
    .pipe(
      z
        .string()
        .regex(/^[A-Za-z0-9.:-]{1,253}$/, { message: 'must be a host name or IP address such as 127.0.0.1 or 0.0.0.0' })
        // Digits and dots are an IPv4 address (999.1.1.1 is none), a colon an IPv6 one.
        .refine((v) => (/^[\d.]+$/.test(v) ? isIPv4(v) : v.includes(':') ? isIPv6(v) : true), {
          message: 'is not a valid IP address (such as 127.0.0.1 or 0.0.0.0)',
        }),
    ),
  APP_URL: optionalUrl,
  /**
   * Reverse proxies in front of the app that append the client's address to X-Forwarded-For
   * (nginx, a load balancer). 0: the socket's address is the client's, and X-Forwarded-For is
   * whatever the client wrote.
   */
  TRUST_PROXY_HOPS: intIn(0, 0, 10),
  /** Set to 1 by the Vercel platform itself: the client address comes from the platform. */
  VERCEL: optionalString,

  CRON_SECRET: secret(16, { bearer: true }),
  CRON_ENABLED: optionalString,
  MAINTENANCE_CRON_SECRET: secret(1),
  CRON_SCHEDULER: optionalString.pipe(z.enum(SCHEDULER_NAMES, { message: `must be one of ${SCHEDULER_NAMES.join(', ')}` }).optional()),

  // Blank counts as unset (as in scripts/lib/env.ts): '' resolved to the project folder itself.
  DATA_DIR: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? '.data' : v)),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: 'must start with postgres:// or postgresql://' })
      .optional(),
  ),
  DATABASE_POOL_MAX: intIn(5, 1, 100),
  SUPABASE_URL: optionalUrl,
  SUPABASE_SERVICE_ROLE_KEY: secret(1),
  // The demo app's tables and rows. Unset: on the embedded database only, never on a server
  // unless asked. SEED_DEMO_DATA=true|false is the older spelling of DEMO_APP=data|off.
  DEMO_APP: z.enum(['off', 'tables', 'data', ''], { message: 'must be off, tables or data' }).optional(),
  SEED_DEMO_DATA: z.enum(['true', 'false', '1', '0', '']).optional(),

  STORAGE_DRIVER: z.enum(['local', 'supabase', 's3']).optional().default('local'),
  STORAGE_BUCKET: z.string().optional().default('exports'),
  S3_ENDPOINT: optionalUrl,
  S3_REGION: z.string().optional().default('us-east-1'),
  S3_ACCESS_KEY_ID: secret(1),
  S3_SECRET_ACCESS_KEY: secret(1),
  S3_FORCE_PATH_STYLE: bool(false),

  RUN_HISTORY_DAYS: intIn(90, 1, 3650),
  EXPORT_METRICS_RETENTION_DAYS: intIn(90, 1, 3650),
  EXPORT_ROLLUP_RETENTION_DAYS: intIn(400, 1, 3650),
  DELETION_AUDIT_RETENTION_DAYS: intIn(365, 1, 3650),

  // Admin page and admin API
  ADMIN_PASSWORD: secret(8),
  ADMIN_API_TOKEN: secret(16, { bearer: true }),

  // Alerting
  ALERT_REPEAT_MINUTES: intIn(240, 1, 10_080),
  SLACK_WEBHOOK_URL: optionalHttpUrl,
  ALERT_WEBHOOK_URL: optionalHttpUrl,
  PAGERDUTY_ROUTING_KEY: optionalString.pipe(
    z.string().regex(/^\S{8,128}$/, { message: 'must be the Events API v2 integration key (no spaces)' }).optional(),
  ),
  PAGERDUTY_EVENTS_URL: optionalHttpUrl,
  /** Alerts below this severity are tracked (admin page, metrics) but not sent to any channel. */
  ALERT_MIN_SEVERITY: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? 'LOW' : v.trim().toUpperCase()))
    .pipe(z.enum(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'], { message: 'must be one of LOW, MEDIUM, HIGH, CRITICAL' })),
  SMTP_URL: optionalString.pipe(
    z.string().regex(/^smtps?:\/\//, { message: 'must start with smtp:// or smtps://' }).optional(),
  ),
  ALERT_EMAIL_FROM: optionalString.pipe(z.email({ message: 'must be an e-mail address' }).optional()),
  ALERT_EMAIL_TO: optionalString,
  METRICS_TOKEN: secret(16, { bearer: true }),

  // Features
  REDIS_URL: optionalString.pipe(
    z.string().regex(/^rediss?:\/\//, { message: 'must start with redis:// or rediss://' }).optional(),
  ),
  REPORTS_DIR: z.string().optional().default('reports'),

  // Export operations
  EXPORT_FAILURE_RATE_THRESHOLD: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? '0.1' : v))
    .pipe(
      z.coerce
        .number<string>({ message: 'must be a number between 0 and 1' })
        .min(0, { message: 'must be at least 0' })
        .max(1, { message: 'must be at most 1 (a fraction: 0.1 means 10%)' }),
    ),
  EXPORT_FAILURE_MIN_SAMPLE: intIn(10, 1, 1_000_000),
  EXPORT_LOG_RETENTION_DAYS: intIn(30, 1, 3650),
  EXPORT_ARCHIVE_ENABLED: bool(false),
  EXPORT_ARCHIVE_PREFIX: z
    .string()
    .optional()
    .transform((v) => (v === undefined || v.trim() === '' ? 'archive/export-logs' : v.trim().replace(/\/+$/, '')))
    .pipe(
      z.string().regex(/^(?!.*(^|\/)\.{1,2}(\/|$))[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/, {
        message: "must be a relative storage path such as 'archive/export-logs'",
      }),
    ),
});

export type Env = z.infer<typeof envSchema>;

export type DbSettings =
  | { driver: 'pglite'; dataDir: string }
  | { driver: 'postgres'; url: string; poolMax: number }
  | { driver: 'supabase'; url: string; serviceRoleKey: string };

export type StorageSettings =
  | { driver: 'local'; root: string }
  | { driver: 'supabase'; url: string; serviceRoleKey: string; bucket: string }
  | {
      driver: 's3';
      bucket: string;
      region: string;
      endpoint?: string;
      accessKeyId?: string;
      secretAccessKey?: string;
      forcePathStyle: boolean;
    };

export interface Config {
  env: Env['NODE_ENV'];
  logLevel: Env['LOG_LEVEL'];
  port: number;
  /** The interface `npm start` binds (default 127.0.0.1). */
  host: string;
  appUrl: string;
  dataDir: string;
  /** How to tell the client's address (rate limits, logs): see src/lib/http/client-address.ts. */
  clientAddress: { trustProxyHops: number; vercel: boolean };
  cron: {
    secret?: string;
    /** The seed's maintenance route answers 503 unless this is exactly "true". */
    enabled: boolean;
    maintenanceSecret?: string;
    /** Overrides scheduler.json's declaration at run time (`npm start` sets local). */
    scheduler?: SchedulerName;
  };
  db: DbSettings;
  /** The demo app: off (a team's database), tables (empty), data (tables and demo rows). */
  demoApp: 'off' | 'tables' | 'data';
  storage: StorageSettings;
  runHistoryDays: number;
  /** Days each table Cronwarden writes keeps its rows (run-history-prune applies them). */
  retention: { exportMetricsDays: number; exportRollupDays: number; deletionAuditDays: number };
  admin: { password?: string; apiToken?: string };
  alerts: {
    repeatMinutes: number;
    minSeverity: 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
    slackWebhookUrl?: string;
    webhookUrl?: string;
    pagerduty?: { routingKey: string; eventsUrl: string };
    email?: { smtpUrl: string; from: string; to: string[] };
  };
  metricsToken?: string;
  /**
   * Dead-man's switch: job name -> ping URL, from `PING_URL_<JOB>` (`PING_URL_DRAFT_CLEANUP`
   * for draft-cleanup). Healthchecks.io style: `<url>/start`, `<url>`, `<url>/fail`.
   */
  pings: Record<string, string>;
  redisUrl?: string;
  reportsDir: string;
  exports: {
    /** Failure rate (0..1) above which the export failure alert fires. */
    failureRateThreshold: number;
    /** Fewer finished exports than this in the window: no alert (too few to judge). */
    failureMinSample: number;
    logRetentionDays: number;
    archiveEnabled: boolean;
    /** Storage path prefix for archived export logs (on whatever STORAGE_DRIVER is). */
    archivePrefix: string;
  };
  /** Every configured secret value, so logs and responses can be scrubbed of them. */
  secrets: string[];
}

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid environment:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export function loadConfig(source: Record<string, string | undefined>): Config {
  const parsed = envSchema.safeParse(source);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'environment'}: ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  const dataDir = path.resolve(e.DATA_DIR);

  let db: DbSettings;
  if (e.DATABASE_URL) {
    db = { driver: 'postgres', url: e.DATABASE_URL, poolMax: e.DATABASE_POOL_MAX };
  } else if (e.SUPABASE_URL || e.SUPABASE_SERVICE_ROLE_KEY) {
    if (!e.SUPABASE_URL || !e.SUPABASE_SERVICE_ROLE_KEY) {
      problems.push('SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY: set both, or neither for the embedded database');
    }
    db = { driver: 'supabase', url: e.SUPABASE_URL ?? '', serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY ?? '' };
  } else {
    db = { driver: 'pglite', dataDir: path.join(dataDir, 'pglite') };
  }

  let storage: StorageSettings;
  if (e.STORAGE_DRIVER === 'supabase') {
    if (!e.SUPABASE_URL || !e.SUPABASE_SERVICE_ROLE_KEY) {
      problems.push('STORAGE_DRIVER=supabase: needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY');
    }
    storage = {
      driver: 'supabase',
      url: e.SUPABASE_URL ?? '',
      serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY ?? '',
      bucket: e.STORAGE_BUCKET,
    };
  } else if (e.STORAGE_DRIVER === 's3') {
    storage = {
      driver: 's3',
      bucket: e.STORAGE_BUCKET,
      region: e.S3_REGION,
      endpoint: e.S3_ENDPOINT,
      accessKeyId: e.S3_ACCESS_KEY_ID,
      secretAccessKey: e.S3_SECRET_ACCESS_KEY,
      forcePathStyle: e.S3_FORCE_PATH_STYLE,
    };
  } else {
    storage = { driver: 'local', root: path.join(dataDir, 'storage') };
  }
  if (e.PAGERDUTY_EVENTS_URL && !e.PAGERDUTY_ROUTING_KEY) {
    problems.push('PAGERDUTY_ROUTING_KEY: required when PAGERDUTY_EVENTS_URL is set');
  }
  let email: Config['alerts']['email'];
  if (e.SMTP_URL || e.ALERT_EMAIL_TO) {
    const to = (e.ALERT_EMAIL_TO ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    if (!e.SMTP_URL) problems.push('SMTP_URL: required when ALERT_EMAIL_TO is set');
    if (to.length === 0) problems.push('ALERT_EMAIL_TO: required when SMTP_URL is set (comma-separated addresses)');
    for (const addr of to) {
      if (!z.email().safeParse(addr).success) problems.push(`ALERT_EMAIL_TO: not an e-mail address: ${addr.slice(0, 80)}`);
    }
    email = { smtpUrl: e.SMTP_URL ?? '', from: e.ALERT_EMAIL_FROM ?? 'cronwarden@localhost', to };
  }
  const pings = pingUrls(source, problems);
  const reportsDir = path.resolve(e.REPORTS_DIR);
  if (/^\/(etc|usr|bin|sbin|boot|proc|sys|dev|var\/log)(\/|$)/.test(reportsDir)) {
    problems.push(`REPORTS_DIR: refusing a system path (${reportsDir}); use a folder of the project such as ./reports`);
  }
  if (problems.length) throw new ConfigError(problems);

  const secrets = [
    e.CRON_SECRET,
    e.MAINTENANCE_CRON_SECRET,
    e.SUPABASE_SERVICE_ROLE_KEY,
    e.S3_SECRET_ACCESS_KEY,
    e.DATABASE_URL ? passwordOf(e.DATABASE_URL) : undefined,
    e.ADMIN_PASSWORD,
    e.ADMIN_API_TOKEN,
    e.PAGERDUTY_ROUTING_KEY,
    e.METRICS_TOKEN,
    e.SMTP_URL ? passwordOf(e.SMTP_URL) : undefined,
    e.REDIS_URL ? passwordOf(e.REDIS_URL) : undefined,
    e.SLACK_WEBHOOK_URL ? new URL(e.SLACK_WEBHOOK_URL).pathname.split('/').pop() : undefined,
    ...Object.values(pings).flatMap(pingUrlSecrets),
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4);

  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    host: e.HOST,
    appUrl: e.APP_URL ?? `http://${localUrlHost(e.HOST)}:${e.PORT}`,
    dataDir,
    clientAddress: { trustProxyHops: e.TRUST_PROXY_HOPS, vercel: e.VERCEL === '1' },
    cron: { secret: e.CRON_SECRET, enabled: e.CRON_ENABLED === 'true', maintenanceSecret: e.MAINTENANCE_CRON_SECRET, scheduler: e.CRON_SCHEDULER },
    db,
    demoApp: demoAppOf(e.DEMO_APP, e.SEED_DEMO_DATA, db.driver),
    storage,
    runHistoryDays: e.RUN_HISTORY_DAYS,
    retention: {
      exportMetricsDays: e.EXPORT_METRICS_RETENTION_DAYS,
      exportRollupDays: e.EXPORT_ROLLUP_RETENTION_DAYS,
      deletionAuditDays: e.DELETION_AUDIT_RETENTION_DAYS,
    },
    admin: { password: e.ADMIN_PASSWORD, apiToken: e.ADMIN_API_TOKEN },
    alerts: {
      repeatMinutes: e.ALERT_REPEAT_MINUTES,
      minSeverity: e.ALERT_MIN_SEVERITY,
      slackWebhookUrl: e.SLACK_WEBHOOK_URL,
      webhookUrl: e.ALERT_WEBHOOK_URL,
      pagerduty: e.PAGERDUTY_ROUTING_KEY
        ? { routingKey: e.PAGERDUTY_ROUTING_KEY, eventsUrl: e.PAGERDUTY_EVENTS_URL ?? 'https://events.pagerduty.com/v2/enqueue' }
        : undefined,
      email,
    },
    metricsToken: e.METRICS_TOKEN,
    pings,
    redisUrl: e.REDIS_URL,
    reportsDir,
    exports: {
      failureRateThreshold: e.EXPORT_FAILURE_RATE_THRESHOLD,
      failureMinSample: e.EXPORT_FAILURE_MIN_SAMPLE,
      logRetentionDays: e.EXPORT_LOG_RETENTION_DAYS,
      archiveEnabled: e.EXPORT_ARCHIVE_ENABLED,
      archivePrefix: e.EXPORT_ARCHIVE_PREFIX,
    },
    secrets,
  };
}

function demoAppOf(demo: string | undefined, legacy: string | undefined, driver: DbSettings['driver']): Config['demoApp'] {
  if (driver === 'supabase') return 'off'; // its schema changes go through `supabase db push`
  if (demo) return demo as Config['demoApp'];
  if (legacy) return legacy === 'true' || legacy === '1' ? 'data' : 'off';
  return driver === 'pglite' ? 'data' : 'off';
}

/** The host to call a server bound to `host` on: loopback for the wildcard addresses, brackets for IPv6. */
function localUrlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '[::]') return '127.0.0.1';
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

const PING_URL_PREFIX = 'PING_URL_';

/** `PING_URL_<JOB>` variables (not in the schema: one per job, named after it). */
function pingUrls(source: Record<string, string | undefined>, problems: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(source)) {
    if (!key.startsWith(PING_URL_PREFIX) || raw === undefined || raw.trim() === '') continue;
    const suffix = key.slice(PING_URL_PREFIX.length);
    if (!/^[A-Z0-9]+(_[A-Z0-9]+)*$/.test(suffix)) {
      problems.push(`${key}: name the job in capitals with underscores, e.g. PING_URL_DRAFT_CLEANUP`);
      continue;
    }
    // The message never repeats the value: a ping URL is a secret.
    if (!optionalHttpUrl.safeParse(raw.trim()).success) {
      problems.push(`${key}: must be an http:// or https:// URL such as https://hc-ping.com/<uuid>`);
      continue;
    }
    out[suffix.toLowerCase().replace(/_/g, '-')] = raw.trim();
  }
  return out;
}

/** Anyone holding a ping URL can ping it: the whole URL, and its long path parts (uuids, keys). */
function pingUrlSecrets(url: string): string[] {
  return [url, ...new URL(url).pathname.split('/').filter((part) => part.length >= 16)];
}

function passwordOf(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

let cached: Config | undefined;

/** The process's configuration, parsed on first use (never at import, so `next build` needs no env). */
export function getConfig(): Config {
  cached ??= loadConfig(process.env);
  return cached;
}
