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

const optionalUrl = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v))
  .pipe(z.url({ message: 'must be an absolute URL such as https://example.com/...' }).optional());

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

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).optional().default('development'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional().default('info'),
  PORT: intIn(3000, 1, 65535),
  APP_URL: optionalUrl,

  CRON_SECRET: optionalString.pipe(z.string().min(16, { message: 'must be at least 16 characters' }).optional()),
  CRON_ENABLED: optionalString,
  MAINTENANCE_CRON_SECRET: optionalString,

  DATA_DIR: z.string().optional().default('.data'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: 'must start with postgres:// or postgresql://' })
      .optional(),
  ),
  DATABASE_POOL_MAX: intIn(5, 1, 100),
  SUPABASE_URL: optionalUrl,
  SUPABASE_SERVICE_ROLE_KEY: optionalString,
  SEED_DEMO_DATA: bool(true),

  STORAGE_DRIVER: z.enum(['local', 'supabase', 's3']).optional().default('local'),
  STORAGE_BUCKET: z.string().optional().default('exports'),
  S3_ENDPOINT: optionalUrl,
  S3_REGION: z.string().optional().default('us-east-1'),
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  S3_FORCE_PATH_STYLE: bool(false),

  RUN_HISTORY_DAYS: intIn(90, 1, 3650),
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
  appUrl: string;
  dataDir: string;
  cron: {
    secret?: string;
    /** The seed's maintenance route answers 503 unless this is exactly "true". */
    enabled: boolean;
    maintenanceSecret?: string;
  };
  db: DbSettings;
  seedDemoData: boolean;
  storage: StorageSettings;
  runHistoryDays: number;
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
  if (problems.length) throw new ConfigError(problems);

  const secrets = [
    e.CRON_SECRET,
    e.MAINTENANCE_CRON_SECRET,
    e.SUPABASE_SERVICE_ROLE_KEY,
    e.S3_SECRET_ACCESS_KEY,
    e.DATABASE_URL ? passwordOf(e.DATABASE_URL) : undefined,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4);

  return {
    env: e.NODE_ENV,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    appUrl: e.APP_URL ?? `http://127.0.0.1:${e.PORT}`,
    dataDir,
    cron: { secret: e.CRON_SECRET, enabled: e.CRON_ENABLED === 'true', maintenanceSecret: e.MAINTENANCE_CRON_SECRET },
    db,
    seedDemoData: e.SEED_DEMO_DATA,
    storage,
    runHistoryDays: e.RUN_HISTORY_DAYS,
    secrets,
  };
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
