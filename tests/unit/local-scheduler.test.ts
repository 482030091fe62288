import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { notRunFromHealth, startLocalScheduler } from '../../src/lib/cron/local-scheduler';
import { captureLogs } from '../support/deps';

let server: http.Server | undefined;
let stopScheduler: (() => void) | undefined;
afterEach(async () => {
  stopScheduler?.();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
});

it('fires each entry at its time with the bearer secret and logs what the app answered', async () => {
  const seen: { url: string; auth: string | undefined; trigger: string | undefined }[] = [];
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization, trigger: req.headers['x-cron-trigger'] as string });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ success: true, result: { run_id: 'r1', status: 'succeeded' } }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const { log, logs } = captureLogs(['scheduler-test-secret-123']);
  const scheduler = startLocalScheduler({
    // Six fields: every second, so the test sees real firings within ~2 s.
    entries: [{ path: '/api/cron/probe-job', schedule: '* * * * * *' }],
    baseUrl: `http://127.0.0.1:${port}`,
    secret: 'scheduler-test-secret-123',
    log,
  });
  stopScheduler = scheduler.stop;
  const until = Date.now() + 5000;
  while (seen.length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  scheduler.stop();
  expect(seen.length).toBeGreaterThanOrEqual(2);
  expect(seen[0]).toEqual({ url: '/api/cron/probe-job', auth: 'Bearer scheduler-test-secret-123', trigger: 'scheduler' });
  await new Promise((r) => setTimeout(r, 50));
  expect(logs.ofType('scheduler_fired')[0]).toMatchObject({ job: 'probe-job', http_status: 200, run_id: 'r1' });
  expect(logs.raw.join('')).not.toContain('scheduler-test-secret-123');
});

it('logs an unreachable app instead of crashing', async () => {
  const { log, logs } = captureLogs();
  const scheduler = startLocalScheduler({
    entries: [{ path: '/api/cron/probe-job', schedule: '* * * * * *' }],
    baseUrl: 'http://127.0.0.1:9', // discard port: connection refused
    secret: 'x'.repeat(20),
    log,
  });
  stopScheduler = scheduler.stop;
  const until = Date.now() + 4000;
  while (logs.ofType('scheduler_fire_failed').length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  expect(logs.ofType('scheduler_fire_failed')[0]).toMatchObject({ job: 'probe-job' });
});

it('logs a failed run, or an app that answers an error such as 503 DATABASE_UNAVAILABLE, at error level', async () => {
  const answers = [
    { status: 503, body: { success: false, error: { code: 'DATABASE_UNAVAILABLE', message: 'The database at 127.0.0.1:5432 is unreachable (ECONNREFUSED); try again when it is back.' } } },
    { status: 200, body: { success: false, result: { run_id: 'r2', status: 'failed' } } },
    { status: 200, body: { success: true, result: { run_id: 'r3', status: 'partial' } } },
    { status: 409, body: { success: false, error: { code: 'ALREADY_RUNNING', message: 'busy', run_id: 'r4' } } },
    { status: 200, body: { success: true, result: { run_id: 'r5', status: 'succeeded' } } },
  ];
  let served = 0;
  server = http.createServer((_req, res) => {
    const a = answers[Math.min(served++, answers.length - 1)];
    res.writeHead(a.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  const { log, logs } = captureLogs();
  const scheduler = startLocalScheduler({
    entries: [{ path: '/api/cron/probe-job', schedule: '* * * * * *' }],
    baseUrl: `http://127.0.0.1:${port}`,
    secret: 'scheduler-test-secret-123',
    log,
  });
  stopScheduler = scheduler.stop;
  const until = Date.now() + 15_000;
  while (logs.ofType('scheduler_fired').length < answers.length && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  scheduler.stop();
  const fired = logs.ofType('scheduler_fired').slice(0, answers.length);
  expect(fired.map((l) => [l.level, l.outcome, l.http_status])).toEqual([
    ['error', 'failed', 503],
    ['error', 'failed', 200],
    ['warn', 'partial', 200],
    ['warn', 'skipped', 409],
    ['info', 'ok', 200],
  ]);
  expect(fired[0]).toMatchObject({ error_code: 'DATABASE_UNAVAILABLE', job: 'probe-job' });
  expect(String(fired[0].error)).toContain('127.0.0.1:5432');
});

it('does not fire a job the app says it does not run (feature off or unbound, rule not bound), and says so once', async () => {
  const seen: string[] = [];
  let notRun = ['off-job', 'policies/off-rule'];
  server = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    if (req.url === '/api/health') res.end(JSON.stringify({ status: 'ok', jobs_not_run: notRun }));
    else res.end(JSON.stringify({ success: true, result: { run_id: 'r1', status: 'succeeded' } }));
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { log, logs } = captureLogs();
  const scheduler = startLocalScheduler({
    entries: [
      { path: '/api/cron/off-job', schedule: '* * * * * *' },
      { path: '/api/cron/policies/off-rule', schedule: '* * * * * *' },
      { path: '/api/cron/on-job', schedule: '* * * * * *' },
    ],
    baseUrl: base,
    secret: 'scheduler-test-secret-123',
    log,
    notRun: () => notRunFromHealth(base),
    notRunMaxAgeMs: 0, // asked before every firing, so the test sees the change below
  });
  stopScheduler = scheduler.stop;
  const fired = (path: string) => seen.filter((u) => u === path).length;
  let until = Date.now() + 10_000;
  while (fired('/api/cron/on-job') < 3 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  expect(fired('/api/cron/on-job')).toBeGreaterThanOrEqual(3);
  expect(fired('/api/cron/off-job')).toBe(0);
  expect(fired('/api/cron/policies/off-rule')).toBe(0);
  expect(logs.ofType('scheduler_not_fired').map((l) => l.job).sort()).toEqual(['off-job', 'policies/off-rule']);

  // Bound again (the binding was fixed): fired again.
  notRun = [];
  until = Date.now() + 10_000;
  while (fired('/api/cron/off-job') < 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  scheduler.stop();
  expect(fired('/api/cron/off-job')).toBeGreaterThanOrEqual(1);
});

it('fires every job when the app cannot say which it does not run', async () => {
  expect(await notRunFromHealth('http://127.0.0.1:9')).toBeNull();
});
