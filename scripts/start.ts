/**
 * `npm start`: check the environment, build if the build is missing or stale, serve the app on
 * HOST:PORT (127.0.0.1:3000 by default), wait until it is healthy, then run the local scheduler
 * next to it. Embedded defaults need no configuration. Exit 1 at once on an invalid variable or
 * when HOST:PORT is already taken (nothing started, nothing written).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { ConfigError, loadConfig } from '../src/lib/config';
import { buildIfStale, buildIsStale, nextBin } from './lib/build';
import { ensureLocalAdminApiToken, ensureLocalAdminPassword, ensureLocalCronSecret, loadDotEnv, publishRunningApp, runningAppFile, runningAppUrl } from './lib/env';

/** Parses the environment; on a bad variable prints one line per problem and exits 1 (nothing started). */
function checkEnvironment() {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const issue of err.issues) console.error(`Invalid environment: ${issue}`);
    process.exit(1);
  }
}

/** True when something (another Cronwarden, another program) already listens on host:port. */
function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(true) : reject(err)));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(false)));
  });
}

loadDotEnv();
const requested = checkEnvironment(); // before anything is created or started
// Another app on the port would answer our health check as if it were this one, and this one's
// exit would then remove that app's .data/app.json: refuse before anything starts.
if (await portInUse(requested.host, requested.port)) {
  console.error(
    `Port ${requested.port} on ${requested.host} is in use (another Cronwarden or another program); stop it, or start on another port: PORT=${requested.port === 65535 ? 3001 : requested.port + 1} npm start`,
  );
  process.exit(1);
}
// Another npm start on this data dir (on another port): its app.json would be overwritten and
// then removed at our exit, and the tools would lose the app that runs on.
const sibling = runningAppUrl();
if (sibling) {
  console.error(
    `Another Cronwarden started from this data dir runs at ${sibling} (${path.relative(process.cwd(), runningAppFile()) || runningAppFile()}); stop it first, or give this one its own DATA_DIR`,
  );
  process.exit(1);
}
const rel = (file: string) => path.relative(process.cwd(), file);
let generated: ReturnType<typeof ensureLocalAdminPassword>[];
try {
  generated = [ensureLocalCronSecret(), ensureLocalAdminPassword(), ensureLocalAdminApiToken()];
} catch (err) {
  console.error(err instanceof Error ? err.message : String(err));
  process.exit(1);
}
const [secret, adminPassword, adminApiToken] = generated;
if (secret) console.log(`CRON_SECRET is not set: using the local secret kept in ${rel(secret.file)}`);
if (adminPassword) {
  console.log(
    `ADMIN_PASSWORD is not set: sign in to /admin with the password ${adminPassword.created ? 'generated into' : 'kept in'} ${rel(adminPassword.file)}`,
  );
}
if (adminApiToken) {
  console.log(
    `ADMIN_API_TOKEN is not set: call /api/admin/* with "Authorization: Bearer <token>", the token ${adminApiToken.created ? 'generated into' : 'kept in'} ${rel(adminApiToken.file)}`,
  );
}
const config = checkEnvironment();
const port = String(config.port);
process.env.PORT = port;
process.env.APP_URL ||= config.appUrl;
// Lets an oversized header reach our guard (which answers a JSON 400) instead of Node's bare 431.
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --max-http-header-size=65536`.trim();

// The local scheduler fires the jobs here, whatever scheduler.json declares for deployments:
// the admin page and /api/health say so.
const localScheduler = process.env.SCHEDULER_ENABLED !== 'false';
if (localScheduler) process.env.CRON_SCHEDULER ||= 'local';

if (buildIsStale()) console.log('Building the app (first start or changed sources)...');
if (!buildIfStale()) process.exit(1);

const children: ChildProcess[] = [];
const server = spawn(process.execPath, [nextBin, 'start', '-p', port, '-H', config.host], { stdio: 'inherit' });
children.push(server);

const shutdown = (code: number) => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
};
server.on('exit', (code) => shutdown(code ?? 1));
process.on('SIGINT', () => shutdown(0));
process.on('SIGTERM', () => shutdown(0));

/** One line per feature that is switched off or not bound, with its reasons (from /api/health). */
async function reportFeatures(appUrl: string): Promise<void> {
  try {
    const health = (await (await fetch(`${appUrl}/api/health`)).json()) as {
      features?: Record<string, { enabled: boolean; bound: boolean; problems: string[] }>;
    };
    for (const [name, f] of Object.entries(health.features ?? {})) {
      if (!f.enabled) console.log(`Feature ${name}: switched off in cronwarden.config.ts`);
      else if (!f.bound) for (const p of f.problems) console.log(`Feature ${name} is not bound: ${p}`);
    }
  } catch {
    /* the health check already said what it could */
  }
}

async function waitHealthy(timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  // Only our own server's answer counts: once it has exited, whatever answers is another app.
  while (Date.now() < until && server.exitCode === null) {
    try {
      const res = await fetch(`${process.env.APP_URL}/api/health`);
      if (res.ok) return server.exitCode === null;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

if (await waitHealthy(120_000)) {
  publishRunningApp(process.env.APP_URL);
  console.log(`Cronwarden is up: ${process.env.APP_URL} (admin: ${process.env.APP_URL}/admin)`);
  await reportFeatures(process.env.APP_URL);
} else if (server.exitCode === null) {
  console.error('The app did not become healthy within 120 s; see the log above. Starting the scheduler anyway.');
}
if (localScheduler && server.exitCode === null) {
  const tsxCli = path.resolve('node_modules', 'tsx', 'dist', 'cli.mjs');
  children.push(spawn(process.execPath, [tsxCli, 'scripts/scheduler.ts'], { stdio: 'inherit' }));
}
