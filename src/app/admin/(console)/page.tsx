import Link from 'next/link';
import { getApp, getJobDeps } from '@/lib/app';
import { isDatabaseUnavailable } from '@/lib/db/availability';
import { requireAdminPage } from '@/lib/admin/guard';
import { jobsOverview, recentRuns, runsPerDayOf, type JobOverview } from '@/lib/admin/jobs';
import { openAlertsBySubject } from '@/lib/alerts/store';
import { FeatureUnavailableError } from '@/lib/bindings/features';
import { RuleUnavailableError, type RuleStates } from '@/lib/policies/apply';
import type { FeatureName } from '@/lib/bindings/spec';
import type { FeatureStates } from '@/lib/bindings/apply';
import { settle } from '@/lib/admin/settle';
import { activeScheduler } from '@/lib/schedules/scheduler';
import { formatCount, formatDuration, formatUtc, relativeTime } from '@/lib/admin/format';
import styles from '../admin.module.css';
import { BarSeriesChart } from './charts';
import { DatabaseUnreachable } from './database-unreachable';
import { FeatureStatesPanel } from './feature-states';
import { JobsTable, type JobRowView } from './jobs-table';
import { AlertsPanel } from './panels/alerts';
import { DeletionsPanel } from './panels/deletions';
import { DraftsPanel } from './panels/drafts';
import { ExportsPanel } from './panels/exports';
import { MaintenancePanel } from './panels/maintenance';
import { RUN_OUTCOME_SERIES, RunStatusBadges } from './run-badges';
import { OperatorWarnings } from './warnings';

export const dynamic = 'force-dynamic';

const RECENT_RUNS = 15;
const HISTORY_DAYS = 14;

function jobRowView(j: JobOverview, now: Date, features: FeatureStates, rules: RuleStates | undefined): JobRowView {
  const feature = j.feature ? features[j.feature as FeatureName] : undefined;
  // A policy or orphan sweep whose rule did not bind at start: its reasons, as its route gives them.
  const rule = rules?.[j.name];
  const newerDry = j.last_dry_run && (!j.last_run || j.last_dry_run.started_at > j.last_run.started_at) ? j.last_dry_run : null;
  return {
    name: j.name,
    description: j.description,
    schedule: j.schedule,
    scheduleText: j.schedule_text,
    firedBy: j.fired_by
      ? {
          label: j.fired_by.label,
          lessOften: j.fired_by.less_often,
          last: formatUtc(j.fired_by.last_fired_at),
          lastRelative: relativeTime(j.fired_by.last_fired_at, now),
        }
      : null,
    nextRun: formatUtc(j.next_run_at),
    nextRunRelative: relativeTime(j.next_run_at, now),
    running: j.running,
    runs24h: j.runs_24h,
    failures24h: j.failures_24h,
    openAlerts: j.open_alerts,
    lastRun: j.last_run
      ? {
          id: j.last_run.id,
          status: j.last_run.status,
          started: formatUtc(j.last_run.started_at),
          startedRelative: relativeTime(j.last_run.started_at, now),
          duration: formatDuration(j.last_run.duration_ms),
          rowsAffected: formatCount(j.last_run.rows_affected),
        }
      : null,
    newerDryRun: newerDry ? { id: newerDry.id, startedRelative: relativeTime(newerDry.started_at, now) } : null,
    unavailable: feature && !feature.bound ? new FeatureUnavailableError(feature).message : rule && !rule.bound ? new RuleUnavailableError(j.name, rule.problems).message : null,
  };
}

/** The data the page cannot do without (the panels load their own, each on its own). */
async function loadOverview() {
  const deps = await getJobDeps();
  const now = deps.now();
  // Alert state is optional for the jobs table: without it the column says n/a.
  const openAlerts = await settle('job-alerts', () => openAlertsBySubject(deps.db, now));
  const [jobs, runs, perDay] = await Promise.all([
    jobsOverview(deps.db, now, openAlerts.ok ? openAlerts.value : undefined, activeScheduler(deps.config)),
    recentRuns(deps.db, null, RECENT_RUNS),
    runsPerDayOf(deps.db, now, HISTORY_DAYS),
  ]);
  return { deps, now, jobs, runs, perDay };
}

export default async function AdminOverview() {
  await requireAdminPage();
  let loaded;
  try {
    loaded = await loadOverview();
  } catch (err) {
    if (isDatabaseUnavailable(err)) return <DatabaseUnreachable error={err} since={getApp().database.downSince()} retryHref="/admin" />;
    throw err;
  }
  const { deps, now, jobs, runs, perDay } = loaded;

  return (
    <>
      <OperatorWarnings />
      <h1 className={styles.pageTitle}>Overview</h1>
      <FeatureStatesPanel states={deps.features} />

      <section id="jobs" className={styles.panel}>
        <h2>Jobs</h2>
        <p className={styles.panelNote}>
          Schedules in UTC, with the scheduler that fires each job. “Dry run” reports what a run would do and changes nothing: it is
          never a job’s last run and never counted as succeeded or failed.
        </p>
        <JobsTable rows={jobs.map((j) => jobRowView(j, now, deps.features, deps.rules))} />
      </section>

      <AlertsPanel deps={deps} />

      <section id="runs" className={styles.panel}>
        <h2>Runs</h2>
        <p className={styles.panelNote}>Runs per day over the last {HISTORY_DAYS} days (UTC), by outcome; dry runs stand apart.</p>
        <BarSeriesChart
          label="Runs per day"
          data={perDay.map((d) => ({ ...d, day: d.day.slice(5) }))}
          xKey="day"
          xLabel="Day (UTC)"
          yLabel="Runs"
          emptyText={`No runs in the last ${HISTORY_DAYS} days.`}
          series={RUN_OUTCOME_SERIES}
        />
        <h3>Recent runs</h3>
        {runs.length === 0 ? (
          <div className={styles.empty}>No runs yet. Jobs run on their schedule, or use “Run now” above.</div>
        ) : (
          <div className={styles.tableWrap}>
            <table className={`${styles.table} ${styles.cards}`} data-testid="recent-runs">
              <thead>
                <tr>
                  <th>Started</th>
                  <th>Job</th>
                  <th>Status</th>
                  <th>Trigger</th>
                  <th className={styles.num}>Duration</th>
                  <th className={styles.num}>Rows affected</th>
                  <th>Error</th>
                </tr>
              </thead>
              <tbody>
                {runs.map((r) => (
                  <tr key={r.id} data-run-id={r.id} data-dry-run={String(r.dry_run)}>
                    <td className={`${styles.nowrap} ${styles.cardHead}`} data-label="Started">
                      <Link href={`/admin/runs/${r.id}`}>{formatUtc(r.started_at)}</Link>
                      <span className={styles.sub}>{relativeTime(r.started_at, now)}</span>
                    </td>
                    <td className={styles.nowrap} data-label="Job">
                      <Link href={`/admin/jobs/${r.job}`} className={styles.jobName}>
                        {r.job}
                      </Link>
                    </td>
                    <td className={styles.nowrap} data-label="Status">
                      <RunStatusBadges status={r.status} dryRun={r.dry_run} />
                    </td>
                    <td data-label="Trigger">{r.trigger}</td>
                    <td className={styles.num} data-label="Duration">{formatDuration(r.duration_ms)}</td>
                    <td className={styles.num} data-label="Rows affected">{r.dry_run ? <span className={styles.unavailable}>none (dry run)</span> : formatCount(r.rows_affected)}</td>
                    <td className={styles.errorText} data-label="Error">{r.error ? r.error.slice(0, 140) : ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <ExportsPanel deps={deps} />
      <div className={styles.grid2}>
        <MaintenancePanel deps={deps} />
        <DraftsPanel deps={deps} />
      </div>
      <DeletionsPanel deps={deps} />
    </>
  );
}
