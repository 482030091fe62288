import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';
import { freshPostgresUrl, hasPostgres } from '../support/db';
import { closedPort, startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const SHOTS = path.resolve('tests/e2e/screenshots');
const DB_PASSWORD = 'Db-Pa55word-never-shown-9f3e';
const ADMIN_TOKEN = 'e2e-admin-api-token-0123456789';
const METRICS_TOKEN = 'e2e-metrics-token-0123456789';
const ADMIN_PASSWORD = 'e2e-admin-password-0123';
/** What the issue asks of every route while the database is away. */
const ANSWER_WITHIN_MS = 5_000;

const cronAuth = { authorization: `Bearer ${TEST_CRON_SECRET}` };
const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function timedFetch(url: string, init: RequestInit = {}) {
  const t0 = performance.now();
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - t0, json: () => JSON.parse(text) };
}

const count = (output: string, type: string) => output.split('\n').filter((l) => l.includes(`"type":"${type}"`)).length;

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

describe('a database unreachable from the start (DATABASE_URL at a closed loopback port)', () => {
  let app: RunningApp;
  let port: number;
  beforeAll(async () => {
    port = await closedPort();
    app = await startApp(
      {
        DATABASE_URL: `postgres://cw_app:${DB_PASSWORD}@127.0.0.1:${port}/cronwarden`,
        ADMIN_API_TOKEN: ADMIN_TOKEN,
        METRICS_TOKEN,
      },
      { ready: 'answering' },
    );
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('every route answers 503 DATABASE_UNAVAILABLE within 5 s, naming host and port, never the password', async () => {
    const calls: [string, RequestInit][] = [
      ['/api/cron/run-history-prune', { headers: cronAuth }],
      ['/api/cron/draft-cleanup?dryRun=1', { headers: cronAuth }],
      ['/api/admin/jobs', { headers: adminAuth }],
      ['/api/admin/runs?job=draft-cleanup', { headers: adminAuth }],
      ['/api/admin/jobs/draft-cleanup/run', { method: 'POST', headers: { ...adminAuth, 'content-type': 'application/json' }, body: '{"dryRun":true}' }],
      ['/api/users/00000000-0000-4000-8000-000000000001', { method: 'DELETE', headers: adminAuth }],
      ['/api/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } }],
    ];
    for (const [route, init] of calls) {
      const res = await timedFetch(app.url + route, init);
      expect(res.status, `${route}: ${res.text.slice(0, 200)}`).toBe(503);
      expect(res.ms, route).toBeLessThan(ANSWER_WITHIN_MS);
      const body = res.json();
      expect(body).toMatchObject({ success: false, error: { code: 'DATABASE_UNAVAILABLE', host: '127.0.0.1', port, reason: 'ECONNREFUSED' } });
      expect(body.error.message).toContain(`127.0.0.1:${port}`);
      expect(res.text).not.toContain(DB_PASSWORD);
      expect(res.text).not.toContain('cw_app');
    }
    const health = await timedFetch(`${app.url}/api/health`);
    expect(health.status).toBe(503);
    expect(health.ms).toBeLessThan(ANSWER_WITHIN_MS);
    expect(health.json().checks).toEqual({ app: 'ok', database: 'unreachable', migrations: 'unknown' });
    expect(health.text).not.toContain('127.0.0.1'); // the public probe names no host
  });

  it('without credentials a caller learns nothing about the database (401 before any database call)', async () => {
    const res = await timedFetch(`${app.url}/api/cron/run-history-prune`);
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(String(port));
  });

  it('logs the outage once, not once per request, and never the password', async () => {
    for (let i = 0; i < 10; i++) {
      await fetch(`${app.url}/api/health`);
      await fetch(`${app.url}/api/cron/run-history-prune`, { headers: cronAuth });
    }
    const out = app.output();
    expect(count(out, 'database_unavailable')).toBe(1);
    const line = out.split('\n').find((l) => l.includes('"type":"database_unavailable"'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'error', host: '127.0.0.1', port, reason: 'ECONNREFUSED' });
    for (const noisy of ['request_failed', 'health_check_failed', 'admin_panel_failed']) expect(count(out, noisy), noisy).toBe(0);
    expect(out).not.toContain(DB_PASSWORD);
  });
});

describe.skipIf(!hasPostgres())('a real PostgreSQL that goes away and comes back (TCP proxy cut in front of it)', () => {
  let app: RunningApp;
  let proxy: TcpProxy;
  let browser: Browser;
  let page: Page;
  let where = '';

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    const real = new URL(await freshPostgresUrl());
    proxy = await startTcpProxy(Number(real.port || 5432), real.hostname);
    real.port = String(proxy.port);
    where = `127.0.0.1:${proxy.port}`;
    app = await startApp({ DATABASE_URL: real.toString(), ADMIN_PASSWORD, ADMIN_API_TOKEN: ADMIN_TOKEN, SEED_DEMO_DATA: 'true' });
    browser = await launch();
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: app.url });
    page = await context.newPage();
    await page.goto('/admin');
    await page.fill('input[name="password"]', ADMIN_PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), page.click('button[type="submit"]')]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    await proxy?.close();
  });

  const cron = () => timedFetch(`${app.url}/api/cron/run-history-prune`, { headers: cronAuth });

  it('cut: routes answer 503 within 5 s and the console says the database is unreachable; restored: both work again', async () => {
    expect(await page.textContent('h1')).toBe('Overview');
    expect((await cron()).status).toBe(200);

    await proxy.cut();
    for (let i = 0; i < 5; i++) {
      const res = await cron();
      expect(res.status, res.text.slice(0, 200)).toBe(503);
      expect(res.ms).toBeLessThan(ANSWER_WITHIN_MS);
      expect(res.json().error).toMatchObject({ code: 'DATABASE_UNAVAILABLE', host: '127.0.0.1', port: proxy.port });
    }

    const shown = await page.goto('/admin');
    expect(shown?.status()).toBe(200);
    const notice = page.locator('[data-testid="database-unreachable"]');
    await notice.waitFor();
    expect(await page.textContent('h1')).toBe('Database unreachable');
    const text = (await notice.textContent()) ?? '';
    expect(text).toContain(where);
    expect(text).toMatch(/pg_isready -h 127\.0\.0\.1 -p \d+/);
    expect(await page.content()).not.toContain('Application error');
    await page.screenshot({ path: path.join(SHOTS, 'admin-database-unreachable.png'), fullPage: true });
    // On a phone the notice fits the screen: nothing of it off to the side.
    await page.setViewportSize({ width: 390, height: 844 });
    const box = await notice.boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    expect(await notice.evaluate((el) => el.scrollWidth <= el.clientWidth)).toBe(true);
    await page.screenshot({ path: path.join(SHOTS, 'admin-database-unreachable-phone.png'), fullPage: true });
    await page.setViewportSize({ width: 1440, height: 900 });

    // A run page too, not Next's error page.
    await page.goto('/admin/runs/00000000-0000-4000-8000-000000000001');
    expect(await page.textContent('h1')).toBe('Database unreachable');

    await proxy.restore();
    const back = await cron();
    expect(back.status, back.text.slice(0, 200)).toBe(200);
    await page.goto('/admin');
    expect(await page.textContent('h1')).toBe('Overview');

    const out = app.output();
    expect(count(out, 'database_unavailable')).toBe(1);
    expect(count(out, 'database_available')).toBe(1);
    for (const noisy of ['request_failed', 'health_check_failed', 'admin_panel_failed']) expect(count(out, noisy), noisy).toBe(0);
  });

  it('cut: DELETE /api/users/<id> answers 503 DATABASE_UNAVAILABLE naming host and port, with no log line per request', async () => {
    const user = '00000000-0000-4000-8000-0000000000ff'; // well-formed, no such user
    const remove = () => timedFetch(`${app.url}/api/users/${user}`, { method: 'DELETE', headers: adminAuth });
    const failedBefore = count(app.output(), 'user_deletion_failed');
    expect((await remove()).status).toBe(404); // bound and answering before the cut
    // That 404's own log line crosses the pipe asynchronously: wait for it, so it is not counted
    // among the lines written during the cut.
    for (let i = 0; i < 200 && count(app.output(), 'user_deletion_failed') === failedBefore; i++) await new Promise((r) => setTimeout(r, 50));
    expect(count(app.output(), 'user_deletion_failed')).toBe(failedBefore + 1);
    await proxy.cut();
    const before = app.output();
    try {
      for (let i = 0; i < 3; i++) {
        const res = await remove();
        expect(res.status, res.text.slice(0, 200)).toBe(503);
        expect(res.ms).toBeLessThan(ANSWER_WITHIN_MS);
        const body = res.json();
        expect(body).toMatchObject({ success: false, error: { code: 'DATABASE_UNAVAILABLE', host: '127.0.0.1', port: proxy.port } });
        expect(body.error.message).toContain(where);
      }
    } finally {
      await proxy.restore();
    }
    const during = app.output().slice(before.length);
    for (const noisy of ['user_deletion_failed', 'user_deletion_audit_failed', 'request_failed']) expect(count(during, noisy), noisy).toBe(0);
    expect(count(during, 'database_unavailable')).toBeLessThanOrEqual(1); // the outage, once
    expect((await remove()).status).toBe(404);
  });

  it('signing in during an outage shows the "Database unreachable" page, never raw JSON; the form is back once it answers', async () => {
    const fresh = await browser.newContext({ viewport: { width: 1440, height: 900 }, baseURL: app.url });
    try {
      const visitor = await fresh.newPage();
      await visitor.goto('/admin');
      await visitor.waitForURL((u) => u.pathname === '/admin/sign-in');
      await visitor.fill('input[name="password"]', ADMIN_PASSWORD);
      await proxy.cut();
      try {
        await Promise.all([visitor.waitForURL((u) => u.pathname === '/admin/sign-in' && u.searchParams.has('error')), visitor.click('button[type="submit"]')]);
        const notice = visitor.locator('[data-testid="database-unreachable"]');
        await notice.waitFor();
        expect(await visitor.textContent('h1')).toBe('Database unreachable');
        expect((await notice.textContent()) ?? '').toContain(where);
        // A page for a person, not the route's JSON answer.
        const text = (await visitor.locator('body').innerText()).trim();
        expect(text.startsWith('{')).toBe(false);
        expect(text).not.toContain('"success"');
        expect(text).not.toContain('"code"');
        await visitor.screenshot({ path: path.join(SHOTS, 'sign-in-database-unreachable.png'), fullPage: true });
        // The page's own "Try again" keeps saying so while the database is away.
        await visitor.click('a:has-text("Try again")');
        expect(await visitor.textContent('h1')).toBe('Database unreachable');
      } finally {
        await proxy.restore();
      }
      await visitor.reload();
      await visitor.fill('input[name="password"]', ADMIN_PASSWORD);
      await Promise.all([visitor.waitForURL((u) => u.pathname === '/admin'), visitor.click('button[type="submit"]')]);
      expect(await visitor.textContent('h1')).toBe('Overview');
    } finally {
      await fresh.close();
    }
  });

  it('a host that never answers: 503 within 5 s (the connect timeout), then fine once it answers', async () => {
    await proxy.blackhole();
    try {
      // A pooled connection the proxy just dropped may carry the first query (CONNECTION_CLOSED)
      // before the pool notices; every later one has to connect and meets the silent host.
      const reasons: string[] = [];
      for (let i = 0; i < 3 && !reasons.includes('CONNECT_TIMEOUT'); i++) {
        const res = await cron();
        expect(res.status, res.text.slice(0, 200)).toBe(503);
        expect(res.ms).toBeLessThan(ANSWER_WITHIN_MS);
        expect(res.json().error).toMatchObject({ code: 'DATABASE_UNAVAILABLE' });
        reasons.push(res.json().error.reason);
      }
      expect(reasons.at(-1)).toBe('CONNECT_TIMEOUT');
      expect(reasons.every((r) => r === 'CONNECT_TIMEOUT' || r === 'CONNECTION_CLOSED'), reasons.join()).toBe(true);
    } finally {
      await proxy.restore();
    }
    expect((await cron()).status).toBe(200);
  });
});
