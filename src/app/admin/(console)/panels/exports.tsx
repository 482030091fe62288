import type { JobDeps } from '@/lib/cron/types';
import { exportCharts } from '@/lib/admin/exports-view';
import { formatBytes, formatCount, formatDuration, formatPercent } from '@/lib/admin/format';
import { settle } from '@/lib/admin/settle';
import { exportCleanupStatsReport, exportMetricsReport } from '@/lib/monitoring/export-admin';
import styles from '../../admin.module.css';
import { BarSeriesChart, LineSeriesChart, MixChart } from '../charts';
import { FeatureUnavailable, PanelUnavailable, Stat } from './common';

const HOURS = 24;
const FORMAT_COLORS: Record<string, string> = { json: '#2457c5', jsonl: '#1f9d8a', csv: '#d68a1c', markdown: '#a23fb5' };

export async function ExportsPanel({ deps }: { deps: JobDeps }) {
  const feature = deps.features.exports;
  if (!feature.bound) {
    return (
      <section id="exports" className={styles.panel}>
        <h2>Exports</h2>
        <FeatureUnavailable state={feature} />
      </section>
    );
  }
  const data = await settle('exports', async () => {
    const [report, cleanup] = await Promise.all([exportMetricsReport(deps, HOURS), exportCleanupStatsReport(deps)]);
    return { report, cleanup, charts: exportCharts(report.aggregate, report.hourly, new Date(report.from), new Date(report.to)) };
  });
  return (
    <section id="exports" className={styles.panel}>
      <h2>Exports</h2>
      <p className={styles.panelNote}>Last {HOURS} hours, by hour (UTC).</p>
      {!data.ok ? (
        <PanelUnavailable message={data.message} />
      ) : (
        <ExportsBody {...data.value} />
      )}
    </section>
  );
}

function ExportsBody({
  report,
  cleanup,
  charts,
}: {
  report: Awaited<ReturnType<typeof exportMetricsReport>>;
  cleanup: Awaited<ReturnType<typeof exportCleanupStatsReport>>;
  charts: ReturnType<typeof exportCharts>;
}) {
  const a = report.aggregate;
  const f = report.failure_rate_last_hour;
  const rate = a.success_rate;
  return (
    <>
      <div className={styles.stats}>
        <Stat label={`Exports, ${HOURS} h`} value={formatCount(a.total_exports)} />
        <Stat
          label="Success rate"
          value={formatPercent(rate)}
          tone={rate === null ? undefined : rate < 0.9 ? 'bad' : rate < 0.97 ? 'warn' : 'ok'}
        />
        <Stat label="p95 duration" value={formatDuration(a.p95_duration_ms)} />
        <Stat
          label="Failures, last hour"
          value={`${f.failed} of ${f.total}`}
          tone={f.alert ? 'bad' : undefined}
          hint={`Alert above ${formatPercent(f.threshold, 0)} with at least ${f.minSample} exports`}
        />
        <Stat label="Logs due for cleanup" value={formatCount(cleanup.logs.eligible_for_cleanup)} hint={`Older than ${cleanup.logs.retention_days} days`} />
        <Stat label="Files due for removal" value={`${formatCount(cleanup.files.expired_due)} · ${formatBytes(cleanup.files.bytes)}`} />
      </div>
      <div className={styles.grid2}>
        <div>
          <h3>Success rate per hour</h3>
          <LineSeriesChart
            label="Export success rate per hour"
            data={charts.slots}
            xKey="label"
            format="percent"
            yMax={100}
            xLabel="Hour (UTC)"
            yLabel="Success rate (%)"
            series={[{ key: 'success_rate', name: 'Success rate', color: '#1f9d55' }]}
            emptyText={`No finished exports in the last ${HOURS} h.`}
          />
        </div>
        <div>
          <h3>p95 duration per hour, by format</h3>
          <LineSeriesChart
            label="Export p95 duration per hour"
            data={charts.slots}
            xKey="label"
            format="ms"
            xLabel="Hour (UTC)"
            yLabel="p95 duration"
            series={charts.p95Formats.map((fmt) => ({ key: `p95_${fmt}`, name: fmt, color: FORMAT_COLORS[fmt] ?? '#4b5563' }))}
            emptyText="No hourly rollup yet (export-metrics-aggregate fills it every hour)."
          />
        </div>
        <div>
          <h3>Volume per hour</h3>
          <BarSeriesChart
            label="Exports per hour"
            data={charts.slots}
            xKey="label"
            xLabel="Hour (UTC)"
            yLabel="Exports"
            series={[
              { key: 'completed', name: 'Completed', color: '#2457c5', stack: 'v' },
              { key: 'failed', name: 'Failed', color: '#c8372d', stack: 'v' },
            ]}
            emptyText={`No exports in the last ${HOURS} h.`}
          />
        </div>
        <div>
          <h3>Format mix</h3>
          <MixChart label="Export format mix" data={charts.mix} colors={FORMAT_COLORS} emptyText={`No exports in the last ${HOURS} h.`} />
        </div>
      </div>
    </>
  );
}
