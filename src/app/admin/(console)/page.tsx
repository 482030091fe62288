import Link from 'next/link';
import { getApp, getJobDeps } from '@/lib/app';
import { isDatabaseUnavailable } from '@/lib/db/availability';
import { requireAdminPage } from '@/lib/admin/guard';
import { jobsOverview, recentRuns, runsPerDay, type JobOverview } from '@/lib/admin/jobs';
import { openAlertsBySubject } from '@/lib/alerts/store';
import { settle } from '@/lib/admin/settle';
import { activeScheduler } from '@/lib/schedules/scheduler';
import { formatCount, formatDuration, formatUtc, relativeTime } from '@/lib/admin/format';
import styles from '../admin.module.css';
import { BarSeriesChart } from './charts';
import { DatabaseUnreachable } from './database-unreachable';
import { JobsTable, type JobRowView } from './jobs-table';
import { AlertsPanel } from './panels/alerts';
import { DeletionsPanel } from './panels/deletions';
import { DraftsPanel } from './panels/drafts';
import { ExportsPanel } from './panels/exports';
import { MaintenancePanel } from './panels/maintenance';

export const dynamic = 'force-dynamic';

/** How many runs the history chart and table read (cron_recent_runs caps at 500). */
const HISTORY_RUNS = 500;
const HISTORY_DAYS = 14;

function jobRowView(j: JobOverview, now: Date): JobRowView {
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
  };
}

function Badge({ status }: { status: string }) {
  return <span className={`${styles.badge} ${styles[`badge_${status}`] ?? ''}`}>{status}</span>;
}

/** The data the page cannot do without (the panels load their own, each on its own). */
async function loadOverview() {
  const deps = await getJobDeps();
  const now = deps.now();
  // Alert state is optional for the jobs table: without it the column says n/a.
  const openAlerts = await settle('job-alerts', () => openAlertsBySubject(deps.db, now));
  const [jobs, runs] = await Promise.all([
    jobsOverview(deps.db, now, openAlerts.ok ? openAlerts.value : undefined, activeScheduler(deps.config)),
    recentRuns(deps.db, null, HISTORY_RUNS),
  ]);
  return { deps, now, jobs, runs };
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
  const { deps, now, jobs, runs } = loaded;
  const perDay = runsPerDay(runs, now, HISTORY_DAYS).map((d) => ({ ...d, day: d.day.slice(5) }));

  return (
    <>
      <h1 className={styles.pageTitle}>Overview</h1>

      <section id="jobs" className={styles.panel}>
        <h2>Jobs</h2>
        <p className={styles.panelNote}>
          Schedules in UTC, with the scheduler that fires each job. “Dry run” reports what a run would do and changes nothing.
        </p>
        <JobsTable rows={jobs.map((j) => jobRowView(j, now))} />
      </section>

      <AlertsPanel deps={deps} />

      <section id="runs" className={styles.panel}>
        <h2>Runs</h2>
        <p className={styles.panelNote}>
          Runs per day over the last {HISTORY_DAYS} days, by outcome (from the latest {HISTORY_RUNS} runs).
        </p>
        <BarSeriesChart
          label="Runs per day"
          data={perDay}
          xKey="day"
          emptyText={`No runs in the last ${HISTORY_DAYS} days.`}
          series={[
            { key: 'succeeded', name: 'Succeeded', color: '#1f9d55', stack: 'runs' },
            { key: 'partial', name: 'Partial', color: '#d68a1c', stack: 'runs' },
            { key: 'failed', name: 'Failed', color: '#c8372d', stack: 'runs' },
            { key: 'skipped', name: 'Skipped (overlap)', color: '#9aa3ad', stack: 'runs' },
          ]}
        />
        <h3>Recent runs</h3>
        {runs.length === 0 ? (
          <div className={styles.empty}>No runs yet. Jobs run on their schedule, or use “Run now” above.</div>
        ) : (
          <div className={styles.tableWrap}>
            <table className={styles.table} data-testid="recent-runs">
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
                {runs.slice(0, 15).map((r) => (
                  <tr key={r.id} data-run-id={r.id}>
                    <td className={styles.nowrap}>
                      <Link href={`/admin/runs/${r.id}`}>{formatUtc(r.started_at)}</Link>
                      <span className={styles.sub}>{relativeTime(r.started_at, now)}</span>
                    </td>
                    <td className={`${styles.jobName} ${styles.nowrap}`}>{r.job}</td>
                    <td className={styles.nowrap}>
                      <Badge status={r.status} /> {r.dry_run && <span className={`${styles.badge} ${styles.badge_dry}`}>dry run</span>}
                    </td>
                    <td>{r.trigger}</td>
                    <td className={styles.num}>{formatDuration(r.duration_ms)}</td>
                    <td className={styles.num}>{formatCount(r.rows_affected)}</td>
                    <td className={styles.errorText}>{r.error ? r.error.slice(0, 140) : ''}</td>
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
