import { CRON_PATH_PREFIX, nextRuns } from '../cron/schedule';
import { DISPATCH_PATH, HOBBY_DISPATCH_SCHEDULE, JOB_SCHEDULES, type JobSchedule } from './table';

/**
 * vercel.json for each Vercel plan, and the check that fails before Vercel refuses a deployment.
 *
 * Vercel's limits (https://vercel.com/docs/cron-jobs/usage-and-pricing, read 2026-11-30):
 *   Hobby: 100 cron jobs per project; each at most once per day; fired anywhere within the hour
 *          of its schedule (±59 min). A more frequent expression fails the deployment with
 *          "Hobby accounts are limited to daily cron jobs. This cron expression would run more
 *          than once per day."
 *   Pro:   100 cron jobs per project; down to once per minute; per-minute precision.
 * Function duration (https://vercel.com/docs/functions/limitations): Hobby up to 300 s, Pro up
 * to 800 s.
 */
export type VercelPlan = 'hobby' | 'pro';

export interface VercelPlanLimits {
  maxCrons: number;
  /** True when every cron may fire at most once per day. */
  dailyOnly: boolean;
  maxDurationSeconds: number;
}

export const VERCEL_PLAN_LIMITS: Record<VercelPlan, VercelPlanLimits> = {
  hobby: { maxCrons: 100, dailyOnly: true, maxDurationSeconds: 300 },
  pro: { maxCrons: 100, dailyOnly: false, maxDurationSeconds: 800 },
};

export interface VercelCron {
  path: string;
  schedule: string;
}

export const VERCEL_JSON_SCHEMA = 'https://openapi.vercel.sh/vercel.json';

/** Pro: one cron per job at its own schedule (the file this repository ships). */
export function proCrons(table: readonly JobSchedule[] = JOB_SCHEDULES): VercelCron[] {
  return table.map((s) => ({ path: `${CRON_PATH_PREFIX}${s.job}`, schedule: s.schedule }));
}

/** Hobby: a single daily cron calling the dispatcher, which runs every job that is due. */
export function hobbyCrons(): VercelCron[] {
  return [{ path: DISPATCH_PATH, schedule: HOBBY_DISPATCH_SCHEDULE }];
}

/**
 * vercel.json's text with `crons` replaced, every other key of `base` kept in its order; one cron
 * per line, two-space indents, final newline (the layout this repository's file has).
 */
export function renderVercelJson(crons: VercelCron[], base: Record<string, unknown> = { $schema: VERCEL_JSON_SCHEMA }): string {
  const entries = Object.entries(base).filter(([k]) => k !== 'crons');
  const lines = entries.map(([k, v]) => `  ${JSON.stringify(k)}: ${JSON.stringify(v, null, 2).replace(/\n/g, '\n  ')}`);
  const cronLines = crons.map((c) => `    { "path": ${JSON.stringify(c.path)}, "schedule": ${JSON.stringify(c.schedule)} }`);
  lines.push(crons.length ? `  "crons": [\n${cronLines.join(',\n')}\n  ]` : '  "crons": []');
  return `{\n${lines.join(',\n')}\n}\n`;
}

/**
 * At most once per calendar day: a single minute and a single hour (day, month and weekday are
 * free). `0 3 * * *` and `0 3 1 * *` pass; `0 * * * *`, `0 3,15 * * *`, `*\/30 3 * * *` do not.
 */
export function firesAtMostDaily(schedule: string): boolean {
  const fields = schedule.trim().split(/\s+/);
  return fields.length === 5 && /^\d{1,2}$/.test(fields[0]) && /^\d{1,2}$/.test(fields[1]);
}

/**
 * What Vercel would refuse in a vercel.json on `plan`: one sentence per problem, empty when the
 * file deploys. Checks the shape of `crons`, their number, 5-field expressions that parse, paths,
 * and on Hobby the once-per-day rule. Never throws.
 */
export function checkVercelCrons(config: unknown, plan: VercelPlan): string[] {
  const limits = VERCEL_PLAN_LIMITS[plan];
  const problems: string[] = [];
  if (typeof config !== 'object' || config === null || Array.isArray(config)) return ['vercel.json: not a JSON object'];
  const crons = (config as { crons?: unknown }).crons;
  if (crons === undefined) return [];
  if (!Array.isArray(crons)) return ['vercel.json: "crons" is not an array'];
  if (crons.length > limits.maxCrons) {
    problems.push(`vercel.json has ${crons.length} crons; the ${plan} plan allows ${limits.maxCrons} per project`);
  }
  crons.forEach((c: unknown, i) => {
    const entry = c as Partial<VercelCron> | null;
    const where = `crons[${i}]`;
    if (typeof entry?.path !== 'string' || !entry.path.startsWith('/')) {
      problems.push(`${where}: "path" must be a path starting with /`);
      return;
    }
    if (typeof entry.schedule !== 'string') {
      problems.push(`${where} (${entry.path}): "schedule" is missing`);
      return;
    }
    if (entry.schedule.trim().split(/\s+/).length !== 5) {
      problems.push(`${where} (${entry.path}): "${entry.schedule}" is not a 5-field cron expression`);
      return;
    }
    try {
      nextRuns(entry.schedule, 1, new Date(0));
    } catch {
      problems.push(`${where} (${entry.path}): "${entry.schedule}" is not a valid cron expression`);
      return;
    }
    if (limits.dailyOnly && !firesAtMostDaily(entry.schedule)) {
      problems.push(
        `${where} (${entry.path}): "${entry.schedule}" runs more than once per day; Vercel refuses it on Hobby ` +
          '("Hobby accounts are limited to daily cron jobs")',
      );
    }
  });
  return problems;
}

/** Route time limits above what `plan` allows (Vercel refuses the build): one sentence each. */
export function checkMaxDurations(routes: { path: string; maxDurationSeconds: number }[], plan: VercelPlan): string[] {
  const max = VERCEL_PLAN_LIMITS[plan].maxDurationSeconds;
  return routes
    .filter((r) => r.maxDurationSeconds > max)
    .map((r) => `${r.path}: maxDuration ${r.maxDurationSeconds} s is above the ${plan} plan's ${max} s`);
}
