import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/lib/db/migrator';
import { PgliteDb } from '../../src/lib/db/pglite';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';

const TOKEN = 'e2e-admin-token-0123456789abcdef';
const DOOMED = '5a000000-0000-4000-8000-000000000001';
const KEPT = '5b000000-0000-4000-8000-000000000002';
const UNKNOWN = '5c000000-0000-4000-8000-000000000003';

/** DATA_DIR with a migrated embedded database (the demo app's tables: the app binds them at start) and local storage holding the users' uploads. */
async function prepareDataDir(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-users-http-'));
  const db = await PgliteDb.open(path.join(dir, 'pglite'));
  try {
    await migrate(db, { demo: 'tables' });
    await db.query(`insert into users (id, email, type) values ($1, 'doomed@example.com', 'guest'), ($2, 'kept@example.com', 'member')`, [DOOMED, KEPT]);
    for (const [user, n] of [
      [DOOMED, 2],
      [KEPT, 1],
    ] as const) {
      await db.query(`insert into dispatches (user_id) values ($1)`, [user]);
      await db.query(`insert into addresses (user_id, line1, city) values ($1, '1 Road', 'Austin')`, [user]);
      for (let i = 0; i < n; i++) {
        const p = `uploads/${user}/doc-${i}.pdf`;
        await db.query(`insert into file_uploads (user_id, storage_path) values ($1, $2)`, [user, p]);
        fs.mkdirSync(path.join(dir, 'storage', 'uploads', user), { recursive: true });
        fs.writeFileSync(path.join(dir, 'storage', p), `pdf ${i}`);
      }
    }
  } finally {
    await db.close();
  }
  return dir;
}

function runAsync(cmd: string, args: string[], options: { env: NodeJS.ProcessEnv; timeout: number }): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.once('error', reject);
    child.once('close', (status) => resolve({ status, stdout }));
  });
}

describe('DELETE /api/users/[userId] over real HTTP (next start)', () => {
  let app: RunningApp;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await prepareDataDir();
    app = await startApp({ DATA_DIR: dataDir, ADMIN_API_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await app?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const call = (method: string, p: string, headers: Record<string, string> = {}) => fetch(app.url + p, { method, headers });
  const auth = { authorization: `Bearer ${TOKEN}` };

  it.each([
    ['no Authorization header', {}, 401, 'UNAUTHORIZED'],
    ['a wrong token', { authorization: 'Bearer wrong-token-wrong-token-00' }, 401, 'UNAUTHORIZED'],
    ['the cron secret', { authorization: `Bearer ${TEST_CRON_SECRET}` }, 401, 'UNAUTHORIZED'],
  ])('refuses %s with %i JSON and deletes nothing', async (_label, headers, status, code) => {
    const res = await call('DELETE', `/api/users/${DOOMED}`, headers as Record<string, string>);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect((await res.json()).error.code).toBe(code);
    expect(fs.existsSync(path.join(dataDir, 'storage', 'uploads', DOOMED, 'doc-0.pdf'))).toBe(true);
  });

  it('answers 400 for an id that cannot be a value of the users id type or a query parameter, 404 for an unknown user', async () => {
    const bad = await call('DELETE', '/api/users/not-a-uuid', auth);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error).toMatchObject({ code: 'INVALID_USER_ID', id_type: 'uuid' });
    const param = await call('DELETE', `/api/users/${DOOMED}?force=1`, auth);
    expect(param.status).toBe(400);
    expect((await param.json()).error.code).toBe('UNKNOWN_PARAMETER');
    const unknown = await call('DELETE', `/api/users/${UNKNOWN}`, auth);
    expect(unknown.status).toBe(404);
    const body = await unknown.json();
    expect(body).toMatchObject({ success: false, error: { code: 'USER_NOT_FOUND', audit_id: expect.any(String) } });
  });

  it("deletes the user, its rows and its stored files, and nobody else's", async () => {
    const res = await call('DELETE', `/api/users/${DOOMED}`, auth);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      success: true,
      result: {
        user_id: DOOMED,
        user_type: 'guest',
        deleted: { dispatches: 1, addresses: 1, file_uploads: 2, sessions: 0, preferences: 0, export_logs: 0 },
        storage: { objects: 2, removed: 2, kept: 0, failed: 0, queued: 0 },
        audit_id: expect.any(String),
        duration_ms: expect.any(Number),
      },
    });
    expect(fs.existsSync(path.join(dataDir, 'storage', 'uploads', DOOMED))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'storage', 'uploads', KEPT, 'doc-0.pdf'))).toBe(true);
    // The server's stdout reaches us through a pipe: give the log line a moment under load.
    for (let i = 0; i < 50 && !app.output().includes('"type":"user_deletion"'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(app.output()).toContain('"type":"user_deletion"');
    expect(app.output()).not.toContain(TOKEN);

    const again = await call('DELETE', `/api/users/${DOOMED}`, auth);
    expect(again.status).toBe(404);
  });

  it.each(['GET', 'POST', 'PUT', 'PATCH'])('%s → 405 JSON', async (method) => {
    const res = await call(method, `/api/users/${KEPT}`, auth);
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('DELETE');
    expect((await res.json()).error.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('the admin stats endpoint counts every audited attempt, and a 404 is not a failed deletion', async () => {
    expect((await call('GET', '/api/admin/users/deletion-stats')).status).toBe(401);
    const res = await call('GET', '/api/admin/users/deletion-stats?minutes=60&hours=3', auth);
    expect(res.status).toBe(200);
    const { result } = await res.json();
    // Audited: the unknown user (404), the deletion (200), the repeat (404). Refused requests are not attempts.
    expect(result.stats).toMatchObject({
      total_attempts: 3,
      total_deletions: 1,
      successful_deletions: 1,
      failed_deletions: 0,
      error_rate_percent: 0,
      not_found: 2,
      timeouts: 0,
    });
    expect(result.error_rate_series).toHaveLength(3);
    expect(result.error_rate_series.at(-1)).toMatchObject({ total: 1, failed: 0, error_rate_percent: 0, not_found: 2 });
    expect((await call('GET', '/api/admin/users/deletion-stats?minutes=0', auth)).status).toBe(400);
  });

  it('monitor:immediate reads the same figures through the app when APP_URL and ADMIN_API_TOKEN are set', async () => {
    // Spawned without blocking this process: a blocked event loop misses the app closing an
    // idle kept-alive connection, and the next request on it fails ("other side closed").
    const r = await runAsync(process.execPath, ['--import', 'tsx', 'scripts/monitor/immediate.ts'], {
      env: {
        NODE_ENV: 'production',
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        APP_URL: app.url,
        ADMIN_API_TOKEN: TOKEN,
        REPORTS_DIR: path.join(dataDir, 'reports'),
        // Would be locked by the app: the HTTP source must not open it.
        DATA_DIR: dataDir,
        CHECK_INTERVAL: '1',
        MONITORING_DURATION: '1',
      },
      timeout: 60_000,
    });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const check = lines.find((l) => l.type === 'user_deletion_monitor_check');
    expect(check.deletion_metrics).toMatchObject({ total_deletions: 1, failed_deletions: 0, error_rate_percent: 0 });
    expect(check.application_metrics).toMatchObject({ health_status: 'healthy', http_status: 200 });
    const report = JSON.parse(fs.readFileSync(lines.at(-1).report_file, 'utf8'));
    expect(report.monitoring.data_source).toBe(`http (${app.url})`);
  });

  it('the storage-cleanup-retry cron route runs', async () => {
    const res = await call('GET', '/api/cron/storage-cleanup-retry', { authorization: `Bearer ${TEST_CRON_SECRET}` });
    expect(res.status).toBe(200);
    expect((await res.json()).result).toMatchObject({ status: 'succeeded', removed_count: 0, pending_count: 0 });
  });
});

describe('DELETE /api/users/[userId] without ADMIN_API_TOKEN on the server', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('refuses every request with a 500 JSON naming the missing variable', async () => {
    const res = await fetch(`${app.url}/api/users/${KEPT}`, { method: 'DELETE', headers: { authorization: 'Bearer anything-at-all-0123456' } });
    expect(res.status).toBe(500);
    const body = await res.json();
    expect(body.error.code).toBe('SERVER_MISCONFIGURED');
    expect(body.error.message).toContain('ADMIN_API_TOKEN');
  });
});

describe('DELETE /api/users/[userId] on a database without a users table', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({ ADMIN_API_TOKEN: TOKEN });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('answers 503 FEATURE_NOT_BOUND naming the table and the setting, and so does the retry job', async () => {
    const res = await fetch(`${app.url}/api/users/${KEPT}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.error.code).toBe('FEATURE_NOT_BOUND');
    expect(body.error.message).toContain('public.users');
    expect(body.error.message).toContain('bindings.userDeletion.users.table');
    const job = await fetch(`${app.url}/api/cron/storage-cleanup-retry`, { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } });
    expect(job.status).toBe(503);
    expect((await job.json()).error.code).toBe('FEATURE_NOT_BOUND');
  });
});
