import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const tsx = path.resolve('node_modules', 'tsx', 'dist', 'cli.mjs');

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const baseEnv = (dataDir: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  NODE_ENV: 'production',
  DATA_DIR: dataDir,
  NEXT_TELEMETRY_DISABLED: '1',
});

/** `npm start`'s entry as a child process, timed from spawn to exit. */
function start(env: NodeJS.ProcessEnv): { status: number | null; stdout: string; stderr: string; ms: number } {
  const t = performance.now();
  const r = spawnSync(process.execPath, [tsx, 'scripts/start.ts'], { env, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - t };
}

describe('npm start with a bad environment', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-start-bad-'));
  });
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('exits 1 before starting anything, with one line naming the bad variable, within 2 s of its own work', () => {
    // Loading the same modules and exiting: what this machine needs just to begin (its speed, not
    // the script's). What start.ts does beyond that must take under 2 s: no build, no server, no wait.
    const t = performance.now();
    spawnSync(process.execPath, [tsx, 'tests/support/load-start-deps.ts'], { encoding: 'utf8' });
    const baselineMs = performance.now() - t;

    const r = start({ ...baseEnv(dataDir), METRICS_TOKEN: 'twelve-chars' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toEqual(['Invalid environment: METRICS_TOKEN: must be at least 16 characters']);
    expect(r.stdout).toBe('');
    expect(fs.readdirSync(dataDir)).toEqual([]); // no secret files, no database, no server
    expect(r.ms - baselineMs).toBeLessThan(2000);
  }, 60_000);

  it('prints one line per bad variable', () => {
    const r = start({ ...baseEnv(dataDir), METRICS_TOKEN: 'twelve-chars', PORT: '70000', HOST: 'not a host', CRON_SECRET: 'short' });
    expect(r.status).toBe(1);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(4);
    for (const name of ['PORT', 'HOST', 'CRON_SECRET', 'METRICS_TOKEN']) expect(lines.some((l) => l.startsWith(`Invalid environment: ${name}: `))).toBe(true);
  }, 60_000);
});

describe('npm start on a fresh data dir', () => {
  let dataDir: string;
  let port: number;
  let child: ChildProcess;
  let out = '';
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-start-'));
    port = await freePort();
    child = spawn(process.execPath, [tsx, 'scripts/start.ts'], {
      env: { ...baseEnv(dataDir), PORT: String(port), SCHEDULER_ENABLED: 'false', SEED_DEMO_DATA: 'false', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (out += d));
    const until = Date.now() + 170_000;
    while (!out.includes('Cronwarden is up') && child.exitCode === null && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
    if (!out.includes('Cronwarden is up')) throw new Error(`npm start did not come up:\n${out}`);
  }, 180_000);
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('generates ADMIN_API_TOKEN into a 0600 file, prints its path but never its value, and the admin API accepts it', async () => {
    const file = path.join(dataDir, 'admin-api-token');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const token = fs.readFileSync(file, 'utf8').trim();
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(out).toMatch(/ADMIN_API_TOKEN is not set: .*admin-api-token/);
    expect(out).not.toContain(token);
    const ok = await fetch(`http://127.0.0.1:${port}/api/admin/jobs`, { headers: { authorization: `Bearer ${token}` } });
    expect(ok.status).toBe(200);
    const wrong = await fetch(`http://127.0.0.1:${port}/api/admin/jobs`, { headers: { authorization: 'Bearer not-the-token-0123456789' } });
    expect(wrong.status).toBe(401);
  });

  it('listens on 127.0.0.1 only', async () => {
    expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);
    // The kernel's table of listening sockets (no traffic to any other address needed).
    const listening = (file: string) =>
      fs.existsSync(file)
        ? fs
            .readFileSync(file, 'utf8')
            .split('\n')
            .slice(1)
            .map((l) => l.trim().split(/\s+/))
            .filter((f) => f[3] === '0A' && Number.parseInt(f[1].split(':')[1], 16) === port)
            .map((f) => f[1].split(':')[0])
        : [];
    expect(listening('/proc/net/tcp')).toEqual(['0100007F']); // 127.0.0.1, little-endian hex
    expect(listening('/proc/net/tcp6')).toEqual([]); // not on :: (every interface)
  });

  it('a second start on the same port and data dir exits 1 with one line, before anything starts, and leaves the first alone', async () => {
    const appFile = path.join(dataDir, 'app.json');
    const published = fs.readFileSync(appFile, 'utf8');
    const second = start({ ...baseEnv(dataDir), PORT: String(port), SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'warn' });
    expect(second.status).toBe(1);
    expect(second.stdout).toBe(''); // not "Cronwarden is up": the first app's health check is not ours
    const lines = second.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Port ${port} on 127.0.0.1 is in use`);
    expect(lines[0]).toMatch(/PORT=\d+ npm start/);
    expect(second.stderr).not.toContain('EADDRINUSE');
    expect(fs.readFileSync(appFile, 'utf8')).toBe(published); // the tools still find the running app
    expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);
  }, 60_000);

  it('a second start on another port but the same data dir exits 1 with one line and leaves the first alone', async () => {
    const appFile = path.join(dataDir, 'app.json');
    const published = fs.readFileSync(appFile, 'utf8');
    const second = start({ ...baseEnv(dataDir), PORT: String(port + 1), SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'warn' });
    expect(second.status).toBe(1);
    expect(second.stdout).toBe('');
    const lines = second.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Another Cronwarden started from this data dir runs at http://127.0.0.1:${port}`);
    expect(lines[0]).toContain('DATA_DIR');
    expect(fs.readFileSync(appFile, 'utf8')).toBe(published);
    expect((await fetch(`http://127.0.0.1:${port}/api/health`)).status).toBe(200);
  }, 60_000);

  it('monitor:immediate finds the app on its port without PORT or APP_URL', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/monitor/immediate.ts'], {
      env: { ...baseEnv(dataDir), MONITORING_DURATION: '1', CHECK_INTERVAL: '1', LOG_LEVEL: 'silent', REPORTS_DIR: path.join(dataDir, 'reports') },
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const check = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .find((l) => l.type === 'user_deletion_monitor_check');
    expect(check.application_metrics.health_status).toBe('healthy');
    const report = JSON.parse(fs.readFileSync(JSON.parse(r.stdout.trim().split('\n').at(-1) as string).report_file, 'utf8'));
    expect(report.monitoring.application_url).toBe(`http://127.0.0.1:${port}`);
  }, 120_000);
});
