import type { AggregatedMetrics, WindowMetrics } from '../monitoring/export-metrics';
import type { HourlyPoint } from '../monitoring/export-admin';

export interface ExportHourSlot {
  [key: string]: string | number | null;
  hour: string;
  /** 'HH:00' UTC, the chart's axis label. */
  label: string;
  total: number;
  completed: number;
  failed: number;
  /** Percent of the hour's finished exports that completed; null for an hour without exports. */
  success_rate: number | null;
}

export interface ExportCharts {
  slots: ExportHourSlot[];
  /** Formats with a p95 series (keys `p95_<format>` in the slots). */
  p95Formats: string[];
  mix: { name: string; value: number }[];
}

const HOUR = 3_600_000;

/**
 * Chart rows for the last `hours`: one slot per UTC hour (empty hours included, so gaps show),
 * volume and success rate from the window's volume_by_hour, p95 duration per format from
 * the hourly rollup (export_metrics_hourly), and the format mix from the aggregate.
 */
export function exportCharts(
  aggregate: Pick<AggregatedMetrics | WindowMetrics, 'volume_by_hour' | 'format_distribution'>,
  hourly: HourlyPoint[],
  from: Date,
  to: Date,
): ExportCharts {
  const first = Math.floor(from.getTime() / HOUR) * HOUR;
  const last = Math.floor((to.getTime() - 1) / HOUR) * HOUR;
  const slots: ExportHourSlot[] = [];
  const byHour = new Map<number, ExportHourSlot>();
  for (let t = first; t <= last; t += HOUR) {
    const d = new Date(t);
    const slot: ExportHourSlot = {
      hour: d.toISOString(),
      label: `${String(d.getUTCHours()).padStart(2, '0')}:00`,
      total: 0,
      completed: 0,
      failed: 0,
      success_rate: null,
    };
    slots.push(slot);
    byHour.set(t, slot);
  }
  for (const b of aggregate.volume_by_hour) {
    const slot = byHour.get(Math.floor(new Date(b.hour).getTime() / HOUR) * HOUR);
    if (!slot) continue;
    slot.total += b.count;
    slot.failed += b.failed;
    slot.completed = slot.total - slot.failed;
  }
  for (const s of slots) s.success_rate = s.total > 0 ? Math.round((1000 * s.completed) / s.total) / 10 : null;

  const formats = new Set<string>();
  for (const p of hourly) {
    const slot = byHour.get(Math.floor(new Date(p.hour).getTime() / HOUR) * HOUR);
    if (!slot || p.p95_duration_ms === null) continue;
    slot[`p95_${p.format}`] = Math.round(p.p95_duration_ms);
    formats.add(p.format);
  }
  const p95Formats = [...formats].sort();
  for (const s of slots) for (const f of p95Formats) if (!(`p95_${f}` in s)) s[`p95_${f}`] = null;

  const mix = Object.entries(aggregate.format_distribution ?? {})
    .map(([name, value]) => ({ name, value: Number(value) }))
    .filter((m) => m.value > 0)
    .sort((a, b) => b.value - a.value);
  return { slots, p95Formats, mix };
}
