import { Cron } from 'croner';
import cronstrue from 'cronstrue';
import { scheduleTable } from '../schedules/table';

export interface CronEntry {
  path: string;
  schedule: string;
}

export const CRON_PATH_PREFIX = '/api/cron/';

/**
 * Every job at its own schedule (the schedule table, src/lib/schedules/table.ts), as path +
 * schedule: what Vercel Pro and the local scheduler fire. With `config`: that file's crons.
 */
export function cronEntries(config?: { crons?: CronEntry[] }): CronEntry[] {
  if (config) return config.crons ?? [];
  return scheduleTable().map((s) => ({ path: `${CRON_PATH_PREFIX}${s.job}`, schedule: s.schedule }));
}

export function jobNameOfPath(path: string): string | undefined {
  if (!path.startsWith(CRON_PATH_PREFIX)) return undefined;
  const name = path.slice(CRON_PATH_PREFIX.length).split('?')[0];
  // A built-in job's name, a retention policy's `policies/<name>` or a sweep's `orphan-sweeps/<name>`.
  return /^(?:policies\/|orphan-sweeps\/)?[a-z0-9-]+$/.test(name) ? name : undefined;
}

export function scheduleOf(job: string): string | undefined {
  return cronEntries().find((e) => jobNameOfPath(e.path) === job)?.schedule;
}

/** Next firing times in UTC (Vercel Cron is always UTC). Throws on an invalid expression. */
export function nextRuns(schedule: string, count = 1, from: Date = new Date()): Date[] {
  const cron = new Cron(schedule, { timezone: 'UTC', paused: true });
  return cron.nextRuns(count, from);
}

/** The typical gap between firings, from the next few occurrences (used by "job stalled"). */
export function intervalMs(schedule: string, from: Date = new Date()): number {
  const runs = nextRuns(schedule, 4, from);
  let max = 0;
  for (let i = 1; i < runs.length; i++) max = Math.max(max, runs[i].getTime() - runs[i - 1].getTime());
  return max;
}

export function describeSchedule(schedule: string): string {
  try {
    return `${cronstrue.toString(schedule, { use24HourTimeFormat: true, verbose: false })} (UTC)`;
  } catch {
    return schedule;
  }
}
