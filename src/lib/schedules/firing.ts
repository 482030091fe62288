import type { Db } from '../db/types';
import { CRON_PATH_PREFIX, intervalMs, nextRuns, type CronEntry } from '../cron/schedule';
import { SCHEDULERS, type SchedulerName } from './scheduler';
import { HOBBY_DISPATCH_SCHEDULE, JOB_SCHEDULES, type JobSchedule } from './table';

const DAY_MS = 86_400_000;

/** How one job is fired under one scheduler. */
export interface JobFiring {
  job: string;
  scheduler: SchedulerName;
  /** Who fires it, in words. */
  firedBy: string;
  /** cron_job_runs.trigger of the runs this scheduler starts. */
  trigger: string;
  /** The job's own schedule (the table). */
  schedule: string;
  /**
   * The schedule it runs on under this scheduler: its own, except on Vercel Hobby where a job
   * due more than once a day runs at the daily dispatch.
   */
  effectiveSchedule: string;
  /** True when this scheduler runs the job less often than its own schedule. */
  lessOften: boolean;
}

/** True when the schedule fires more than once in some day (gap between firings under 24 h). */
export function firesMoreThanDaily(schedule: string, from: Date = new Date(0)): boolean {
  return intervalMs(schedule, from) < DAY_MS;
}

export function jobFirings(scheduler: SchedulerName, table: readonly JobSchedule[] = JOB_SCHEDULES): JobFiring[] {
  const info = SCHEDULERS[scheduler];
  return table.map((s) => {
    const lessOften = scheduler === 'vercel-hobby' && firesMoreThanDaily(s.schedule);
    return {
      job: s.job,
      scheduler,
      firedBy: info.label,
      trigger: info.trigger,
      schedule: s.schedule,
      effectiveSchedule: lessOften ? HOBBY_DISPATCH_SCHEDULE : s.schedule,
      lessOften,
    };
  });
}

/** Path + effective schedule per job: what the "job stalled" alert measures against. */
export function effectiveCronEntries(scheduler: SchedulerName, table: readonly JobSchedule[] = JOB_SCHEDULES): CronEntry[] {
  return jobFirings(scheduler, table).map((f) => ({ path: `${CRON_PATH_PREFIX}${f.job}`, schedule: f.effectiveSchedule }));
}

/**
 * When the job is next fired after `now` (UTC). On Vercel Hobby: the first daily dispatch at or
 * after the job's next own time (Vercel may call it up to 59 minutes later). Null when the
 * expression does not parse.
 */
export function nextFiring(firing: JobFiring, now: Date): Date | null {
  try {
    const own = nextRuns(firing.schedule, 1, now)[0];
    if (!own) return null;
    if (firing.scheduler !== 'vercel-hobby') return own;
    return nextRuns(HOBBY_DISPATCH_SCHEDULE, 1, new Date(own.getTime() - 1))[0] ?? null;
  } catch {
    return null;
  }
}

/** How far back each job's history is searched for the scheduler's last firing. */
const LAST_FIRING_WINDOW = 50;

/**
 * When the scheduler last fired each job: the start of the newest run (dry or not, any status)
 * whose trigger is the scheduler's, among each job's latest 50 runs; null when none is there.
 */
export async function lastFirings(db: Db, firings: JobFiring[]): Promise<Map<string, Date | null>> {
  const out = new Map<string, Date | null>();
  await Promise.all(
    firings.map(async (f) => {
      const runs = await db.rpc<{ trigger: string; started_at: Date | string }>('cron_recent_runs', {
        p_job: f.job,
        p_limit: LAST_FIRING_WINDOW,
      });
      const hit = runs.find((r) => r.trigger === f.trigger);
      out.set(f.job, hit ? new Date(hit.started_at) : null);
    }),
  );
  return out;
}

export interface ScheduleStatus {
  scheduler: SchedulerName;
  fired_by: string;
  jobs: {
    job: string;
    schedule: string;
    effective_schedule: string;
    less_often: boolean;
    last_fired_at: string | null;
    next_fire_at: string | null;
  }[];
}

/** Which scheduler fires each job, when it last did and when it will next (for /api/health). */
export async function scheduleStatus(db: Db, scheduler: SchedulerName, now: Date): Promise<ScheduleStatus> {
  const firings = jobFirings(scheduler);
  const last = await lastFirings(db, firings);
  return {
    scheduler,
    fired_by: SCHEDULERS[scheduler].label,
    jobs: firings.map((f) => ({
      job: f.job,
      schedule: f.schedule,
      effective_schedule: f.effectiveSchedule,
      less_often: f.lessOften,
      last_fired_at: last.get(f.job)?.toISOString() ?? null,
      next_fire_at: nextFiring(f, now)?.toISOString() ?? null,
    })),
  };
}
