'use client';

import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import styles from '../admin.module.css';

/** How a value axis is labelled; functions cannot cross from server to client components. */
export type ValueFormat = 'count' | 'percent' | 'ms' | 'ratio';

function formatValue(v: unknown, format: ValueFormat): string {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) return '—';
  switch (format) {
    case 'percent':
      return `${Number.isInteger(n) ? n : n.toFixed(1)}%`;
    case 'ratio':
      return `${(n * 100).toFixed(1)}%`;
    case 'ms':
      return n >= 10_000 ? `${(n / 1000).toFixed(0)} s` : n >= 1000 ? `${(n / 1000).toFixed(1)} s` : `${Math.round(n)} ms`;
    default:
      return n.toLocaleString('en-US');
  }
}

export interface SeriesSpec {
  key: string;
  name: string;
  color: string;
  /** Bars with the same stack id are stacked. */
  stack?: string;
}

const axisProps = { tick: { fontSize: 11, fill: '#5b6470' }, stroke: '#c4cad2' };

function Empty({ text }: { text: string }) {
  return (
    <div className={styles.empty} data-empty-chart>
      {text}
    </div>
  );
}

function hasData(data: Record<string, unknown>[], keys: string[]): boolean {
  return data.some((d) => keys.some((k) => typeof d[k] === 'number' && Number.isFinite(d[k] as number)));
}

/** Lines with a dot per point, for rates and durations over time. */
export function LineSeriesChart({
  data,
  xKey,
  series,
  format = 'count',
  yMax,
  emptyText = 'No data for this period.',
  label,
  small = false,
}: {
  data: Record<string, string | number | null>[];
  xKey: string;
  series: SeriesSpec[];
  format?: ValueFormat;
  yMax?: number;
  emptyText?: string;
  label: string;
  small?: boolean;
}) {
  if (!hasData(data, series.map((s) => s.key))) return <Empty text={emptyText} />;
  return (
    <div className={small ? styles.chartBoxSmall : styles.chartBox} role="img" aria-label={label} data-chart={label}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 4 }}>
          <CartesianGrid stroke="#eef0f3" vertical={false} />
          <XAxis dataKey={xKey} {...axisProps} minTickGap={24} />
          <YAxis
            {...axisProps}
            width={56}
            domain={[0, yMax ?? 'auto']}
            tickFormatter={(v) => formatValue(v, format)}
            allowDecimals={format !== 'count'}
          />
          <Tooltip formatter={(v) => formatValue(v, format)} />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
          {series.map((s) => (
            <Line
              key={s.key}
              type="linear"
              dataKey={s.key}
              name={s.name}
              stroke={s.color}
              strokeWidth={2}
              dot={{ r: 3 }}
              connectNulls
              isAnimationActive={false}
            />
          ))}
        </LineChart>
      </ResponsiveContainer>
    </div>
  );
}

/** Bars (optionally stacked), for counts per hour or per day. */
export function BarSeriesChart({
  data,
  xKey,
  series,
  format = 'count',
  emptyText = 'No data for this period.',
  label,
  small = false,
}: {
  data: Record<string, string | number | null>[];
  xKey: string;
  series: SeriesSpec[];
  format?: ValueFormat;
  emptyText?: string;
  label: string;
  small?: boolean;
}) {
  const keys = series.map((s) => s.key);
  const any = data.some((d) => keys.some((k) => Number(d[k] ?? 0) > 0));
  if (!any) return <Empty text={emptyText} />;
  return (
    <div className={small ? styles.chartBoxSmall : styles.chartBox} role="img" aria-label={label} data-chart={label}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={{ top: 8, right: 16, bottom: 4, left: 4 }}>
          <CartesianGrid stroke="#eef0f3" vertical={false} />
          <XAxis dataKey={xKey} {...axisProps} minTickGap={16} />
          <YAxis {...axisProps} width={56} tickFormatter={(v) => formatValue(v, format)} allowDecimals={format !== 'count'} />
          <Tooltip formatter={(v) => formatValue(v, format)} cursor={{ fill: 'rgba(36, 87, 197, 0.06)' }} />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
          {series.map((s) => (
            <Bar key={s.key} dataKey={s.key} name={s.name} fill={s.color} stackId={s.stack} isAnimationActive={false} maxBarSize={36} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

const MIX_COLORS = ['#2457c5', '#1f9d8a', '#d68a1c', '#a23fb5', '#c2410c', '#4b5563', '#0e7490', '#65a30d'];

/** Shares of a whole (for example the export format mix), as a donut with a legend. */
export function MixChart({
  data,
  emptyText = 'No data for this period.',
  label,
  colors = {},
}: {
  data: { name: string; value: number }[];
  emptyText?: string;
  label: string;
  /** Colour per name, to match other charts of the same things. */
  colors?: Record<string, string>;
}) {
  const rows = data.filter((d) => d.value > 0);
  if (rows.length === 0) return <Empty text={emptyText} />;
  const total = rows.reduce((a, d) => a + d.value, 0);
  return (
    <div className={styles.chartBox} role="img" aria-label={label} data-chart={label}>
      <ResponsiveContainer width="100%" height="100%">
        <PieChart>
          <Pie
            data={rows}
            dataKey="value"
            nameKey="name"
            innerRadius="45%"
            outerRadius="75%"
            paddingAngle={1}
            isAnimationActive={false}
            label={({ name, value }) => `${name} ${((Number(value) / total) * 100).toFixed(0)}%`}
          >
            {rows.map((d, i) => (
              <Cell key={d.name} fill={colors[d.name] ?? MIX_COLORS[i % MIX_COLORS.length]} />
            ))}
          </Pie>
          <Tooltip formatter={(v) => `${Number(v).toLocaleString('en-US')} (${((Number(v) / total) * 100).toFixed(1)}%)`} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
        </PieChart>
      </ResponsiveContainer>
    </div>
  );
}
