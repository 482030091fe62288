import Link from 'next/link';
import { notFound } from 'next/navigation';
import { getApp, getJobDeps } from '@/lib/app';
import { isDatabaseUnavailable } from '@/lib/db/availability';
import { requireAdminPage } from '@/lib/admin/guard';
import { getRun } from '@/lib/admin/jobs';
import { formatCount, formatDuration, formatUtc, relativeTime } from '@/lib/admin/format';
import styles from '../../../admin.module.css';
import { DatabaseUnreachable } from '../../database-unreachable';

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
    loaded = { deps, run: await getRun(deps.db, id) };
  } catch (err) {
    if (isDatabaseUnavailable(err)) return <DatabaseUnreachable error={err} since={getApp().database.downSince()} retryHref={`/admin/runs/${id}`} />;
    throw err;
  }
  const { deps, run } = loaded;
  if (!run) notFound();
  const now = deps.now();
  const errors = Array.isArray(run.result?.errors) ? (run.result.errors as ResultError[]) : [];

  return (
    <>
      <p>
        <Link href="/admin#runs">← All runs</Link>
      </p>
      <h1 className={styles.pageTitle}>
        Run of <span className={styles.mono}>{run.job}</span>{' '}
        <span className={`${styles.badge} ${styles[`badge_${run.status}`] ?? ''}`} data-testid="run-status">
          {run.status}
        </span>{' '}
        {run.dry_run && <span className={`${styles.badge} ${styles.badge_dry}`}>dry run</span>}
      </h1>

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
          <dd>{formatCount(run.rows_affected)}</dd>
          <dt>Trigger</dt>
          <dd>{run.trigger}</dd>
          <dt>Input</dt>
          <dd className={styles.mono}>{JSON.stringify(run.input)}</dd>
        </dl>
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
        <h2>Errors reported by the job ({errors.length})</h2>
        {errors.length === 0 ? (
          <div className={styles.empty}>None.</div>
        ) : (
          <div className={styles.tableWrap}>
            <table className={styles.table}>
              <thead>
                <tr>
                  <th>Subject</th>
                  <th>Message</th>
                </tr>
              </thead>
              <tbody>
                {errors.map((e, i) => (
                  <tr key={i}>
                    <td className={styles.mono}>{String(e.subject ?? '')}</td>
                    <td className={styles.errorText}>{String(e.message ?? '')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section className={styles.panel}>
        <h2>Result</h2>
        {run.result ? (
          <pre className={styles.pre} data-testid="run-result-json">
            {JSON.stringify(run.result, null, 2)}
          </pre>
        ) : (
          <div className={styles.empty}>{run.status === 'running' ? 'Still running.' : 'No result recorded.'}</div>
        )}
      </section>
    </>
  );
}
