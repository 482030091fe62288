import { describe, expect, it } from 'vitest';
import { duration, num, outputMode, paint, table } from '../../scripts/lib/terminal';
import { renderRecommendations } from '../../scripts/monitor/render';

describe('terminal output helpers', () => {
  it('outputMode: text on a terminal, JSON with --json or when stdout is not a terminal', () => {
    expect(outputMode([], true)).toBe('human');
    expect(outputMode([], false)).toBe('json');
    expect(outputMode(['--json'], true)).toBe('json');
    expect(outputMode(['--report-only', '--json'], false)).toBe('json');
  });

  it('table: columns aligned on visible width, colours ignored, numbers right-aligned', () => {
    const p = paint(true);
    const out = table(['Name', 'Count'], [[p.red('orphans'), '12'], ['ok', p.green('3')]], { alignRight: [1] });
    // eslint-disable-next-line no-control-regex
    const plain = out.replace(/\x1b\[[0-9;]*m/g, '').split('\n');
    expect(plain).toEqual(['Name     Count', '───────  ─────', 'orphans     12', 'ok           3']);
  });

  it('figures as a person reads them', () => {
    expect(num(1234567)).toBe('1,234,567');
    expect(num(null)).toBe('-');
    expect(num(0.125)).toBe('0.13');
    expect(duration(850)).toBe('850 ms');
    expect(duration(2400)).toBe('2.4 s');
    expect(duration(185_000)).toBe('3 min 5 s');
    expect(duration(null)).toBe('-');
  });

  it('recommendations are listed with the figure and threshold that raised them, or "none"', () => {
    expect(renderRecommendations({ performance_optimization: [], failure_reduction: [] })).toBe(
      'Recommendations\n  None: every figure is within its threshold.',
    );
    const text = renderRecommendations({
      performance_optimization: [{ message: 'Tune it.', metric: 'p95_duration_ms', value: 5145, threshold: 5000 }],
      failure_reduction: [{ message: 'Fix the failures.', metric: 'error_rate_percent', value: 25, threshold: 1 }],
    });
    expect(text.split('\n')).toEqual([
      'Recommendations (2)',
      '  → Tune it.',
      '    performance: p95_duration_ms = 5,145 (threshold 5,000)',
      '  → Fix the failures.',
      '    failures: error_rate_percent = 25 (threshold 1)',
    ]);
  });
});
