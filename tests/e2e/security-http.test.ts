import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/lib/db/migrator';
import { PgliteDb } from '../../src/lib/db/pglite';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';

const PASSWORD = 'e2e-security-password-0123';
const API_TOKEN = 'e2e-security-api-token-0123456789';
const EVIL = 'https://evil.example';
const H = 3600_000;

/**
 * A data directory prepared before the app starts: a migrated embedded database with two
 * completed exports whose files cannot be removed (a folder stands where each file should be).
 * Export A is past its expiry (the default, expiry mode), export B is older than 24 h but not
 * expired (retention mode, `?retentionHours=24`), so two runs each fail on their own row.
 */
async function dataDirWithUnremovableExports(): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-sec-app-'));
  const db = await PgliteDb.open(path.join(dir, 'pglite'));
  try {
    // The demo app's tables, as the app itself applies them (DEMO_APP=tables).
    await migrate(db, { demo: 'tables' });
    const now = Date.now();
    const row = `insert into export_logs (export_id, user_id, format, status, file_path, file_size_bytes, created_at, completed_at, expires_at)
                 values ($1, $2, 'json', 'completed', $3, 10, $4, $4, $5)`;
    await db.query(row, [randomUUID(), randomUUID(), 'exports/u1/a.json', new Date(now - 2 * H), new Date(now - H)]);
    await db.query(row, [randomUUID(), randomUUID(), 'exports/u1/b.json', new Date(now - 48 * H), new Date(now + 7 * 24 * H)]);
  } finally {
    await db.close();
  }
  for (const name of ['a.json', 'b.json']) {
    fs.mkdirSync(path.join(dir, 'storage', 'exports', 'u1', name), { recursive: true });
    fs.writeFileSync(path.join(dir, 'storage', 'exports', 'u1', name, 'inner.txt'), 'x');
  }
  return dir;
}

const rssKb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

/**
 * POSTs a body of `totalBytes` (generated as it is sent) without Content-Length, so it goes
 * chunked, and stops sending when the answer arrives. Answers the status, the body and how much
 * was sent by then.
 */
function streamBody(url: string, headers: Record<string, string>, totalBytes: number, prefix = '') {
  return new Promise<{ status: number; body: string; sentBytes: number }>((resolve, reject) => {
    const u = new URL(url);
    let sent = 0;
    let answered = false;
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...headers, 'transfer-encoding': 'chunked' } });
    req.on('response', (res) => {
      answered = true;
      const sentBytes = sent;
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode ?? 0, body, sentBytes });
      });
    });
    req.on('error', (err) => {
      if (!answered) reject(err);
    });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    (async () => {
      req.write(prefix);
      while (!answered && sent < totalBytes) {
        sent += chunk.length;
        if (!req.write(chunk)) await new Promise<void>((r) => req.once('drain', () => r()).once('close', () => r()));
      }
      if (!answered) req.end();
    })().catch(() => {});
  });
}

/** Every state-changing method exported by a route file under src/app/api, as a request path. */
function mutatingRoutes(): { method: string; path: string }[] {
  const out: { method: string; path: string }[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      // The catch-all answers every unknown /api path with a JSON 404: it changes nothing.
      if (e.isDirectory() && /^\[\[?\.\.\./.test(e.name)) continue;
      if (e.isDirectory()) walk(p);
      else if (e.name === 'route.ts') {
        const text = fs.readFileSync(p, 'utf8');
        const methods = new Set<string>();
        for (const m of text.matchAll(/export (?:async function|const) (POST|PUT|PATCH|DELETE)\b/g)) methods.add(m[1]);
        for (const m of text.matchAll(/export const \{([^}]*)\}/g)) for (const name of m[1].split(',').map((s) => s.trim())) if (/^(POST|PUT|PATCH|DELETE)$/.test(name)) methods.add(name);
        const route = path
          .relative('src/app', path.dirname(p))
          .split(path.sep)
          .map((seg) => (seg === '[job]' ? 'run-history-prune' : seg === '[query]' ? 'health' : /^\[.+\]$/.test(seg) ? randomUUID() : seg))
          .join('/');
        for (const method of methods) out.push({ method, path: `/${route}` });
      }
    }
  };
  walk('src/app/api');
  return out;
}

describe('security over real HTTP (next start)', () => {
  let app: RunningApp;
  let dataDir: string;
  let cookie = '';

  beforeAll(async () => {
    dataDir = await dataDirWithUnremovableExports();
    app = await startApp({ DATA_DIR: dataDir, ADMIN_PASSWORD: PASSWORD, ADMIN_API_TOKEN: API_TOKEN });
    const res = await fetch(`${app.url}/api/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: app.url },
      body: JSON.stringify({ password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  });
  afterAll(async () => {
    await app?.stop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const bearer = { authorization: `Bearer ${API_TOKEN}` };
  const sameOrigin = () => ({ cookie, origin: app.url, 'sec-fetch-site': 'same-origin' });

  it('every page and API response forbids framing and carries the security headers', async () => {
    const html = await (await fetch(`${app.url}/admin/sign-in`)).text();
    const asset = /\/_next\/static\/[^"']+\.(?:js|css)/.exec(html)?.[0];
    expect(asset).toBeDefined();
    const responses = await Promise.all([
      fetch(`${app.url}/admin/sign-in`),
      fetch(`${app.url}/admin`, { redirect: 'manual', headers: { cookie } }),
      fetch(`${app.url}/`),
      fetch(`${app.url}/no-such-page`),
      fetch(`${app.url}${asset}`),
      fetch(`${app.url}/api/health`),
      fetch(`${app.url}/api/metrics`),
      fetch(`${app.url}/api/cron/run-history-prune`),
      fetch(`${app.url}/api/admin/jobs`, { headers: { cookie } }),
      fetch(`${app.url}/api/admin/session`, { method: 'POST', headers: { origin: EVIL } }),
    ]);
    for (const res of responses) {
      const where = `${res.url} ${res.status}`;
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp, where).toContain("frame-ancestors 'none'");
      expect(csp, where).toContain("default-src 'self'");
      expect(csp, where).toContain("form-action 'self'");
      expect(csp, where).toContain("object-src 'none'");
      expect(res.headers.get('x-frame-options'), where).toBe('DENY');
      expect(res.headers.get('x-content-type-options'), where).toBe('nosniff');
      expect(res.headers.get('referrer-policy'), where).toBe('same-origin');
    }
  });

  it('no state-changing route accepts a request with the admin cookie from another site', async () => {
    const routes = mutatingRoutes();
    const expected = [
      'POST /api/admin/session',
      'DELETE /api/admin/session',
      'POST /api/admin/session/sign-out',
      'POST /api/admin/jobs/run-history-prune/run',
      'POST /api/admin/alerts/silences',
      'DELETE /api/admin/alerts/silences/:id',
      'DELETE /api/users/:id',
    ];
    const seen = routes.map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, ':id')}`);
    for (const e of expected) expect(seen).toContain(e);

    const variants: Record<string, string>[] = [
      { cookie, origin: EVIL },
      { cookie, origin: 'null' },
      { cookie, origin: app.url.replace(/:\d+$/, ':1'), 'sec-fetch-site': 'same-site' }, // another port on this host
      { cookie, 'sec-fetch-site': 'cross-site' },
      { cookie }, // a cookie, and nothing that says where the request came from
    ];
    for (const { method, path: p } of routes) {
      for (const headers of variants) {
        const res = await fetch(app.url + p, { method, headers: { ...headers, 'content-type': 'application/json' }, body: '{"dryRun":false}' });
        const where = `${method} ${p} ${JSON.stringify({ ...headers, cookie: undefined })}`;
        // 405: the route does not take this method at all (cron routes take GET).
        expect([403, 405], where).toContain(res.status);
        if (res.status === 403) expect((await res.json()).error.code, where).toBe('CROSS_SITE_REQUEST');
        else await res.body?.cancel();
        if (expected.includes(`${method} ${p.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, ':id')}`)) expect(res.status, where).toBe(403);
        expect(res.headers.get('set-cookie'), where).toBeNull();
      }
    }
    // Still signed in, and no run was started by any of it.
    expect((await fetch(`${app.url}/api/admin/jobs`, { headers: { cookie } })).status).toBe(200);
    const runs = (await (await fetch(`${app.url}/api/admin/runs?job=run-history-prune`, { headers: bearer })).json()) as { runs: unknown[] };
    expect(runs.runs).toEqual([]);
  });

  it("changes from the app's own pages, and from API clients with a bearer token, are accepted", async () => {
    const silence = JSON.stringify({ rule_id: 'jobs.stalled', minutes: 5, reason: 'maintenance window' });
    const own = await fetch(`${app.url}/api/admin/alerts/silences`, { method: 'POST', headers: { ...sameOrigin(), 'content-type': 'application/json' }, body: silence });
    expect(own.status).toBe(201);
    const { silence: created } = (await own.json()) as { silence: { id: string } };
    expect((await fetch(`${app.url}/api/admin/alerts/silences/${created.id}`, { method: 'DELETE', headers: sameOrigin() })).status).toBe(200);
    // A bearer token is never attached by a browser on its own: an API client may call from anywhere.
    const api = await fetch(`${app.url}/api/admin/alerts/silences`, { method: 'POST', headers: { ...bearer, origin: EVIL, 'content-type': 'application/json' }, body: silence });
    expect(api.status).toBe(201);
    // A script signing in (no cookie, no browser headers).
    const script = await fetch(`${app.url}/api/admin/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: PASSWORD }) });
    expect(script.status).toBe(200);
  });

  it('in a browser, another site can neither frame the admin page nor sign the admin out', async () => {
    let browser: Browser | undefined;
    const attacker = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      if (req.url === '/frame') res.end(`<iframe id="f" src="${app.url}/admin" width="800" height="600"></iframe>`);
      else res.end(`<form id="f" method="POST" action="${app.url}/api/admin/session/sign-out"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    const evil = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}`;
    try {
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.goto(`${app.url}/admin/sign-in`);
      await page.fill('input[name="password"]', PASSWORD);
      await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), page.click('button[type="submit"]')]);

      const framed = await context.newPage();
      const blocked = framed.waitForEvent('console', { predicate: (m) => /frame-ancestors|X-Frame-Options|Refused to (display|frame)/i.test(m.text()) });
      await framed.goto(`${evil}/frame`);
      await blocked;
      const frame = framed.frames().find((f) => f !== framed.mainFrame());
      // The admin page never rendered inside the frame: nothing there to click.
      expect(await frame?.locator('[data-testid="jobs-table"]').count().catch(() => 0)).toBe(0);

      const posted = await context.newPage();
      const answer = posted.waitForResponse((r) => r.url() === `${app.url}/api/admin/session/sign-out`);
      await posted.goto(evil);
      const res = await answer;
      expect(res.status()).toBe(403);
      expect(res.headers()['set-cookie']).toBeUndefined();
      expect((await context.cookies()).some((c) => c.name === 'cw_admin')).toBe(true);
      expect((await context.request.get(`${app.url}/api/admin/jobs`)).status()).toBe(200);
    } finally {
      await browser?.close();
      await new Promise<void>((resolve) => attacker.close(() => resolve()));
    }
  });

  it('every route that reads a body answers 413 past 8 KB and stops reading, whatever the transfer encoding', async () => {
    const routes: { label: string; path: string; headers: Record<string, string>; prefix: string }[] = [
      { label: 'sign-in (JSON)', path: '/api/admin/session', headers: { 'content-type': 'application/json' }, prefix: '{"password":"' },
      { label: 'sign-in (form)', path: '/api/admin/session', headers: { 'content-type': 'application/x-www-form-urlencoded' }, prefix: 'password=' },
      { label: 'sign-in (multipart form)', path: '/api/admin/session', headers: { 'content-type': 'multipart/form-data; boundary=x' }, prefix: '--x\r\nContent-Disposition: form-data; name="password"\r\n\r\n' },
      { label: 'silences', path: '/api/admin/alerts/silences', headers: { ...bearer, 'content-type': 'application/json' }, prefix: '{"reason":"' },
      { label: 'run now', path: '/api/admin/jobs/run-history-prune/run', headers: { ...bearer, 'content-type': 'application/json' }, prefix: '{"dryRun":' },
    ];
    const total = 96 * 1024 * 1024;
    for (const r of routes) {
      // Declared: refused before anything is read.
      const declared = await fetch(app.url + r.path, { method: 'POST', headers: r.headers, body: r.prefix + 'a'.repeat(9000) });
      expect(declared.status, r.label).toBe(413);
      expect((await declared.json()).error.code).toBe('BODY_TOO_LARGE');

      // Chunked, no length: refused once past the cap, long before the body ends; memory stays flat.
      const before = rssKb(app.pid);
      const chunked = await streamBody(app.url + r.path, r.headers, total, r.prefix);
      const grewMb = (rssKb(app.pid) - before) / 1024;
      expect(chunked.status, r.label).toBe(413);
      expect(JSON.parse(chunked.body).error.code).toBe('BODY_TOO_LARGE');
      expect(chunked.sentBytes, r.label).toBeLessThan(total / 2);
      expect(grewMb, r.label).toBeLessThan(48);
      console.log(`body cap ${r.label}: 413 after ${(chunked.sentBytes / 1e6).toFixed(1)} MB sent of ${total / 1e6} MB; server RSS ${grewMb >= 0 ? '+' : ''}${grewMb.toFixed(1)} MB`);
    }
    // A body under the cap still works, chunked too.
    const small = await streamBody(`${app.url}/api/admin/session`, { 'content-type': 'application/json' }, 0, JSON.stringify({ password: PASSWORD }));
    expect(small.status).toBe(200);
  });

  it('the Authorization scheme is case-insensitive and ?__proto__, ?constructor, ?prototype are refused like any unknown parameter', async () => {
    const cron = await fetch(`${app.url}/api/cron/run-history-prune?dryRun=1`, { headers: { authorization: `bearer ${TEST_CRON_SECRET}` } });
    expect(cron.status).toBe(200);
    expect((await fetch(`${app.url}/api/admin/jobs`, { headers: { authorization: `BEARER ${API_TOKEN}` } })).status).toBe(200);
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const targets: [string, RequestInit][] = [
        [`/api/cron/run-history-prune?${name}=1`, { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } }],
        [`/api/cron/dispatch?${name}=1`, { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } }],
        [`/api/admin/jobs?${name}=1`, { headers: bearer }],
        [`/api/admin/runs?${name}=1`, { headers: bearer }],
        [`/api/admin/runs/${randomUUID()}?${name}=1`, { headers: bearer }],
        [`/api/users/${randomUUID()}?${name}=1`, { method: 'DELETE', headers: bearer }],
      ];
      for (const [p, init] of targets) {
        const res = await fetch(app.url + p, init);
        expect(res.status, p).toBe(400);
        const body = await res.json();
        expect(body.error.code, p).toBe('UNKNOWN_PARAMETER');
        expect(body.error.message, p).toContain(name);
      }
    }
  });

  it('a failed run answers 500 with its result (cron route and Run now), with storage paths relative to the storage root', async () => {
    const cron = await fetch(`${app.url}/api/cron/export-file-cleanup?retentionHours=24`, { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } });
    const cronText = await cron.text();
    expect(cron.status).toBe(500);
    const body = JSON.parse(cronText);
    expect(Object.keys(body).sort()).toEqual(['result', 'success', 'timestamp']);
    expect(body).toMatchObject({ success: false, result: { status: 'failed', job: 'export-file-cleanup', failed_count: 1 } });
    expect(body.result.errors[0].subject).toBe('exports/u1/b.json');
    expect(body.result.errors[0].message).toContain("'exports/u1/b.json'");

    const runNow = await fetch(`${app.url}/api/admin/jobs/export-file-cleanup/run`, {
      method: 'POST',
      headers: { ...bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ dryRun: false }),
    });
    const runNowText = await runNow.text();
    expect(runNow.status).toBe(500);
    expect(JSON.parse(runNowText)).toMatchObject({ success: false, result: { status: 'failed', errors: [{ subject: 'exports/u1/a.json' }] } });

    // Nothing left to do: a run that succeeds is a 200.
    const ok = await fetch(`${app.url}/api/cron/export-file-cleanup`, { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } });
    expect(ok.status).toBe(200);
    expect((await ok.json()).result.status).toBe('succeeded');

    // The run records and the server's log say the same, without the server's own paths.
    const runs = (await (await fetch(`${app.url}/api/admin/runs?job=export-file-cleanup`, { headers: bearer })).json()) as { runs: { status: string; result: unknown }[] };
    expect(runs.runs.map((r) => r.status).sort()).toEqual(['failed', 'failed', 'succeeded']);
    const storageRoot = path.join(dataDir, 'storage');
    for (const [where, text] of Object.entries({ cron: cronText, runNow: runNowText, runs: JSON.stringify(runs), log: app.output() })) {
      expect(text, where).not.toContain(storageRoot);
      expect(text, where).not.toContain(fs.realpathSync(storageRoot));
    }
    expect(app.output()).toContain('export_file_delete_failed');
  });
});

describe('sign-in rate limit over real HTTP', () => {
  let direct: RunningApp;
  let proxied: RunningApp;
  beforeAll(async () => {
    [direct, proxied] = await Promise.all([startApp({ ADMIN_PASSWORD: PASSWORD }), startApp({ ADMIN_PASSWORD: PASSWORD, TRUST_PROXY_HOPS: '1' })]);
  });
  afterAll(async () => {
    await Promise.all([direct?.stop(), proxied?.stop()]);
  });

  const signIn = (url: string, password: string, forwardedFor: string) =>
    fetch(`${url}/api/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': forwardedFor },
      body: JSON.stringify({ password }),
    });

  it('counts the socket address: ten wrong passwords with ten made-up X-Forwarded-For values are rate limited', async () => {
    const statuses: number[] = [];
    for (let i = 1; i <= 10; i++) statuses.push((await signIn(direct.url, 'wrong-password', `198.51.100.${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429, 429, 429, 429, 429, 429]);
    const right = await signIn(direct.url, PASSWORD, '198.51.100.200');
    expect(right.status).toBe(429);
    expect(right.headers.get('set-cookie')).toBeNull();
    const logged = direct
      .output()
      .split('\n')
      .filter((l) => l.includes('"admin_sign_in_failed"'))
      .map((l) => JSON.parse(l).client_ip);
    expect(logged).toEqual(['127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1', '127.0.0.1']);
  });

  it('behind a trusted proxy (TRUST_PROXY_HOPS=1) counts the address the proxy saw, not what the client wrote', async () => {
    // Ten clients behind the proxy, one wrong password each: none is limited.
    for (let i = 1; i <= 10; i++) expect((await signIn(proxied.url, 'wrong-password', `203.0.113.${i}`)).status).toBe(401);
    expect((await signIn(proxied.url, PASSWORD, '203.0.113.11')).status).toBe(200);
    // One client, whatever it writes in front of what the proxy appended.
    const statuses: number[] = [];
    for (let i = 1; i <= 5; i++) statuses.push((await signIn(proxied.url, 'wrong-password', `10.9.9.${i}, 203.0.113.77`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    expect((await signIn(proxied.url, PASSWORD, '203.0.113.77')).status).toBe(429);
  });
});

describe('secrets with surrounding whitespace', () => {
  const secret = `${TEST_CRON_SECRET} `;
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({ CRON_SECRET: secret }, { ready: 'answering' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('are refused at start, by name: the log says which variable, and cron calls get 500 SERVER_MISCONFIGURED, never 401', async () => {
    const health = await fetch(`${app.url}/api/health`);
    expect(health.status).toBe(503);
    const res = await fetch(`${app.url}/api/cron/run-history-prune`, { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } });
    expect(res.status).toBe(500);
    expect((await res.json()).error.code).toBe('SERVER_MISCONFIGURED');
    const fatal = app
      .output()
      .split('\n')
      .filter((l) => l.includes('"config_invalid"'));
    expect(fatal.length).toBeGreaterThanOrEqual(1);
    expect(fatal[0]).toContain('CRON_SECRET: has leading or trailing whitespace');
    expect(app.output()).not.toContain(TEST_CRON_SECRET);
  });
});
