import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { nextBin } from '../../scripts/lib/build';

export interface RunningApp {
  url: string;
  pid: number;
  dataDir: string;
  /** Everything the server printed (stdout + stderr), for log assertions. */
  output: () => string;
  stop(): Promise<void>;
}

export const TEST_CRON_SECRET = 'e2e-cron-secret-abcdefghijklmnop';

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

export interface StartOptions {
  /**
   * When the app counts as started: `healthy` (default) waits for /api/health 200; `answering`
   * for any answer (for an app whose database is meant to be unreachable).
   */
  ready?: 'healthy' | 'answering';
}

/**
 * The built app (`next start`, built once per test run by the global setup) on a free loopback
 * port, with its own embedded database in a temp DATA_DIR unless `env` says otherwise, holding
 * the demo app's tables (DEMO_APP=tables; SEED_DEMO_DATA=true for its rows too).
 */
export async function startApp(env: Record<string, string> = {}, options: StartOptions = {}): Promise<RunningApp> {
  if (!fs.existsSync(path.join('.next', 'BUILD_ID'))) throw new Error('No production build: run `npm run build` first.');
  const port = await freePort();
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'cw-app-'));
  let out = '';
  // A long keep-alive: when the test process is starved of CPU (or blocked in spawnSync) for more
  // than the default 5 s, the server would close a pooled connection the test's fetch then
  // reuses ('other side closed'), and the machine's speed would decide the test.
  const args = [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1', '--keepAliveTimeout', '120000'];
  const child: ChildProcess = spawn(process.execPath, args, {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      NODE_OPTIONS: '--max-http-header-size=65536',
      NEXT_TELEMETRY_DISABLED: '1',
      CRON_SECRET: TEST_CRON_SECRET,
      // The demo app's tables (empty unless a test asks for its rows), bound by the default bindings.
      DEMO_APP: env.DEMO_APP ?? (env.SEED_DEMO_DATA === 'true' ? 'data' : 'tables'),
      // The tests expect Vercel Pro whatever the project's scheduler.json declares (a team on
      // Hobby or Supabase Cron switches it with npm run schedules, and the suite stays green).
      CRON_SCHEDULER: 'vercel-pro',
      LOG_LEVEL: 'info',
      DATA_DIR: dataDir,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`app exited (${child.exitCode}):\n${out}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.status === 200 || options.ready === 'answering') break;
    } catch {
      /* not yet listening */
    }
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`app not healthy within 90 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    pid: child.pid ?? 0,
    dataDir,
    output: () => out,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      if (!env.DATA_DIR) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
