import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobNames } from '../../src/lib/cron/registry';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';

const TSX = ['--import', 'tsx'];
const ADMIN_API_TOKEN = 'e2e-admin-api-token-0123456789';
const hasScript = spawnSync('script', ['--version']).status === 0;

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a README tool as `npm run`/`npx tsx` would, without a terminal (stdout is a pipe). */
function runTool(args: string[], env: NodeJS.ProcessEnv): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...TSX, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

/** The same in a pseudo-terminal (script(1)); escapes stripped in `text`. */
function runInTerminal(args: string, env: NodeJS.ProcessEnv): { status: number | null; out: string; text: string } {
  const r = spawnSync('script', ['-qfec', `exec ${process.execPath} ${TSX.join(' ')} ${args}`, '/dev/null'], { env, encoding: 'utf8', timeout: 120_000 });
  // eslint-disable-next-line no-control-regex
  return { status: r.status, out: r.stdout, text: r.stdout.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '') };
}

describe('the README tools while the app runs on the embedded database', () => {
  let app: RunningApp;
  let reportsDir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    app = await startApp({ ADMIN_API_TOKEN, ADMIN_PASSWORD: 'e2e-admin-password' });
    reportsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-tools-reports-'));
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      TERM: 'xterm-256color',
      NODE_ENV: 'production',
      DATA_DIR: app.dataDir,
      REPORTS_DIR: reportsDir,
      CRON_SECRET: TEST_CRON_SECRET,
      LOG_LEVEL: 'silent',
    };
  });
  afterAll(async () => {
    await app?.stop();
    if (reportsDir) fs.rmSync(reportsDir, { recursive: true, force: true });
  });

  it('the app serves its database on 127.0.0.1 with a per-start password in a 0600 file', () => {
    const file = path.join(app.dataDir, 'pglite.socket.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const info = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(info).toMatchObject({ host: '127.0.0.1', pid: app.pid, user: 'postgres' });
    expect(info.port).not.toBe(5432);
    expect(app.output()).toContain('"type":"pglite_socket_listening"');
    expect(app.output()).not.toContain(info.password);
  });

  it('run-job without --url runs in-process on the app database; the run shows in the app', async () => {
    const r = await runTool(['scripts/run-job.ts', 'draft-cleanup', '--dry-run'], env);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const body = JSON.parse(r.stdout);
    expect(body).toMatchObject({ success: true, result: { job: 'draft-cleanup', status: 'succeeded', dry_run: true } });
    const res = await fetch(`${app.url}/api/admin/runs?job=draft-cleanup`, { headers: { authorization: `Bearer ${ADMIN_API_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).toContain(body.result.run_id);
  }, 120_000);

  it('every monitor and the export checks run while the app runs', async () => {
    const integrity = await runTool(['scripts/monitor/data-integrity.ts'], env);
    expect(integrity.status, integrity.stderr).toBe(0);
    expect(JSON.parse(integrity.stdout)).toMatchObject({ type: 'user_data_integrity', validation_status: 'PASSED' });

    const usage = await runTool(['scripts/monitor/usage-patterns.ts'], env);
    expect(usage.status, usage.stderr).toBe(0);
    expect(JSON.parse(usage.stdout)).toMatchObject({ type: 'user_deletion_usage_patterns', total_deletions: 0 });

    const longTerm = await runTool(['scripts/monitor/long-term.ts', '--report-only'], env);
    expect(longTerm.status, longTerm.stderr).toBe(0);
    expect(JSON.parse(longTerm.stdout.trim())).toMatchObject({ type: 'user_deletion_long_term_report' });

    const immediate = await runTool(['scripts/monitor/immediate.ts'], { ...env, APP_URL: app.url, MONITORING_DURATION: '1', CHECK_INTERVAL: '1' });
    expect(immediate.status, immediate.stderr).toBe(0);
    const lines = immediate.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const check = lines.find((l) => l.type === 'user_deletion_monitor_check');
    expect(check.application_metrics.health_status).toBe('healthy');
    expect(check.deletion_metrics).toMatchObject({ total_deletions: 0 });

    const exports = await runTool(['scripts/test-export-monitoring.ts'], env);
    expect(exports.status, exports.stdout + exports.stderr).toBe(0);
    const summary = JSON.parse(exports.stdout.trim().split('\n').at(-1) as string);
    expect(summary).toMatchObject({ type: 'export_monitoring_checks', passed: 7, failed: 0 });
    expect(summary.checks).toHaveLength(7);
  }, 300_000);

  it('with --json stdout carries the JSON alone, whatever the log level (log lines go to stderr)', async () => {
    const logging = { ...env, LOG_LEVEL: 'info' };
    const single = [
      ['scripts/run-job.ts', 'draft-cleanup', '--dry-run', '--json'],
      ['scripts/list-jobs.ts', '--json'],
      ['scripts/monitor/data-integrity.ts', '--json'],
      ['scripts/monitor/usage-patterns.ts', '--json'],
      ['scripts/monitor/long-term.ts', '--report-only', '--json'],
    ];
    for (const args of single) {
      const r = await runTool(args, logging);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      expect(() => JSON.parse(r.stdout), `${args.join(' ')} stdout:\n${r.stdout.slice(0, 400)}`).not.toThrow();
    }
    const run = await runTool(['scripts/run-job.ts', 'draft-cleanup', '--dry-run', '--json'], logging);
    expect(run.stderr).toContain('"type":"cron_run_finished"'); // the run's log lines are still there, on stderr
    // JSON-lines tools: every line is the tool's own record, none a log line.
    for (const [args, extra] of [
      [['scripts/test-export-monitoring.ts', '--json'], {}],
      [['scripts/monitor/immediate.ts', '--json'], { APP_URL: app.url, MONITORING_DURATION: '1', CHECK_INTERVAL: '1' }],
    ] as const) {
      const r = await runTool([...args], { ...logging, ...extra });
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines.filter((l) => 'level' in l && 'service' in l), args.join(' ')).toEqual([]);
    }
  }, 300_000);

  it('an unknown job name says so, lists the known jobs and exits 2', async () => {
    const r = await runTool(['scripts/run-job.ts', 'draft-clean'], env);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Unknown job: draft-clean');
    expect(r.stderr).toContain(`Known jobs: ${jobNames.join(', ')}`);
  }, 60_000);

  it.skipIf(!hasScript)('on a terminal run-job and list-jobs read as text; --json gives the machine form', () => {
    const run = runInTerminal('scripts/run-job.ts draft-cleanup --dry-run', env);
    expect(run.status).toBe(0);
    expect(run.out).toContain('\x1b[32m✔\x1b[0m'); // a green tick
    expect(run.text).toMatch(/✔ draft-cleanup succeeded \(dry run: nothing changed\) in \d+/);
    expect(run.text).toMatch(/would delete count\s+0/);
    expect(run.text).not.toContain('"success"');

    const json = runInTerminal('scripts/run-job.ts draft-cleanup --dry-run --json', env);
    expect(json.status).toBe(0);
    expect(json.text).toContain('"success": true');

    const list = runInTerminal('scripts/list-jobs.ts', env);
    expect(list.status).toBe(0);
    for (const name of jobNames) expect(list.text).toMatch(new RegExp(`^${name}\\s+\\S`, 'm'));
    expect(list.text).toMatch(/draft-cleanup\s+0 \* \* \* \*\s+Every hour\s+60 s/);
  }, 240_000);

  it.each([
    ['GET', '/api/nope'],
    ['GET', '/api'],
    ['POST', '/api/admin/no-such-thing'],
    ['DELETE', '/api/cron/draft-cleanup/extra'],
    ['GET', '/api/cron'],
    ['PUT', '/api/users'],
  ])('%s %s: an unknown API path answers a JSON 404', async (method, p) => {
    const res = await fetch(app.url + p, { method });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(body).toMatchObject({ success: false, error: { code: 'NOT_FOUND' } });
    expect(body.error.message).toContain(p);
  });

  it('routes that exist are not shadowed by the 404', async () => {
    expect((await fetch(`${app.url}/api/health`)).status).toBe(200);
    const wrongMethod = await fetch(`${app.url}/api/cron/draft-cleanup`, { method: 'POST' });
    expect(wrongMethod.status).toBe(405);
    const noAuth = await fetch(`${app.url}/api/admin/jobs`);
    expect(noAuth.status).toBe(401);
  });
});
