/**
 * `npm run monitor:usage-patterns`: deletion frequency by hour and weekday, peaks, success rate,
 * patterns by user type, failure classes and their trend, latency percentiles and threshold-based
 * recommendations over the last ANALYSIS_PERIOD seconds (default 4 weeks); writes
 * REPORTS_DIR/user-deletion/usage-pattern-analysis-<time>.json. On a terminal: a readable summary
 * with the recommendations; `--json` (and any output that is not a terminal): one JSON line.
 */
import path from 'node:path';
import { buildUsageReport } from '../../src/lib/monitoring/user-deletion-reports';
import { loadMonitorConfig } from './config';
import { fileStamp, openMonitorDb, progressBar, reportDir, runMain, writeJsonAtomic } from './common';
import { outputMode, terminalPaint } from '../lib/terminal';
import { renderUsage } from './render';

runMain(async () => {
  const mode = outputMode(process.argv.slice(2));
  const cfg = loadMonitorConfig();
  const dir = reportDir(cfg);
  const db = await openMonitorDb(cfg);
  const bar = progressBar('Usage analysis');
  try {
    const now = new Date();
    const report = await buildUsageReport(db, {
      from: new Date(now.getTime() - cfg.analysisPeriodSeconds * 1000),
      to: now,
      now,
      thresholds: cfg.report,
      onProgress: (done, total) => bar.update(done, total, 'days'),
    });
    bar.stop();
    const file = path.join(dir, `usage-pattern-analysis-${fileStamp(now)}.json`);
    writeJsonAtomic(file, report);
    const f = report.deletion_frequency_analysis;
    const recs = report.optimization_recommendations;
    if (mode === 'human') process.stdout.write(`${renderUsage(report, file, terminalPaint())}\n`);
    else process.stdout.write(
      `${JSON.stringify({
        type: 'user_deletion_usage_patterns',
        total_deletions: f.total_deletions,
        success_rate_percent: f.success_rate_percent,
        peak_hour: f.peak_hour,
        peak_day: f.peak_day,
        p95_duration_ms: report.performance_analysis.latency_ms.p95,
        recommendations: recs.performance_optimization.length + recs.failure_reduction.length,
        report_file: file,
      })}\n`,
    );
  } finally {
    bar.stop();
    await db.close();
  }
});
