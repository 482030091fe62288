import { afterEach, expect, inject, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import { PostgresDb } from '../../src/lib/db/postgres';
import { SupabaseDb } from '../../src/lib/db/supabase';
import type { Db, SqlDb } from '../../src/lib/db/types';
import { exportMetricsAggregateJob } from '../../src/lib/jobs/export-metrics-aggregate';
import { exportFailureRateRule } from '../../src/lib/alerts/rules/exports';
import { exportSuccessRateGauge, exportsPerHourGauge } from '../../src/lib/monitoring/gauges/exports';
import {
  createExportMetricsService,
  type ExportFormat,
  type ExportMetric,
} from '../../src/lib/monitoring/export-metrics';
import { describeEngines, type Engine } from '../support/db';
import { testConfig, testDeps } from '../support/deps';
import { startFakePostgrest, type FakePostgrest } from '../support/postgrest';

// ---------------------------------------------------------------------------------------------
// Independent computations (plain JS over the fixture), the definitions the SQL must match.
// ---------------------------------------------------------------------------------------------

/** Same definition as SQL percentile_cont: linear interpolation between closest ranks. */
function percentileCont(values: number[], p: number): number {
  const a = [...values].sort((x, y) => x - y);
  const pos = p * (a.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return a[lo] + (a[hi] - a[lo]) * (pos - lo);
}
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const rangeOf = (n: number) => (n < 100 ? 'small' : n < 500 ? 'medium' : 'large');

function groupBy<T>(xs: T[], key: (x: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const x of xs) m.set(key(x), [...(m.get(key(x)) ?? []), x]);
  return m;
}

/** A deterministic PRNG so the fixture is the same on every run. */
function mulberry32(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T0 = new Date('2026-11-20T00:00:00Z');
const USERS = [
  '0a000000-0000-4000-8000-000000000001',
  '0a000000-0000-4000-8000-000000000002',
  '0a000000-0000-4000-8000-000000000003',
  '0a000000-0000-4000-8000-000000000004',
];
const FORMATS: ExportFormat[] = ['json', 'jsonl', 'csv', 'markdown'];
const uuidOf = (prefix: string, i: number) => `${prefix}-0000-4000-8000-${String(i).padStart(12, '0')}`;

/** 90 finished exports spread over 36 hours after T0, with every format, range and outcome. */
type TimedMetric = ExportMetric & { timestamp: Date };

function fixture(): TimedMetric[] {
  const rnd = mulberry32(42);
  const out: TimedMetric[] = [];
  for (let i = 0; i < 90; i++) {
    const failed = rnd() < 0.15;
    const conversations = [12, 99, 100, 150, 499, 500, 1200][Math.floor(rnd() * 7)];
    out.push({
      export_id: uuidOf('0b000000', i),
      user_id: USERS[Math.floor(rnd() * USERS.length)],
      format: FORMATS[Math.floor(rnd() * FORMATS.length)],
      status: failed ? 'failed' : 'completed',
      conversation_count: conversations,
      duration_ms: 200 + Math.floor(rnd() * 9000),
      file_size_bytes: failed ? null : 1000 + Math.floor(rnd() * 5_000_000),
      error_type: failed ? 'DatabaseError' : null,
      error_message: failed ? 'Connection timeout' : null,
      timestamp: new Date(T0.getTime() + Math.floor(rnd() * 36 * 3600) * 1000),
    });
  }
  return out;
}

async function logAll(db: SqlDb, metrics: ExportMetric[]) {
  const { deps, logs } = testDeps(db);
  const service = createExportMetricsService({ db, log: deps.log, config: deps.config, now: () => T0 });
  for (const m of metrics) await service.logExportMetric(m);
  return { service, logs, deps };
}

/** n finished exports in the minutes before `at`, the first `failed` of them failed. */
function burst(n: number, failed: number, at: Date, offset = 0): TimedMetric[] {
  return Array.from({ length: n }, (_, i) => ({
    export_id: uuidOf('0c000000', offset + i),
    user_id: USERS[i % 2],
    format: 'jsonl' as const,
    status: i < failed ? ('failed' as const) : ('completed' as const),
    conversation_count: 150,
    duration_ms: 1000 + i,
    file_size_bytes: i < failed ? null : 2048,
    error_type: i < failed ? 'StorageError' : null,
    error_message: i < failed ? 'Upload failed' : null,
    timestamp: new Date(at.getTime() - (i + 1) * 60_000),
  }));
}

describeEngines('export metrics', (engine) => {
  it('stores one row per export with its count range and logs an export_metric line', async () => {
    const db = await engine.fresh();
    const metrics: ExportMetric[] = [
      { export_id: uuidOf('0d000000', 1), user_id: USERS[0], format: 'jsonl', status: 'completed', conversation_count: 99, duration_ms: 2500, file_size_bytes: 524288 },
      { export_id: uuidOf('0d000000', 2), user_id: USERS[0], format: 'json', status: 'completed', conversation_count: 100, duration_ms: 2600, file_size_bytes: 1000 },
      { export_id: uuidOf('0d000000', 3), user_id: USERS[1], format: 'csv', status: 'completed', conversation_count: 499, duration_ms: 2700, file_size_bytes: 1000 },
      { export_id: uuidOf('0d000000', 4), user_id: USERS[1], format: 'json', status: 'failed', conversation_count: 500, duration_ms: 1200, file_size_bytes: null, error_type: 'DatabaseError', error_message: 'Connection timeout' },
    ];
    const { logs } = await logAll(db, metrics);
    const rows = await db.query<{ export_id: string; count_range: string; status: string; error_type: string | null }>(
      `select export_id, count_range, status, error_type from cronwarden.export_metrics order by export_id`,
    );
    expect(rows.map((r) => r.count_range)).toEqual(['small', 'medium', 'medium', 'large']);
    const lines = logs.ofType('export_metric');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatchObject({
      export_id: metrics[0].export_id,
      user_id: USERS[0],
      format: 'jsonl',
      status: 'completed',
      conversation_count: 99,
      count_range: 'small',
      duration_ms: 2500,
      file_size_bytes: 524288,
      timestamp: T0.toISOString(),
    });
    expect(lines[3]).toMatchObject({ status: 'failed', error_type: 'DatabaseError', error_message: 'Connection timeout', count_range: 'large' });

    // Logging the same export again replaces its row.
    const { service } = await logAll(db, []);
    await service.logExportMetric({ ...metrics[3], status: 'completed', file_size_bytes: 77, error_type: null, error_message: null });
    const again = await db.query<{ n: number; status: string }>(
      `select count(*)::integer as n, max(status) as status from cronwarden.export_metrics where export_id = $1`,
      [metrics[3].export_id],
    );
    expect(again[0]).toEqual({ n: 1, status: 'completed' });
  });

  it('aggregates equal values computed independently from the same fixture', async () => {
    const db = await engine.fresh();
    const all = fixture();
    // Two rows on the window's edges: `from` is included, `to` is excluded.
    const from = new Date(T0.getTime() + 2 * 3600_000);
    const to = new Date(T0.getTime() + 30 * 3600_000);
    all.push({ ...all[0], export_id: uuidOf('0b000000', 900), timestamp: from, status: 'completed', file_size_bytes: 42 });
    all.push({ ...all[1], export_id: uuidOf('0b000000', 901), timestamp: to, status: 'completed', file_size_bytes: 43 });
    const { service, logs } = await logAll(db, all);

    const agg = await service.aggregateMetrics({ from, to, period: 'custom' });
    const inWin = all.filter((m) => m.timestamp >= from && m.timestamp < to);
    const ok = inWin.filter((m) => m.status === 'completed');
    expect(inWin.length).toBeGreaterThan(40);
    expect(agg.total_exports).toBe(inWin.length);
    expect(agg.successful_exports).toBe(ok.length);
    expect(agg.failed_exports).toBe(inWin.length - ok.length);
    expect(agg.failed_exports).toBeGreaterThan(0);
    expect(agg.success_rate).toBeCloseTo(ok.length / inWin.length, 12);
    expect(agg.avg_duration_ms).toBeCloseTo(mean(ok.map((m) => m.duration_ms)), 9);
    expect(agg.p95_duration_ms).toBeCloseTo(percentileCont(ok.map((m) => m.duration_ms), 0.95), 9);

    const byFormat = groupBy(ok, (m) => m.format);
    expect(Object.keys(agg.avg_duration_by_format).sort()).toEqual([...byFormat.keys()].sort());
    for (const [f, ms] of byFormat) {
      expect(agg.avg_duration_by_format[f]).toBeCloseTo(mean(ms.map((m) => m.duration_ms)), 9);
      expect(agg.p95_duration_by_format[f]).toBeCloseTo(percentileCont(ms.map((m) => m.duration_ms), 0.95), 9);
      expect(agg.avg_file_size_by_format[f]).toBeCloseTo(mean(ms.map((m) => m.file_size_bytes!)), 6);
      expect(agg.max_file_size_by_format[f]).toBe(Math.max(...ms.map((m) => m.file_size_bytes!)));
    }
    const byRange = groupBy(ok, (m) => rangeOf(m.conversation_count));
    expect(Object.keys(agg.avg_duration_by_count_range).sort()).toEqual(['large', 'medium', 'small']);
    for (const [r, ms] of byRange) {
      expect(agg.avg_duration_by_count_range[r as 'small']).toBeCloseTo(mean(ms.map((m) => m.duration_ms)), 9);
      expect(agg.p95_duration_by_count_range[r as 'small']).toBeCloseTo(percentileCont(ms.map((m) => m.duration_ms), 0.95), 9);
    }

    const dist = Object.fromEntries([...groupBy(inWin, (m) => m.format)].map(([f, ms]) => [f, ms.length]));
    expect(agg.format_distribution).toEqual(dist);

    const hourKey = (d: Date) => new Date(Math.floor(d.getTime() / 3600_000) * 3600_000).toISOString();
    const hours = [...groupBy(inWin, (m) => hourKey(m.timestamp))]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([hour, ms]) => ({ hour, count: ms.length, failed: ms.filter((m) => m.status === 'failed').length }));
    expect(agg.volume_by_hour).toEqual(hours);
    const days = [...groupBy(inWin, (m) => m.timestamp.toISOString().slice(0, 10))]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([day, ms]) => ({ day, count: ms.length, failed: ms.filter((m) => m.status === 'failed').length }));
    expect(agg.volume_by_day).toEqual(days);
    expect(days).toHaveLength(2);

    const users = [...groupBy(inWin, (m) => m.user_id)].map(([user_id, ms]) => ({
      user_id,
      export_count: ms.length,
      failed_count: ms.filter((m) => m.status === 'failed').length,
      total_file_size_bytes: ms.reduce((s, m) => s + (m.file_size_bytes ?? 0), 0),
      last_export_at: new Date(Math.max(...ms.map((m) => m.timestamp.getTime()))),
    }));
    users.sort((a, b) => b.export_count - a.export_count || a.user_id.localeCompare(b.user_id));
    expect(agg.unique_users).toBe(users.length);
    expect(
      agg.user_activity.map((u) => ({ ...u, last_export_at: new Date(u.last_export_at) })),
    ).toEqual(users);

    // Scoped to one user.
    const mine = await service.aggregateMetrics({ from, to }, { userId: USERS[2], log: false });
    expect(mine.total_exports).toBe(inWin.filter((m) => m.user_id === USERS[2]).length);

    const line = logs.ofType('aggregated_metrics').at(-1)!;
    expect(line).toMatchObject({ period: 'custom', total_exports: inWin.length, failed_exports: inWin.length - ok.length });

    // An empty window: zeros, no rates.
    const empty = await service.aggregateMetrics({ from: new Date('2020-01-01T00:00:00Z'), to: new Date('2020-01-02T00:00:00Z') });
    expect(empty).toMatchObject({ total_exports: 0, success_rate: null, p95_duration_ms: null, avg_duration_by_format: {}, volume_by_hour: [] });

    // 'daily' is the 24 hours before the service's clock.
    const { deps } = testDeps(db);
    const at = new Date(T0.getTime() + 24 * 3600_000);
    const daily = await createExportMetricsService({ db, log: deps.log, now: () => at }).aggregateMetrics('daily');
    expect(daily.total_exports).toBe(all.filter((m) => m.timestamp >= T0 && m.timestamp < at).length);
  });

  it('alerts at 3 failures of 20, not at 1 of 20, 2 of 20 (10%, not above) or 1 of 2 (sample too small)', async () => {
    const at = new Date('2026-11-21T12:00:00Z');
    const cases: [number, number, boolean][] = [
      [20, 3, true],
      [20, 1, false],
      [20, 2, false],
      [2, 1, false],
    ];
    for (const [n, failed, expected] of cases) {
      const db = await engine.fresh();
      // Failures outside the 60-minute window do not count.
      const old = burst(10, 10, new Date(at.getTime() - 61 * 60_000), 500);
      const { deps, logs } = testDeps(db, { now: () => at });
      const service = createExportMetricsService({ db, log: deps.log, config: deps.config, now: () => at });
      for (const m of [...burst(n, failed, at), ...old]) await service.logExportMetric(m);
      const check = await service.checkFailureRate(60);
      expect(check).toMatchObject({ total: n, failed, alert: expected, threshold: 0.1, minSample: 10 });
      expect(check.failureRate).toBeCloseTo(failed / n, 12);
      const alerts = logs.ofType('export_failure_alert');
      expect(alerts).toHaveLength(expected ? 1 : 0);
      if (expected) {
        expect(alerts[0]).toMatchObject({
          severity: 'high',
          alert: true,
          failure_rate: 0.15,
          failed_count: 3,
          total_count: 20,
          threshold: 0.1,
          message: 'Export failure rate (15.00%) exceeds threshold (10%)',
        });
      }
      // The alert rule sees the same value, only with a big enough sample.
      const obs = await exportFailureRateRule.observe({ db, config: deps.config, now: at, log: deps.log });
      if (n >= 10) {
        expect(obs).toHaveLength(1);
        expect(obs[0].value).toBeCloseTo(failed / n, 12);
        expect(obs[0].value > exportFailureRateRule.threshold).toBe(expected);
      } else {
        expect(obs).toEqual([]);
      }
      // Gauges: success rate and exports of the last hour.
      const [rate] = await exportSuccessRateGauge.collect({ db, config: deps.config, now: at });
      expect(rate.value).toBeCloseTo((n - failed) / n, 12);
      expect(await exportsPerHourGauge.collect({ db, config: deps.config, now: at })).toEqual([
        { labels: { status: 'completed' }, value: n - failed },
        { labels: { status: 'failed' }, value: failed },
      ]);
    }
  });

  it('uses EXPORT_FAILURE_RATE_THRESHOLD and EXPORT_FAILURE_MIN_SAMPLE', async () => {
    const db = await engine.fresh();
    const at = new Date('2026-11-21T12:00:00Z');
    const config = testConfig({ EXPORT_FAILURE_RATE_THRESHOLD: '0.2', EXPORT_FAILURE_MIN_SAMPLE: '25' });
    expect(config.exports).toMatchObject({ failureRateThreshold: 0.2, failureMinSample: 25 });
    const { deps, logs } = testDeps(db, { config });
    const service = createExportMetricsService({ db, log: deps.log, config, now: () => at });
    for (const m of burst(30, 5, at)) await service.logExportMetric(m);
    expect((await service.checkFailureRate(60)).alert).toBe(false); // 16.7% <= 20%
    for (const m of burst(30, 10, at, 100)) await service.logExportMetric(m);
    const check = await service.checkFailureRate(60);
    expect(check).toMatchObject({ total: 60, failed: 15, alert: true, threshold: 0.2 });
    expect(logs.ofType('export_failure_alert')).toHaveLength(1);
    expect(() => testConfig({ EXPORT_FAILURE_RATE_THRESHOLD: '10' })).toThrow(/EXPORT_FAILURE_RATE_THRESHOLD/);
  });

  it('rolls completed hours into cronwarden.export_metrics_hourly idempotently and checks the failure rate', async () => {
    const db = await engine.fresh();
    const all = fixture();
    await logAll(db, all);
    const now = new Date(T0.getTime() + 20 * 3600_000 + 25 * 60_000); // 20:25 on day one
    const { deps, logs } = testDeps(db, { now: () => now });

    const first = await runJob(exportMetricsAggregateJob, { input: { lookbackHours: 48 }, dryRun: false }, deps);
    expect(first.kind).toBe('finished');
    if (first.kind !== 'finished') return;
    const end = new Date(T0.getTime() + 20 * 3600_000); // the current hour (20:00-) is not complete
    const done = all.filter((m) => m.timestamp < end);
    const expected = [...groupBy(done, (m) => `${new Date(Math.floor(m.timestamp.getTime() / 3600_000) * 3600_000).toISOString()}|${m.format}`)]
      .map(([k, ms]) => {
        const ok = ms.filter((m) => m.status === 'completed');
        const [hour, format] = k.split('|');
        return {
          hour,
          format,
          total_exports: ms.length,
          successful_exports: ok.length,
          failed_exports: ms.length - ok.length,
          avg_duration_ms: ok.length ? mean(ok.map((m) => m.duration_ms)) : null,
          p95_duration_ms: ok.length ? percentileCont(ok.map((m) => m.duration_ms), 0.95) : null,
          max_duration_ms: ok.length ? Math.max(...ok.map((m) => m.duration_ms)) : null,
          total_file_size_bytes: ok.reduce((s, m) => s + m.file_size_bytes!, 0),
        };
      })
      .sort((a, b) => a.hour.localeCompare(b.hour) || a.format.localeCompare(b.format));

    const read = async () =>
      (await db.rpc<Record<string, unknown>>('export_hourly_series', { p_from: T0, p_to: new Date(T0.getTime() + 48 * 3600_000) })).map((r) => ({
        hour: new Date(r.hour as Date).toISOString(),
        format: r.format,
        total_exports: r.total_exports,
        successful_exports: r.successful_exports,
        failed_exports: r.failed_exports,
        avg_duration_ms: r.avg_duration_ms,
        p95_duration_ms: r.p95_duration_ms,
        max_duration_ms: r.max_duration_ms,
        total_file_size_bytes: r.total_file_size_bytes,
      }));
    const rows = await read();
    expect(rows.length).toBe(expected.length);
    for (let i = 0; i < rows.length; i++) {
      const { avg_duration_ms, p95_duration_ms, ...exact } = expected[i];
      expect(rows[i]).toMatchObject(exact);
      if (avg_duration_ms === null) expect(rows[i].avg_duration_ms).toBeNull();
      else expect(rows[i].avg_duration_ms as number).toBeCloseTo(avg_duration_ms, 9);
      if (p95_duration_ms === null) expect(rows[i].p95_duration_ms).toBeNull();
      else expect(rows[i].p95_duration_ms as number).toBeCloseTo(p95_duration_ms, 9);
    }
    const lastHour = all.filter((m) => m.timestamp > new Date(now.getTime() - 3600_000) && m.timestamp <= now);
    expect(first.result).toMatchObject({
      rows_upserted: expected.length,
      rows_removed: 0,
      total_count: lastHour.length,
      failed_count: lastHour.filter((m) => m.status === 'failed').length,
      alert: false,
    });
    expect(logs.ofType('aggregated_metrics')).toHaveLength(1);

    // Again: the same rows, nothing removed.
    const second = await runJob(exportMetricsAggregateJob, { input: { lookbackHours: 48 }, dryRun: false }, deps);
    expect(second.kind === 'finished' && second.result).toMatchObject({ rows_upserted: expected.length, rows_removed: 0 });
    expect(await read()).toEqual(rows);

    // A source row disappears: its hour is recomputed, an emptied (hour, format) is dropped.
    const victim = done[0];
    const sameCell = done.filter(
      (m) => m.format === victim.format && Math.floor(m.timestamp.getTime() / 3600_000) === Math.floor(victim.timestamp.getTime() / 3600_000),
    );
    await db.query(`delete from cronwarden.export_metrics where export_id = any($1::text[])`, [sameCell.map((m) => m.export_id)]);
    const third = await runJob(exportMetricsAggregateJob, { input: { lookbackHours: 48 }, dryRun: false }, deps);
    expect(third.kind === 'finished' && third.result).toMatchObject({ rows_upserted: expected.length - 1, rows_removed: 1 });
    expect((await read()).length).toBe(expected.length - 1);
  });

  it('runs the failure check after the rollup and logs the alert; a dry run writes nothing', async () => {
    const db = await engine.fresh();
    const at = new Date('2026-11-21T12:10:00Z');
    const { deps, logs } = testDeps(db, { now: () => at });
    const service = createExportMetricsService({ db, log: deps.log, now: () => at });
    for (const m of burst(20, 3, at)) await service.logExportMetric(m);

    const dry = await runJob(exportMetricsAggregateJob, { input: {}, dryRun: true }, deps);
    expect(dry.kind === 'finished' && dry.result).toMatchObject({ would_upsert_rows: 1, rows_affected: 0, alert: true, total_count: 20, failed_count: 3 });
    expect(await db.query(`select * from cronwarden.export_metrics_hourly`)).toEqual([]);
    expect(logs.ofType('export_failure_alert')).toHaveLength(0);

    const real = await runJob(exportMetricsAggregateJob, { input: {}, dryRun: false }, deps);
    expect(real.kind === 'finished' && real.result).toMatchObject({ rows_upserted: 1, alert: true, failure_rate: 0.15 });
    expect(logs.ofType('export_failure_alert')).toHaveLength(1);
    const [hourRow] = await db.query<{ hour: Date; total_exports: number; failed_exports: number }>(
      `select hour, total_exports, failed_exports from cronwarden.export_metrics_hourly`,
    );
    // 20 exports in the 20 minutes before 12:10: 11:50-11:59 fall in the completed 11:00 hour.
    const inEleven = burst(20, 3, at).filter((m) => m.timestamp < new Date('2026-11-21T12:00:00Z'));
    expect(new Date(hourRow.hour).toISOString()).toBe('2026-11-21T11:00:00.000Z');
    expect(hourRow.total_exports).toBe(inEleven.length);
    expect(hourRow.failed_exports).toBe(inEleven.filter((m) => m.status === 'failed').length);
  });
});

// ---------------------------------------------------------------------------------------------
// Day and hour labels are UTC whatever the database session's time zone.
// ---------------------------------------------------------------------------------------------

const SERVICE_KEY = 'service-role-key-for-tests-0123456789';
let postgrest: FakePostgrest | undefined;
const zonedConnections: SqlDb[] = [];
afterEach(async () => {
  await postgrest?.close();
  postgrest = undefined;
  for (const d of zonedConnections.splice(0)) await d.close();
});

/** `db` with its session time zone set to `zone` (on PostgreSQL: a connection of its own, pinned). */
async function inZone(engine: Engine, db: SqlDb, zone: string): Promise<SqlDb> {
  if (engine.name === 'pglite') {
    await db.exec(`set time zone '${zone}'`);
    return db;
  }
  const [{ name }] = await db.query<{ name: string }>(`select current_database() as name`);
  const url = new URL(inject('pgAdminUrl'));
  url.pathname = `/${name}`;
  const zoned = PostgresDb.connect(url.toString(), 1);
  zonedConnections.push(zoned);
  await zoned.exec(`set time zone '${zone}'`);
  return zoned;
}

describeEngines('export metrics day labels', (engine) => {
  for (const zone of ['America/New_York', 'Pacific/Chatham']) {
    for (const driver of ['sql', 'supabase'] as const) {
      it(`labels exports at 2026-11-20 12:00Z and 2026-11-21 12:00Z with their UTC days and hours under session time zone ${zone}, via the ${driver} driver`, async () => {
        const db = await engine.fresh();
        const zoned = await inZone(engine, db, zone);
        expect((await zoned.query<{ tz: string }>(`select current_setting('TimeZone') as tz`))[0].tz).toBe(zone);
        let use: Db = zoned;
        if (driver === 'supabase') {
          postgrest = await startFakePostgrest(zoned, SERVICE_KEY);
          use = SupabaseDb.connect(postgrest.url, SERVICE_KEY);
        }
        const now = new Date('2026-11-22T12:00:00Z');
        const { deps } = testDeps(use, { now: () => now });
        const service = createExportMetricsService({ db: use, log: deps.log, now: () => now });
        // The reported exports, and two near the UTC day's edges (a zone's local day differs there).
        const times = ['2026-11-20T12:00:00Z', '2026-11-21T12:00:00Z', '2026-11-21T23:30:00Z', '2026-11-20T00:30:00Z'];
        for (const [i, t] of times.entries()) {
          await service.logExportMetric({
            export_id: uuidOf('0d000000', i), user_id: USERS[0], format: 'json', status: 'completed',
            conversation_count: 1, duration_ms: 5, file_size_bytes: 1, timestamp: new Date(t),
          });
        }
        const window = { from: new Date('2026-11-19T00:00:00Z'), to: new Date('2026-11-22T00:00:00Z') };
        const days = [['2026-11-20', 2], ['2026-11-21', 2]];
        // From the raw rows, from the raw rows of the window, and from the hourly rollup.
        expect((await service.aggregateMetrics(window)).volume_by_day.map((d) => [d.day, d.count])).toEqual(days);
        expect((await service.windowMetrics(window)).volume_by_day.map((d) => [d.day, d.count])).toEqual(days);
        const rollup = await runJob(exportMetricsAggregateJob, { input: {}, dryRun: false }, deps);
        expect(rollup.kind).toBe('finished');
        const rolled = await service.windowMetrics(window);
        expect(rolled.volume_by_day.map((d) => [d.day, d.count])).toEqual(days);
        expect(rolled.volume_by_hour.map((h) => h.hour)).toEqual([
          '2026-11-20T00:00:00.000Z', '2026-11-20T12:00:00.000Z', '2026-11-21T12:00:00.000Z', '2026-11-21T23:00:00.000Z',
        ]);
      });
    }
  }
});
