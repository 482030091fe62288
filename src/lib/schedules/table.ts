import { getCronwardenConfig } from '../bindings/load';
import type { CronwardenConfig } from '../bindings/spec';
import { orphanSweepJobName, policyJobName } from '../policies/compile';

/**
 * The one source of schedules: every job, when it runs (5-field cron, UTC) and, for a job that
 * runs more than once a day, what it means for the product when it runs only once a day (Vercel
 * Hobby). vercel.json, the Supabase Cron migration, the local scheduler, the admin page and the
 * "job stalled" alert all derive from this table; tests/unit/schedules.test.ts checks it against
 * the job registry, the route files and vercel.json.
 */
export interface JobSchedule {
  job: string;
  /** Five-field cron expression, UTC (Vercel Cron and pg_cron both fire in UTC). */
  schedule: string;
  /** Plain words: what running once a day instead means. Required when the job runs more often. */
  onceADayMeans?: string;
}

// Order: as vercel.json has always listed them (the Pro file stays byte-identical).
export const JOB_SCHEDULES: readonly JobSchedule[] = [
  { job: 'run-history-prune', schedule: '30 4 * * *' },
  {
    job: 'alerts-evaluate',
    schedule: '*/5 * * * *',
    onceADayMeans:
      'alert rules are evaluated once a day: a failing job, a stalled job or an export failure spike reaches Slack/PagerDuty/e-mail up to a day late',
  },
  { job: 'maintenance', schedule: '0 3 * * *' },
  {
    job: 'draft-cleanup',
    schedule: '0 * * * *',
    onceADayMeans: 'unused drafts are removed once a day, so one may stay up to a day past its 24 hours',
  },
  { job: 'export-file-cleanup', schedule: '0 2 * * *' },
  { job: 'export-log-cleanup', schedule: '0 3 1 * *' },
  {
    job: 'export-metrics-aggregate',
    schedule: '0 * * * *',
    onceADayMeans:
      'hourly export metrics are rolled up once a day (every hour is still computed), and the export failure rate is checked once a day over the hour before the check only',
  },
  {
    job: 'storage-cleanup-retry',
    schedule: '15 * * * *',
    onceADayMeans: 'stored files whose removal failed are retried once a day instead of hourly',
  },
];

/**
 * The whole table: the built-in jobs (JOB_SCHEDULES), then one entry per retention policy of
 * cronwarden.config.ts (`policies/<name>` at the policy's own `schedule`) and per orphaned-file
 * sweep (`orphan-sweeps/<name>`), in the file's order. A rule whose shape was refused has no entry. Throws BindingConfigError when the file does
 * not parse.
 */
export function scheduleTable(config: Pick<CronwardenConfig, 'policies' | 'orphanSweeps'> = getCronwardenConfig()): JobSchedule[] {
  return [
    ...JOB_SCHEDULES,
    ...config.policies.map((p) => ({
      job: policyJobName(p.name),
      schedule: p.schedule,
      onceADayMeans: `the retention policy ${p.name} runs once a day instead of at its own schedule`,
    })),
    ...config.orphanSweeps.map((s) => ({
      job: orphanSweepJobName(s.name),
      schedule: s.schedule,
      onceADayMeans: `the orphaned-file sweep ${s.name} runs once a day instead of at its own schedule`,
    })),
  ];
}

/** The dispatcher's route: on Vercel Hobby the only cron, running every job that is due. */
export const DISPATCH_PATH = '/api/cron/dispatch';

/**
 * When Vercel Hobby calls the dispatcher. After every daily job's own time (02:00 to 04:30), so
 * each runs on the day it is due; Hobby fires anywhere within the hour (05:00 to 05:59).
 */
export const HOBBY_DISPATCH_SCHEDULE = '0 5 * * *';

/** The dispatcher route's time limit: Hobby's maximum function duration (300 s). */
export const DISPATCH_MAX_DURATION_SECONDS = 300;

/**
 * The order the dispatcher runs due jobs in: the table's, with alerts-evaluate last so that it
 * evaluates the rules on the other jobs' fresh results.
 */
export function dispatchOrder(table: readonly JobSchedule[] = scheduleTable()): JobSchedule[] {
  const last = table.filter((s) => s.job === 'alerts-evaluate');
  return [...table.filter((s) => s.job !== 'alerts-evaluate'), ...last];
}

export function jobScheduleOf(job: string, table: readonly JobSchedule[] = scheduleTable()): JobSchedule | undefined {
  return table.find((s) => s.job === job);
}
