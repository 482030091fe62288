import { alertsEvaluateJob } from '../jobs/alerts-evaluate';
import { draftCleanupJob } from '../jobs/draft-cleanup';
import { exportFileCleanupJob } from '../jobs/export-file-cleanup';
import { exportLogCleanupJob } from '../jobs/export-log-cleanup';
import { exportMetricsAggregateJob } from '../jobs/export-metrics-aggregate';
import { maintenanceJob } from '../jobs/maintenance';
import { runHistoryPruneJob } from '../jobs/run-history-prune';
import { storageCleanupRetryJob } from '../jobs/storage-cleanup-retry';
import { getCronwardenConfig } from '../bindings/load';
import type { CronwardenConfig } from '../bindings/spec';
import { policyJob } from '../jobs/policy';
import { POLICY_JOB_PREFIX } from '../policies/compile';
import type { JobDefinition } from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each job has its own input type
export type AnyJob = JobDefinition<any>;

/**
 * The closed set of jobs. Each is served at /api/cron/<name> and scheduled in the schedule
 * table (src/lib/schedules/table.ts); tests check the three agree, and vercel.json with them.
 */
export const jobs: readonly AnyJob[] = [runHistoryPruneJob, alertsEvaluateJob, maintenanceJob, draftCleanupJob, exportFileCleanupJob, exportLogCleanupJob, exportMetricsAggregateJob, storageCleanupRetryJob];

const policyJobsOf = new WeakMap<CronwardenConfig, AnyJob[]>();

/**
 * The jobs of the retention policies of cronwarden.config.ts (`policies/<name>`, served at
 * /api/cron/policies/<name>), in its order: those whose shape is valid; each runs only while the
 * start-up check bound it.
 */
export function policyJobs(config: CronwardenConfig = getCronwardenConfig()): AnyJob[] {
  let list = policyJobsOf.get(config);
  if (!list) policyJobsOf.set(config, (list = config.policies.map(policyJob)));
  return list;
}

/** A built-in job, or a policy's (`policies/<name>`); undefined for any other name. */
export function getJob(name: string, config?: CronwardenConfig): AnyJob | undefined {
  if (name.startsWith(POLICY_JOB_PREFIX)) return policyJobs(config).find((j) => j.name === name);
  return jobs.find((j) => j.name === name);
}

export const jobNames = jobs.map((j) => j.name);
