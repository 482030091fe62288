import { alertsEvaluateJob } from '../jobs/alerts-evaluate';
import { draftCleanupJob } from '../jobs/draft-cleanup';
import { exportFileCleanupJob } from '../jobs/export-file-cleanup';
import { exportLogCleanupJob } from '../jobs/export-log-cleanup';
import { exportMetricsAggregateJob } from '../jobs/export-metrics-aggregate';
import { maintenanceJob } from '../jobs/maintenance';
import { runHistoryPruneJob } from '../jobs/run-history-prune';
import { storageCleanupRetryJob } from '../jobs/storage-cleanup-retry';
import type { JobDefinition } from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each job has its own input type
export type AnyJob = JobDefinition<any>;

/**
 * The closed set of jobs. Each is served at /api/cron/<name> and scheduled in the schedule
 * table (src/lib/schedules/table.ts); tests check the three agree, and vercel.json with them.
 */
export const jobs: readonly AnyJob[] = [runHistoryPruneJob, alertsEvaluateJob, maintenanceJob, draftCleanupJob, exportFileCleanupJob, exportLogCleanupJob, exportMetricsAggregateJob, storageCleanupRetryJob];

export function getJob(name: string): AnyJob | undefined {
  return jobs.find((j) => j.name === name);
}

export const jobNames = jobs.map((j) => j.name);
