/**
 * `npm run monitor:data-integrity`: scans for rows left behind by deleted users, dangling foreign
 * keys, deletions without a complete audit trail and upload objects without a row; writes
 * REPORTS_DIR/user-deletion/data-integrity-<time>.json. Exit code 1 when the severity is CRITICAL.
 * On a terminal: a readable summary; `--json` (and any output that is not a terminal): one JSON line.
 */
import path from 'node:path';
import { createStorage } from '../../src/lib/storage';
import { validateUserIntegrity } from '../../src/lib/monitoring/user-integrity';
import { loadMonitorConfig } from './config';
import { fileStamp, openMonitorDb, progressBar, reportDir, runMain, writeJsonAtomic } from './common';
import { outputMode, terminalPaint } from '../lib/terminal';
import { renderIntegrity } from './render';

runMain(async () => {
  const mode = outputMode(process.argv.slice(2));
  const cfg = loadMonitorConfig();
  const dir = reportDir(cfg);
  const db = await openMonitorDb(cfg);
  const bar = progressBar('Integrity scan');
  try {
    const now = new Date();
    const report = await validateUserIntegrity({
      db,
      storage: createStorage(cfg.app.storage),
      now,
      batchSize: cfg.integrityBatchSize,
      uploadsPrefix: cfg.uploadsPrefix,
      onProgress: (p) => bar.update(p.done, p.total, p.step),
    });
    bar.stop();
    const file = path.join(dir, `data-integrity-${fileStamp(now)}.json`);
    writeJsonAtomic(file, report);
    const v = report.data_integrity_validation;
    if (mode === 'human') process.stdout.write(`${renderIntegrity(report, file, terminalPaint())}\n`);
    else process.stdout.write(
      `${JSON.stringify({
        type: 'user_data_integrity',
        validation_status: v.validation_status,
        severity_level: v.severity_level,
        total_issues_found: v.total_issues_found,
        counts: report.counts,
        report_file: file,
        duration_ms: v.duration_ms,
      })}\n`,
    );
    return v.severity_level === 'CRITICAL' ? 1 : 0;
  } finally {
    bar.stop();
    await db.close();
  }
});
