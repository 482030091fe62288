import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';

const ROUTE = '/api/admin/maintenance';
const MAINTENANCE_SECRET = 'e2e-maintenance-secret-0123456789';
const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

/**
 * The seed's maintenance route over real HTTP. Its contract depends on the environment the
 * server started with, so three servers run side by side: maintenance disabled, enabled without
 * a secret, and enabled with a secret (and the demo seed, whose import section has exactly one
 * stuck run, two expired temp uploads, two jobs due for compaction and three raw items to purge).
 */
describe('GET /api/admin/maintenance over real HTTP (next start)', () => {
  let disabled: RunningApp;
  let noSecret: RunningApp;
  let app: RunningApp;
  beforeAll(async () => {
    [disabled, noSecret, app] = await Promise.all([
      startApp({ MAINTENANCE_CRON_SECRET: MAINTENANCE_SECRET }),
      startApp({ CRON_ENABLED: 'true' }),
      startApp({ CRON_ENABLED: 'true', MAINTENANCE_CRON_SECRET: MAINTENANCE_SECRET, SEED_DEMO_DATA: 'true', ADMIN_API_TOKEN: ADMIN_TOKEN }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([disabled?.stop(), noSecret?.stop(), app?.stop()]);
  });

  const get = (base: RunningApp, path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(base.url + path, { method, headers });
  const secret = { 'x-cron-secret': MAINTENANCE_SECRET };

  it('503 when CRON_ENABLED is not "true", even with the right secret', async () => {
    const res = await get(disabled, ROUTE, secret);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect((await res.json()).error).toMatchObject({ code: 'MAINTENANCE_DISABLED' });
  });

  it('500 when MAINTENANCE_CRON_SECRET is not set', async () => {
    const res = await get(noSecret, ROUTE, { 'x-cron-secret': 'anything' });
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.error.code).toBe('SERVER_MISCONFIGURED');
    expect(body.error.message).toContain('MAINTENANCE_CRON_SECRET');
  });

  it.each([
    ['wrong', { 'x-cron-secret': 'not-the-secret' }],
    ['missing', {}],
    ['the cron Bearer instead', { authorization: `Bearer ${TEST_CRON_SECRET}` }],
    ['the admin token instead', { authorization: `Bearer ${ADMIN_TOKEN}` }],
  ])('401 with a %s x-cron-secret', async (_label, headers) => {
    const res = await get(app, ROUTE, headers as Record<string, string>);
    expect(res.status).toBe(401);
    expect((await res.json()).error.code).toBe('UNAUTHORIZED');
  });

  it.each([
    ['?hours=-1', 'hours'],
    ['?hours=abc', 'hours'],
    ['?batchSize=1000000000', 'batchSize'],
    ['?dryRun=perhaps', 'dryRun'],
  ])('400 for %s naming %s', async (query, name) => {
    const res = await get(app, ROUTE + query, secret);
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body.error.message).toContain(`'${name}'`);
  });

  it('200 with the right secret: dry run first, then the run, in the seed response shape', async () => {
    const status = async () => {
      const res = await get(app, '/api/admin/maintenance/status', { authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(res.status).toBe(200);
      return (await res.json()).result;
    };
    const first = await status();
    expect(first).toMatchObject({ stuckRuns: 1, oldTempUploads: 2, jobsDueForCompaction: 2, oldRawItems: 3 });
    // The demo app's run history holds earlier maintenance runs: the latest is one of those.
    expect(first.lastRun).toMatchObject({ status: expect.any(String) });

    const dry = await get(app, `${ROUTE}?dryRun=1`, secret);
    expect(dry.status).toBe(200);
    const dryBody = await dry.json();
    expect(dryBody).toMatchObject({ stuckRunsMarked: 1, tempUploadsPurged: 2, importJobsCompacted: 2, rawItemsPurged: 3, errors: [], dryRun: true });
    expect(await status()).toMatchObject({ stuckRuns: 1, oldTempUploads: 2, jobsDueForCompaction: 2, oldRawItems: 3 });

    const res = await get(app, `${ROUTE}?hours=24&batchSize=1`, secret);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(Object.keys(body).sort()).toEqual(
      ['errors', 'importJobsCompacted', 'partial', 'rawItemsPurged', 'runId', 'dryRun', 'stuckRunsMarked', 'tempUploadsPurged', 'timestamp'].sort(),
    );
    expect(body).toMatchObject({ stuckRunsMarked: 1, tempUploadsPurged: 2, importJobsCompacted: 2, rawItemsPurged: 3, errors: [], dryRun: false, partial: false });
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);
    expect(await status()).toMatchObject({
      stuckRuns: 0,
      oldTempUploads: 0,
      jobsDueForCompaction: 0,
      oldRawItems: 0,
      lastRun: { runId: body.runId, status: 'succeeded', errorCount: 0 },
    });

    // The same job on the Vercel Cron route: nothing left to do.
    const cron = await get(app, '/api/cron/maintenance', { authorization: `Bearer ${TEST_CRON_SECRET}` });
    expect(cron.status).toBe(200);
    expect((await cron.json()).result).toMatchObject({ stuckRunsMarked: 0, tempUploadsPurged: 0, importJobsCompacted: 0, rawItemsPurged: 0, status: 'succeeded' });
  });

  it('the status endpoint is behind the admin guard; other methods are refused', async () => {
    expect((await get(app, '/api/admin/maintenance/status')).status).toBe(401);
    expect((await get(app, '/api/admin/maintenance/status', secret)).status).toBe(401);
    const post = await get(app, ROUTE, secret, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET');
  });

  it('never prints the maintenance secret', () => {
    for (const a of [disabled, noSecret, app]) expect(a.output()).not.toContain(MAINTENANCE_SECRET);
  });
});
