import { requireFeature } from '@/lib/bindings/features';
import type { JobDeps } from '@/lib/cron/types';
import { formatCount } from '@/lib/admin/format';
import { settle } from '@/lib/admin/settle';
import { DRAFTS_FEATURE, draftQueries } from '@/lib/monitoring/drafts';
import styles from '../../admin.module.css';
import { BarSeriesChart } from '../charts';
import { PanelUnavailable, Stat } from './common';

const TREND_DAYS = 14;

interface AgeRow {
  bucket: string;
  bucket_order: number;
  draft_count: number;
  unused_count: number;
}

interface TrendRow {
  date: string;
  drafts_used: number;
  drafts_abandoned: number;
}

export async function DraftsPanel({ deps }: { deps: JobDeps }) {
  const ctx = { db: deps.db, config: deps.config, now: deps.now() };
  const data = await settle('drafts', async () => {
    // Switched off or not bound: the panel says why instead of its charts.
    requireFeature(deps.features, DRAFTS_FEATURE);
    const [health, ages, trend] = await Promise.all([
      draftQueries['system-health'].run(ctx, { hours: undefined }),
      draftQueries['age-distribution'].run(ctx, {}),
      draftQueries['daily-trend'].run(ctx, { days: TREND_DAYS }),
    ]);
    const h = health.rows[0] as { total_drafts: number; unused_drafts: number; pollution_percentage: number | null; pending_cleanup: number; created_last_24h: number };
    const ageRows = (ages.rows as AgeRow[])
      .map((r) => ({
        bucket: r.bucket,
        order: Number(r.bucket_order),
        unused: Number(r.unused_count),
        in_use: Number(r.draft_count) - Number(r.unused_count),
      }))
      .sort((a, b) => a.order - b.order);
    const trendRows = (trend.rows as TrendRow[])
      .map((r) => ({ date: String(r.date), day: String(r.date).slice(5), used: Number(r.drafts_used), unused: Number(r.drafts_abandoned) }))
      .sort((a, b) => a.date.localeCompare(b.date));
    return { h, ageRows, trendRows };
  });
  return (
    <section id="drafts" className={styles.panel}>
      <h2>Draft courses</h2>
      <p className={styles.panelNote}>Pollution is the share of drafts never used for generation; draft-cleanup removes them after 24 h.</p>
      {!data.ok ? (
        <PanelUnavailable message={data.message} />
      ) : (
        <>
          <div className={styles.stats}>
            <Stat
              label="Pollution"
              value={data.value.h.pollution_percentage === null ? '—' : `${Number(data.value.h.pollution_percentage).toFixed(1)}%`}
              tone={
                data.value.h.pollution_percentage === null
                  ? undefined
                  : data.value.h.pollution_percentage > 50
                    ? 'bad'
                    : data.value.h.pollution_percentage > 25
                      ? 'warn'
                      : 'ok'
              }
            />
            <Stat label="Drafts" value={formatCount(data.value.h.total_drafts)} />
            <Stat label="Unused drafts" value={formatCount(data.value.h.unused_drafts)} />
            <Stat label="Pending cleanup (> 24 h)" value={formatCount(data.value.h.pending_cleanup)} tone={data.value.h.pending_cleanup > 0 ? 'warn' : undefined} />
            <Stat label="Created, 24 h" value={formatCount(data.value.h.created_last_24h)} />
          </div>
          <div className={styles.grid2}>
            <div>
              <h3>Drafts by age</h3>
              <BarSeriesChart
                label="Drafts by age"
                data={data.value.ageRows}
                xKey="bucket"
                small
                series={[
                  { key: 'unused', name: 'Unused', color: '#d68a1c', stack: 'a' },
                  { key: 'in_use', name: 'Generation started', color: '#2457c5', stack: 'a' },
                ]}
                emptyText="No drafts."
              />
            </div>
            <div>
              <h3>Drafts created per day</h3>
              <BarSeriesChart
                label="Drafts created per day"
                data={data.value.trendRows}
                xKey="day"
                small
                series={[
                  { key: 'used', name: 'Generation started', color: '#2457c5', stack: 't' },
                  { key: 'unused', name: 'Still unused', color: '#d68a1c', stack: 't' },
                ]}
                emptyText={`No drafts created in the last ${TREND_DAYS} days.`}
              />
            </div>
          </div>
        </>
      )}
    </section>
  );
}
