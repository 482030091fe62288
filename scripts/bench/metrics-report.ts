/**
 * The 30-day admin report (/api/admin/exports/metrics?hours=720, exportMetricsReport) over
 * `rows` export metrics spread over the 30 days before the bench's clock: read from the hourly
 * rollups plus the raw rows of the current partial hour, against the exact raw aggregate
 * (aggregateMetrics over the same window) in the same run. Counts must be equal, every p95 within
 * 5% of the exact one; the hourly series must arrive whole (2,880 rows, three pages).
 */
import type { SqlDb } from '../../src/lib/db/types';
import { exportMetricsReport } from '../../src/lib/monitoring/export-admin';
import { createExportMetricsService, type AggregatedMetrics, type WindowMetrics } from '../../src/lib/monitoring/export-metrics';
import { assert, atMost, benchConfig, count, DAY_MS, fmtInt, fmtMs, fmtX, jobDeps, median, NOW, settle, timed, type BenchCase, type Measurement } from './lib';

const HOURS = 720;
/** The report runs 17 minutes into the hour after the seed's last complete hour. */
const REPORT_AT = new Date(NOW.getTime() + 17 * 60_000);
const FROM = new Date(REPORT_AT.getTime() - HOURS * 3_600_000);

/**
 * `n` finished exports evenly over [FROM, REPORT_AT) in insertion order, as the metrics case
 * seeds a week (8% failed, 10,000 users, conversation counts 0-1199, durations 200 ms to 35 s).
 */
async function seedMonth(db: SqlDb, n: number): Promise<void> {
  const stepMs = (REPORT_AT.getTime() - FROM.getTime()) / n;
  await db.query(
    `insert into cronwarden.export_metrics (export_id, user_id, format, status, duration_ms, file_size_bytes, conversation_count,
                                            count_range, created_at)
     select gen_random_uuid(),
            ('00000000-0000-4000-8000-' || lpad(((h.a % 10000) * (h.b % 10000) / 10000)::text, 12, '0'))::uuid,
            (array['json', 'jsonl', 'csv', 'markdown'])[1 + h.c % 4],
            case when h.c % 100 < 8 then 'failed' else 'completed' end,
            200 + h.b % 5000 + cc * 25,
            case when h.c % 100 < 8 then null else 2000 + cc * 4000 + h.a % 100000 end,
            cc,
            cronwarden.export_count_range(cc),
            date_trunc('milliseconds', $2::timestamptz + make_interval(secs => i * $3::double precision / 1000))
       from generate_series(0, $1::integer - 1) i,
            lateral (select hashint8(i * 3 + 1)::bigint & 2147483647 as a,
                            hashint8(i * 3 + 2)::bigint & 2147483647 as b,
                            hashint8(i * 3 + 3)::bigint & 2147483647 as c) h,
            lateral (select (h.b / 7 % 1200)::integer as cc) x`,
    [n, FROM, stepMs],
  );
  await settle(db, ['cronwarden.export_metrics']);
}

/** Counts equal, every p95 within 5%: returns the largest relative p95 error. */
function check(w: WindowMetrics, exact: AggregatedMetrics): number {
  assert(w.total_exports === exact.total_exports, `report counted ${w.total_exports} exports, the raw aggregate ${exact.total_exports}`);
  assert(w.successful_exports === exact.successful_exports && w.failed_exports === exact.failed_exports, 'report outcome counts differ from the raw aggregate');
  assert(JSON.stringify(w.format_distribution) === JSON.stringify(exact.format_distribution), 'format mix differs');
  assert(JSON.stringify(w.volume_by_hour) === JSON.stringify(exact.volume_by_hour), 'hourly volume differs');
  assert(Math.abs(w.avg_duration_ms! - exact.avg_duration_ms!) <= 1e-9 * exact.avg_duration_ms!, 'mean duration differs');
  const pairs: [string, number, number][] = [['all', w.p95_duration_ms!, exact.p95_duration_ms!]];
  for (const [k, v] of Object.entries(exact.p95_duration_by_format)) pairs.push([k, w.p95_duration_by_format[k], v]);
  for (const [k, v] of Object.entries(exact.p95_duration_by_count_range)) pairs.push([k, (w.p95_duration_by_count_range as Record<string, number>)[k], v as number]);
  let worst = 0;
  for (const [k, est, ex] of pairs) {
    assert(Number.isFinite(est), `no p95 for ${k}`);
    worst = Math.max(worst, Math.abs(est - ex) / ex);
  }
  return worst;
}

export const metricsReport: BenchCase = {
  id: 'metrics-report',
  title: '30-day admin report from hourly rollups (exportMetricsReport)',
  steps: () => 4,
  async run(ctx) {
    const db = await ctx.engine.open();
    try {
      const n = ctx.rows;
      ctx.step(`metrics report: seeding ${fmtInt(n)} export metrics over 30 days`);
      await seedMonth(db, n);

      // The rollups as the hourly job leaves them: every hour of the window rolled up (here in
      // one call; the job re-rolls its 48-hour lookback each hour and backfills 72 hours a run).
      ctx.step('metrics report: rolling 720 hours up (once)');
      const roll = await timed(() => db.rpc('export_rollup_hourly', { p_lookback_hours: HOURS, p_now: REPORT_AT }));
      await settle(db, ['cronwarden.export_metrics_hourly']);

      const deps = { ...jobDeps(db), now: () => REPORT_AT };
      const service = createExportMetricsService({ db, log: deps.log, now: deps.now, config: benchConfig() });
      const report = () => exportMetricsReport(deps, HOURS);
      const raw = () => service.aggregateMetrics({ from: FROM, to: REPORT_AT }, { log: false });

      ctx.step('metrics report: the report and the raw aggregate (warm-up, then alternating)');
      const first = await report();
      const exact = await raw();
      assert(exact.total_exports === n, `the raw aggregate counted ${exact.total_exports} of ${n}`);
      const worst = check(first.aggregate, exact);
      // Every rolled-up (hour, format) cell: 2,880 when each format has exports in each hour.
      const cells = await count(db, `select count(*)::integer as n from cronwarden.export_metrics_hourly where hour >= date_trunc('hour', $1::timestamptz) and hour < $2`, [FROM, REPORT_AT]);
      assert(first.hourly.length === cells, `the hourly series has ${first.hourly.length} rows, the rollups ${cells}`);
      const reportMs: number[] = [];
      const rawMs: number[] = [];
      for (let i = 0; i < ctx.repeats; i++) {
        reportMs.push((await timed(report)).ms);
        rawMs.push((await timed(raw)).ms);
      }
      ctx.step('metrics report: done');
      const rep = median(reportMs);
      const ref = median(rawMs);
      const measurements: Measurement[] = [
        {
          method: 'job',
          label: `exportMetricsReport(720 h): rollups + partial hour, series paged`,
          rows: n,
          ms: rep,
          runs: ctx.repeats,
          details: { runs_ms: reportMs.map(Math.round), raw_rows: first.aggregate.source.raw_rows, series_rows: first.hourly.length, p95_max_error: worst },
        },
        {
          method: 'reference',
          label: 'aggregateMetrics over the same 720 h (exact, raw rows)',
          rows: n,
          ms: ref,
          runs: ctx.repeats,
          details: { runs_ms: rawMs.map(Math.round), rollup_720h_ms: Math.round(roll.ms) },
        },
      ];
      return {
        id: this.id,
        title: this.title,
        tableRows: n,
        measurements,
        targets: [
          atMost('30-day admin report under 200 ms', rep, 200, fmtMs),
          atMost('report p95s within 5% of exact', worst * 100, 5, (v) => `${v.toFixed(2)}%`),
          atMost('report time / raw aggregate time (shown)', rep / ref, 1, fmtX),
        ],
        notes: [
          `${fmtInt(n)} metrics over ${HOURS / 24} days; counts, means, sizes and volumes equal the raw aggregate; largest p95 error ${(worst * 100).toFixed(2)}% (overall, 4 formats, 3 count ranges)`,
          `report ${reportMs.map(fmtMs).join(' / ')}, raw aggregate ${rawMs.map(fmtMs).join(' / ')}: the report is ${fmtX(ref / rep)} faster; it read ${fmtInt(first.aggregate.source.raw_rows)} raw rows (the partial hour) and ${fmtInt(first.hourly.length)} series rows in pages of 1,000`,
          `rolling all 720 hours up once took ${fmtMs(roll.ms)} (${fmtInt(n / (DAY_MS / 3_600_000) / 30)} metrics an hour; the hourly job re-rolls 48 hours)`,
        ],
      };
    } finally {
      await ctx.engine.release(db);
    }
  },
};
