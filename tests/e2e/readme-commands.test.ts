import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The README's command list, in its order, against `npm start` on the embedded default: every
 * command must succeed. The commands are taken from the README's ```bash blocks as written, with
 * two substitutions only: this test's port for 3000 and its own data dir for `.data` (other
 * checkouts on the machine may use those), and a fresh id for the `<uuid>` placeholder.
 */

/** Commands we do not run here: the install/start line (started below), the test suites and the 10-minute benchmark. */
const NOT_RUN = [/^npm ci && npm start$/, /^npm test\b/, /^npm run test:reliability\b/, /^bash \.ci\/run\b/, /\bnpm run bench\b/];

/**
 * The README's ```bash blocks: what a reader runs on this machine after the quick start, in
 * order. Blocks meant for a deployment (Vercel, Supabase, a `.env` of ping URLs) are ```sh and
 * are not run here: they would rewrite vercel.json or need the Supabase CLI.
 */
function readmeCommands(): string[] {
  const readme = fs.readFileSync('README.md', 'utf8');
  const blocks = [...readme.matchAll(/```bash\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks
    .flatMap((b) => b.split('\n'))
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
}

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

describe("the README's curl examples", () => {
  it('every example that runs a job asks for a dry run, or the comment above it says what it changes', () => {
    const lines = fs.readFileSync('README.md', 'utf8').split('\n');
    const runsJob = /^curl\b.*\/api\/(cron\/|admin\/maintenance\b|admin\/jobs\/[^/\s]+\/run\b)/;
    const unwarned: string[] = [];
    lines.forEach((line, i) => {
      const command = line.trim();
      if (!runsJob.test(command) || /[?&]dryRun=(1|true)\b/.test(command)) return;
      // The comment lines right above the command.
      const comment: string[] = [];
      for (let j = i - 1; j >= 0 && lines[j].trim().startsWith('#'); j--) comment.unshift(lines[j]);
      if (!/without dryRun|changes data|deletes/i.test(comment.join(' '))) unwarned.push(`README.md:${i + 1}: ${command}`);
    });
    expect(unwarned).toEqual([]);
  });
});

describe("the README's commands in order against npm start", () => {
  const MAINTENANCE_CRON_SECRET = 'readme-maintenance-secret-0123';
  let dataDir: string;
  let port: number;
  let child: ChildProcess;
  let out = '';
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-readme-'));
    port = await freePort();
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      NEXT_TELEMETRY_DISABLED: '1',
      DATA_DIR: dataDir,
      REPORTS_DIR: path.join(dataDir, 'reports'),
      // What the README's comments ask for: the maintenance route enabled, a short monitor run.
      CRON_ENABLED: 'true',
      MAINTENANCE_CRON_SECRET,
      MONITORING_DURATION: '2',
      CHECK_INTERVAL: '1',
      LOG_LEVEL: 'warn',
      // The scheduler would fire jobs at their times and make a command meet a running job (409).
      SCHEDULER_ENABLED: 'false',
    };
    child = spawn(process.execPath, [path.resolve('node_modules/tsx/dist/cli.mjs'), 'scripts/start.ts'], {
      env: { ...env, PORT: String(port) },
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

  it('every command succeeds', () => {
    const commands = readmeCommands().filter((c) => !NOT_RUN.some((re) => re.test(c)));
    expect(commands.length).toBeGreaterThan(15);
    const script = [
      'set +e',
      ...commands.flatMap((c, i) => [
        `echo "@@ ${i}"`,
        c.replace(/127\.0\.0\.1:3000/g, `127.0.0.1:${port}`).replace(/(^|[\s"(])\.data\//g, `$1${dataDir}/`).replace(/<uuid>/g, randomUUID()),
        // curl prints no final newline: end the command's output before the marker.
        `rc=$?; echo; echo "@@ rc $rc"`,
      ]),
    ].join('\n');
    const r = spawnSync('bash', ['-c', script], { env, encoding: 'utf8', timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
    const results = r.stdout.split(/^@@ (\d+)$/m).slice(1);
    const failures: string[] = [];
    for (let i = 0; i < results.length; i += 2) {
      const command = commands[Number(results[i])];
      const [body, rc] = results[i + 1].split(/^@@ rc (\d+)$/m);
      const output = body.trim();
      let ok = rc === '0';
      if (ok && command.startsWith('curl')) {
        const json = JSON.parse(output) as { success?: boolean; status?: string; error?: { code?: string }; errors?: unknown[] };
        // The DELETE example's placeholder id names no user: a 404 USER_NOT_FOUND is its right answer.
        if (command.includes('DELETE')) ok = json.error?.code === 'USER_NOT_FOUND';
        // The seed's maintenance route answers its own shape: counts and an empty `errors` list.
        else if (command.includes('/api/admin/maintenance')) ok = Array.isArray(json.errors) && json.errors.length === 0 && !json.error;
        else ok = json.success === true || json.status === 'ok';
      }
      if (!ok) failures.push(`${command}\n  exit ${rc}: ${output.slice(0, 600)}`);
    }
    expect(results.length / 2).toBe(commands.length);
    expect(failures, `${failures.join('\n')}\n${r.stderr.slice(-2000)}`).toEqual([]);
  }, 900_000);
});
