import { createHash } from 'node:crypto';
import { CRON_PATH_PREFIX, describeSchedule } from '../cron/schedule';

/**
 * The Supabase Cron migration: one pg_cron schedule per job, each calling the job's route with
 * pg_net's `net.http_get`, the bearer secret read from Supabase Vault at every firing (so it is
 * never in the file and rotating it needs no new migration). Our schedules are named
 * `cronwarden:<job>`: applying the file removes every schedule with that prefix, then creates
 * the current ones, so a newer file replaces an older one and the team's own pg_cron jobs stay.
 */

export const PG_CRON_JOB_PREFIX = 'cronwarden:';
/** pg_cron's job names are of type name: PostgreSQL keeps their first 63 bytes. */
const PG_NAME_MAX_BYTES = 63;

/**
 * The pg_cron job name of `job`: `cronwarden:<job>`, or, past 63 bytes, its first 54 bytes, '~'
 * and 8 hex digits of the job's SHA-256, so two long names never cut down to the same one (a
 * second cron.schedule of one name replaces the first: a sweep would silently never run).
 */
export function pgCronJobName(job: string): string {
  const full = PG_CRON_JOB_PREFIX + job;
  if (Buffer.byteLength(full) <= PG_NAME_MAX_BYTES) return full;
  const tag = createHash('sha256').update(job).digest('hex').slice(0, 8);
  let head = full;
  while (Buffer.byteLength(head) > PG_NAME_MAX_BYTES - 9) head = head.slice(0, -1);
  return `${head}~${tag}`;
}

/** The first line of every generated file: the migrator knows it by this (src/lib/db/migrator.ts). */
export const SUPABASE_CRON_FILE_HEADER = '-- Cronwarden schedules for Supabase Cron (pg_cron + pg_net).';
export const VAULT_SECRET_NAME = 'cronwarden_cron_secret';
/** Seconds pg_net waits for a job's answer beyond the job's own time limit. */
export const PG_NET_TIMEOUT_MARGIN_SECONDS = 30;

export interface SupabaseCronJob {
  job: string;
  schedule: string;
  maxDurationSeconds: number;
}

export interface SupabaseCronOptions {
  /** The deployed app's base URL that pg_net calls (https://..., no credentials, query or hash). */
  appUrl: string;
  jobs: SupabaseCronJob[];
  generatedAt: Date;
}

/** A pg_cron schedule that pg_cron 1.4 (Debian) and 1.6 (Supabase) both read: digits * / , - only. */
export function pgCronAccepts(schedule: string): boolean {
  return /^[\d*/,-]+( [\d*/,-]+){4}$/.test(schedule.trim());
}

/** The app URL without a trailing slash. Throws an Error saying what is wrong with it. */
export function normalizeAppUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`--url: not an absolute URL: ${raw.slice(0, 200)}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('--url: must be an http:// or https:// URL');
  if (url.username || url.password) throw new Error('--url: must not carry credentials (they would be written into the migration)');
  if (url.search || url.hash) throw new Error('--url: must not have a query string or fragment');
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  // Dollar signs could end the SQL's dollar-quoted strings early.
  if (base.includes('$')) throw new Error('--url: must not contain $');
  return base;
}

const sqlLiteral = (s: string) => `'${s.replace(/'/g, "''")}'`;
const COMMAND_TAG = '$cronwarden_cmd$';

/** pg_net's time limit for one job's call, in ms: the job's own limit plus a margin. */
export function pgNetTimeoutMs(maxDurationSeconds: number): number {
  return (maxDurationSeconds + PG_NET_TIMEOUT_MARGIN_SECONDS) * 1000;
}

/** The SQL pg_cron runs at each firing of one job. */
export function pgCronCommand(baseUrl: string, job: SupabaseCronJob): string {
  return [
    'select net.http_get(',
    `      url := ${sqlLiteral(`${baseUrl}${CRON_PATH_PREFIX}${job.job}`)},`,
    '      headers := jsonb_build_object(',
    `        'Authorization', 'Bearer ' || (select decrypted_secret from vault.decrypted_secrets where name = ${sqlLiteral(VAULT_SECRET_NAME)}),`,
    `        'x-cron-trigger', 'pg_cron'`,
    '      ),',
    `      timeout_milliseconds := ${pgNetTimeoutMs(job.maxDurationSeconds)}`,
    '    )',
  ].join('\n');
}

/**
 * The migration's text. Throws an Error when the URL is unusable, a schedule is not one pg_cron
 * reads, or a job name is not a plain slug.
 */
export function renderSupabaseCronMigration(options: SupabaseCronOptions): string {
  const baseUrl = normalizeAppUrl(options.appUrl);
  for (const j of options.jobs) {
    if (!/^(?:policies\/|orphan-sweeps\/)?[a-z0-9-]+$/.test(j.job)) throw new Error(`job name is not a slug: ${j.job}`);
    if (!pgCronAccepts(j.schedule)) throw new Error(`${j.job}: pg_cron does not read the schedule "${j.schedule}"`);
  }
  const schedules = options.jobs.map((j) => {
    const command = pgCronCommand(baseUrl, j);
    return [
      `  perform cron.schedule(${sqlLiteral(pgCronJobName(j.job))}, ${sqlLiteral(j.schedule)}, ${COMMAND_TAG}`,
      `    ${command}`,
      `  ${COMMAND_TAG});`,
    ].join('\n');
  });
  const width = Math.max(...options.jobs.map((j) => pgCronJobName(j.job).length));
  const listing = options.jobs.map(
    (j) =>
      `--   ${pgCronJobName(j.job).padEnd(width)}  ${j.schedule.padEnd(12)}  ${describeSchedule(j.schedule)}, timeout ${pgNetTimeoutMs(j.maxDurationSeconds) / 1000} s`,
  );
  const prefixPattern = sqlLiteral(`${PG_CRON_JOB_PREFIX}%`);
  const secret = sqlLiteral(VAULT_SECRET_NAME);
  return `${SUPABASE_CRON_FILE_HEADER}
-- Generated ${options.generatedAt.toISOString().replace(/\.\d{3}Z$/, 'Z')} by \`npx tsx scripts/schedules.ts --target supabase-cron\`
-- from Cronwarden's schedule table. Do not edit: generate a newer file instead.
--
-- Each schedule calls GET ${baseUrl}/api/cron/<job> with "Authorization: Bearer <secret>",
-- the secret read from Supabase Vault (name ${secret}) at every firing: it is not in this
-- file, and rotating it in Vault needs no new migration. Before applying this file, enable
-- pg_cron and pg_net and store the app's CRON_SECRET in Vault:
--   select vault.create_secret('<the CRON_SECRET value>', ${secret});
-- Applying it (again, or a newer one) first removes every pg_cron job named
-- '${PG_CRON_JOB_PREFIX}...' and then creates these; pg_cron jobs with other names are left alone.
-- To remove Cronwarden's schedules:
--   select cron.unschedule(jobid) from cron.job where jobname like ${prefixPattern};
--
${listing.join('\n')}

do $cronwarden$
begin
  if not exists (select 1 from pg_extension where extname = 'pg_cron') then
    raise exception 'Cronwarden schedules need pg_cron: enable it (Dashboard > Integrations > Cron, or create extension pg_cron with schema pg_catalog), then apply this migration again';
  end if;
  if not exists (select 1 from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'net' and p.proname = 'http_get') then
    raise exception 'Cronwarden schedules need pg_net: enable it (Dashboard > Database > Extensions > pg_net, or create extension pg_net with schema extensions), then apply this migration again';
  end if;
  if to_regclass('vault.decrypted_secrets') is null then
    raise exception 'Cronwarden schedules read the cron secret from Supabase Vault, and vault.decrypted_secrets does not exist here';
  end if;
  if not exists (select 1 from vault.decrypted_secrets where name = ${secret}) then
    raise warning 'Vault holds no secret named ${VAULT_SECRET_NAME} yet: every scheduled call will be refused (401) until you run select vault.create_secret(''<the CRON_SECRET value>'', ''${VAULT_SECRET_NAME}'');';
  end if;

  -- Ours only: the prefix marks the schedules this file owns.
  perform cron.unschedule(jobid) from cron.job where jobname like ${prefixPattern};

${schedules.join('\n\n')}
end
$cronwarden$;
`;
}
