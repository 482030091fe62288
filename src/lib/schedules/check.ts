import { parseSchedulerDeclaration, SCHEDULERS, type SchedulerName } from './scheduler';
import { checkMaxDurations, checkVercelCrons, type VercelCron } from './vercel';

export interface ProjectFiles {
  /** scheduler.json's parsed content. */
  declaration: unknown;
  /** vercel.json's parsed content. */
  vercelJson: unknown;
  /** Every route Vercel deploys with its maxDuration (the cron routes and the dispatcher). */
  routes?: { path: string; maxDurationSeconds: number }[];
}

const sameCrons = (a: VercelCron[], b: VercelCron[]) =>
  a.length === b.length && a.every((c, i) => c.path === b[i].path && c.schedule === b[i].schedule);

/**
 * What stops the project from deploying with the scheduler scheduler.json declares, one sentence
 * each, empty when all is well: an invalid declaration, a vercel.json Vercel would refuse on the
 * declared plan, routes whose time limit the plan does not allow, and a vercel.json whose crons
 * are not the ones the schedule table gives for the declared scheduler.
 */
export function projectScheduleProblems(files: ProjectFiles): string[] {
  let scheduler: SchedulerName;
  try {
    scheduler = parseSchedulerDeclaration(files.declaration);
  } catch (err) {
    return [(err as Error).message];
  }
  const info = SCHEDULERS[scheduler];
  const fix = `run \`npm run schedules -- --target ${scheduler} --write\``;
  const problems = checkVercelCrons(files.vercelJson, info.vercelPlan).map(
    (p) => `${p} (scheduler.json declares ${scheduler}: Vercel ${info.vercelPlan} plan; ${fix})`,
  );
  problems.push(...checkMaxDurations(files.routes ?? [], info.vercelPlan));
  const onDisk = (files.vercelJson as { crons?: unknown } | null)?.crons;
  if (problems.length === 0 && !(Array.isArray(onDisk) ? sameCrons(onDisk as VercelCron[], info.vercelCrons()) : info.vercelCrons().length === 0)) {
    problems.push(`vercel.json's crons are not the schedule table's for ${scheduler}; ${fix}`);
  }
  return problems;
}
