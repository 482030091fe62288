/**
 * `npm run monitor:long-term`: runs for MONITORING_PERIOD seconds (default 4 weeks), validating
 * data integrity every AUDIT_INTERVAL and writing the long-term report every REPORT_INTERVAL.
 * `npm run monitor:long-term -- --report-only`: one report now, then exit.
 * Files: REPORTS_DIR/user-deletion/long-term-report-<time>.json, data-integrity-<time>.json and
 * long-term-monitoring.log (JSON lines). On a terminal the report and each event read as text;
 * `--json` (and any output that is not a terminal) prints the JSON lines.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createStorage } from '../../src/lib/storage';
import type { Db } from '../../src/lib/db/types';
import type { Storage } from '../../src/lib/storage/types';
import { validateUserIntegrity } from '../../src/lib/monitoring/user-integrity';
import { buildLongTermReport } from '../../src/lib/monitoring/user-deletion-reports';
import { loadMonitorConfig, type MonitorConfig } from './config';
import { fileStamp, openMonitorDb, progressBar, reportDir, runMain, writeJsonAtomic } from './common';
import { outputMode, terminalPaint } from '../lib/terminal';
import { renderLongTerm } from './render';

const args = process.argv.slice(2).filter((a) => a !== '--');
const unknown = args.filter((a) => a !== '--report-only' && a !== '--json');
if (unknown.length) {
  process.stderr.write(`Unknown argument(s): ${unknown.join(' ')}\nUsage: npm run monitor:long-term [-- --report-only] [--json]\n`);
  process.exit(2);
}
const reportOnly = args.includes('--report-only');
const mode = outputMode(args);
const p = terminalPaint();

function logLine(dir: string, entry: Record<string, unknown>): void {
  const line = JSON.stringify({ timestamp: new Date().toISOString(), ...entry });
  fs.appendFileSync(path.join(dir, 'long-term-monitoring.log'), `${line}\n`);
  if (mode === 'json') process.stdout.write(`${line}\n`);
  else if (entry.type !== 'user_deletion_long_term_report' || !reportOnly) {
    const { type, ...rest } = entry;
    const text = typeof rest.message === 'string' ? rest.message : Object.entries(rest).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${String(v)}`).join(' · ');
    process.stdout.write(`${p.dim(new Date().toISOString().slice(0, 19).replace('T', ' '))} ${type === 'alert' ? p.red(String(type)) : p.bold(String(type).replace(/^user_deletion_|^user_/, '').replace(/_/g, ' '))}  ${text}\n`);
  }
}

async function integrity(cfg: MonitorConfig, db: Db, storage: Storage, now: Date, dir: string) {
  const report = await validateUserIntegrity({ db, storage, now, batchSize: cfg.integrityBatchSize, uploadsPrefix: cfg.uploadsPrefix });
  const file = path.join(dir, `data-integrity-${fileStamp(now)}.json`);
  writeJsonAtomic(file, report);
  return { report, file };
}

async function writeReport(cfg: MonitorConfig, db: Db, storage: Storage, dir: string, print = false): Promise<string> {
  const now = new Date();
  const bar = progressBar('Long-term report');
  try {
    const report = await buildLongTermReport(db, {
      now,
      periodMs: cfg.reportIntervalSeconds * 1000,
      thresholds: cfg.report,
      completenessSampleSize: cfg.completenessSampleSize,
      integrity: async () => {
        const { report: r, file } = await integrity(cfg, db, storage, now, dir);
        return { ...r.data_integrity_validation, summary: r.summary, counts: r.counts, report_file: file };
      },
      onProgress: (done, total, step) => bar.update(done, total, step),
    });
    const file = path.join(dir, `long-term-report-${fileStamp(now)}.json`);
    writeJsonAtomic(file, report);
    bar.stop();
    if (print) process.stdout.write(`${renderLongTerm(report, file, p)}\n`);
    return file;
  } finally {
    bar.stop();
  }
}

runMain(async () => {
  const cfg = loadMonitorConfig();
  const dir = reportDir(cfg);
  const db = await openMonitorDb(cfg);
  const storage = createStorage(cfg.app.storage);
  try {
    if (reportOnly) {
      const file = await writeReport(cfg, db, storage, dir, mode === 'human');
      logLine(dir, { type: 'user_deletion_long_term_report', report_file: file });
      return 0;
    }
    let stopping = false;
    const stop = () => {
      stopping = true;
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    const start = Date.now();
    const end = start + cfg.monitoringPeriodSeconds * 1000;
    let nextAudit = start;
    let nextReport = start + cfg.reportIntervalSeconds * 1000;
    logLine(dir, { type: 'user_deletion_long_term_started', monitoring_period_seconds: cfg.monitoringPeriodSeconds, audit_interval_seconds: cfg.auditIntervalSeconds, report_interval_seconds: cfg.reportIntervalSeconds });
    while (!stopping && Date.now() < end) {
      const now = Date.now();
      if (now >= nextAudit) {
        const { report, file } = await integrity(cfg, db, storage, new Date(now), dir);
        const v = report.data_integrity_validation;
        logLine(dir, { type: 'user_data_integrity', validation_status: v.validation_status, severity_level: v.severity_level, total_issues_found: v.total_issues_found, report_file: file });
        if (v.severity_level === 'CRITICAL' || v.severity_level === 'WARNING') {
          logLine(dir, { type: 'alert', level: v.severity_level.toLowerCase(), metric: 'data_integrity', value: v.total_issues_found, message: `Data integrity ${v.severity_level}: ${v.total_issues_found} issues (${file})` });
        }
        nextAudit += cfg.auditIntervalSeconds * 1000;
      }
      if (now >= nextReport) {
        logLine(dir, { type: 'user_deletion_long_term_report', report_file: await writeReport(cfg, db, storage, dir) });
        nextReport += cfg.reportIntervalSeconds * 1000;
      }
      const wake = Math.min(nextAudit, nextReport, end);
      while (!stopping && Date.now() < wake) await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(10, wake - Date.now()))));
    }
    if (!stopping) logLine(dir, { type: 'user_deletion_long_term_report', report_file: await writeReport(cfg, db, storage, dir) });
    logLine(dir, { type: 'user_deletion_long_term_finished', reason: stopping ? 'interrupted' : 'completed' });
    return 0;
  } finally {
    await db.close();
  }
});
