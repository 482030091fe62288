'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import styles from '../admin.module.css';
import { ResultView } from './result-view';

export interface RunResultState {
  job: string;
  dryRun: boolean;
  tone: 'ok' | 'bad' | 'info';
  title: string;
  runId?: string;
  /** The run's result (a finished run) or the error body. */
  result?: Record<string, unknown>;
}

type RunBody = { dryRun: boolean } | { rerunOf: string };

interface Answer {
  success?: boolean;
  result?: { run_id?: string; status?: string; dry_run?: boolean } & Record<string, unknown>;
  error?: { code?: string; message?: string; run_id?: string; holder_run_id?: string } & Record<string, unknown>;
}

/**
 * Starts a run through POST /api/admin/jobs/<job>/run (the runner's single flight: a second run
 * while one holds the lease answers 409) and keeps what came back for <RunResultBox>.
 */
export function useRunJob() {
  const router = useRouter();
  const [busy, setBusy] = useState<string | null>(null);
  const [result, setResult] = useState<RunResultState | null>(null);

  async function run(job: string, body: RunBody) {
    const rerun = 'rerunOf' in body;
    const dryRun = 'dryRun' in body && body.dryRun;
    const what = rerun ? 'Run again' : dryRun ? 'Dry run' : 'Run';
    setBusy(job);
    setResult({ job, dryRun, tone: 'info', title: `${what} of ${job}: running…` });
    try {
      const res = await fetch(`/api/admin/jobs/${encodeURIComponent(job)}/run`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      const answer = (await res.json().catch(() => null)) as Answer | null;
      // A failed run answers 500 with its result: show it like any other finished run.
      if ((res.ok || res.status === 500) && answer?.result) {
        const status = answer.result.status ?? 'succeeded';
        const wasDry = answer.result.dry_run === true;
        setResult({
          job,
          dryRun: wasDry,
          tone: status === 'failed' ? 'bad' : 'ok',
          title: `${wasDry ? 'Dry run' : what} of ${job}: ${status}${wasDry ? ' (nothing was changed)' : ''}`,
          runId: answer.result.run_id,
          result: answer.result,
        });
      } else if (res.status === 409 && answer?.error?.code === 'ALREADY_RUNNING') {
        setResult({ job, dryRun, tone: 'bad', title: `${job} is already running; try again when it has finished.`, runId: answer.error.holder_run_id });
      } else if (res.status === 401) {
        setResult({ job, dryRun, tone: 'bad', title: 'Your session has ended: sign in again.' });
      } else {
        setResult({
          job,
          dryRun,
          tone: 'bad',
          title: `${what} of ${job} failed (HTTP ${res.status}): ${answer?.error?.message ?? 'no details'}`,
          runId: answer?.error?.run_id,
          result: answer?.error,
        });
      }
    } catch (err) {
      setResult({ job, dryRun, tone: 'bad', title: `Could not reach the server: ${(err as Error).message}` });
    } finally {
      setBusy(null);
      router.refresh();
    }
  }

  return { busy, result, run };
}

export function RunResultBox({ result, compact = false }: { result: RunResultState; compact?: boolean }) {
  return (
    <div
      className={`${styles.result} ${result.tone === 'ok' ? styles.resultOk : result.tone === 'bad' ? styles.resultBad : ''}`}
      data-testid="run-result"
      data-tone={result.tone}
      aria-live="polite"
    >
      <p className={styles.resultTitle}>
        {result.dryRun && <span className={`${styles.badge} ${styles.badge_dry}`}>dry run</span>}
        <span>{result.title}</span>
        {result.runId && <Link href={`/admin/runs/${result.runId}`}>Run details</Link>}
      </p>
      {!compact && result.result !== undefined && <ResultView result={result.result} />}
    </div>
  );
}

/** "Run now" and "Dry run" for one job, with the outcome below them (the job's own page). */
export function RunButtons({ job, disabledReason }: { job: string; disabledReason?: string | null }) {
  const { busy, result, run } = useRunJob();
  const disabled = busy !== null || Boolean(disabledReason);
  return (
    <div className={styles.runButtons}>
      <div className={styles.actionsRow}>
        <button className={styles.button} disabled={disabled} title={disabledReason ?? undefined} onClick={() => run(job, { dryRun: false })} data-action="run">
          Run now
        </button>
        <button className={styles.buttonSecondary} disabled={disabled} title={disabledReason ?? undefined} onClick={() => run(job, { dryRun: true })} data-action="dry-run">
          Dry run
        </button>
      </div>
      {result && <RunResultBox result={result} />}
    </div>
  );
}

/**
 * "Run again" for a failed run: the same input (and dry or not, as it was), through the same path.
 * `compact` (in a table row) shows the outcome's title and link only.
 */
export function RerunButton({ job, runId, compact = false }: { job: string; runId: string; compact?: boolean }) {
  const { busy, result, run } = useRunJob();
  return (
    <div className={styles.runButtons}>
      <button className={styles.buttonSecondary} disabled={busy !== null} onClick={() => run(job, { rerunOf: runId })} data-action="rerun">
        Run again
      </button>
      {result && <RunResultBox result={result} compact={compact} />}
    </div>
  );
}
