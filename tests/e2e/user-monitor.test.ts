import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindFeatures } from '../../src/lib/bindings/apply';
import { demoBindings } from '../../src/lib/bindings/spec';
import { migrate } from '../../src/lib/db/migrator';
import { PgliteDb } from '../../src/lib/db/pglite';

/** How the npm scripts run: node with the tsx loader (no wrapper process between the terminal and the monitor). */
const TSX = ['--import', 'tsx'];
const hasScript = spawnSync('script', ['--version']).status === 0;

async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** A migrated embedded database in DATA_DIR (the demo app's tables, bound) with deletion attempts from the last minutes. */
async function prepareDataDir(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-monitor-'));
  const db = await PgliteDb.open(path.join(dir, 'pglite'));
  try {
    await migrate(db, { demo: 'tables' });
    await bindFeatures(db, demoBindings());
    const at = new Date(Date.now() - 10 * 60_000);
    for (const [status, errorType, duration] of [
      ['success', null, 100],
      ['success', null, 200],
      ['success', null, 300],
      ['failure', 'timeout', 6000],
    ] as const) {
      await db.query(
        `insert into cronwarden.audit_logs (action, actor, target_type, target_id, status, error_type, duration_ms, details, created_at)
         values ('USER_DELETION', 'e2e', 'user', gen_random_uuid()::text, $1, $2, $3, '{"user_type":"member","deleted":{}}', $4)`,
        [status, errorType, duration, at],
      );
    }
    // Two users removed by a plain DELETE: deletions without a success audit row (critical).
    await db.query(`insert into users (id, email) values ('a1000000-0000-4000-8000-000000000001', 'a@x.test'), ('a2000000-0000-4000-8000-000000000002', 'b@x.test')`);
    await db.query(`delete from users`);
  } finally {
    await db.close();
  }
  return dir;
}

function baseEnv(dataDir: string, port: number): NodeJS.ProcessEnv {
  return {
    NODE_ENV: 'production',
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    TERM: 'xterm-256color',
    DATA_DIR: dataDir,
    REPORTS_DIR: path.join(dataDir, 'reports'),
    APP_URL: `http://127.0.0.1:${port}`,
    LOG_LEVEL: 'silent',
  };
}

const reportFiles = (dataDir: string, prefix: string) =>
  fs
    .readdirSync(path.join(dataDir, 'reports', 'user-deletion'))
    .filter((f) => f.startsWith(prefix))
    .map((f) => path.join(dataDir, 'reports', 'user-deletion', f));

// Expected from the four attempts: 1 of 4 failed (25 %), avg (100+200+300+6000)/4 = 1650,
// p95 at 0.95*3 = 2.85 → 300 + 0.85*5700 = 5145.
const EXPECTED_METRICS = {
  total_deletions: 4,
  successful_deletions: 3,
  failed_deletions: 1,
  error_rate_percent: 25,
  avg_response_time_ms: 1650,
  p95_response_time_ms: 5145,
  timeout_errors: 1,
  window_minutes: 60,
};

describe('user deletion monitors (scripts)', () => {
  let dataDir: string;
  let port: number;
  beforeAll(async () => {
    dataDir = await prepareDataDir();
    port = await closedPort();
  });
  afterAll(() => {
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it.skipIf(!hasScript)('monitor:immediate draws a live dashboard in a terminal and stops cleanly on Ctrl+C, leaving its report', async () => {
    // `exec`: the shell that script(1) starts gives its place to the monitor, as a terminal's shell would.
    const cmd = `exec ${process.execPath} ${TSX.join(' ')} scripts/monitor/immediate.ts`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      env: { ...baseEnv(dataDir, port), CHECK_INTERVAL: '1', MONITORING_DURATION: '600' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const until = Date.now() + 45_000;
    while (!/Checks: 3\b/.test(out) && child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(out).toMatch(/Checks: 3\b/);
    child.stdin.write('\x03'); // Ctrl+C through the terminal: SIGINT to the foreground process group
    const code = await Promise.race([exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
    if (code === 'hung') child.kill('SIGKILL');
    expect(code).toBe(0);

    // Drawn in place: cursor home and clear-to-end-of-line on every frame, the cursor shown again at the end.
    expect(out.split('\x1b[H').length).toBeGreaterThan(3);
    expect(out).toContain('\x1b[K');
    expect(out).toContain('\x1b[?25h');
    expect(out).toContain('IMMEDIATE POST-DEPLOYMENT MONITORING - USER DELETION ENDPOINT');
    expect(out).toContain('\x1b[31;1mCRITICAL'); // colour-coded status
    // The last word on a terminal is a readable summary, not a JSON line.
    expect(out).toMatch(/Monitoring interrupted\x1b\[0m after \d+ check\(s\)/);
    expect(out).toMatch(/still active.*error_rate \(critical\)/);
    expect(out).not.toContain('"type":"user_deletion_monitor_finished"');

    const [metricsFile] = reportFiles(dataDir, 'immediate-metrics-');
    const report = JSON.parse(fs.readFileSync(metricsFile, 'utf8'));
    expect(report.monitoring).toMatchObject({ status: 'interrupted', check_interval_seconds: 1, data_source: 'database (pglite)' });
    expect(report.monitoring.checks).toBeGreaterThanOrEqual(3);
    expect(report.monitoring.finished_at).toEqual(expect.any(String));
    expect(report.deletion_metrics).toEqual(EXPECTED_METRICS);
    expect(report.application_metrics).toEqual({ health_status: 'unreachable', http_status: null, response_time_ms: null });
    expect(report.system_metrics).toEqual({
      memory_usage_percent: expect.any(Number),
      cpu_usage_percent: expect.any(Number),
      disk_usage_percent: expect.any(Number),
      load_average: expect.any(Number),
    });
    expect(report.history.length).toBe(report.monitoring.checks);

    // Alerts are raised once when a threshold is crossed, not on every check.
    const [alertsFile] = reportFiles(dataDir, 'immediate-alerts-');
    const alerts = fs.readFileSync(alertsFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(alerts.map((a) => [a.type, a.key, a.level]).sort()).toEqual([
      ['alert', 'app_health', 'critical'],
      ['alert', 'error_rate', 'critical'],
      ['alert', 'response_time', 'critical'],
    ]);
    expect(alerts.find((a) => a.key === 'error_rate')).toMatchObject({ value: 25, threshold: 1, metric: 'error_rate_percent' });
  }, 90_000);

  /**
   * Runs a monitor in a pseudo-terminal (script(1)): `out` is everything it showed, colours
   * included; `text` the same without terminal escapes, as a person reads it.
   */
  function inTerminal(args: string, env: NodeJS.ProcessEnv): { status: number | null; out: string; text: string } {
    const r = spawnSync('script', ['-qfec', `exec ${process.execPath} ${TSX.join(' ')} ${args}`, '/dev/null'], {
      env,
      encoding: 'utf8',
      timeout: 60_000,
    });
    // eslint-disable-next-line no-control-regex
    return { status: r.status, out: r.stdout, text: r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '') };
  }

  it.skipIf(!hasScript)('on a terminal data-integrity and usage-patterns print a readable summary with the recommendations; --json the machine form', () => {
    const integrity = inTerminal('scripts/monitor/data-integrity.ts', baseEnv(dataDir, port));
    expect(integrity.status).toBe(1);
    expect(integrity.out).toContain('User data integrity');
    expect(integrity.out).toContain('\x1b[1m\x1b[31mFAILED · CRITICAL'); // severity in bold red
    expect(integrity.out).toContain('\x1b[31m2\x1b[0m'); // a non-zero finding in red
    expect(integrity.text).toMatch(/deletions without success audit\s+2\r?\n/);
    expect(integrity.out).toMatch(/Report: .*data-integrity-.*\.json/);
    expect(integrity.out).not.toContain('"type":"user_data_integrity"');

    const usage = inTerminal('scripts/monitor/usage-patterns.ts', { ...baseEnv(dataDir, port), ANALYSIS_PERIOD: '86400' });
    expect(usage.status).toBe(0);
    expect(usage.out).toContain('User deletion usage patterns');
    expect(usage.text).toMatch(/success rate\s+75 %/);
    expect(usage.text).toMatch(/Recommendations \(\d+\)/);
    expect(usage.text).toMatch(/failures: error_rate_percent = 25 \(threshold 1\)/);

    const plain = inTerminal('scripts/monitor/usage-patterns.ts', { ...baseEnv(dataDir, port), ANALYSIS_PERIOD: '86400', NO_COLOR: '1' });
    expect(plain.out).toContain('Recommendations');
    expect(plain.out).not.toMatch(/\x1b\[\d+m/);

    const json = inTerminal('scripts/monitor/usage-patterns.ts --json', { ...baseEnv(dataDir, port), ANALYSIS_PERIOD: '86400' });
    expect(json.status).toBe(0);
    // stdout is the JSON line (the progress bar, on stderr, shares the terminal in this test).
    const line = json.text.split(/\r?\n/).find((l) => l.includes('{"type":"user_deletion_usage_patterns"')) ?? '';
    expect(JSON.parse(line.slice(line.indexOf('{')))).toMatchObject({ total_deletions: 4, success_rate_percent: 75 });
    expect(json.text).not.toContain('Recommendations');
  }, 120_000);

  it.skipIf(!hasScript)('on a terminal long-term --report-only prints the period comparison, integrity and recommendations', () => {
    const lt = inTerminal('scripts/monitor/long-term.ts --report-only', baseEnv(dataDir, port));
    expect(lt.status).toBe(0);
    expect(lt.out).toContain('User deletion long-term report');
    expect(lt.text).toMatch(/deletions\s+4\s+0/);
    expect(lt.text).toMatch(/data integrity\s+FAILED · CRITICAL · 2 issue\(s\)/);
    expect(lt.text).toMatch(/Recommendations \(\d+\)/);
    expect(lt.out).not.toContain('"type":"user_deletion_long_term_report"');
  }, 120_000);

  it('without a terminal it prints JSON lines and ends by itself after MONITORING_DURATION', async () => {
    const r = spawnSync(process.execPath, [...TSX, 'scripts/monitor/immediate.ts'], {
      env: { ...baseEnv(dataDir, port), CHECK_INTERVAL: '1', MONITORING_DURATION: '2' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('\x1b[');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const checks = lines.filter((l) => l.type === 'user_deletion_monitor_check');
    expect(checks.length).toBeGreaterThanOrEqual(1);
    expect(checks[0].deletion_metrics).toEqual(EXPECTED_METRICS);
    expect(lines.filter((l) => l.type === 'alert').map((l) => l.key).sort()).toEqual(['app_health', 'error_rate', 'response_time']);
    expect(lines.at(-1)).toMatchObject({ type: 'user_deletion_monitor_finished', status: 'completed' });
  }, 90_000);

  it('monitor:data-integrity exits 1 on critical findings and writes its report', async () => {
    const r = spawnSync(process.execPath, [...TSX, 'scripts/monitor/data-integrity.ts'], {
      env: baseEnv(dataDir, port),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    const line = JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
    expect(line).toMatchObject({ type: 'user_data_integrity', validation_status: 'FAILED', severity_level: 'CRITICAL', total_issues_found: 2 });
    const report = JSON.parse(fs.readFileSync(line.report_file, 'utf8'));
    expect(report.checks.audit_trail.missing_success_audit).toEqual({
      count: 2,
      user_ids: ['a1000000-0000-4000-8000-000000000001', 'a2000000-0000-4000-8000-000000000002'],
    });
  }, 90_000);

  it('monitor:usage-patterns and monitor:long-term --report-only write their reports', async () => {
    const usage = spawnSync(process.execPath, [...TSX, 'scripts/monitor/usage-patterns.ts'], {
      env: { ...baseEnv(dataDir, port), ANALYSIS_PERIOD: '86400' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(usage.status).toBe(0);
    expect(usage.stderr).toBe(''); // no progress bar without a terminal
    const u = JSON.parse(fs.readFileSync(JSON.parse(usage.stdout.trim()).report_file, 'utf8'));
    expect(u.usage_pattern_analysis_report.analysis_period_days).toBe(1);
    expect(u.deletion_frequency_analysis).toMatchObject({ total_deletions: 4, successful_deletions: 3, success_rate_percent: 75 });
    expect(u.optimization_recommendations.failure_reduction.map((x: { metric: string }) => x.metric)).toContain('error_rate_percent');

    const lt = spawnSync(process.execPath, [...TSX, 'scripts/monitor/long-term.ts', '--', '--report-only'], {
      env: baseEnv(dataDir, port),
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(lt.status).toBe(0);
    const line = JSON.parse(lt.stdout.trim().split('\n').at(-1) as string);
    expect(line.type).toBe('user_deletion_long_term_report');
    const report = JSON.parse(fs.readFileSync(line.report_file, 'utf8'));
    expect(report.usage.deletion_frequency_analysis.total_deletions).toBe(4);
    expect(report.data_integrity).toMatchObject({ validation_status: 'FAILED', severity_level: 'CRITICAL' });
    expect(report.deletion_completeness_audit.sampled).toBe(2);
    expect(fs.readFileSync(path.join(dataDir, 'reports', 'user-deletion', 'long-term-monitoring.log'), 'utf8')).toContain(line.report_file);

    const bad = spawnSync(process.execPath, [...TSX, 'scripts/monitor/long-term.ts', '--bogus'], { env: baseEnv(dataDir, port), encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('Unknown argument');
  }, 120_000);
});
