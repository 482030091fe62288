'use client';

import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  LabelList,
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
      if (n >= 60_000) return `${(n / 60_000).toFixed(n >= 600_000 ? 0 : 1)} min`;
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

export interface AxisLabels {
  /** What the horizontal axis counts, with its unit: "Day (UTC)". */
  xLabel?: string;
  /** What the vertical axis measures, with its unit: "Runs", "Duration", "Success rate (%)". */
  yLabel?: string;
}

const axisProps = { tick: { fontSize: 11, fill: '#5b6470' }, stroke: '#c4cad2' };
const axisTitle = { fontSize: 11, fill: '#5b6470', fontWeight: 600 } as const;

function xAxisLabel(text?: string) {
  return text ? { value: text, position: 'insideBottom' as const, offset: -2, style: axisTitle } : undefined;
}

function yAxisLabel(text?: string) {
  return text ? { value: text, angle: -90, position: 'insideLeft' as const, offset: 6, style: { ...axisTitle, textAnchor: 'middle' as const } } : undefined;
}

function margins(l: AxisLabels) {
  return { top: 8, right: 12, bottom: l.xLabel ? 14 : 4, left: l.yLabel ? 8 : 0 };
}

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
  xLabel,
  yLabel,
}: {
  data: Record<string, string | number | null>[];
  xKey: string;
  series: SeriesSpec[];
  format?: ValueFormat;
  yMax?: number;
  emptyText?: string;
  label: string;
  small?: boolean;
} & AxisLabels) {
  if (!hasData(data, series.map((s) => s.key))) return <Empty text={emptyText} />;
  return (
    <div className={small ? styles.chartBoxSmall : styles.chartBox} role="img" aria-label={label} data-chart={label}>
      <ResponsiveContainer width="100%" height="100%">
        <LineChart data={data} margin={margins({ xLabel, yLabel })}>
          <CartesianGrid stroke="#eef0f3" vertical={false} />
          <XAxis dataKey={xKey} {...axisProps} minTickGap={24} label={xAxisLabel(xLabel)} />
          <YAxis
            {...axisProps}
            width={yLabel ? 66 : 56}
            domain={[0, yMax ?? 'auto']}
            tickFormatter={(v) => formatValue(v, format)}
            allowDecimals={format !== 'count'}
            label={yAxisLabel(yLabel)}
          />
          <Tooltip formatter={(v) => formatValue(v, format)} />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12, paddingTop: xLabel ? 10 : 0 }} />}
          {series.map((s) => (
            <Line
              key={s.key}
              type="linear"
              dataKey={s.key}
              name={s.name}
              stroke={s.color}
              strokeWidth={2}
              dot={{ r: 2.5 }}
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
  xLabel,
  yLabel,
}: {
  data: Record<string, string | number | null>[];
  xKey: string;
  series: SeriesSpec[];
  format?: ValueFormat;
  emptyText?: string;
  label: string;
  small?: boolean;
} & AxisLabels) {
  const keys = series.map((s) => s.key);
  const any = data.some((d) => keys.some((k) => Number(d[k] ?? 0) > 0));
  if (!any) return <Empty text={emptyText} />;
  return (
    <div className={small ? styles.chartBoxSmall : styles.chartBox} role="img" aria-label={label} data-chart={label}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} margin={margins({ xLabel, yLabel })}>
          <CartesianGrid stroke="#eef0f3" vertical={false} />
          <XAxis dataKey={xKey} {...axisProps} minTickGap={16} label={xAxisLabel(xLabel)} />
          <YAxis {...axisProps} width={yLabel ? 66 : 56} tickFormatter={(v) => formatValue(v, format)} allowDecimals={format !== 'count'} label={yAxisLabel(yLabel)} />
          <Tooltip formatter={(v) => formatValue(v, format)} cursor={{ fill: 'rgba(36, 87, 197, 0.06)' }} />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12, paddingTop: xLabel ? 10 : 0 }} />}
          {series.map((s) => (
            <Bar key={s.key} dataKey={s.key} name={s.name} fill={s.color} stackId={s.stack} isAnimationActive={false} maxBarSize={36} />
          ))}
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}

/**
 * Counts per bucket (for example drafts by age) as horizontal bars side by side, each with its
 * number written at its end and at least a sliver long: a bucket of 3 stays readable next to one
 * of 3,000.
 */
export function BucketBarChart({
  data,
  bucketKey,
  series,
  emptyText = 'No data.',
  label,
  valueLabel,
  bucketLabel,
}: {
  data: Record<string, string | number | null>[];
  bucketKey: string;
  series: SeriesSpec[];
  emptyText?: string;
  label: string;
  /** What the bars count, with its unit: "Drafts". */
  valueLabel: string;
  /** What the buckets are: "Age". */
  bucketLabel: string;
}) {
  const keys = series.map((s) => s.key);
  const any = data.some((d) => keys.some((k) => Number(d[k] ?? 0) > 0));
  if (!any) return <Empty text={emptyText} />;
  const height = Math.max(200, 46 + data.length * (14 * series.length + 14));
  return (
    <div className={styles.chartBoxAuto} style={{ height }} role="img" aria-label={label} data-chart={label}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={data} layout="vertical" margin={{ top: 4, right: 44, bottom: 14, left: 8 }} barCategoryGap={6} barGap={2}>
          <CartesianGrid stroke="#eef0f3" horizontal={false} />
          <XAxis type="number" {...axisProps} allowDecimals={false} tickFormatter={(v) => formatValue(v, 'count')} label={xAxisLabel(valueLabel)} />
          <YAxis type="category" dataKey={bucketKey} {...axisProps} width={74} label={yAxisLabel(bucketLabel)} />
          <Tooltip formatter={(v) => formatValue(v, 'count')} cursor={{ fill: 'rgba(36, 87, 197, 0.06)' }} />
          {series.length > 1 && <Legend wrapperStyle={{ fontSize: 12, paddingTop: 10 }} />}
          {series.map((s) => (
            <Bar key={s.key} dataKey={s.key} name={s.name} fill={s.color} isAnimationActive={false} minPointSize={2} maxBarSize={16}>
              <LabelList
                dataKey={s.key}
                position="right"
                style={{ fontSize: 11, fill: '#1b1f24' }}
                formatter={(v: unknown) => (Number(v) > 0 ? formatValue(v, 'count') : '')}
              />
            </Bar>
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
  const share = (v: unknown) => `${((Number(v) / total) * 100).toFixed(0)}%`;
  return (
    <div className={styles.chartBox} role="img" aria-label={label} data-chart={label}>
      <ResponsiveContainer width="100%" height="100%">
        <PieChart>
          <Pie
            data={rows}
            dataKey="value"
            nameKey="name"
            innerRadius="45%"
            outerRadius="72%"
            paddingAngle={1}
            isAnimationActive={false}
            label={({ value }) => share(value)}
          >
            {rows.map((d, i) => (
              <Cell key={d.name} fill={colors[d.name] ?? MIX_COLORS[i % MIX_COLORS.length]} />
            ))}
          </Pie>
          <Tooltip formatter={(v) => `${Number(v).toLocaleString('en-US')} (${((Number(v) / total) * 100).toFixed(1)}%)`} />
          <Legend wrapperStyle={{ fontSize: 12 }} formatter={(name: string) => `${name} · ${share(rows.find((r) => r.name === name)?.value ?? 0)}`} />
        </PieChart>
      </ResponsiveContainer>
    </div>
  );
}
