/**
 * The monitors' reports as a person reads them on a terminal: the headline, the figures in
 * tables, and the recommendations (which otherwise live only in the report file). Pure: the
 * report in, text out; the JSON report on disk stays the complete record.
 */
import type { IntegrityReport } from '../../src/lib/monitoring/user-integrity';
import type { Recommendation, UsageReport } from '../../src/lib/monitoring/user-deletion-reports';
import { duration, keyValues, num, paint, table, type Paint } from '../lib/terminal';

const pct = (v: number | null | undefined) => (v === null || v === undefined ? '-' : `${num(v)} %`);

function severityColour(p: Paint, severity: string): (s: string) => string {
  if (severity === 'CRITICAL' || severity === 'FAILED') return (s) => p.bold(p.red(s));
  if (severity === 'WARNING' || severity === 'HIGH' || severity === 'MEDIUM') return p.yellow;
  return p.green;
}

/** Recommendations grouped by kind, each with the figure that triggered it. */
export function renderRecommendations(
  recs: { performance_optimization: Recommendation[]; failure_reduction: Recommendation[] },
  p: Paint = paint(false),
): string {
  const all = [
    ...recs.performance_optimization.map((r) => ['performance', r] as const),
    ...recs.failure_reduction.map((r) => ['failures', r] as const),
  ];
  if (all.length === 0) return `${p.bold('Recommendations')}\n  ${p.green('None: every figure is within its threshold.')}`;
  return [
    p.bold(`Recommendations (${all.length})`),
    ...all.map(([kind, r]) => `  ${p.yellow('→')} ${r.message}\n    ${p.dim(`${kind}: ${r.metric} = ${num(r.value)} (threshold ${num(r.threshold)})`)}`),
  ].join('\n');
}

export function renderIntegrity(report: IntegrityReport, reportFile: string, p: Paint = paint(false)): string {
  const v = report.data_integrity_validation;
  const colour = severityColour(p, v.severity_level);
  const counts = Object.entries(report.counts).map(([k, n]) => [k.replace(/_/g, ' '), n === 0 ? p.green('0') : p.red(num(n))]);
  return [
    `${p.bold('User data integrity')}  ${colour(`${v.validation_status} · ${v.severity_level}`)}  ${num(v.total_issues_found)} issue(s) in ${duration(v.duration_ms)}`,
    '',
    table(['Check', 'Found'], counts, { alignRight: [1], paint: p }),
    '',
    p.bold('Summary'),
    keyValues(Object.entries(report.summary).map(([k, s]) => [k.replace(/_/g, ' '), s]), p),
    '',
    p.dim(`Report: ${reportFile}`),
  ].join('\n');
}

export function renderUsage(report: UsageReport, reportFile: string, p: Paint = paint(false)): string {
  const f = report.deletion_frequency_analysis;
  const l = report.performance_analysis.latency_ms;
  const meta = report.usage_pattern_analysis_report;
  const lines = [
    `${p.bold('User deletion usage patterns')}  ${meta.window_start.slice(0, 16)}Z → ${meta.window_end.slice(0, 16)}Z (${num(meta.analysis_period_days)} days)`,
    '',
    keyValues(
      [
        ['deletions', `${num(f.total_deletions)} (${num(f.successful_deletions)} succeeded, ${num(f.failed_deletions)} failed)`],
        ['success rate', pct(f.success_rate_percent)],
        ['peak hour (UTC)', f.peak_hour === null ? '-' : `${String(f.peak_hour).padStart(2, '0')}:00 (${num(f.peak_hour_deletions)} deletions)`],
        ['peak day', f.peak_day === null ? '-' : `${f.peak_day} (${num(f.peak_day_deletions)} deletions)`],
        ['latency', `avg ${duration(l.avg)} · p50 ${duration(l.p50)} · p95 ${duration(l.p95)} · p99 ${duration(l.p99)} · max ${duration(l.max)}`],
        ['slow operations', `${num(report.performance_analysis.slow_operations.total)} over ${duration(report.performance_analysis.slow_operations.threshold_ms)}`],
      ],
      p,
    ),
  ];
  if (report.failure_analysis.classes.length) {
    lines.push(
      '',
      table(
        ['Failure', 'Count', 'Share', 'Trend'],
        report.failure_analysis.classes.map((c) => [c.error_type, num(c.count), pct(c.share_percent), c.trend === 'rising' ? p.red(c.trend) : c.trend]),
        { alignRight: [1, 2], paint: p },
      ),
    );
  }
  if (report.user_type_patterns.length) {
    lines.push(
      '',
      table(
        ['User type', 'Deletions', 'Success', 'Avg time'],
        report.user_type_patterns.map((u) => [u.user_type, num(u.total), pct(u.success_rate_percent), duration(u.avg_duration_ms)]),
        { alignRight: [1, 2, 3], paint: p },
      ),
    );
  }
  lines.push('', renderRecommendations(report.optimization_recommendations, p), '', p.dim(`Report: ${reportFile}`));
  return lines.join('\n');
}

/** The weekly report: this period against the one before, the completeness audit, integrity, recommendations. */
export function renderLongTerm(
  report: {
    long_term_report: { window_start: string; window_end: string; period_days: number };
    usage: UsageReport;
    previous_period: { total_deletions: number; error_rate_percent: number | null; p95_duration_ms: number | null };
    changes: { attempts_change_percent: number | null; error_rate_change_points: number | null; p95_change_ms: number | null };
    deletion_completeness_audit: { sampled: number; complete: number; incomplete: unknown[] };
    data_integrity: unknown;
    optimization_recommendations: UsageReport['optimization_recommendations'];
  },
  reportFile: string,
  p: Paint = paint(false),
): string {
  const now = report.usage.deletion_frequency_analysis;
  const prev = report.previous_period;
  const signed = (v: number | null, unit: string) => (v === null ? '-' : `${v > 0 ? '+' : ''}${num(v)}${unit}`);
  const audit = report.deletion_completeness_audit;
  const integrity = report.data_integrity as { validation_status?: string; severity_level?: string; total_issues_found?: number } | null;
  return [
    `${p.bold('User deletion long-term report')}  ${report.long_term_report.window_start.slice(0, 10)} → ${report.long_term_report.window_end.slice(0, 10)} (${num(report.long_term_report.period_days)} days)`,
    '',
    table(
      ['', 'This period', 'Previous', 'Change'],
      [
        ['deletions', num(now.total_deletions), num(prev.total_deletions), signed(report.changes.attempts_change_percent, ' %')],
        ['error rate', pct(now.error_rate_percent), pct(prev.error_rate_percent), signed(report.changes.error_rate_change_points, ' pt')],
        ['p95 duration', duration(report.usage.performance_analysis.latency_ms.p95), duration(prev.p95_duration_ms), signed(report.changes.p95_change_ms, ' ms')],
      ],
      { alignRight: [1, 2, 3], paint: p },
    ),
    '',
    keyValues(
      [
        [
          'completeness audit',
          audit.incomplete.length === 0
            ? p.green(`${num(audit.complete)}/${num(audit.sampled)} sampled deletions complete`)
            : p.red(`${num(audit.incomplete.length)} of ${num(audit.sampled)} sampled deletions incomplete`),
        ],
        [
          'data integrity',
          integrity
            ? severityColour(p, integrity.severity_level ?? '')(`${integrity.validation_status} · ${integrity.severity_level} · ${num(integrity.total_issues_found)} issue(s)`)
            : 'not checked',
        ],
      ],
      p,
    ),
    '',
    renderRecommendations(report.optimization_recommendations, p),
    '',
    p.dim(`Report: ${reportFile}`),
  ].join('\n');
}
