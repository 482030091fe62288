/**
 * `npm start`: build if the build is missing or stale, serve the app, wait until it is healthy,
 * then run the local scheduler next to it. Embedded defaults need no configuration.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { buildIfStale, buildIsStale, nextBin } from './lib/build';
import { ensureLocalAdminPassword, ensureLocalCronSecret, loadDotEnv } from './lib/env';

loadDotEnv();
const secret = ensureLocalCronSecret();
if (secret) {
  console.log(`CRON_SECRET is not set: using the local secret kept in ${path.relative(process.cwd(), secret.file)}`);
}
const adminPassword = ensureLocalAdminPassword();
if (adminPassword) {
  console.log(
    `ADMIN_PASSWORD is not set: sign in to /admin with the password ${adminPassword.created ? 'generated into' : 'kept in'} ${path.relative(process.cwd(), adminPassword.file)}`,
  );
}
const port = process.env.PORT || '3000';
process.env.PORT = port;
process.env.APP_URL ||= `http://127.0.0.1:${port}`;
// Lets an oversized header reach our guard (which answers a JSON 400) instead of Node's bare 431.
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --max-http-header-size=65536`.trim();

// The local scheduler fires the jobs here, whatever scheduler.json declares for deployments:
// the admin page and /api/health say so.
const localScheduler = process.env.SCHEDULER_ENABLED !== 'false';
if (localScheduler) process.env.CRON_SCHEDULER ||= 'local';

if (buildIsStale()) console.log('Building the app (first start or changed sources)...');
if (!buildIfStale()) process.exit(1);

const children: ChildProcess[] = [];
const server = spawn(process.execPath, [nextBin, 'start', '-p', port], { stdio: 'inherit' });
children.push(server);

const shutdown = (code: number) => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
};
server.on('exit', (code) => shutdown(code ?? 1));
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

async function waitHealthy(timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const res = await fetch(`${process.env.APP_URL}/api/health`);
      if (res.ok) return true;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

if (await waitHealthy(120_000)) {
  console.log(`Cronwarden is up: ${process.env.APP_URL} (admin: ${process.env.APP_URL}/admin)`);
} else {
  console.error('The app did not become healthy within 120 s; see the log above. Starting the scheduler anyway.');
}
if (localScheduler) {
  const tsxCli = path.resolve('node_modules', 'tsx', 'dist', 'cli.mjs');
  children.push(spawn(process.execPath, [tsxCli, 'scripts/scheduler.ts'], { stdio: 'inherit' }));
}
