import { z } from 'zod';
import declaration from '../../../scheduler.json';
import { SCHEDULER_NAMES, type Config, type SchedulerName } from '../config';
import type { RunTrigger } from '../cron/runner';
import { hobbyCrons, proCrons, type VercelCron, type VercelPlan } from './vercel';

export { SCHEDULER_NAMES, type SchedulerName };

export interface SchedulerInfo {
  name: SchedulerName;
  /** In words, for the admin page, /api/health and the schedules command. */
  label: string;
  /** What cron_job_runs.trigger records when this scheduler fires a job. */
  trigger: RunTrigger;
  /** The crons vercel.json must hold with this scheduler (none when something else fires). */
  vercelCrons: () => VercelCron[];
  /** The Vercel plan vercel.json is checked against. */
  vercelPlan: VercelPlan;
}

export const SCHEDULERS: Record<SchedulerName, SchedulerInfo> = {
  'vercel-pro': {
    name: 'vercel-pro',
    label: 'Vercel Cron (Pro)',
    trigger: 'vercel',
    vercelCrons: () => proCrons(),
    vercelPlan: 'pro',
  },
  'vercel-hobby': {
    name: 'vercel-hobby',
    label: 'Vercel Cron (Hobby), daily through /api/cron/dispatch',
    trigger: 'dispatcher',
    vercelCrons: () => hobbyCrons(),
    vercelPlan: 'hobby',
  },
  'supabase-cron': {
    name: 'supabase-cron',
    label: 'Supabase Cron (pg_cron + pg_net)',
    trigger: 'pg_cron',
    // pg_cron fires every job; Vercel must not fire them too. No crons deploy on any plan.
    vercelCrons: () => [],
    vercelPlan: 'hobby',
  },
  local: {
    name: 'local',
    label: 'local scheduler (npm start)',
    trigger: 'scheduler',
    // Not deployed to Vercel; the file keeps the Pro crons so that a later deployment works.
    vercelCrons: () => proCrons(),
    vercelPlan: 'pro',
  },
};

const declarationSchema = z.looseObject({
  scheduler: z.enum(SCHEDULER_NAMES, { message: `must be one of ${SCHEDULER_NAMES.join(', ')}` }),
});

/** The scheduler a scheduler.json declares. Throws an Error naming the field when it is invalid. */
export function parseSchedulerDeclaration(raw: unknown): SchedulerName {
  const parsed = declarationSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`scheduler.json: ${issue.path.join('.') || 'file'}: ${issue.message}`);
  }
  return parsed.data.scheduler;
}

/** What this repository's scheduler.json declares (read at build time, like vercel.json). */
export function declaredScheduler(): SchedulerName {
  return parseSchedulerDeclaration(declaration);
}

/** The scheduler firing the jobs of this process: CRON_SCHEDULER when set, else the declaration. */
export function activeScheduler(config: Pick<Config, 'cron'>): SchedulerName {
  return config.cron.scheduler ?? declaredScheduler();
}
