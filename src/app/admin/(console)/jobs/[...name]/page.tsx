import Link from 'next/link';
import type { ReactNode } from 'react';
import { notFound } from 'next/navigation';
import { getApp, getJobDeps } from '@/lib/app';
import { isDatabaseUnavailable } from '@/lib/db/availability';
import { requireAdminPage } from '@/lib/admin/guard';
import { durationWindow, jobDurations, jobRunFacets, jobRunPage, runLogLines, RUN_STATUSES, type RunFilters } from '@/lib/admin/job-history';
import { jobsOverview, type RunStatus } from '@/lib/admin/jobs';
import { FeatureUnavailableError } from '@/lib/bindings/features';
import type { FeatureName } from '@/lib/bindings/spec';
import { getJob } from '@/lib/cron/registry';
import { formatCount, formatDuration, formatUtc, relativeTime } from '@/lib/admin/format';
import styles from '../../../admin.module.css';
import { LineSeriesChart } from '../../charts';
import { DatabaseUnreachable } from '../../database-unreachable';
import { FeatureUnavailable } from '../../panels/common';
import { RerunButton, RunButtons } from '../../run-controls';
import { RunStatusBadges } from '../../run-badges';
import { RunLogView } from '../../run-log-view';
import { OperatorWarnings } from '../../warnings';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Job · Cronwarden admin' };

const PAGE_SIZE = 25;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Search = Record<string, string | string[] | undefined>;

interface View {
  status?: RunStatus;
  trigger?: string;
  dry?: 'only' | 'none';
  before?: string;
}

/** The page's filters from its query; a value that is not one of the choices is ignored. */
function viewOf(sp: Search): View {
  const one = (k: string) => (typeof sp[k] === 'string' ? (sp[k] as string) : undefined);
  const status = one('status');
  const trigger = one('trigger');
  const dry = one('dry');
  const before = one('before');
  return {
    status: status && (RUN_STATUSES as readonly string[]).includes(status) ? (status as RunStatus) : undefined,
    trigger: trigger && /^[a-z]{1,32}$/.test(trigger) ? trigger : undefined,
    dry: dry === 'only' || dry === 'none' ? dry : undefined,
    before: before && UUID.test(before) ? before : undefined,
  };
}

function hrefOf(job: string, v: View): string {
  const q = new URLSearchParams();
  if (v.status) q.set('status', v.status);
  if (v.trigger) q.set('trigger', v.trigger);
  if (v.dry) q.set('dry', v.dry);
  if (v.before) q.set('before', v.before);
  const s = q.toString();
  return `/admin/jobs/${job}${s ? `?${s}` : ''}#runs`;
}

function Chip({ href, active, children, name }: { href: string; active: boolean; children: ReactNode; name: string }) {
  return (
    <Link href={href} className={`${styles.chip} ${active ? styles.chipActive : ''}`} aria-current={active ? 'true' : undefined} data-filter={name}>
      {children}
    </Link>
  );
}

// A catch-all: a rule's job name has a kind before its own (`policies/<name>`, `orphan-sweeps/<name>`).
export default async function JobPage({ params, searchParams }: { params: Promise<{ name: string[] }>; searchParams: Promise<Search> }) {
  const name = (await params).name.join('/');
  const known = /^(?:(?:policies|orphan-sweeps)\/)?[a-z0-9-]{1,64}$/.test(name) ? getJob(name) : undefined;
  await requireAdminPage(known ? `/admin/jobs/${name}` : '/admin');
  if (!known) notFound();
  const job = known;
  const view = viewOf(await searchParams);
  const filters: RunFilters = { status: view.status, trigger: view.trigger, dryRun: view.dry === undefined ? undefined : view.dry === 'only' };

  let loaded;
  try {
    const deps = await getJobDeps();
    const now = deps.now();
    const [overview, page, facets] = await Promise.all([
      jobsOverview(deps.db, now),
      jobRunPage(deps.db, job.name, filters, view.before ?? null, PAGE_SIZE),
      jobRunFacets(deps.db, job.name),
    ]);
    const summary = overview.find((j) => j.name === job.name)!;
    const span = durationWindow(summary.schedule, now);
    const [durations, logLines] = await Promise.all([
      jobDurations(deps.db, job.name, span),
      page.runs[0] ? runLogLines(deps.db, page.runs[0].id) : Promise.resolve([]),
    ]);
    loaded = { deps, now, summary, page, facets, span, durations, logLines };
  } catch (err) {
    if (isDatabaseUnavailable(err)) return <DatabaseUnreachable error={err} since={getApp().database.downSince()} retryHref={`/admin/jobs/${job.name}`} />;
    throw err;
  }
  const { deps, now, summary, page, facets, span, durations, logLines } = loaded;
  const feature = job.feature ? deps.features[job.feature as FeatureName] : undefined;
  const unavailable = feature && !feature.bound ? new FeatureUnavailableError(feature).message : null;
  const last = summary.last_run;
  const dry = summary.last_dry_run;
  const logRun = page.runs[0];
  const filtered = Boolean(view.status || view.trigger || view.dry);
  const triggers = Object.keys(facets.byTrigger).sort();

  return (
    <>
      <OperatorWarnings />
      <p className={styles.crumbs}>
        <Link href="/admin#jobs">← All jobs</Link>
      </p>
      <h1 className={styles.pageTitle}>
        <span className={styles.mono}>{job.name}</span>{' '}
        {summary.running ? (
          <RunStatusBadges status="running" dryRun={false} />
        ) : last ? (
          <span data-testid="job-state">
            <RunStatusBadges status={last.status} dryRun={false} />
          </span>
        ) : (
          <span className={styles.unavailable}>never ran</span>
        )}
      </h1>
      <p className={styles.lead}>{job.description}</p>

      <section className={styles.panel} data-testid="job-summary">
        {feature && !feature.bound && <FeatureUnavailable state={feature} />}
        <dl className={styles.facts}>
          <div>
            <dt>Last run</dt>
            <dd data-testid="job-last-run">
              {last ? (
                <>
                  <Link href={`/admin/runs/${last.id}`}>{relativeTime(last.started_at, now)}</Link>{' '}
                  <span className={styles.sub}>
                    {formatUtc(last.started_at)} · {formatDuration(last.duration_ms)} · {formatCount(last.rows_affected)} rows
                  </span>
                </>
              ) : (
                <span className={styles.unavailable}>never</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Next run</dt>
            <dd>
              {relativeTime(summary.next_run_at, now) || '—'} <span className={styles.sub}>{formatUtc(summary.next_run_at)}</span>
            </dd>
          </div>
          <div>
            <dt>Schedule</dt>
            <dd>
              {summary.schedule_text}
              {summary.schedule && <span className={`${styles.sub} ${styles.mono}`}>{summary.schedule}</span>}
            </dd>
          </div>
          <div>
            <dt>Failed, 24 h</dt>
            <dd>
              {summary.failures_24h} <span className={styles.sub}>of {summary.runs_24h} runs (dry runs not counted)</span>
            </dd>
          </div>
          <div>
            <dt>Last dry run</dt>
            <dd data-testid="job-last-dry-run">
              {dry ? (
                <>
                  <Link href={`/admin/runs/${dry.id}`}>{relativeTime(dry.started_at, now)}</Link>{' '}
                  <span className={`${styles.badge} ${styles.badge_dry}`}>dry run</span>{' '}
                  <span className={styles.sub}>changed nothing; not counted as a run</span>
                </>
              ) : (
                <span className={styles.unavailable}>none</span>
              )}
            </dd>
          </div>
        </dl>
        <RunButtons job={job.name} disabledReason={unavailable} />
      </section>

      <section className={styles.panel} id="durations">
        <h2>Durations</h2>
        <p className={styles.panelNote}>
          Runs that changed something over the last {span.label}, per {span.bucketSeconds >= 86_400 ? `${span.bucketSeconds / 86_400}-day` : `${span.bucketSeconds / 3600}-hour`} bucket (UTC): median, 95th percentile
          and longest.
        </p>
        <LineSeriesChart
          label="Run duration"
          data={durations.map((d) => ({ label: d.label, p50: d.p50_ms, p95: d.p95_ms, max: d.max_ms }))}
          xKey="label"
          format="ms"
          xLabel="Time (UTC)"
          yLabel="Duration"
          series={[
            { key: 'p50', name: 'Median', color: '#2457c5' },
            { key: 'p95', name: 'p95', color: '#d68a1c' },
            { key: 'max', name: 'Longest', color: '#c8372d' },
          ]}
          emptyText={`No finished runs in the last ${span.label}.`}
        />
      </section>

      <section className={styles.panel} id="runs">
        <h2>Runs</h2>
        <div className={styles.filters} data-testid="run-filters">
          <div className={styles.filterRow}>
            <span className={styles.filterName}>Status</span>
            <Chip name="status:all" href={hrefOf(job.name, { ...view, status: undefined, before: undefined })} active={!view.status}>
              all <span className={styles.chipCount}>{formatCount(facets.total)}</span>
            </Chip>
            {RUN_STATUSES.filter((s) => facets.byStatus[s]).map((s) => (
              <Chip key={s} name={`status:${s}`} href={hrefOf(job.name, { ...view, status: s, before: undefined })} active={view.status === s}>
                {s} <span className={styles.chipCount}>{formatCount(facets.byStatus[s])}</span>
              </Chip>
            ))}
          </div>
          <div className={styles.filterRow}>
            <span className={styles.filterName}>Trigger</span>
            <Chip name="trigger:all" href={hrefOf(job.name, { ...view, trigger: undefined, before: undefined })} active={!view.trigger}>
              all
            </Chip>
            {triggers.map((t) => (
              <Chip key={t} name={`trigger:${t}`} href={hrefOf(job.name, { ...view, trigger: t, before: undefined })} active={view.trigger === t}>
                {t} <span className={styles.chipCount}>{formatCount(facets.byTrigger[t])}</span>
              </Chip>
            ))}
          </div>
          <div className={styles.filterRow}>
            <span className={styles.filterName}>Kind</span>
            <Chip name="dry:all" href={hrefOf(job.name, { ...view, dry: undefined, before: undefined })} active={!view.dry}>
              all
            </Chip>
            <Chip name="dry:none" href={hrefOf(job.name, { ...view, dry: 'none', before: undefined })} active={view.dry === 'none'}>
              real runs <span className={styles.chipCount}>{formatCount(facets.total - facets.dryRuns)}</span>
            </Chip>
            <Chip name="dry:only" href={hrefOf(job.name, { ...view, dry: 'only', before: undefined })} active={view.dry === 'only'}>
              dry runs <span className={styles.chipCount}>{formatCount(facets.dryRuns)}</span>
            </Chip>
          </div>
        </div>

        {page.runs.length === 0 ? (
          <div className={styles.empty}>{filtered ? 'No runs match these filters.' : view.before ? 'No older runs.' : 'No runs yet.'}</div>
        ) : (
          <div className={styles.tableWrap}>
            <table className={`${styles.table} ${styles.cards}`} data-testid="job-runs">
              <thead>
                <tr>
                  <th>Started</th>
                  <th>Status</th>
                  <th>Trigger</th>
                  <th className={styles.num}>Duration</th>
                  <th className={styles.num}>Rows affected</th>
                  <th>Error</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {page.runs.map((r) => (
                  <tr key={r.id} data-run-id={r.id} data-status={r.status} data-trigger={r.trigger} data-dry-run={String(r.dry_run)}>
                    <td className={`${styles.nowrap} ${styles.cardHead}`} data-label="Started">
                      <Link href={`/admin/runs/${r.id}`}>{formatUtc(r.started_at)}</Link>
                      <span className={styles.sub}>{relativeTime(r.started_at, now)}</span>
                    </td>
                    <td className={styles.nowrap} data-label="Status">
                      <RunStatusBadges status={r.status} dryRun={r.dry_run} />
                    </td>
                    <td data-label="Trigger">{r.trigger}</td>
                    <td className={styles.num} data-label="Duration">{formatDuration(r.duration_ms)}</td>
                    <td className={styles.num} data-label="Rows affected">{r.dry_run ? <span className={styles.unavailable}>none (dry run)</span> : formatCount(r.rows_affected)}</td>
                    <td className={styles.errorText} data-label="Error">{r.error ? r.error.slice(0, 160) : ''}</td>
                    <td className={styles.cardActions}>{r.status === 'failed' && !unavailable && <RerunButton job={job.name} runId={r.id} compact />}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        <nav className={styles.pager} aria-label="Pages of runs">
          {view.before && (
            <Link href={hrefOf(job.name, { ...view, before: undefined })} data-testid="newest-page">
              ← Newest
            </Link>
          )}
          {page.nextBefore && (
            <Link href={hrefOf(job.name, { ...view, before: page.nextBefore })} data-testid="older-page">
              Older runs →
            </Link>
          )}
        </nav>
      </section>

      <section className={styles.panel} id="log">
        <h2>Log</h2>
        {logRun ? (
          <p className={styles.panelNote}>
            The lines the newest run {filtered ? 'shown above' : 'of this job'} wrote (
            <Link href={`/admin/runs/${logRun.id}`}>{formatUtc(logRun.started_at)}</Link>
            {logRun.dry_run ? ', a dry run' : ''}), captured with the run, secrets redacted.
          </p>
        ) : null}
        <RunLogView
          lines={logLines}
          emptyText={logRun ? (logRun.trigger === 'demo' ? 'Demo history: no log lines were recorded with this run.' : 'No log lines were captured with this run.') : 'No run to show.'}
        />
      </section>
    </>
  );
}
