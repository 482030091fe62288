import Link from 'next/link';
import { notFound } from 'next/navigation';
import { getApp, getJobDeps } from '@/lib/app';
import { isDatabaseUnavailable } from '@/lib/db/availability';
import { requireAdminPage } from '@/lib/admin/guard';
import { runLogLines } from '@/lib/admin/job-history';
import { getRun } from '@/lib/admin/jobs';
import { getJob } from '@/lib/cron/registry';
import { formatCount, formatDuration, formatUtc, relativeTime } from '@/lib/admin/format';
import styles from '../../../admin.module.css';
import { DatabaseUnreachable } from '../../database-unreachable';
import { ResultView } from '../../result-view';
import { RerunButton } from '../../run-controls';
import { RunLogView } from '../../run-log-view';
import { OperatorWarnings } from '../../warnings';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Run · Cronwarden admin' };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface ResultError {
  subject?: unknown;
  message?: unknown;
}

export default async function RunPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  await requireAdminPage(UUID.test(id) ? `/admin/runs/${id}` : '/admin');
  if (!UUID.test(id)) notFound();
  let loaded;
  try {
    const deps = await getJobDeps();
    const [run, logLines] = await Promise.all([getRun(deps.db, id), runLogLines(deps.db, id)]);
    loaded = { deps, run, logLines };
  } catch (err) {
    if (isDatabaseUnavailable(err)) return <DatabaseUnreachable error={err} since={getApp().database.downSince()} retryHref={`/admin/runs/${id}`} />;
    throw err;
  }
  const { deps, run, logLines } = loaded;
  if (!run) notFound();
  const now = deps.now();
  const errors = Array.isArray(run.result?.errors) ? (run.result.errors as ResultError[]) : [];
  const rerunOf = typeof run.result?.rerun_of === 'string' ? run.result.rerun_of : null;
  const known = getJob(run.job);

  return (
    <>
      <OperatorWarnings />
      <p className={styles.crumbs}>
        <Link href="/admin#runs">← All runs</Link>
        {known && (
          <>
            {' · '}
            <Link href={`/admin/jobs/${run.job}`}>Runs of {run.job}</Link>
          </>
        )}
      </p>
      <h1 className={styles.pageTitle}>
        Run of <span className={styles.mono}>{run.job}</span>{' '}
        <span className={`${styles.badge} ${styles[`badge_${run.status}`] ?? ''}`} data-testid="run-status">
          {run.status}
        </span>{' '}
        {run.dry_run && (
          <span className={`${styles.badge} ${styles.badge_dry}`} data-testid="dry-run-badge">
            dry run
          </span>
        )}
      </h1>
      {run.dry_run && (
        <p className={styles.dryNote} data-testid="dry-run-note">
          A dry run reports what a run would do and changes nothing. It is not the job’s last run and is not counted as succeeded or failed.
        </p>
      )}

      <section className={styles.panel}>
        <dl className={styles.kv}>
          <dt>Run id</dt>
          <dd className={styles.mono}>{run.id}</dd>
          <dt>Started</dt>
          <dd>
            {formatUtc(run.started_at)} ({relativeTime(run.started_at, now)})
          </dd>
          <dt>Finished</dt>
          <dd>{formatUtc(run.finished_at)}</dd>
          <dt>Duration</dt>
          <dd>{formatDuration(run.duration_ms)}</dd>
          <dt>Rows affected</dt>
          <dd>{run.dry_run ? 'none (dry run)' : formatCount(run.rows_affected)}</dd>
          <dt>Trigger</dt>
          <dd>{run.trigger}</dd>
          <dt>Input</dt>
          <dd className={styles.mono}>{Object.keys(run.input).length === 0 ? 'the job’s defaults' : JSON.stringify(run.input)}</dd>
          {rerunOf && (
            <>
              <dt>Runs again</dt>
              <dd>
                <Link href={`/admin/runs/${rerunOf}`} className={styles.mono}>
                  {rerunOf}
                </Link>{' '}
                (a failed run, with the same input)
              </dd>
            </>
          )}
        </dl>
        {run.status === 'failed' && known && (
          <div className={styles.rerun}>
            <RerunButton job={run.job} runId={run.id} />
          </div>
        )}
      </section>

      {run.error && (
        <section className={styles.panel}>
          <h2>Error</h2>
          <p className={styles.errorText} data-testid="run-error">
            {run.error}
          </p>
        </section>
      )}

      <section className={styles.panel}>
        <h2>Result</h2>
        {run.result ? (
          <ResultView result={run.result} />
        ) : (
          <div className={styles.empty}>{run.status === 'running' ? 'Still running.' : 'No result recorded.'}</div>
        )}
      </section>

      <section className={styles.panel}>
        <h2>Errors reported by the job ({errors.length})</h2>
        {errors.length === 0 ? (
          <div className={styles.empty}>None.</div>
        ) : (
          <div className={styles.tableWrap}>
            <table className={`${styles.table} ${styles.cards}`}>
              <thead>
                <tr>
                  <th>Subject</th>
                  <th>Message</th>
                </tr>
              </thead>
              <tbody>
                {errors.map((e, i) => (
                  <tr key={i}>
                    <td className={styles.mono} data-label="Subject">
                      {String(e.subject ?? '')}
                    </td>
                    <td className={styles.errorText} data-label="Message">
                      {String(e.message ?? '')}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className={styles.panel} id="log">
        <h2>Log ({logLines.length} lines)</h2>
        <p className={styles.panelNote}>What the run wrote to its log, captured with the run (secrets redacted, at most 200 lines and 64 KB).</p>
        <RunLogView
          lines={logLines}
          emptyText={run.trigger === 'demo' ? 'Demo history: no log lines were recorded with this run.' : 'No log lines were captured with this run.'}
        />
      </section>
    </>
  );
}
