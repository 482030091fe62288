import { describe, expect, it } from 'vitest';
import { exportCharts } from '../../src/lib/admin/exports-view';
import { formatDuration, formatUtc, relativeTime } from '../../src/lib/admin/format';
import type { AggregatedMetrics } from '../../src/lib/monitoring/export-metrics';
import type { HourlyPoint } from '../../src/lib/monitoring/export-admin';

const hourly = (hour: string, format: string, p95: number | null): HourlyPoint => ({
  hour,
  format,
  total_exports: 1,
  successful_exports: 1,
  failed_exports: 0,
  avg_duration_ms: p95,
  p95_duration_ms: p95,
  max_duration_ms: p95,
  total_file_size_bytes: 0,
  avg_file_size_bytes: null,
});

describe('exportCharts', () => {
  it('gives one slot per UTC hour of the window, empty hours included, with rates, p95 per format and the mix', () => {
    const from = new Date('2026-11-23T09:40:00Z');
    const to = new Date('2026-11-23T12:40:00Z');
    const aggregate = {
      volume_by_hour: [
        { hour: '2026-11-23T09:00:00.000Z', count: 4, failed: 1 },
        { hour: '2026-11-23T11:00:00.000Z', count: 3, failed: 0 },
        { hour: '2026-11-23T08:00:00.000Z', count: 9, failed: 9 }, // before the window
      ],
      format_distribution: { json: 2, jsonl: 5, csv: 0 },
    } as unknown as AggregatedMetrics;
    const out = exportCharts(
      aggregate,
      [hourly('2026-11-23T09:00:00Z', 'json', 812.4), hourly('2026-11-23T11:00:00Z', 'csv', 1500), hourly('2026-11-23T10:00:00Z', 'json', null)],
      from,
      to,
    );
    expect(out.slots).toEqual([
      { hour: '2026-11-23T09:00:00.000Z', label: '09:00', total: 4, completed: 3, failed: 1, success_rate: 75, p95_csv: null, p95_json: 812 },
      { hour: '2026-11-23T10:00:00.000Z', label: '10:00', total: 0, completed: 0, failed: 0, success_rate: null, p95_csv: null, p95_json: null },
      { hour: '2026-11-23T11:00:00.000Z', label: '11:00', total: 3, completed: 3, failed: 0, success_rate: 100, p95_csv: 1500, p95_json: null },
      { hour: '2026-11-23T12:00:00.000Z', label: '12:00', total: 0, completed: 0, failed: 0, success_rate: null, p95_csv: null, p95_json: null },
    ]);
    expect(out.p95Formats).toEqual(['csv', 'json']);
    expect(out.mix).toEqual([
      { name: 'jsonl', value: 5 },
      { name: 'json', value: 2 },
    ]);
  });
});

describe('admin formatting', () => {
  const now = new Date('2026-11-23T12:00:00Z');
  it('formats times in UTC and relative to now', () => {
    expect(formatUtc('2026-11-23T04:30:59.999Z')).toBe('2026-11-23 04:30 UTC');
    expect(formatUtc(null)).toBe('—');
    expect(relativeTime('2026-11-23T09:00:00Z', now)).toBe('3 h ago');
    expect(relativeTime('2026-11-24T04:30:00Z', now)).toBe('in 16 h');
    expect(relativeTime('2026-11-20T12:00:00Z', now)).toBe('3 d ago');
    expect(relativeTime('2026-11-23T11:59:59.500Z', now)).toBe('just now');
  });
  it('formats durations', () => {
    expect(formatDuration(75)).toBe('75 ms');
    expect(formatDuration(7612)).toBe('7.61 s');
    expect(formatDuration(42_000)).toBe('42.0 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(null)).toBe('—');
  });
});
