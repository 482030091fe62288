import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scheduleTable } from '../../src/lib/schedules/table';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';

const ROUTE = '/api/cron/run-history-prune';
const DISPATCH = '/api/cron/dispatch';

describe('cron routes over real HTTP (next start)', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(app.url + path, { method, headers });
  const auth = { authorization: `Bearer ${TEST_CRON_SECRET}` };

  it('/api/health says up, database ok, migrations current, each feature bound, who is told, which scheduler fires each job', async () => {
    const res = await get('/api/health');
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.checks).toEqual({ app: 'ok', database: 'ok', migrations: 'ok' });
    expect(Object.keys(body).sort()).toEqual(['alert_channels', 'checks', 'features', 'jobs_not_run', 'metrics', 'schedules', 'status', 'timestamp', 'warnings']);
    for (const f of ['exports', 'imports', 'drafts', 'userDeletion']) expect(body.features[f]).toEqual({ enabled: true, bound: true, problems: [] });
    // The embedded default with no channel and no METRICS_TOKEN: both said in words.
    expect(body).toMatchObject({ alert_channels: [], metrics: 'open' });
    expect(body.warnings).toHaveLength(2);
    expect(body.schedules).toMatchObject({ scheduler: 'vercel-pro', fired_by: 'Vercel Cron (Pro)' });
    expect(body.schedules.jobs.map((j: { job: string }) => j.job).sort()).toEqual(scheduleTable().map((s) => s.job).sort());
    expect(body.schedules.jobs.find((j: { job: string }) => j.job === 'alerts-evaluate')).toMatchObject({
      schedule: '*/5 * * * *',
      effective_schedule: '*/5 * * * *',
      less_often: false,
      last_fired_at: null,
    });
  });

  it('/api/health shows when Vercel Cron last fired a job', async () => {
    const res = await get('/api/cron/storage-cleanup-retry', { ...auth, 'user-agent': 'vercel-cron/1.0' });
    expect(res.status).toBe(200);
    const fired = (await res.json()).result.timestamp as string;
    const body = await (await get('/api/health')).json();
    const job = body.schedules.jobs.find((j: { job: string }) => j.job === 'storage-cleanup-retry');
    expect(new Date(job.last_fired_at).getTime()).toBeLessThanOrEqual(new Date(fired).getTime());
    expect(Date.now() - new Date(job.last_fired_at).getTime()).toBeLessThan(10 * 60_000);
  });

  it('/api/cron/dispatch runs each due job once, alerts-evaluate last, and a second call only what fell due since', async () => {
    expect((await get(DISPATCH)).status).toBe(401);
    expect((await get(DISPATCH, auth, 'POST')).status).toBe(405);
    const bad = await get(`${DISPATCH}?force=1`, auth);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain('force');

    const before = Date.now();
    const first = await (await get(DISPATCH, auth)).json();
    expect(first.success).toBe(true);
    const jobs = first.result.jobs as { job: string; action: string; status?: string; run_id?: string; due_since: string | null }[];
    expect(jobs.map((j) => j.job).sort()).toEqual(scheduleTable().map((s) => s.job).sort());
    expect(jobs.at(-1)!.job).toBe('alerts-evaluate');
    // Earlier tests ran run-history-prune and storage-cleanup-retry (not due again until their
    // next time); every other job never ran, so it is due.
    for (const j of jobs) {
      if (j.job === 'run-history-prune' || j.job === 'storage-cleanup-retry') continue;
      expect(j, j.job).toMatchObject({ action: 'ran', status: 'succeeded', due_since: null });
      expect(j.run_id).toMatch(/^[0-9a-f-]{36}$/);
    }

    const second = await (await get(DISPATCH, auth)).json();
    for (const j of second.result.jobs as { job: string; action: string; due_since: string | null }[]) {
      // Only a job whose next time came after it ran in the first dispatch may run again.
      if (j.action !== 'not_due') expect(new Date(j.due_since!).getTime(), j.job).toBeGreaterThanOrEqual(before);
    }
  });

  it('runs the job with the right secret and answers the seed shape', async () => {
    const res = await get(ROUTE, auth);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.success).toBe(true);
    expect(body.result).toMatchObject({ errors: [], status: 'succeeded', dry_run: false, partial: false });
    expect(typeof body.result.duration_ms).toBe('number');
    expect(typeof body.timestamp).toBe('string');
  });

  it.each([
    ['missing', {}, 401, 'UNAUTHORIZED'],
    ['wrong', { authorization: 'Bearer not-the-secret' }, 401, 'UNAUTHORIZED'],
    ['malformed', { authorization: `Token ${TEST_CRON_SECRET}` }, 400, 'MALFORMED_AUTHORIZATION'],
    ['huge', { authorization: `Bearer ${'a'.repeat(30_000)}` }, 400, 'AUTH_HEADER_TOO_LONG'],
  ])('%s Authorization header → %i JSON', async (_label, headers, status, code) => {
    const res = await get(ROUTE, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect((await res.json()).error.code).toBe(code);
  });

  it.each([
    ['?dryRun=maybe', 'dryRun'],
    ['?unknown=1', 'unknown'],
    ['?days=0', 'days'],
    ['?batchSize=abc', 'batchSize'],
  ])('bad query %s → 400 naming %s', async (query, name) => {
    const res = await get(ROUTE + query, auth);
    expect(res.status).toBe(400);
    expect((await res.json()).error.message).toContain(name);
  });

  it('a dry run changes nothing and says so', async () => {
    const res = await get(`${ROUTE}?dryRun=1`, auth);
    const body = await res.json();
    expect(body.result.dry_run).toBe(true);
    expect(body.result).toHaveProperty('would_delete_count');
  });

  it.each(['POST', 'PUT', 'PATCH', 'DELETE'])('%s → 405 JSON with Allow', async (method) => {
    const res = await get(ROUTE, auth, method);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    expect((await res.json()).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('HEAD checks credentials without running the job', async () => {
    expect((await get(ROUTE, auth, 'HEAD')).status).toBe(204);
    expect((await get(ROUTE, {}, 'HEAD')).status).toBe(401);
  });

  it('never prints the secret', () => {
    expect(app.output()).not.toContain(TEST_CRON_SECRET);
  });
});

describe('a server without CRON_SECRET', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({ CRON_SECRET: '' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('refuses every cron call with a 500 that names the missing variable', async () => {
    for (const headers of [{}, { authorization: 'Bearer anything-at-all-here' }] as Record<string, string>[]) {
      const res = await fetch(app.url + ROUTE, { headers });
      expect(res.status).toBe(500);
      const body = await res.json();
      expect(body.error.code).toBe('SERVER_MISCONFIGURED');
      expect(body.error.message).toContain('CRON_SECRET');
    }
  });
});
