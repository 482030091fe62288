/**
 * Export metrics aggregation: aggregateMetrics over a week holding `rows` export metrics,
 * against the bare aggregate (one SELECT written by hand that computes the same figures) and
 * against paging the rows to the client and aggregating in JavaScript. The three answers are
 * compared figure by figure before any time is reported.
 */
import type { SqlDb } from '../../src/lib/db/types';
import { createExportMetricsService, type AggregatedMetrics } from '../../src/lib/monitoring/export-metrics';
import { assert, atMost, benchConfig, DAY_MS, fmtInt, fmtMs, fmtX, jobDeps, median, NOW, settle, timed, type BenchCase, type Measurement } from './lib';

const FROM = new Date(NOW.getTime() - 7 * DAY_MS);
const TO = NOW;
/** PostgREST's default max-rows: what a client paging through supabase-js gets per request. */
const NAIVE_PAGE = 1000;
const TOP_USERS = 50;

/**
 * `n` finished exports spread evenly over [FROM, TO) in insertion order, 8% failed, 10,000
 * users (a few much more active than the rest), conversation counts 0-1199. Values come from
 * hashes of the row number, so every run seeds the same data.
 */
async function seedMetrics(db: SqlDb, n: number): Promise<void> {
  const stepMs = (TO.getTime() - FROM.getTime()) / n;
  await db.query(
    `insert into cronwarden.export_metrics (export_id, user_id, format, status, duration_ms, file_size_bytes, conversation_count,
                                 count_range, error_type, error_message, created_at)
     select gen_random_uuid(),
            ('00000000-0000-4000-8000-' || lpad(((h.a % 10000) * (h.b % 10000) / 10000)::text, 12, '0'))::uuid,
            (array['json', 'jsonl', 'csv', 'markdown'])[1 + h.c % 4],
            case when h.c % 100 < 8 then 'failed' else 'completed' end,
            200 + h.b % 5000 + cc * 25,
            case when h.c % 100 < 8 then null else 2000 + cc * 4000 + h.a % 100000 end,
            cc,
            cronwarden.export_count_range(cc),
            case when h.c % 100 < 8 then 'timeout' end,
            case when h.c % 100 < 8 then 'Export timed out after 300000 ms' end,
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

/** The figures all three methods must agree on. */
interface Figures {
  total: number;
  ok: number;
  failed: number;
  avg_d: number | null;
  p95_d: number | null;
  by_format: Record<string, { n: number; avg_d?: number; p95_d?: number; avg_s?: number; max_s?: number }>;
  by_range: Record<string, { avg_d: number; p95_d: number }>;
  hours: [string, number, number][];
  days: [string, number, number][];
  unique_users: number;
  top: [string, number, number, number][];
}

function fromService(a: AggregatedMetrics): Figures {
  const by_format: Figures['by_format'] = {};
  for (const [f, n] of Object.entries(a.format_distribution)) {
    by_format[f] = {
      n,
      avg_d: a.avg_duration_by_format[f],
      p95_d: a.p95_duration_by_format[f],
      avg_s: a.avg_file_size_by_format[f],
      max_s: a.max_file_size_by_format[f],
    };
  }
  const by_range: Figures['by_range'] = {};
  for (const [r, avg] of Object.entries(a.avg_duration_by_count_range)) {
    by_range[r] = { avg_d: avg as number, p95_d: (a.p95_duration_by_count_range as Record<string, number>)[r] };
  }
  return {
    total: a.total_exports,
    ok: a.successful_exports,
    failed: a.failed_exports,
    avg_d: a.avg_duration_ms,
    p95_d: a.p95_duration_ms,
    by_format,
    by_range,
    hours: a.volume_by_hour.map((h) => [new Date(h.hour).toISOString(), h.count, h.failed]),
    days: a.volume_by_day.map((d) => [d.day, d.count, d.failed]),
    unique_users: a.unique_users,
    top: a.user_activity.map((u) => [u.user_id, u.export_count, u.failed_count, Number(u.total_file_size_bytes)]),
  };
}

// ---------------------------------------------------------------------------------------------
// The bare aggregate: one statement, the rows read once into a narrow set, percentiles by
// grouping sets, the counting groups by hash in one pass.
// ---------------------------------------------------------------------------------------------

const BARE = `
with m as materialized (
  select format, status, duration_ms, file_size_bytes, count_range, user_id, created_at
    from cronwarden.export_metrics
   where created_at >= $1 and created_at < $2
),
s as (
  select grouping(format, count_range) as g, format, count_range,
         count(*)::integer as n,
         (count(*) filter (where status = 'completed'))::integer as ok,
         (count(*) filter (where status = 'failed'))::integer as failed,
         (avg(duration_ms) filter (where status = 'completed'))::double precision as avg_d,
         percentile_cont(0.95) within group (order by duration_ms) filter (where status = 'completed') as p95_d,
         (avg(file_size_bytes) filter (where status = 'completed'))::double precision as avg_s,
         max(file_size_bytes) filter (where status = 'completed') as max_s
    from m
   group by grouping sets ((), (format), (count_range))
),
t as (
  select grouping(date_trunc('hour', created_at, 'UTC'), date_trunc('day', created_at, 'UTC'), user_id) as g,
         date_trunc('hour', created_at, 'UTC') as hour,
         to_char(date_trunc('day', created_at, 'UTC'), 'YYYY-MM-DD') as day,
         user_id,
         count(*)::integer as n,
         (count(*) filter (where status = 'failed'))::integer as failed,
         coalesce(sum(file_size_bytes), 0)::double precision as bytes
    from m
   group by grouping sets ((date_trunc('hour', created_at, 'UTC')), (date_trunc('day', created_at, 'UTC')), (user_id))
)
select (select jsonb_agg(to_jsonb(s)) from s) as summary,
       (select jsonb_agg(jsonb_build_array(t.hour, t.n, t.failed) order by t.hour) from t where t.g = 3) as hours,
       (select jsonb_agg(jsonb_build_array(t.day, t.n, t.failed) order by t.day) from t where t.g = 5) as days,
       (select count(*)::integer from t where t.g = 6) as unique_users,
       (select jsonb_agg(jsonb_build_array(u.user_id, u.n, u.failed, u.bytes) order by u.n desc, u.user_id)
          from (select * from t where t.g = 6 order by t.n desc, t.user_id limit ${TOP_USERS}) u) as top`;

interface BareRow {
  summary: { g: number; format: string | null; count_range: string | null; n: number; ok: number; failed: number; avg_d: number | null; p95_d: number | null; avg_s: number | null; max_s: number | null }[];
  hours: [string, number, number][];
  days: [string, number, number][];
  unique_users: number;
  top: [string, number, number, number][];
}

async function bare(db: SqlDb): Promise<BareRow> {
  const [row] = await db.query<BareRow>(BARE, [FROM, TO]);
  return row;
}

function fromBare(r: BareRow): Figures {
  const all = r.summary.find((s) => s.g === 3)!;
  const by_format: Figures['by_format'] = {};
  for (const s of r.summary.filter((s) => s.g === 1)) {
    by_format[s.format!] = { n: s.n, avg_d: s.avg_d ?? undefined, p95_d: s.p95_d ?? undefined, avg_s: s.avg_s ?? undefined, max_s: s.max_s === null ? undefined : Number(s.max_s) };
  }
  const by_range: Figures['by_range'] = {};
  for (const s of r.summary.filter((s) => s.g === 2 && s.ok > 0)) by_range[s.count_range!] = { avg_d: s.avg_d!, p95_d: s.p95_d! };
  return {
    total: all.n,
    ok: all.ok,
    failed: all.failed,
    avg_d: all.avg_d,
    p95_d: all.p95_d,
    by_format,
    by_range,
    hours: (r.hours ?? []).map(([h, n, f]) => [new Date(h).toISOString(), n, f]),
    days: r.days ?? [],
    unique_users: r.unique_users,
    top: (r.top ?? []).map(([u, n, f, b]) => [u, n, f, Number(b)]),
  };
}

// ---------------------------------------------------------------------------------------------
// Naive: page the rows to the client (keyset, 1000 a page) and aggregate in JavaScript.
// ---------------------------------------------------------------------------------------------

interface MetricRow {
  export_id: string;
  user_id: string;
  format: string;
  status: string;
  duration_ms: number;
  file_size_bytes: number | string | null;
  count_range: string;
  created_at: Date | string;
}

/** percentile_cont: linear interpolation between the two nearest ranks. */
function percentileCont(sorted: number[], p: number): number {
  const pos = p * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

async function naive(db: SqlDb): Promise<{ figures: Figures; pages: number }> {
  const durations = { all: [] as number[], format: new Map<string, number[]>(), range: new Map<string, number[]>() };
  const sizes = new Map<string, { sum: number; n: number; max: number }>();
  const dist = new Map<string, number>();
  const hours = new Map<string, [number, number]>();
  const days = new Map<string, [number, number]>();
  const users = new Map<string, { n: number; failed: number; bytes: number }>();
  let total = 0;
  let failed = 0;
  let lastAt = new Date(FROM.getTime() - 1);
  let lastId = '00000000-0000-0000-0000-000000000000';
  let pages = 0;
  const push = <K>(m: Map<K, number[]>, k: K, v: number) => {
    const list = m.get(k);
    if (list) list.push(v);
    else m.set(k, [v]);
  };
  for (;;) {
    const page = await db.query<MetricRow>(
      `select export_id, user_id, format, status, duration_ms, file_size_bytes, count_range, created_at
         from cronwarden.export_metrics
        where created_at >= $1 and created_at < $2 and created_at >= $3 and (created_at, export_id) > ($3, $4::text)
        order by created_at, export_id
        limit ${NAIVE_PAGE}`,
      [FROM, TO, lastAt, lastId],
    );
    pages++;
    for (const r of page) {
      const at = r.created_at instanceof Date ? r.created_at : new Date(r.created_at);
      const size = r.file_size_bytes === null ? null : Number(r.file_size_bytes);
      total++;
      const isFailed = r.status === 'failed';
      if (isFailed) failed++;
      dist.set(r.format, (dist.get(r.format) ?? 0) + 1);
      if (r.status === 'completed') {
        durations.all.push(r.duration_ms);
        push(durations.format, r.format, r.duration_ms);
        push(durations.range, r.count_range, r.duration_ms);
        if (size !== null) {
          const s = sizes.get(r.format) ?? { sum: 0, n: 0, max: -Infinity };
          s.sum += size;
          s.n++;
          s.max = Math.max(s.max, size);
          sizes.set(r.format, s);
        }
      }
      const hour = new Date(Math.floor(at.getTime() / 3_600_000) * 3_600_000).toISOString();
      const day = at.toISOString().slice(0, 10);
      const h = hours.get(hour) ?? [0, 0];
      h[0]++;
      if (isFailed) h[1]++;
      hours.set(hour, h);
      const d = days.get(day) ?? [0, 0];
      d[0]++;
      if (isFailed) d[1]++;
      days.set(day, d);
      const u = users.get(r.user_id) ?? { n: 0, failed: 0, bytes: 0 };
      u.n++;
      if (isFailed) u.failed++;
      u.bytes += size ?? 0;
      users.set(r.user_id, u);
    }
    if (page.length < NAIVE_PAGE) break;
    const last = page[page.length - 1];
    lastAt = last.created_at instanceof Date ? last.created_at : new Date(last.created_at);
    lastId = last.export_id;
  }
  const avg = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
  const sortNum = (xs: number[]) => xs.sort((a, b) => a - b);
  sortNum(durations.all);
  const by_format: Figures['by_format'] = {};
  for (const [f, n] of dist) {
    const ds = sortNum(durations.format.get(f) ?? []);
    const s = sizes.get(f);
    by_format[f] = {
      n,
      avg_d: ds.length ? avg(ds) : undefined,
      p95_d: ds.length ? percentileCont(ds, 0.95) : undefined,
      avg_s: s ? s.sum / s.n : undefined,
      max_s: s ? s.max : undefined,
    };
  }
  const by_range: Figures['by_range'] = {};
  for (const [r, ds] of durations.range) by_range[r] = { avg_d: avg(ds), p95_d: percentileCont(sortNum(ds), 0.95) };
  const top = [...users]
    .sort(([ua, a], [ub, b]) => b.n - a.n || (ua < ub ? -1 : ua > ub ? 1 : 0))
    .slice(0, TOP_USERS)
    .map(([id, u]) => [id, u.n, u.failed, u.bytes] as [string, number, number, number]);
  const figures: Figures = {
    total,
    ok: durations.all.length,
    failed,
    avg_d: durations.all.length ? avg(durations.all) : null,
    p95_d: durations.all.length ? percentileCont(durations.all, 0.95) : null,
    by_format,
    by_range,
    hours: [...hours].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, [n, f]]) => [k, n, f]),
    days: [...days].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, [n, f]]) => [k, n, f]),
    unique_users: users.size,
    top,
  };
  return { figures, pages };
}

/** Deep equality with numbers equal to 1e-9 relative (sums and averages in double precision). */
function sameFigures(a: unknown, b: unknown, where = ''): string | null {
  if (typeof a === 'number' && typeof b === 'number') {
    return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)) ? null : `${where}: ${a} vs ${b}`;
  }
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return a === b ? null : `${where}: ${String(a)} vs ${String(b)}`;
  const ka = Object.keys(a as object).filter((k) => (a as Record<string, unknown>)[k] !== undefined).sort();
  const kb = Object.keys(b as object).filter((k) => (b as Record<string, unknown>)[k] !== undefined).sort();
  if (ka.join() !== kb.join()) return `${where}: keys ${ka.join(',')} vs ${kb.join(',')}`;
  for (const k of ka) {
    const diff = sameFigures((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${where}.${k}`);
    if (diff) return diff;
  }
  return null;
}

export const metricsAggregation: BenchCase = {
  id: 'metrics',
  title: 'export metrics aggregation (aggregateMetrics)',
  steps: () => 4,
  async run(ctx) {
    const db = await ctx.engine.open();
    try {
      const n = ctx.rows;
      ctx.step(`metrics: seeding ${fmtInt(n)} export metrics`);
      await seedMetrics(db, n);
      const deps = jobDeps(db);
      const service = createExportMetricsService({ db, log: deps.log, now: deps.now, config: benchConfig() });
      const job = () => service.aggregateMetrics({ from: FROM, to: TO });

      ctx.step('metrics: aggregateMetrics and the bare SELECT (warm-up, then alternating)');
      const first = await job();
      const firstBare = await bare(db);
      const expected = fromService(first);
      assert(expected.total === n, `aggregateMetrics counted ${expected.total} exports, seeded ${n}`);
      const diff = sameFigures(expected, fromBare(firstBare), 'bare');
      assert(diff === null, `the bare query's figures differ from aggregateMetrics: ${diff}`);
      const jobMs: number[] = [];
      const bareMs: number[] = [];
      for (let i = 0; i < ctx.repeats; i++) {
        jobMs.push((await timed(job)).ms);
        bareMs.push((await timed(() => bare(db))).ms);
      }

      ctx.step(`metrics: naive, ${NAIVE_PAGE} rows a page, aggregated in JS`);
      const nv = await timed(() => naive(db));
      const nDiff = sameFigures(expected, nv.value.figures, 'naive');
      assert(nDiff === null, `the naive figures differ from aggregateMetrics: ${nDiff}`);

      ctx.step('metrics: done');
      const measurements: Measurement[] = [
        { method: 'job', label: 'aggregateMetrics({from, to}) (one rpc)', rows: n, ms: median(jobMs), runs: ctx.repeats, details: { runs_ms: jobMs.map(Math.round) } },
        { method: 'naive', label: `page ${NAIVE_PAGE} rows at a time, aggregate in JS`, rows: n, ms: nv.ms, runs: 1, details: { pages: nv.value.pages } },
        { method: 'reference', label: 'the same figures from one hand-written SELECT', rows: n, ms: median(bareMs), runs: ctx.repeats, details: { runs_ms: bareMs.map(Math.round) } },
      ];
      return {
        id: this.id,
        title: this.title,
        tableRows: n,
        measurements,
        targets: [atMost('aggregateMetrics within 1.2x of the bare SELECT', median(jobMs) / median(bareMs), 1.2, fmtX)],
        notes: [
          `one week, ${fmtInt(expected.unique_users)} users, ${expected.hours.length} hours; the three methods' figures were compared and agree (1e-9 relative)`,
          `aggregateMetrics ${jobMs.map(fmtMs).join(' / ')}, bare SELECT ${bareMs.map(fmtMs).join(' / ')} (after a warm-up, alternating; medians above)`,
        ],
      };
    } finally {
      await ctx.engine.release(db);
    }
  },
};
