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
import { orphanSweepJob } from '../jobs/orphan-sweep';
import { ORPHAN_SWEEP_JOB_PREFIX, POLICY_JOB_PREFIX } from '../policies/compile';
import type { JobDefinition } from './types';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each job has its own input type
export type AnyJob = JobDefinition<any>;

/**
 * The closed set of jobs. Each is served at /api/cron/<name> and scheduled in the schedule
 * table (src/lib/schedules/table.ts); tests check the three agree, and vercel.json with them.
 */
export const jobs: readonly AnyJob[] = [runHistoryPruneJob, alertsEvaluateJob, maintenanceJob, draftCleanupJob, exportFileCleanupJob, exportLogCleanupJob, exportMetricsAggregateJob, storageCleanupRetryJob];

const ruleJobsOf = new WeakMap<CronwardenConfig, AnyJob[]>();

/**
 * The jobs of the team's own rules in cronwarden.config.ts, in its order: each retention policy
 * (`policies/<name>`, served at /api/cron/policies/<name>), then each orphaned-file sweep
 * (`orphan-sweeps/<name>`, at /api/cron/orphan-sweeps/<name>); those whose shape is valid. Each
 * runs only while the start-up check bound it.
 */
export function ruleJobs(config: CronwardenConfig = getCronwardenConfig()): AnyJob[] {
  let list = ruleJobsOf.get(config);
  if (!list) ruleJobsOf.set(config, (list = [...config.policies.map(policyJob), ...config.orphanSweeps.map(orphanSweepJob)]));
  return list;
}

/** A built-in job, or a rule's (`policies/<name>`, `orphan-sweeps/<name>`); undefined for any other name. */
export function getJob(name: string, config?: CronwardenConfig): AnyJob | undefined {
  if (name.startsWith(POLICY_JOB_PREFIX) || name.startsWith(ORPHAN_SWEEP_JOB_PREFIX)) return ruleJobs(config).find((j) => j.name === name);
  return jobs.find((j) => j.name === name);
}

export const jobNames = jobs.map((j) => j.name);
