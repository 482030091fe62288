import type { JobDeps } from '@/lib/cron/types';
import { formatCount, formatDuration } from '@/lib/admin/format';
import { settle } from '@/lib/admin/settle';
import { deletionStats, errorRateSeries } from '@/lib/monitoring/user-deletion-stats';
import styles from '../../admin.module.css';
import { BarSeriesChart, LineSeriesChart } from '../charts';
import { FeatureUnavailable, PanelUnavailable, Stat } from './common';

const WINDOW_MINUTES = 60;
const SERIES_HOURS = 24;

export async function DeletionsPanel({ deps }: { deps: JobDeps }) {
  const feature = deps.features.userDeletion;
  if (!feature.bound) {
    return (
      <section id="deletions" className={styles.panel}>
        <h2>User deletions</h2>
        <FeatureUnavailable state={feature} />
      </section>
    );
  }
  const now = deps.now();
  const data = await settle('user-deletions', async () => {
    const [stats, series] = await Promise.all([
      deletionStats(deps.db, { minutes: WINDOW_MINUTES, now }),
      errorRateSeries(deps.db, { hours: SERIES_HOURS, now }),
    ]);
    const points = series.map((p) => ({
      label: `${p.hour_start.slice(11, 13)}:00`,
      // An hour without attempts has no error rate (not 0 %): the line skips it.
      error_rate: p.total > 0 ? p.error_rate_percent : null,
      succeeded: p.total - p.failed,
      failed: p.failed,
    }));
    const total = series.reduce((n, p) => n + p.total, 0);
    const failed = series.reduce((n, p) => n + p.failed, 0);
    return { stats, points, total, failed };
  });
  return (
    <section id="deletions" className={styles.panel}>
      <h2>User deletions</h2>
      <p className={styles.panelNote}>Deletion attempts from the audit log: the last {WINDOW_MINUTES} minutes, and per hour over {SERIES_HOURS} h (UTC).</p>
      {!data.ok ? (
        <PanelUnavailable message={data.message} />
      ) : (
        <>
          <div className={styles.stats}>
            <Stat label={`Attempts, ${WINDOW_MINUTES} min`} value={formatCount(data.value.stats.total_deletions)} />
            <Stat
              label={`Error rate, ${WINDOW_MINUTES} min`}
              value={data.value.stats.total_deletions > 0 ? `${data.value.stats.error_rate_percent.toFixed(1)}%` : '—'}
              tone={data.value.stats.total_deletions === 0 ? undefined : data.value.stats.error_rate_percent > 5 ? 'bad' : data.value.stats.error_rate_percent > 1 ? 'warn' : 'ok'}
            />
            <Stat label={`p95 duration, ${WINDOW_MINUTES} min`} value={formatDuration(data.value.stats.p95_duration_ms)} />
            <Stat label={`Timeouts, ${WINDOW_MINUTES} min`} value={formatCount(data.value.stats.timeouts)} tone={data.value.stats.timeouts > 0 ? 'warn' : undefined} />
            <Stat label={`Attempts, ${SERIES_HOURS} h`} value={formatCount(data.value.total)} />
            <Stat
              label={`Error rate, ${SERIES_HOURS} h`}
              value={data.value.total > 0 ? `${((100 * data.value.failed) / data.value.total).toFixed(1)}%` : '—'}
              tone={data.value.failed > 0 ? 'warn' : data.value.total > 0 ? 'ok' : undefined}
              hint={`${data.value.failed} failed of ${data.value.total}`}
            />
          </div>
          <div className={styles.grid2}>
            <div>
              <h3>Error rate per hour</h3>
              <LineSeriesChart
                label="User deletion error rate per hour"
                data={data.value.points}
                xKey="label"
                format="percent"
                xLabel="Hour (UTC)"
                yLabel="Error rate (%)"
                small
                series={[{ key: 'error_rate', name: 'Error rate', color: '#c8372d' }]}
                emptyText={`No deletion attempts in the last ${SERIES_HOURS} h.`}
              />
            </div>
            <div>
              <h3>Attempts per hour</h3>
              <BarSeriesChart
                label="User deletion attempts per hour"
                data={data.value.points}
                xKey="label"
                xLabel="Hour (UTC)"
                yLabel="Attempts"
                small
                series={[
                  { key: 'succeeded', name: 'Succeeded', color: '#2457c5', stack: 'd' },
                  { key: 'failed', name: 'Failed', color: '#c8372d', stack: 'd' },
                ]}
                emptyText={`No deletion attempts in the last ${SERIES_HOURS} h.`}
              />
            </div>
          </div>
        </>
      )}
    </section>
  );
}
