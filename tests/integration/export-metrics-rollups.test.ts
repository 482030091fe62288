import { expect, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { exportMetricsAggregateJob } from '../../src/lib/jobs/export-metrics-aggregate';
import { exportMetricsReport, SERIES_PAGE } from '../../src/lib/monitoring/export-admin';
import { createExportMetricsService, type AggregatedMetrics, type WindowMetrics } from '../../src/lib/monitoring/export-metrics';
import { describeEngines } from '../support/db';
import { testDeps } from '../support/deps';

/**
 * Dashboards read the hourly rollups (export_metrics_report): counts, rates, means, sizes and
 * volumes equal the exact aggregate over the raw rows; p95 values, merged from the duration
 * histograms, stay within 5% of percentile_cont; the hours not rolled up yet come from the raw rows.
 */

const HOUR = 3_600_000;
const T0 = new Date('2026-11-20T00:00:00Z');
const FORMATS = ['json', 'jsonl', 'csv', 'markdown'];

/** Same definition as SQL percentile_cont: linear interpolation between closest ranks. */
function percentileCont(values: number[], p: number): number {
  const a = [...values].sort((x, y) => x - y);
  const pos = p * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return a[lo] + (a[hi] - a[lo]) * (pos - lo);
}

function mulberry32(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Metric {
  id: string;
  user: string;
  format: string;
  status: 'completed' | 'failed';
  duration: number;
  size: number | null;
  conversations: number;
  at: Date;
}

/**
 * 1,500 finished exports over 52 hours after T0: durations spread over five orders of magnitude
 * (lognormal-like, 2 ms to 20 minutes) with exact zeros, ties and a few past the last bucket
 * (2^25 ms); each format with its own typical duration, 12% failed, some completed without a size.
 */
function fixture(): Metric[] {
  const rnd = mulberry32(7);
  const out: Metric[] = [];
  for (let i = 0; i < 1500; i++) {
    const format = FORMATS[i % 4];
    const failed = rnd() < 0.12;
    const r = rnd();
    const duration =
      r < 0.01 ? 0 : r < 0.03 ? 1000 : r < 0.035 ? 40_000_000 + Math.floor(rnd() * 1e6) : Math.round(Math.exp(1 + (i % 4) * 0.4 + rnd() * rnd() * 12));
    out.push({
      id: `3d000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      user: `3e000000-0000-4000-8000-${String(i % 37).padStart(12, '0')}`,
      format,
      status: failed ? 'failed' : 'completed',
      duration,
      size: failed || rnd() < 0.1 ? null : 500 + Math.floor(rnd() * 9_000_000),
      conversations: [3, 99, 100, 240, 499, 500, 1800][Math.floor(rnd() * 7)],
      at: new Date(T0.getTime() + Math.floor(rnd() * 52 * 3600 * 1000)),
    });
  }
  return out;
}

async function load(db: SqlDb, metrics: Metric[]) {
  await db.query(
    `insert into cronwarden.export_metrics (export_id, user_id, format, status, duration_ms, file_size_bytes, conversation_count, count_range, created_at)
     select m.id, m.user, m.format, m.status, m.duration, m.size, m.conversations, cronwarden.export_count_range(m.conversations), m.at
       from jsonb_to_recordset($1::text::jsonb) as m(id text, "user" text, format text, status text, duration bigint, size bigint, conversations bigint, at timestamptz)`,
    [JSON.stringify(metrics)],
  );
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Exact figures equal; every p95 within 5% of the exact one. Returns the largest p95 error. */
function compare(w: WindowMetrics, exact: AggregatedMetrics): number {
  expect(w.total_exports).toBe(exact.total_exports);
  expect(w.successful_exports).toBe(exact.successful_exports);
  expect(w.failed_exports).toBe(exact.failed_exports);
  expect(w.success_rate).toBe(exact.success_rate);
  expect(close(w.avg_duration_ms!, exact.avg_duration_ms!)).toBe(true);
  expect(w.format_distribution).toEqual(exact.format_distribution);
  expect(w.volume_by_hour).toEqual(exact.volume_by_hour);
  expect(w.volume_by_day).toEqual(exact.volume_by_day);
  expect(w.max_file_size_by_format).toEqual(exact.max_file_size_by_format);
  for (const [k, v] of Object.entries(exact.avg_file_size_by_format)) expect(close(w.avg_file_size_by_format[k], v)).toBe(true);
  for (const [k, v] of Object.entries(exact.avg_duration_by_format)) expect(close(w.avg_duration_by_format[k], v)).toBe(true);
  for (const [k, v] of Object.entries(exact.avg_duration_by_count_range)) {
    expect(close((w.avg_duration_by_count_range as Record<string, number>)[k], v as number)).toBe(true);
  }
  const pairs: [number, number][] = [[w.p95_duration_ms!, exact.p95_duration_ms!]];
  expect(Object.keys(w.p95_duration_by_format).sort()).toEqual(Object.keys(exact.p95_duration_by_format).sort());
  for (const [k, v] of Object.entries(exact.p95_duration_by_format)) pairs.push([w.p95_duration_by_format[k], v]);
  expect(Object.keys(w.p95_duration_by_count_range).sort()).toEqual(Object.keys(exact.p95_duration_by_count_range).sort());
  for (const [k, v] of Object.entries(exact.p95_duration_by_count_range)) pairs.push([(w.p95_duration_by_count_range as Record<string, number>)[k], v as number]);
  let worst = 0;
  for (const [est, ex] of pairs) {
    const err = Math.abs(est - ex) / ex;
    expect(err).toBeLessThanOrEqual(0.05);
    worst = Math.max(worst, err);
  }
  return worst;
}

describeEngines('export metrics from hourly rollups', (engine) => {
  it('windows read from the rollups and the raw rows of the hours not rolled up: counts exact, p95 within 5% of percentile_cont', async () => {
    const db = await engine.fresh();
    const all = fixture();
    await load(db, all);
    const now = new Date(T0.getTime() + 51 * HOUR + 25 * 60_000); // 03:25 on day three
    const { deps } = testDeps(db, { now: () => now });
    const service = createExportMetricsService({ db, log: deps.log, now: () => now });
    const windows = [
      { from: T0, to: now },
      { from: new Date(T0.getTime() + 7 * HOUR + 17 * 60_000), to: new Date(T0.getTime() + 33 * HOUR + 1) },
      { from: new Date(T0.getTime() + 40 * HOUR + 59 * 60_000), to: new Date(T0.getTime() + 52 * HOUR) },
    ];

    // Before any rollup: every row is read raw.
    for (const w of windows) {
      const got = await service.windowMetrics(w);
      expect(got.source).toMatchObject({ rollup_from: null, rollup_to: null });
      compare(got, await service.aggregateMetrics(w, { log: false }));
    }

    const run = await runJob(exportMetricsAggregateJob, { input: { lookbackHours: 48 }, dryRun: false }, deps);
    expect(run.kind === 'finished' && run.result.rollups_cover).toEqual({
      from: new Date(T0.getTime() + 51 * HOUR - (48 + 72) * HOUR).toISOString(),
      until: new Date(T0.getTime() + 51 * HOUR).toISOString(),
    });

    let worst = 0;
    for (const w of windows) {
      const got = await service.windowMetrics(w);
      expect(got.source.rollup_from).not.toBeNull();
      // Only the partial hours at either end (and the current hour) are read raw.
      const rolledFrom = new Date(got.source.rollup_from!).getTime();
      const rolledTo = new Date(got.source.rollup_to!).getTime();
      const raw = all.filter((m) => m.at >= w.from && m.at < w.to && (m.at.getTime() < rolledFrom || m.at.getTime() >= rolledTo));
      expect(got.source.raw_rows).toBe(raw.length);
      worst = Math.max(worst, compare(got, await service.aggregateMetrics(w, { log: false })));
    }
    // The estimate is not the exact value by accident: the histograms do the work.
    expect(worst).toBeGreaterThan(0);

    // The admin report (last 52 hours) is the same path.
    const report = await exportMetricsReport(deps, 52);
    expect(report.aggregate.total_exports).toBe(all.filter((m) => m.at >= new Date(now.getTime() - 52 * HOUR) && m.at < now).length);
    expect(report.aggregate.source.rollup_to).toBe(new Date(T0.getTime() + 51 * HOUR).toISOString());
  });

  it('histogram quantiles: exact for a single value per bucket, within a bucket otherwise, clamped to the extremes', async () => {
    const db = await engine.fresh();
    const q = async (values: number[], p = 0.95) => {
      const [r] = await db.query<{ v: number | null }>(
        `with b as (select cronwarden.export_duration_bucket(v) as bucket, count(*)::bigint as n, min(v) as lo, max(v) as hi
                      from unnest($1::bigint[]) v group by 1)
         select cronwarden.export_histogram_quantile(array_agg(bucket order by bucket), array_agg(n order by bucket), $2,
                                                     (select min(lo) from b), (select max(hi) from b)) as v from b`,
        [values, p],
      );
      return r.v;
    };
    expect(await q([0, 0, 0])).toBe(0);
    expect(await q([7])).toBe(7);
    expect(await q([5000, 5000, 5000, 5000])).toBe(5000);
    expect(await q([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.5)).toBeCloseTo(5.5, 9);
    expect(await q([50_000_000, 60_000_000], 1)).toBe(60_000_000);
    const spread = Array.from({ length: 1000 }, (_, i) => 100 + i * 37);
    expect(Math.abs((await q(spread))! - percentileCont(spread, 0.95)) / percentileCont(spread, 0.95)).toBeLessThan(0.05);
    expect(await q([])).toBeNull();
  });

  it('a 30-day report of four formats reads the whole hourly series (2,880 rows) in pages of 1,000', async () => {
    const db = await engine.fresh();
    const now = new Date('2026-12-01T03:10:00Z');
    const to = new Date('2026-12-01T03:00:00Z');
    await db.query(
      `insert into cronwarden.export_metrics_hourly (hour, format, total_exports, successful_exports, failed_exports, avg_duration_ms,
                                                     p95_duration_ms, max_duration_ms, total_file_size_bytes, conversation_count, updated_at,
                                                     sum_duration_ms, min_duration_ms, sized_exports, range_sum_duration_ms, duration_buckets_small)
       select h, f, 2, 2, 0, 100, 100, 100, 0, 0, $2, 200, 100, 0, '{200,0,0}', '[54:54]={2}'
         from generate_series($1::timestamptz - interval '720 hours', $1::timestamptz - interval '1 hour', interval '1 hour') h,
              unnest(array['csv', 'json', 'jsonl', 'markdown']) f`,
      [to, now],
    );
    await db.query(`insert into cronwarden.export_rollup_coverage (covered_from, covered_until, updated_at) values ($1::timestamptz - interval '720 hours', $1, $1)`, [to]);
    const { deps } = testDeps(db, { now: () => now });
    const report = await exportMetricsReport(deps, 720);
    expect(report.hourly).toHaveLength(2880);
    expect(new Set(report.hourly.map((h) => `${h.hour}|${h.format}`)).size).toBe(2880);
    expect(report.hourly[0]).toMatchObject({ hour: new Date(to.getTime() - 720 * HOUR).toISOString(), format: 'csv' });
    // The window starts 10 minutes into its first hour: that hour is not wholly inside, so it is
    // read raw (and holds no raw rows here); the other 719 come from the rollups.
    expect(report.aggregate).toMatchObject({ total_exports: 2 * 4 * 719, source: { raw_rows: 0 } });
    expect(SERIES_PAGE).toBe(1000);
    await expect(db.rpc('export_hourly_series', { p_from: to, p_to: now, p_limit: 1001 })).rejects.toThrow(/p_limit/);
  });

  it('keeps one stretch of rolled-up hours: backfills toward 720 hours, restarts after a gap, and windows stay exact', async () => {
    const db = await engine.fresh();
    const all = fixture();
    await load(db, all);
    const at = (h: number) => new Date(T0.getTime() + h * HOUR + 5 * 60_000);
    const roll = async (h: number, lookback: number) => {
      const [r] = await db.rpc<{ covered_from: Date; covered_until: Date }>('export_rollup_hourly', {
        p_lookback_hours: lookback,
        p_now: at(h),
        p_backfill_hours: 10,
      });
      return [new Date(r.covered_from).getTime() - T0.getTime(), new Date(r.covered_until).getTime() - T0.getTime()].map((x) => x / HOUR);
    };
    expect(await roll(30, 4)).toEqual([16, 30]);
    expect(await roll(31, 4)).toEqual([6, 31]);
    // The job did not run for 20 hours (longer than its lookback): the stretch starts again.
    expect(await roll(51, 4)).toEqual([37, 51]);
    const service = createExportMetricsService({ db, log: testDeps(db).deps.log, now: () => at(51) });
    const w = { from: new Date(T0.getTime() + 2 * HOUR), to: at(51) };
    const got = await service.windowMetrics(w);
    expect(got.source).toMatchObject({ rollup_from: new Date(T0.getTime() + 37 * HOUR).toISOString() });
    compare(got, await service.aggregateMetrics(w, { log: false }));
  });

  it('whole days come from daily histograms that always equal the merge of their hours: after the rollup, late rows, a removed hour and the retention prune', async () => {
    const db = await engine.fresh();
    const all = fixture();
    await load(db, all);
    const now = new Date(T0.getTime() + 51 * HOUR + 25 * 60_000);
    const { deps } = testDeps(db, { now: () => now });
    const service = createExportMetricsService({ db, log: deps.log, now: () => now });
    const roll = async () => {
      const run = await runJob(exportMetricsAggregateJob, { input: { lookbackHours: 48 }, dryRun: false }, deps);
      expect(run.kind).toBe('finished');
    };
    // Per (day, format, count range, bucket): the daily rows' counts and the hourly rows' summed.
    const expand = (from: string, day: string) => `
      select ${day} as day, t.format, r.count_range, i as bucket, sum(r.hist[i])::bigint as n
        from ${from} t,
             lateral (values ('small', t.duration_buckets_small), ('medium', t.duration_buckets_medium),
                             ('large', t.duration_buckets_large)) r(count_range, hist),
             lateral generate_subscripts(r.hist, 1) i
       group by 1, 2, 3, 4 having sum(r.hist[i]) > 0`;
    const hourlyDays = expand('cronwarden.export_metrics_hourly', `date_trunc('day', t.hour, 'UTC')`);
    const dailyDays = expand('cronwarden.export_metrics_daily', 't.day');
    const sameAsHours = async () => {
      const [diff] = await db.query<{ n: number }>(
        `select count(*)::int as n from ((${hourlyDays} except ${dailyDays}) union all (${dailyDays} except ${hourlyDays})) x`,
      );
      expect(diff.n).toBe(0);
      const cells = await db.query<{ ok: boolean }>(
        `select coalesce(d.hours_rolled, 0) = coalesce(h.hours, 0) and coalesce(d.successful_exports, 0) = coalesce(h.ok, 0) as ok
           from (select date_trunc('day', hour, 'UTC') as day, format, count(*)::int as hours, sum(successful_exports)::bigint as ok
                   from cronwarden.export_metrics_hourly group by 1, 2) h
           full join cronwarden.export_metrics_daily d on d.day = h.day and d.format = h.format`,
      );
      expect(cells.length).toBeGreaterThan(0);
      expect(cells.every((c) => c.ok)).toBe(true);
    };

    await roll();
    await sameAsHours();
    expect(await db.query(`select distinct day from cronwarden.export_metrics_daily order by day`)).toHaveLength(3);
    const whole = { from: T0, to: now }; // Nov 20 and 21 whole, then 3 hours and a partial one
    const before = await service.windowMetrics(whole);
    compare(before, await service.aggregateMetrics(whole, { log: false }));

    // Late rows in an hour already rolled up, and every row of another hour gone: the next
    // rollup rewrites and removes hourly rows, and their days follow.
    const late = all.slice(0, 40).map((m, i) => ({ ...m, id: `3f000000-0000-4000-8000-${String(i).padStart(12, '0')}`, at: new Date(T0.getTime() + 30 * HOUR + i * 1000), duration: 5 + i * 97 }));
    await load(db, late);
    await db.query(`delete from cronwarden.export_metrics where created_at >= $1 and created_at < $2`, [new Date(T0.getTime() + 10 * HOUR), new Date(T0.getTime() + 11 * HOUR)]);
    await roll();
    await sameAsHours();
    const current = [...all, ...late].filter((m) => !(m.at.getTime() >= T0.getTime() + 10 * HOUR && m.at.getTime() < T0.getTime() + 11 * HOUR));
    const after = await service.windowMetrics(whole);
    expect(after.total_exports).toBe(current.filter((m) => m.at >= whole.from && m.at < whole.to).length);
    compare(after, await service.aggregateMetrics(whole, { log: false }));

    // The retention prune deletes hourly rows (here the first 6 hours of Nov 20): that day
    // is rebuilt from the hours left: 24, less those 6, less the hour whose rows all went.
    await db.query(`delete from cronwarden.export_metrics_hourly where hour < $1`, [new Date(T0.getTime() + 6 * HOUR)]);
    await sameAsHours();
    expect(await db.query(`select hours_rolled from cronwarden.export_metrics_daily where day = $1 and format = 'csv'`, [T0])).toEqual([{ hours_rolled: 17 }]);

    // The report reads the whole days' histograms from the daily rows, and only them: emptied,
    // the p95s move and no count does; rebuilt, the report is what it was.
    const reference = await service.windowMetrics(whole);
    await db.query(`update cronwarden.export_metrics_daily set duration_buckets_small = null, duration_buckets_medium = null, duration_buckets_large = null`);
    const emptied = await service.windowMetrics(whole);
    expect(emptied.total_exports).toBe(reference.total_exports);
    expect(emptied.volume_by_hour).toEqual(reference.volume_by_hour);
    expect(emptied.p95_duration_ms).not.toBe(reference.p95_duration_ms);
    await db.query(`select cronwarden.export_rollup_days(array(select distinct day from cronwarden.export_metrics_daily))`);
    expect(await service.windowMetrics(whole)).toEqual(reference);
  });
});
