'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import styles from '../admin.module.css';

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
}

interface RunResultView {
  job: string;
  dryRun: boolean;
  tone: 'ok' | 'bad' | 'info';
  title: string;
  runId?: string;
  body?: unknown;
}

function Badge({ status }: { status: string }) {
  return <span className={`${styles.badge} ${styles[`badge_${status}`] ?? ''}`}>{status}</span>;
}

export function JobsTable({ rows }: { rows: JobRowView[] }) {
  const router = useRouter();
  const [busy, setBusy] = useState<string | null>(null);
  const [result, setResult] = useState<RunResultView | null>(null);

  async function run(job: string, dryRun: boolean) {
    setBusy(job);
    setResult({ job, dryRun, tone: 'info', title: `${dryRun ? 'Dry run' : 'Run'} of ${job}: running…` });
    const what = dryRun ? 'Dry run' : 'Run';
    try {
      const res = await fetch(`/api/admin/jobs/${encodeURIComponent(job)}/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ dryRun }),
      });
      const body = (await res.json().catch(() => null)) as
        | { success?: boolean; result?: { run_id?: string; status?: string }; error?: { code?: string; message?: string; run_id?: string; holder_run_id?: string } }
        | null;
      // A failed run answers 500 with its result: show it like any other finished run.
      if ((res.ok || res.status === 500) && body?.result) {
        const status = body.result.status ?? 'succeeded';
        setResult({
          job,
          dryRun,
          tone: status === 'failed' ? 'bad' : 'ok',
          title: `${what} of ${job}: ${status}${dryRun ? ' (nothing was changed)' : ''}`,
          runId: body.result.run_id,
          body: body.result,
        });
      } else if (res.status === 409) {
        setResult({
          job,
          dryRun,
          tone: 'bad',
          title: `${job} is already running; try again when it has finished.`,
          runId: body?.error?.holder_run_id,
          body: body?.error,
        });
      } else if (res.status === 401) {
        setResult({ job, dryRun, tone: 'bad', title: 'Your session has ended: sign in again.' });
      } else {
        setResult({
          job,
          dryRun,
          tone: 'bad',
          title: `${what} of ${job} failed (HTTP ${res.status}): ${body?.error?.message ?? 'no details'}`,
          runId: body?.error?.run_id,
          body: body?.error,
        });
      }
    } catch (err) {
      setResult({ job, dryRun, tone: 'bad', title: `Could not reach the server: ${(err as Error).message}` });
    } finally {
      setBusy(null);
      router.refresh();
    }
  }

  if (rows.length === 0) return <div className={styles.empty}>No jobs are registered.</div>;

  return (
    <>
      <div className={styles.tableWrap}>
        <table className={styles.table} data-testid="jobs-table">
          <thead>
            <tr>
              <th>Job</th>
              <th>Schedule</th>
              <th>Last run</th>
              <th>Status</th>
              <th className={styles.num}>Duration</th>
              <th className={styles.num}>Rows</th>
              <th>Next run</th>
              <th className={styles.num} title="Failed runs in the last 24 hours">Failed 24 h</th>
              <th className={styles.num} title="Open alerts about this job">Alerts</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((j) => (
              <tr key={j.name} data-job={j.name}>
                <td>
                  <span className={styles.jobName}>{j.name}</span>
                  <span className={`${styles.sub} ${styles.jobDesc}`}>{j.description}</span>
                </td>
                <td className={styles.schedule}>
                  {j.scheduleText}
                  {j.schedule && <span className={`${styles.sub} ${styles.mono} ${styles.nowrap}`}>{j.schedule}</span>}
                  {j.firedBy && (
                    <span className={styles.sub} data-testid="fired-by" title={j.firedBy.last}>
                      by {j.firedBy.label}
                      {j.firedBy.lessOften ? ', once a day' : ''}; last {j.firedBy.lastRelative || 'never'}
                    </span>
                  )}
                </td>
                <td className={styles.nowrap}>
                  {j.lastRun ? (
                    <>
                      <Link href={`/admin/runs/${j.lastRun.id}`}>{j.lastRun.startedRelative}</Link>
                      <span className={styles.sub}>{j.lastRun.started}</span>
                    </>
                  ) : (
                    <span className={styles.unavailable}>never</span>
                  )}
                </td>
                <td>
                  {j.running ? <Badge status="running" /> : j.lastRun ? <Badge status={j.lastRun.status} /> : <span className={styles.unavailable}>—</span>}
                </td>
                <td className={styles.num}>{j.lastRun?.duration ?? '—'}</td>
                <td className={styles.num}>{j.lastRun?.rowsAffected ?? '—'}</td>
                <td className={styles.nowrap}>
                  {j.nextRunRelative || '—'}
                  <span className={styles.sub}>{j.nextRun}</span>
                </td>
                <td className={styles.num}>
                  {j.failures24h}
                  <span className={styles.sub}>of {j.runs24h}</span>
                </td>
                <td className={styles.num}>{j.openAlerts === null ? <span className={styles.unavailable}>n/a</span> : j.openAlerts}</td>
                <td>
                  <div className={styles.actions}>
                    <button className={styles.button} disabled={busy !== null} onClick={() => run(j.name, false)} data-action="run">
                      Run now
                    </button>
                    <button className={styles.buttonSecondary} disabled={busy !== null} onClick={() => run(j.name, true)} data-action="dry-run">
                      Dry run
                    </button>
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {result && (
        <div
          className={`${styles.result} ${result.tone === 'ok' ? styles.resultOk : result.tone === 'bad' ? styles.resultBad : ''}`}
          data-testid="run-result"
          data-tone={result.tone}
          aria-live="polite"
        >
          <p className={styles.resultTitle}>
            <span>{result.title}</span>
            {result.runId && <Link href={`/admin/runs/${result.runId}`}>Run details</Link>}
          </p>
          {result.body !== undefined && <pre className={styles.pre}>{JSON.stringify(result.body, null, 2)}</pre>}
        </div>
      )}
    </>
  );
}
