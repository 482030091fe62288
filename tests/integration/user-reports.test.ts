import { describe, expect, it } from 'vitest';
import { DELETION_ERROR_RATE_MIN_SAMPLE, userRules } from '../../src/lib/alerts/rules/users';
import type { SqlDb } from '../../src/lib/db/types';
import { userGauges } from '../../src/lib/monitoring/gauges/users';
import {
  buildLongTermReport,
  buildUsageReport,
  DEFAULT_REPORT_THRESHOLDS,
  slicesOf,
  trendOf,
} from '../../src/lib/monitoring/user-deletion-reports';
import { deletionStats, errorRateSeries } from '../../src/lib/monitoring/user-deletion-stats';
import { describeEngines } from '../support/db';
import { captureLogs, testConfig } from '../support/deps';

// [created_at, status, error_type, duration_ms, user_type]. 2026-11-02 is a Monday.
type Row = [string, 'success' | 'failure', string | null, number, string | null];
const ROWS: Row[] = [
  ['2026-11-02T14:10:00Z', 'success', null, 1000, 'member'], // 1  Mon 14h
  ['2026-11-02T14:40:00Z', 'success', null, 2000, 'member'], // 2  Mon 14h
  ['2026-11-03T09:00:00Z', 'success', null, 4000, 'admin'], // 3  Tue 9h, slow
  ['2026-11-03T09:30:00Z', 'failure', 'timeout', 25000, 'member'], // 4  Tue 9h
  ['2026-11-04T14:05:00Z', 'failure', 'not_found', 20, null], // 5  Wed 14h
  ['2026-11-08T20:00:00Z', 'success', null, 500, 'guest'], // 6  Sun 20h
  ['2026-11-10T14:00:00Z', 'success', null, 1500, 'member'], // 7  Tue 14h
  ['2026-11-10T14:20:00Z', 'failure', 'timeout', 26000, 'guest'], // 8  Tue 14h
  ['2026-11-10T14:30:00Z', 'failure', 'timeout', 25500, 'member'], // 9  Tue 14h
  ['2026-11-11T10:00:00Z', 'failure', 'not_found', 30, null], // 10 Wed 10h
  ['2026-11-12T16:00:00Z', 'success', null, 3500, 'admin'], // 11 Thu 16h, slow
  ['2026-11-15T23:59:59Z', 'success', null, 800, 'member'], // 12 Sun 23h
  ['2026-11-01T23:59:59Z', 'success', null, 100, 'member'], // 13 before the window
  ['2026-11-16T00:00:00Z', 'failure', 'db_error', 50, 'member'], // 14 at the window's end: excluded
];
const FROM = new Date('2026-11-02T00:00:00Z');
const TO = new Date('2026-11-16T00:00:00Z');

async function fixture(db: SqlDb) {
  for (const [at, status, errorType, duration, type] of ROWS) {
    await db.query(
      `insert into cronwarden.audit_logs (action, actor, target_type, target_id, status, duration_ms, error_type, details, created_at)
       values ('USER_DELETION', 'tester', 'user', gen_random_uuid()::text, $1, $2, $3, $4, $5)`,
      [status, duration, errorType, type ? { user_type: type } : {}, new Date(at)],
    );
  }
  // Other audit actions never count.
  await db.query(
    `insert into cronwarden.audit_logs (action, actor, target_type, status, duration_ms, error_type, created_at)
     values ('EXPORT_DELETION', 'x', 'export', 'failure', 99999, 'timeout', '2026-11-10T14:10:00Z')`,
  );
}

describe('report helpers', () => {
  it('cuts the window at its midpoint, then into slices', () => {
    const s = slicesOf(new Date('2026-01-01T00:00:00Z'), new Date('2026-01-04T00:00:00Z'), 86_400_000);
    expect(s.map((x) => [x.start.toISOString().slice(0, 13), x.end.toISOString().slice(0, 13), x.firstHalf])).toEqual([
      ['2026-01-01T00', '2026-01-02T00', true],
      ['2026-01-02T00', '2026-01-02T12', true],
      ['2026-01-02T12', '2026-01-03T12', false],
      ['2026-01-03T12', '2026-01-04T00', false],
    ]);
  });
  it('classifies trends against the threshold', () => {
    expect(trendOf(4, 5, 20)).toEqual({ change_percent: 25, trend: 'rising' });
    expect(trendOf(5, 6, 20)).toEqual({ change_percent: 20, trend: 'stable' });
    expect(trendOf(10, 7, 20)).toEqual({ change_percent: -30, trend: 'falling' });
    expect(trendOf(0, 2, 20)).toEqual({ change_percent: null, trend: 'new' });
    expect(trendOf(0, 0, 20)).toEqual({ change_percent: null, trend: 'stable' });
  });
});

describeEngines('user deletion reports', (engine) => {
  it('usage report figures equal the ones computed by hand', async () => {
    const db = await engine.fresh();
    await fixture(db);
    const progress: [number, number][] = [];
    const r = await buildUsageReport(db, { from: FROM, to: TO, now: TO, onProgress: (d, t) => progress.push([d, t]) });

    expect(r.usage_pattern_analysis_report).toEqual({
      analysis_period_days: 14,
      window_start: FROM.toISOString(),
      window_end: TO.toISOString(),
      generated_at: TO.toISOString(),
      slices: 14,
    });
    expect(progress.at(-1)).toEqual([15, 15]);
    const f = r.deletion_frequency_analysis;
    expect([f.total_deletions, f.successful_deletions, f.failed_deletions]).toEqual([12, 7, 5]);
    expect(f.success_rate_percent).toBe(58.33);
    expect(f.error_rate_percent).toBe(41.67);
    expect([f.peak_hour, f.peak_hour_deletions, f.peak_day, f.peak_day_deletions]).toEqual([14, 6, 'Tuesday', 5]);
    expect(f.max_deletions_in_an_hour).toBe(3);
    const hours = Object.fromEntries(f.by_hour.filter((h) => h.total > 0).map((h) => [h.hour, [h.total, h.successful, h.failed]]));
    expect(hours).toEqual({ 9: [2, 1, 1], 10: [1, 0, 1], 14: [6, 3, 3], 16: [1, 1, 0], 20: [1, 1, 0], 23: [1, 1, 0] });
    expect(f.by_weekday.map((d) => [d.day, d.total])).toEqual([
      ['Monday', 2],
      ['Tuesday', 5],
      ['Wednesday', 2],
      ['Thursday', 1],
      ['Friday', 0],
      ['Saturday', 0],
      ['Sunday', 2],
    ]);
    expect(f.slices).toHaveLength(14);
    expect(f.slices.reduce((n, s) => n + s.total, 0)).toBe(12);
    expect(f.slices[8]).toEqual({ start: '2026-11-10T00:00:00.000Z', end: '2026-11-11T00:00:00.000Z', total: 3, successful: 1, failed: 2, timeouts: 2, slow: 2 });

    expect(r.user_type_patterns).toEqual([
      { user_type: 'member', total: 6, successful: 4, failed: 2, share_percent: 50, success_rate_percent: 66.67, avg_duration_ms: 9300 },
      { user_type: 'admin', total: 2, successful: 2, failed: 0, share_percent: 16.67, success_rate_percent: 100, avg_duration_ms: 3750 },
      { user_type: 'guest', total: 2, successful: 1, failed: 1, share_percent: 16.67, success_rate_percent: 50, avg_duration_ms: 13250 },
      { user_type: 'unknown', total: 2, successful: 0, failed: 2, share_percent: 16.67, success_rate_percent: 0, avg_duration_ms: 25 },
    ]);
    expect(r.failure_analysis).toEqual({
      total_failures: 5,
      classes: [
        { error_type: 'timeout', count: 3, share_percent: 60, first_half: 1, second_half: 2, change_percent: 100, trend: 'rising' },
        { error_type: 'not_found', count: 2, share_percent: 40, first_half: 1, second_half: 1, change_percent: 0, trend: 'stable' },
      ],
    });
    // Sorted durations: 20 30 500 800 1000 1500 2000 3500 4000 25000 25500 26000 (sum 89850);
    // percentile_cont at p * 11: p50 → 1750, p90 → 25450, p95 → 25725, p99 → 25945.
    expect(r.performance_analysis).toEqual({
      latency_ms: { count: 12, avg: 7487.5, p50: 1750, p90: 25450, p95: 25725, p99: 25945, max: 26000 },
      slow_operations: { threshold_ms: 3000, total: 5, max_per_day: 2 },
      max_timeouts_in_an_hour: 2,
    });

    expect(r.optimization_recommendations.performance_optimization.map((x) => [x.metric, x.value, x.threshold])).toEqual([
      ['avg_duration_ms', 7487.5, 3000],
      ['p95_duration_ms', 25725, 5000],
    ]);
    expect(r.optimization_recommendations.failure_reduction.map((x) => [x.metric, x.value, x.threshold])).toEqual([
      ['error_rate_percent', 41.67, 1],
      ['failure_trend_percent.timeout', 100, 20],
    ]);
    for (const rec of [...r.optimization_recommendations.performance_optimization, ...r.optimization_recommendations.failure_reduction]) {
      expect(rec.message).toContain(String(rec.value));
    }

    // Lower thresholds trigger the per-day and per-hour recommendations, each naming its figure.
    const strict = await buildUsageReport(db, {
      from: FROM,
      to: TO,
      thresholds: { ...DEFAULT_REPORT_THRESHOLDS, slowOperationsPerDay: 1, timeoutsPerHour: 1, avgDurationMs: 10_000, p95DurationMs: 30_000, errorRatePercent: 50 },
    });
    expect(strict.optimization_recommendations.performance_optimization.map((x) => [x.metric, x.value, x.threshold])).toEqual([
      ['max_slow_operations_per_day', 2, 1],
    ]);
    expect(strict.optimization_recommendations.failure_reduction.map((x) => [x.metric, x.value, x.threshold])).toEqual([
      ['max_timeouts_in_an_hour', 2, 1],
      ['failure_trend_percent.timeout', 100, 20],
    ]);
  });

  it('an empty window reports zeros and no peaks', async () => {
    const db = await engine.fresh();
    await fixture(db);
    const r = await buildUsageReport(db, { from: new Date('2025-01-01T00:00:00Z'), to: new Date('2025-01-08T00:00:00Z') });
    expect(r.deletion_frequency_analysis).toMatchObject({ total_deletions: 0, success_rate_percent: null, peak_hour: null, peak_day: null });
    expect(r.performance_analysis.latency_ms).toEqual({ count: 0, avg: null, p50: null, p90: null, p95: null, p99: null, max: null });
    expect(r.optimization_recommendations).toEqual({ performance_optimization: [], failure_reduction: [] });
  });

  it('live stats, the hourly series, gauges and alert rules read the same figures', async () => {
    const db = await engine.fresh();
    await fixture(db);
    // (14:00, 15:00]: row 7 at exactly 14:00 is outside; rows 8 and 9 are in.
    const now = new Date('2026-11-10T15:00:00Z');
    const s = await deletionStats(db, { minutes: 60, now });
    expect(s).toEqual({
      window_minutes: 60,
      window_start: '2026-11-10T14:00:00.000Z',
      window_end: '2026-11-10T15:00:00.000Z',
      total_attempts: 2,
      total_deletions: 2,
      successful_deletions: 0,
      failed_deletions: 2,
      error_rate_percent: 100,
      avg_duration_ms: 25750,
      p95_duration_ms: 25975,
      max_duration_ms: 26000,
      timeouts: 2,
      not_found: 0,
      conflicts: 0,
      db_errors: 0,
      last_attempt_at: '2026-11-10T14:30:00.000Z',
    });

    const series = await errorRateSeries(db, { hours: 3, now: new Date('2026-11-10T14:45:00Z') });
    expect(series).toEqual([
      { hour_start: '2026-11-10T12:00:00.000Z', total: 0, failed: 0, error_rate_percent: 0, timeouts: 0, p95_duration_ms: null, not_found: 0 },
      { hour_start: '2026-11-10T13:00:00.000Z', total: 0, failed: 0, error_rate_percent: 0, timeouts: 0, p95_duration_ms: null, not_found: 0 },
      // 1500, 25500, 26000: p95 at 1.9 → 25950.
      { hour_start: '2026-11-10T14:00:00.000Z', total: 3, failed: 2, error_rate_percent: 66.67, timeouts: 2, p95_duration_ms: 25950, not_found: 0 },
    ]);

    const config = testConfig();
    const gauges = Object.fromEntries(await Promise.all(userGauges.map(async (g) => [g.name, await g.collect({ db, config, now })])));
    expect(gauges.cronwarden_user_deletion_error_ratio_last_hour).toEqual([{ value: 1 }]);
    expect(gauges.cronwarden_user_deletion_p95_duration_seconds).toEqual([{ value: 25.975 }]);
    expect(gauges.cronwarden_user_deletion_attempts_last_hour).toContainEqual({ labels: { outcome: 'timeout' }, value: 2 });

    const ctx = { db, config, now, log: captureLogs().log };
    const values = Object.fromEntries(
      await Promise.all(userRules.filter((r) => r.id !== 'users.orphaned_records').map(async (r) => [r.id, (await r.observe(ctx)).map((o) => o.value)])),
    );
    // Two attempts in the hour: below the error-rate rules' minimum sample, so they stay quiet.
    expect(values).toEqual({
      'users.deletion_error_rate_critical': [],
      'users.deletion_error_rate_warning': [],
      'users.deletion_p95_slow': [25975],
      'users.deletion_timeouts': [2],
    });
    // An hour without attempts observes nothing.
    expect(await userRules[0].observe({ ...ctx, now: new Date('2026-11-10T18:00:00Z') })).toEqual([]);
  });

  it('error-rate rules observe from the minimum sample on: 1 failure in 9 is silent, in 10 it is 10%', async () => {
    const db = await engine.fresh();
    const now = new Date('2026-11-20T12:00:00Z');
    const attempt = (status: string, minutesAgo: number) =>
      db.query(
        `insert into cronwarden.audit_logs (action, actor, target_type, target_id, status, duration_ms, error_type, created_at)
         values ('USER_DELETION', 'tester', 'user', gen_random_uuid()::text, $1, 100, $2, $3)`,
        [status, status === 'failure' ? 'db_error' : null, new Date(now.getTime() - minutesAgo * 60_000)],
      );
    await attempt('failure', 5);
    for (let i = 0; i < DELETION_ERROR_RATE_MIN_SAMPLE - 2; i++) await attempt('success', 10 + i);
    const ctx = { db, config: testConfig(), now, log: captureLogs().log };
    const critical = userRules.find((r) => r.id === 'users.deletion_error_rate_critical')!;
    expect(await critical.observe(ctx)).toEqual([]);
    await attempt('success', 30);
    const [obs] = await critical.observe(ctx);
    expect(obs.value).toBe(10);
  });

  it('a 404 for an unknown user is not a failed deletion: 1 failure out of 3 attempts with a 404 stays silent, and 404s never fill the minimum sample', async () => {
    const db = await engine.fresh();
    const now = new Date('2026-11-20T12:00:00Z');
    const attempt = (status: string, errorType: string | null, minutesAgo: number, duration = 100) =>
      db.query(
        `insert into cronwarden.audit_logs (action, actor, target_type, target_id, status, duration_ms, error_type, created_at)
         values ('USER_DELETION', 'tester', 'user', gen_random_uuid()::text, $1, $2, $3, $4)`,
        [status, duration, errorType, new Date(now.getTime() - minutesAgo * 60_000)],
      );
    // The reported case: one success, one 404 and one real failure.
    await attempt('success', null, 10);
    await attempt('failure', 'not_found', 9, 8);
    await attempt('failure', 'db_error', 8);
    const ctx = { db, config: testConfig(), now, log: captureLogs().log };
    const critical = userRules.find((r) => r.id === 'users.deletion_error_rate_critical')!;
    expect(await critical.observe(ctx)).toEqual([]);
    expect(await deletionStats(db, { minutes: 60, now })).toMatchObject({
      total_attempts: 3,
      total_deletions: 2,
      successful_deletions: 1,
      failed_deletions: 1,
      error_rate_percent: 50,
      not_found: 1,
      avg_duration_ms: 100,
    });

    // Many 404s do not make a sample: 8 more 404s (11 attempts, 2 deletions) stay silent.
    for (let i = 0; i < 8; i++) await attempt('failure', 'not_found', 20 + i, 8);
    expect(await critical.observe(ctx)).toEqual([]);
    // Eight more successes make 10 deletions: 1 failed of 10 is 10 %, with the 404s left out.
    for (let i = 0; i < DELETION_ERROR_RATE_MIN_SAMPLE - 2; i++) await attempt('success', null, 30 + i);
    const [obs] = await critical.observe(ctx);
    expect(obs).toMatchObject({ value: 10, details: { total_deletions: 10, failed_deletions: 1, not_found: 9 } });
    // The attempts fall in the 11:00 clock hour.
    const [hour] = await errorRateSeries(db, { hours: 2, now });
    expect(hour).toMatchObject({ total: 10, failed: 1, error_rate_percent: 10, not_found: 9 });
    // The rules belong to the user deletion feature: the engine keeps them quiet while it is not bound.
    expect(userRules.every((r) => r.feature === 'userDeletion')).toBe(true);
  });

  it('long-term report compares the last period with the one before', async () => {
    const db = await engine.fresh();
    await fixture(db);
    const r = await buildLongTermReport(db, { now: TO, periodMs: 7 * 86_400_000, integrity: async () => ({ validation_status: 'PASSED' }) });
    expect(r.long_term_report).toEqual({
      generated_at: TO.toISOString(),
      window_start: '2026-11-09T00:00:00.000Z',
      window_end: TO.toISOString(),
      previous_window_start: FROM.toISOString(),
      period_days: 7,
    });
    expect(r.usage.deletion_frequency_analysis.total_deletions).toBe(6);
    // Current: 3 of 6 failed, p95 of 30 800 1500 3500 25500 26000 → 25875.
    // Previous: 2 of 6 failed, p95 of 20 500 1000 2000 4000 25000 → 19750.
    expect(r.previous_period).toEqual({
      total_deletions: 6,
      error_rate_percent: 33.33,
      p95_duration_ms: 19750,
      failure_classes: [
        { error_type: 'not_found', count: 1 },
        { error_type: 'timeout', count: 1 },
      ],
    });
    expect(r.changes).toEqual({ attempts_change_percent: 0, error_rate_change_points: 16.67, p95_change_ms: 6125 });
    expect(r.deletion_completeness_audit).toEqual({ sampled: 0, complete: 0, incomplete: [] });
    expect(r.data_integrity).toEqual({ validation_status: 'PASSED' });
  });
});
