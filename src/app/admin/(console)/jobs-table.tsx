'use client';

import Link from 'next/link';
import styles from '../admin.module.css';
import { RunResultBox, useRunJob } from './run-controls';

export interface JobRowView {
  name: string;
  description: string;
  schedule: string | null;
  scheduleText: string;
  /** Who fires the job and when it last did: "Vercel Cron (Pro)", "3 h ago" ('' when never). */
  firedBy: { label: string; lessOften: boolean; last: string; lastRelative: string } | null;
  nextRun: string;
  nextRunRelative: string;
  running: boolean;
  runs24h: number;
  failures24h: number;
  openAlerts: number | null;
  lastRun: {
    id: string;
    status: string;
    started: string;
    startedRelative: string;
    duration: string;
    rowsAffected: string;
  } | null;
  /** The latest dry run, when it is newer than the last run: shown beside it, never as it. */
  newerDryRun: { id: string; startedRelative: string } | null;
  /** Why the job cannot run here (its feature is switched off or not bound), or null. */
  unavailable: string | null;
}

function Badge({ status }: { status: string }) {
  return <span className={`${styles.badge} ${styles[`badge_${status}`] ?? ''}`}>{status}</span>;
}

/**
 * Every job with its state, last run and "Run now". On a narrow screen each row becomes a card
 * (the cells' data-label names them), so nothing needs a sideways scroll.
 */
export function JobsTable({ rows }: { rows: JobRowView[] }) {
  const { busy, result, run } = useRunJob();

  if (rows.length === 0) return <div className={styles.empty}>No jobs are registered.</div>;

  return (
    <>
      <div className={styles.tableWrap}>
        <table className={`${styles.table} ${styles.cards}`} data-testid="jobs-table">
          <thead>
            <tr>
              <th>Job</th>
              <th>Status</th>
              <th>Last run</th>
              <th className={styles.num}>Duration</th>
              <th className={styles.num}>Rows</th>
              <th>Schedule</th>
              <th>Next run</th>
              <th className={styles.num} title="Failed runs in the last 24 hours (dry runs not counted)">Failed 24 h</th>
              <th className={styles.num} title="Open alerts about this job">Alerts</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((j) => (
              <tr key={j.name} data-job={j.name}>
                <td className={styles.cardHead} data-label="Job">
                  <Link href={`/admin/jobs/${j.name}`} className={styles.jobName} data-testid="job-link">
                    {j.name}
                  </Link>
                  <span className={`${styles.sub} ${styles.jobDesc}`}>{j.description}</span>
                </td>
                <td data-label="Status" data-testid="job-status">
                  {j.running ? <Badge status="running" /> : j.lastRun ? <Badge status={j.lastRun.status} /> : <span className={styles.unavailable}>never ran</span>}
                  {j.unavailable && <span className={`${styles.badge} ${styles.badge_off}`} title={j.unavailable}>not available</span>}
                </td>
                <td className={styles.nowrap} data-label="Last run" data-testid="job-last-run">
                  {j.lastRun ? (
                    <>
                      <Link href={`/admin/runs/${j.lastRun.id}`}>{j.lastRun.startedRelative}</Link>
                      <span className={styles.sub}>{j.lastRun.started}</span>
                    </>
                  ) : (
                    <span className={styles.unavailable}>never</span>
                  )}
                  {j.newerDryRun && (
                    <span className={styles.sub} data-testid="newer-dry-run">
                      <Link href={`/admin/runs/${j.newerDryRun.id}`}>
                        <span className={`${styles.badge} ${styles.badge_dry}`}>dry run</span> {j.newerDryRun.startedRelative}
                      </Link>
                    </span>
                  )}
                </td>
                <td className={styles.num} data-label="Duration">{j.lastRun?.duration ?? '—'}</td>
                <td className={styles.num} data-label="Rows">{j.lastRun?.rowsAffected ?? '—'}</td>
                <td className={styles.schedule} data-label="Schedule">
                  {j.scheduleText}
                  {j.schedule && <span className={`${styles.sub} ${styles.mono} ${styles.nowrap}`}>{j.schedule}</span>}
                  {j.firedBy && (
                    <span className={styles.sub} data-testid="fired-by" title={j.firedBy.last}>
                      by {j.firedBy.label}
                      {j.firedBy.lessOften ? ', once a day' : ''}; last {j.firedBy.lastRelative || 'never'}
                    </span>
                  )}
                </td>
                <td className={styles.nowrap} data-label="Next run">
                  {j.nextRunRelative || '—'}
                  <span className={styles.sub}>{j.nextRun}</span>
                </td>
                <td className={styles.num} data-label="Failed 24 h">
                  {j.failures24h}
                  <span className={styles.sub}>of {j.runs24h}</span>
                </td>
                <td className={styles.num} data-label="Alerts">{j.openAlerts === null ? <span className={styles.unavailable}>n/a</span> : j.openAlerts}</td>
                <td className={styles.cardActions}>
                  <div className={styles.actions}>
                    <button
                      className={styles.button}
                      disabled={busy !== null || j.unavailable !== null}
                      title={j.unavailable ?? undefined}
                      onClick={() => run(j.name, { dryRun: false })}
                      data-action="run"
                    >
                      Run now
                    </button>
                    <button
                      className={styles.buttonSecondary}
                      disabled={busy !== null || j.unavailable !== null}
                      title={j.unavailable ?? undefined}
                      onClick={() => run(j.name, { dryRun: true })}
                      data-action="dry-run"
                    >
                      Dry run
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {result && <RunResultBox result={result} />}
    </>
  );
}
