import { expect, it } from 'vitest';
import { observeAlert } from '../../src/lib/alerts/store';
import type { Severity } from '../../src/lib/alerts/types';
import type { SqlDb } from '../../src/lib/db/types';
import type { FeatureGauge } from '../../src/lib/monitoring/gauges';
import { allGauges } from '../../src/lib/monitoring/gauges/index';
import { metricsHandler, renderMetrics } from '../../src/lib/monitoring/metrics';
import { describeEngines } from '../support/db';
import { captureLogs, testConfig } from '../support/deps';
import { hasPromtool, promtoolProblems } from '../support/promtool';

// ---------------------------------------------------------------------------------------------
// A strict parser for the Prometheus text exposition format (version 0.0.4): every line must be
// a HELP, a TYPE or a sample; each family's TYPE comes before its samples, once; a family's
// samples are contiguous; no series appears twice; label values use only \\ \" \n escapes.
// ---------------------------------------------------------------------------------------------

interface Family {
  type: string;
  help: string;
  samples: { labels: Record<string, string>; value: number }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function parseValue(text: string, line: string): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value '${text}' in: ${line}`);
  return Number(text);
}

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`bad label name '${name}' in: ${line}`);
    if (name in labels) throw new Error(`label '${name}' repeated in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`label value not quoted in: ${line}`);
    let j = eq + 2;
    let value = '';
    for (;;) {
      if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
      const ch = text[j];
      if (ch === '\\') {
        const next = text[j + 1];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else throw new Error(`bad escape in: ${line}`);
        j += 2;
      } else if (ch === '"') {
        j++;
        break;
      } else if (ch === '\n') {
        throw new Error(`raw newline in label value: ${line}`);
      } else {
        value += ch;
        j++;
      }
    }
    labels[name] = value;
    if (j === text.length) break;
    if (text[j] !== ',') throw new Error(`expected ',' in: ${line}`);
    i = j + 1;
  }
  return labels;
}

function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, Family>();
  const seriesSeen = new Set<string>();
  let current: string | undefined;
  const closed = new Set<string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`unexpected comment: ${line}`);
      const [, kind, name, rest] = m;
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      if (closed.has(name)) throw new Error(`family ${name} is not contiguous`);
      const f = families.get(name) ?? { type: '', help: '', samples: [] };
      if (f.samples.length) throw new Error(`${kind} for ${name} after its samples`);
      if (kind === 'TYPE') {
        if (f.type) throw new Error(`second TYPE for ${name}`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) throw new Error(`bad type in: ${line}`);
        f.type = rest;
      } else {
        if (f.help) throw new Error(`second HELP for ${name}`);
        f.help = rest;
      }
      families.set(name, f);
      if (current && current !== name) closed.add(current);
      current = name;
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
    if (!m) throw new Error(`unparseable sample: ${line}`);
    const [, name, , labelText, valueText] = m;
    const f = families.get(name);
    if (!f || !f.type) throw new Error(`sample before TYPE: ${line}`);
    if (current !== name) throw new Error(`family ${name} is not contiguous`);
    const labels = labelText ? parseLabels(labelText, line) : {};
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seriesSeen.has(key)) throw new Error(`duplicate series: ${line}`);
    seriesSeen.add(key);
    f.samples.push({ labels, value: parseValue(valueText, line) });
  }
  return families;
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const f = families.get(name);
  const s = f?.samples.find((x) => Object.keys(labels).length === Object.keys(x.labels).length && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

// ---------------------------------------------------------------------------------------------

const NOW = new Date('2026-11-20T12:00:00.000Z');
const t = (s: string) => new Date(`2026-11-20T${s}Z`);
const sec = (d: Date) => d.getTime() / 1000;

async function insertRun(
  db: SqlDb,
  r: { job: string; status: string; started: Date; durationMs: number; rows?: number; dry?: boolean },
): Promise<void> {
  await db.query(
    `insert into cronwarden.cron_job_runs (id, job, status, started_at, finished_at, duration_ms, rows_affected, dry_run)
     values (gen_random_uuid(), $1, $2, $3, $4, $5, $6, $7)`,
    [r.job, r.status, r.started, new Date(r.started.getTime() + r.durationMs), r.durationMs, r.rows ?? 0, r.dry ?? false],
  );
}

async function fixtures(db: SqlDb) {
  await insertRun(db, { job: 'alpha', status: 'succeeded', started: t('10:00:00'), durationMs: 1500, rows: 7 });
  await insertRun(db, { job: 'alpha', status: 'failed', started: t('11:00:00'), durationMs: 2000 });
  // The runner's own path (begin + finish): counted by the update trigger.
  const runId = '00000000-0000-4000-8000-000000000001';
  await db.rpc('cron_begin_run', { p_job: 'alpha', p_run_id: runId, p_ttl_seconds: 120, p_now: t('11:30:00') });
  await db.rpc('cron_finish_run', { p_run_id: runId, p_status: 'succeeded', p_rows_affected: 5, p_duration_ms: 3000, p_now: t('11:30:03') });

  await insertRun(db, { job: 'beta', status: 'partial', started: t('09:00:00'), durationMs: 60_000, rows: 3 });
  await insertRun(db, { job: 'beta', status: 'skipped', started: t('11:58:00'), durationMs: 0 });
  await db.rpc('cron_begin_run', { p_job: 'beta', p_run_id: '00000000-0000-4000-8000-000000000002', p_ttl_seconds: 600, p_now: t('11:59:00') });

  const alert = (rule: string, severity: Severity, forSeconds = 0) =>
    observeAlert(db, { ruleId: rule, subject: 's', breached: true, value: 2, threshold: 1, severity, title: rule, forSeconds, now: NOW });
  await alert('t.high1', 'HIGH');
  await alert('t.high2', 'HIGH');
  await alert('t.low', 'LOW');
  await alert('t.medium_pending', 'MEDIUM', 600);
}

/** One finished export of each outcome, one user deletion and one draft: every rate, share and percentile gauge has a value. */
async function measurable(db: SqlDb) {
  await db.query(
    `insert into cronwarden.export_metrics (export_id, user_id, format, status, duration_ms, count_range, created_at)
     values (gen_random_uuid(), gen_random_uuid(), 'json', 'completed', 100, 'small', $1),
            (gen_random_uuid(), gen_random_uuid(), 'csv', 'failed', 300, 'small', $1)`,
    [new Date(NOW.getTime() - 10 * 60_000)],
  );
  await db.query(
    `insert into cronwarden.audit_logs (action, actor, target_type, target_id, status, duration_ms, created_at)
     values ('USER_DELETION', 'test', 'user', gen_random_uuid()::text, 'success', 40, $1)`,
    [new Date(NOW.getTime() - 10 * 60_000)],
  );
  await db.query(`insert into organizations (id, name, created_at) values (gen_random_uuid(), 'Org', $1)`, [NOW]);
  await db.query(
    `insert into courses (id, organization_id, title, status, created_at, updated_at)
     select gen_random_uuid(), (select id from organizations limit 1), 'Draft', 'draft', $1, $1`,
    [new Date(NOW.getTime() - 60 * 60_000)],
  );
}

/** Feature gauges whose value is unknown on an empty database (a rate, a share, a percentile). */
const UNKNOWN_WHEN_EMPTY = [
  'cronwarden_exports_success_ratio_last_hour',
  'cronwarden_user_deletion_error_ratio_last_hour',
  'cronwarden_user_deletion_p95_duration_seconds',
  'cronwarden_drafts_pollution_ratio',
];

/** A gauge without labels that has nothing to report. */
const unknownGauge: FeatureGauge = { name: 'cronwarden_test_unknown', help: 'Nothing measured yet', collect: async () => [] };

const gaugesUnderTest: FeatureGauge[] = [
  {
    name: 'cronwarden_test_queue_depth',
    help: 'Queue depth "with quotes" and a \\ backslash',
    labelNames: ['queue'],
    async collect() {
      return [
        { labels: { queue: 'a' }, value: 4 },
        { labels: { queue: 'b "quoted"\nnewline' }, value: 0.5 },
      ];
    },
  },
  { name: 'cronwarden_test_up', help: 'Always 1', collect: async () => [{ value: 1 }] },
  {
    name: 'cronwarden_test_throws',
    help: 'Fails',
    collect: async () => {
      throw new Error('table missing');
    },
  },
  { name: 'cronwarden_test_bad_label', help: 'Undeclared label', collect: async () => [{ labels: { nope: 'x' }, value: 1 }] },
  { name: 'cronwarden_test_nan', help: 'Not a number', collect: async () => [{ value: Number.NaN }] },
  { name: 'cronwarden_alerts_open', help: 'Clashes with a built-in series', collect: async () => [{ value: 1 }] },
  { name: 'cronwarden_test_slow', help: 'Never answers', collect: () => new Promise(() => {}) },
];

it('the exposition parser used here refuses what Prometheus refuses', () => {
  const ok = '# HELP a_total x\n# TYPE a_total counter\na_total{k="v"} 1\n';
  expect(parseExposition(ok).get('a_total')?.samples).toEqual([{ labels: { k: 'v' }, value: 1 }]);
  const bad = [
    '# TYPE a gauge\na 1', // no final newline
    'a 1\n', // sample without TYPE
    '# TYPE a gauge\na{k="v} 1\n', // unterminated label value
    '# TYPE a gauge\na{k="\\x"} 1\n', // unknown escape
    '# TYPE a gauge\na one\n', // not a number
    '# TYPE a gauge\na{k="v"} 1\na{k="v"} 2\n', // duplicate series
    '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n', // family not contiguous
    '# TYPE a gauge\n# TYPE a counter\na 1\n', // second TYPE
    '# TYPE a widget\na 1\n', // unknown type
    '# TYPE 1a gauge\n1a 1\n', // bad name
  ];
  for (const text of bad) expect(() => parseExposition(text), JSON.stringify(text)).toThrow();
});

describeEngines('/api/metrics', (engine) => {
  it('exposes job, run, alert and feature series in a valid exposition; failing gauges are skipped and counted', async () => {
    const db = await engine.fresh();
    await fixtures(db);
    const { log, logs } = captureLogs();
    const { body, contentType } = await renderMetrics({ db, config: testConfig(), now: NOW, gauges: gaugesUnderTest, gaugeTimeoutMs: 200, log });
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    const f = parseExposition(body);

    expect(f.get('cronwarden_job_last_run_timestamp_seconds')?.type).toBe('gauge');
    expect(value(f, 'cronwarden_job_last_run_timestamp_seconds', { job: 'alpha' })).toBe(sec(t('11:30:00')));
    expect(value(f, 'cronwarden_job_last_run_timestamp_seconds', { job: 'beta' })).toBe(sec(t('11:59:00')));
    expect(value(f, 'cronwarden_job_last_success_timestamp_seconds', { job: 'alpha' })).toBe(sec(t('11:30:03')));
    expect(value(f, 'cronwarden_job_last_success_timestamp_seconds', { job: 'beta' })).toBe(sec(t('09:01:00')));
    expect(value(f, 'cronwarden_job_last_duration_seconds', { job: 'alpha' })).toBe(3);
    // beta's latest run is still running: no duration yet
    expect(value(f, 'cronwarden_job_last_duration_seconds', { job: 'beta' })).toBeUndefined();
    expect(f.get('cronwarden_job_last_status')?.samples).toHaveLength(8);
    expect(value(f, 'cronwarden_job_last_status', { job: 'alpha', status: 'succeeded' })).toBe(1);
    expect(value(f, 'cronwarden_job_last_status', { job: 'alpha', status: 'failed' })).toBe(0);
    expect(value(f, 'cronwarden_job_last_status', { job: 'beta', status: 'running' })).toBe(1);
    expect(value(f, 'cronwarden_job_running', { job: 'beta' })).toBe(1);
    expect(value(f, 'cronwarden_job_running', { job: 'alpha' })).toBe(0);

    expect(f.get('cronwarden_job_runs_total')?.type).toBe('counter');
    expect(f.get('cronwarden_job_runs_total')?.samples.map((s) => [s.labels.job, s.labels.status, s.value])).toEqual([
      ['alpha', 'failed', 1],
      ['alpha', 'succeeded', 2],
      ['beta', 'partial', 1],
      ['beta', 'skipped', 1],
    ]);
    expect(value(f, 'cronwarden_job_rows_affected_total', { job: 'alpha' })).toBe(12);
    expect(value(f, 'cronwarden_job_rows_affected_total', { job: 'beta' })).toBe(3);

    expect(Object.fromEntries(f.get('cronwarden_alerts_open')!.samples.map((s) => [s.labels.severity, s.value]))).toEqual({
      CRITICAL: 0,
      HIGH: 2,
      MEDIUM: 0,
      LOW: 1,
    });
    expect(value(f, 'cronwarden_alerts_pending', { severity: 'MEDIUM' })).toBe(1);

    expect(value(f, 'cronwarden_test_queue_depth', { queue: 'a' })).toBe(4);
    expect(value(f, 'cronwarden_test_queue_depth', { queue: 'b "quoted"\nnewline' })).toBe(0.5);
    expect(value(f, 'cronwarden_test_up')).toBe(1);
    for (const skipped of ['cronwarden_test_throws', 'cronwarden_test_bad_label', 'cronwarden_test_nan', 'cronwarden_test_slow']) {
      expect(f.has(skipped), skipped).toBe(false);
    }
    expect(value(f, 'cronwarden_metrics_collectors_failed')).toBe(5);
    expect(logs.ofType('metrics_gauge_failed').map((l) => l.gauge).sort()).toEqual(
      ['cronwarden_alerts_open', 'cronwarden_test_bad_label', 'cronwarden_test_nan', 'cronwarden_test_slow', 'cronwarden_test_throws'],
    );
  });

  it('run counters survive run-history pruning (they only ever grow)', async () => {
    const db = await engine.fresh();
    await insertRun(db, { job: 'old', status: 'succeeded', started: new Date('2026-01-01T00:00:00Z'), durationMs: 10, rows: 4 });
    await db.rpc('cron_prune_run_history', { p_days: 30, p_now: NOW });
    expect(await db.query(`select id from cronwarden.cron_job_runs where job = 'old'`)).toEqual([]);
    const f = parseExposition((await renderMetrics({ db, config: testConfig(), now: NOW, gauges: [] })).body);
    expect(value(f, 'cronwarden_job_runs_total', { job: 'old', status: 'succeeded' })).toBe(1);
    expect(value(f, 'cronwarden_job_rows_affected_total', { job: 'old' })).toBe(4);
    expect(value(f, 'cronwarden_metrics_collectors_failed')).toBe(0);
  });

  it("every feature gauge in allGauges collects on a migrated database", async () => {
    const db = await engine.fresh();
    const { log, logs } = captureLogs();
    const f = parseExposition((await renderMetrics({ db, config: testConfig(), now: NOW, log })).body);
    expect(logs.ofType('metrics_gauge_failed').map((l) => l.gauge)).toEqual([]);
    expect(value(f, 'cronwarden_metrics_collectors_failed')).toBe(0);
    // On an empty database the rates and percentiles are unknown (absent); the rest is there.
    for (const g of allGauges) expect(f.has(g.name), g.name).toBe(!UNKNOWN_WHEN_EMPTY.includes(g.name));
  });

  it('a rate or percentile with nothing to measure is absent from /api/metrics, never 0', async () => {
    const db = await engine.fresh();
    const empty = parseExposition((await renderMetrics({ db, config: testConfig(), now: NOW, gauges: [...allGauges, unknownGauge] })).body);
    for (const name of [...UNKNOWN_WHEN_EMPTY, unknownGauge.name]) expect(empty.has(name), name).toBe(false);
    // Counts are known to be 0 and stay.
    expect(value(empty, 'cronwarden_exports_finished_last_hour', { status: 'completed' })).toBe(0);
    expect(value(empty, 'cronwarden_drafts')).toBe(0);
    expect(value(empty, 'cronwarden_metrics_collectors_failed')).toBe(0);

    // Once something finished, each series is there with its real value.
    await measurable(db);
    const known = parseExposition((await renderMetrics({ db, config: testConfig(), now: NOW })).body);
    expect(value(known, 'cronwarden_exports_success_ratio_last_hour')).toBe(0.5);
    expect(value(known, 'cronwarden_user_deletion_error_ratio_last_hour')).toBe(0);
    expect(value(known, 'cronwarden_user_deletion_p95_duration_seconds')).toBe(0.04);
    expect(value(known, 'cronwarden_drafts_pollution_ratio')).toBe(1);
  });

  // Prometheus's own linter: base units, `_total` only on counters, no type in a name.
  it.skipIf(!hasPromtool())('promtool check metrics accepts every series, feature gauges included', async () => {
    const db = await engine.fresh();
    await fixtures(db);
    await measurable(db);
    const { body } = await renderMetrics({ db, config: testConfig(), now: NOW });
    const f = parseExposition(body);
    for (const g of allGauges) expect(f.has(g.name), g.name).toBe(true);
    expect(promtoolProblems(body)).toEqual([]);
  });

  it('the route asks for the bearer METRICS_TOKEN when it is set (401 JSON otherwise), and is open when it is not', async () => {
    const db = await engine.fresh();
    const token = 'metrics-token-0123456789abcdef';
    const { log, logs } = captureLogs();
    const world = (env: Record<string, string>) => () => {
      const config = testConfig(env);
      return { config, deps: async () => ({ db, config, log, now: () => NOW }) };
    };
    const guarded = metricsHandler(world({ METRICS_TOKEN: token }));
    const call = (h: typeof guarded, headers: Record<string, string> = {}) => h(new Request('http://local/api/metrics', { headers }));

    const refused: Record<string, string>[] = [{}, { authorization: `Bearer ${token}x` }, { authorization: token }, { authorization: `Basic ${token}` }, { authorization: `Bearer ${'a'.repeat(2000)}` }];
    for (const headers of refused) {
      const res = await call(guarded, headers);
      expect(res.status, JSON.stringify(headers).slice(0, 60)).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/application\/json/);
      expect(await res.json()).toMatchObject({ success: false, error: { code: 'UNAUTHORIZED' } });
    }
    const ok = await call(guarded, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(parseExposition(await ok.text()).has('cronwarden_metrics_collectors_failed')).toBe(true);

    // Embedded default without a token: open, with one warning at the first scrape only.
    const openHandler = metricsHandler(world({}));
    for (let i = 0; i < 3; i++) expect((await call(openHandler)).status).toBe(200);
    expect(logs.ofType('metrics_open')).toHaveLength(1);
    expect(logs.ofType('metrics_open')[0]).toMatchObject({ level: 'warn' });
    expect(String(logs.ofType('metrics_open')[0].msg)).toContain('METRICS_TOKEN');
  });

  it('a server deployment without METRICS_TOKEN answers 503 naming it, to anyone', async () => {
    const db = await engine.fresh();
    const servers: Record<string, string>[] = [{ DATABASE_URL: 'postgres://app:pw@db.internal:5432/app' }, { SUPABASE_URL: 'https://abcd.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'service-role-key-0123456789' }];
    for (const env of servers) {
      const config = testConfig(env);
      const handler = metricsHandler(() => ({ config, deps: async () => ({ db, config, log: captureLogs().log, now: () => NOW }) }));
      for (const headers of [{}, { authorization: 'Bearer anything-at-all-0123456789' }] as Record<string, string>[]) {
        const res = await handler(new Request('http://local/api/metrics', { headers }));
        expect(res.status).toBe(503);
        const body = await res.json();
        expect(body).toMatchObject({ success: false, error: { code: 'METRICS_TOKEN_UNSET' } });
        expect(body.error.message).toContain('METRICS_TOKEN');
      }
    }
  });
});
