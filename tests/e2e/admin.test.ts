import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../support/app-server';

const PASSWORD = 'e2e-admin-password-0123';
const SHOTS = path.resolve('tests/e2e/screenshots');
const JOB = 'run-history-prune';
const RETENTION_DAYS = 90;

interface RunRow {
  id: string;
  job: string;
  status: string;
  started_at: string;
  dry_run: boolean;
  trigger: string;
}

describe('admin page in a browser (next start + Chromium)', () => {
  let app: RunningApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let lastRunId = '';

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    app = await startApp({ ADMIN_PASSWORD: PASSWORD, SEED_DEMO_DATA: 'true' });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, baseURL: app.url });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  const shot = (name: string, fullPage = true) => page.screenshot({ path: path.join(SHOTS, name), fullPage });

  /** The job's runs through the admin API, with the browser's session cookie. */
  async function runsOfJob(): Promise<RunRow[]> {
    const res = await page.request.get(`/api/admin/runs?job=${JOB}&limit=500`);
    expect(res.status()).toBe(200);
    const body = (await res.json()) as { runs: RunRow[] };
    return body.runs;
  }
  const olderThanRetention = (runs: RunRow[]) =>
    runs.filter((r) => new Date(r.started_at).getTime() < Date.now() - RETENTION_DAYS * 86_400_000).length;

  it('sends a visitor without a session to the sign-in page, and the admin API answers 401', async () => {
    await page.goto('/admin');
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in');
    const res = await page.request.get('/api/admin/jobs');
    expect(res.status()).toBe(401);
    expect((await res.json()).error.code).toBe('UNAUTHORIZED');
  });

  it('refuses a wrong password', async () => {
    await page.fill('input[name="password"]', 'not-the-password');
    await Promise.all([page.waitForURL(/\/admin\/sign-in\?error=invalid/), page.click('button[type="submit"]')]);
    expect(await page.textContent('[role="alert"]')).toContain('Wrong password.');
    expect((await context.cookies()).some((c) => c.name === 'cw_admin')).toBe(false);
    await shot('admin-sign-in-refused.png');
    await page.goto('/admin');
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in');
  });

  it('signs in with the right password and shows the jobs table', async () => {
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), page.click('button[type="submit"]')]);
    const cookie = (await context.cookies()).find((c) => c.name === 'cw_admin');
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    expect(await page.textContent('h1')).toBe('Overview');
    const row = page.locator(`[data-testid="jobs-table"] tr[data-job="${JOB}"]`);
    expect(await row.count()).toBe(1);
    // Schedule in words from vercel.json, and the seeded history's last run.
    expect(await row.textContent()).toContain('At 04:30 (UTC)');
    // Which scheduler fires it (scheduler.json declares Vercel Pro) and when it last did.
    expect(await row.locator('[data-testid="fired-by"]').textContent()).toMatch(/^by Vercel Cron \(Pro\); last /);
    expect(await row.locator('td').nth(3).textContent()).toBe('succeeded');
  });

  it('"Dry run" shows what the job would do and changes no data', async () => {
    const before = await runsOfJob();
    const old = olderThanRetention(before);
    expect(old).toBeGreaterThan(0); // the demo history reaches back 100 days

    await page.locator(`tr[data-job="${JOB}"] button[data-action="dry-run"]`).click();
    const result = page.locator('[data-testid="run-result"][data-tone="ok"]');
    await result.waitFor();
    expect(await result.textContent()).toContain(`Dry run of ${JOB}: succeeded (nothing was changed)`);
    const json = JSON.parse((await result.locator('pre').textContent()) ?? '{}');
    expect(json).toMatchObject({ dry_run: true, would_delete_count: old, rows_affected: 0, status: 'succeeded' });

    const after = await runsOfJob();
    expect(olderThanRetention(after)).toBe(old);
    // The only new row is the dry run's own record.
    expect(after.length).toBe(before.length + 1);
    expect(after[0]).toMatchObject({ id: json.run_id, dry_run: true, trigger: 'admin', status: 'succeeded' });
    await page.locator('#jobs').screenshot({ path: path.join(SHOTS, 'admin-jobs-dry-run.png') });
  });

  it('"Run now" runs the job and the new run appears in the runs table', async () => {
    const old = olderThanRetention(await runsOfJob());
    await page.locator(`tr[data-job="${JOB}"] button[data-action="run"]`).click();
    const result = page.locator('[data-testid="run-result"][data-tone="ok"]', { hasText: new RegExp(`Run of ${JOB}: succeeded`) });
    await result.waitFor();
    const json = JSON.parse((await result.locator('pre').textContent()) ?? '{}');
    expect(json).toMatchObject({ dry_run: false, deleted_count: old, rows_affected: old, status: 'succeeded' });
    expect(olderThanRetention(await runsOfJob())).toBe(0);

    // The page refreshes its server data: the new run is the newest row of the runs table.
    const newest = page.locator(`[data-testid="recent-runs"] tbody tr[data-run-id="${json.run_id}"]`);
    await newest.waitFor();
    const firstRowId = await page.locator('[data-testid="recent-runs"] tbody tr').first().getAttribute('data-run-id');
    expect(firstRowId).toBe(json.run_id);
    expect(await newest.textContent()).toContain('admin');
    await shot('admin-overview.png');

    lastRunId = json.run_id;
    await Promise.all([page.waitForURL(`**/admin/runs/${json.run_id}`), result.locator('a', { hasText: 'Run details' }).click()]);
    expect(await page.textContent('[data-testid="run-status"]')).toBe('succeeded');
    const recorded = JSON.parse((await page.textContent('[data-testid="run-result-json"]')) ?? '{}');
    expect(recorded).toMatchObject({ deleted_count: old, retention_days: RETENTION_DAYS, errors: [] });
    await shot('admin-run-detail.png');
  });

  it('"Run now" on the alerts job opens alerts on the demo data, and "Silence" silences one', async () => {
    await page.goto('/admin');
    await page.locator('tr[data-job="alerts-evaluate"] button[data-action="run"]').click();
    await page.locator('[data-testid="run-result"][data-tone="ok"]', { hasText: /Run of alerts-evaluate: succeeded/ }).waitFor();
    const rows = page.locator('[data-testid="open-alerts"] tbody tr');
    await rows.first().waitFor();
    const rule = (await rows.first().getAttribute('data-alert-rule')) as string;
    const subject = (await rows.first().getAttribute('data-alert-subject')) as string;
    expect(rule).toMatch(/^[a-z_]+\.[a-z_]+$/);

    await rows.first().locator('select').selectOption('60');
    await rows.first().locator('button[data-action="silence"]').click();
    const silence = page.locator(`[data-testid="silences"] tr[data-silence-rule="${rule}"]`);
    await silence.waitFor();
    expect(await silence.textContent()).toContain('Silenced from the admin page');
    const api = (await (await page.request.get('/api/admin/alerts')).json()) as {
      silences: { rule_id: string; subject: string | null; created_by: string; until: string; created_at: string }[];
      open: { rule_id: string; subject: string; silenced: boolean }[];
    };
    const created = api.silences.find((x) => x.rule_id === rule);
    expect(created).toMatchObject({ subject, created_by: 'admin-session' });
    expect(new Date(created!.until).getTime() - new Date(created!.created_at).getTime()).toBe(60 * 60_000);
    expect(api.open.find((a) => a.rule_id === rule && a.subject === subject)?.silenced).toBe(true);
    await page.locator('#alerts').screenshot({ path: path.join(SHOTS, 'admin-alerts-panel.png') });

    await silence.locator('button[data-action="end-silence"]').click();
    await silence.waitFor({ state: 'detached' });
  });

  it('renders the charts with data points', async () => {
    await page.goto('/admin');
    const runsChart = page.locator('[data-chart="Runs per day"]');
    await runsChart.locator('.recharts-bar-rectangle').first().waitFor();
    // One bar segment per (day, outcome) with runs: the demo history has a run on each of the
    // last 14 days, and today's admin runs add at least one more segment.
    const bars = await runsChart.locator('.recharts-bar-rectangle path').count();
    expect(bars).toBeGreaterThanOrEqual(14);

    const exportsPanel = page.locator('#exports');
    if ((await exportsPanel.count()) > 0) {
      const rate = page.locator('[data-chart="Export success rate per hour"]');
      await rate.locator('.recharts-line-dots circle').first().waitFor();
      const dots = await rate.locator('.recharts-line-dots circle').count();
      expect(dots).toBeGreaterThan(0);
      expect(dots).toBeLessThanOrEqual(25);
      expect(await page.locator('[data-chart="Export format mix"] .recharts-pie-sector').count()).toBeGreaterThan(0);
      await exportsPanel.screenshot({ path: path.join(SHOTS, 'admin-exports-panel.png') });
    }
    for (const id of ['maintenance', 'drafts', 'deletions']) {
      const panel = page.locator(`#${id}`);
      if ((await panel.count()) > 0) {
        expect(await panel.locator('text=Could not load this panel').count()).toBe(0);
        await panel.screenshot({ path: path.join(SHOTS, `admin-${id}-panel.png`) });
      }
    }
    await shot('admin-overview-full.png');
  });

  it('signing out ends access: /admin goes to sign-in and the admin API answers 401', async () => {
    await Promise.all([page.waitForURL(/\/admin\/sign-in\?signed_out=1/), page.click('header button[type="submit"]')]);
    expect((await context.cookies()).some((c) => c.name === 'cw_admin')).toBe(false);
    await page.goto('/admin');
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in');
    const res = await page.request.get('/api/admin/jobs');
    expect(res.status()).toBe(401);
    // A deep link comes back to where it pointed after signing in again.
    await page.goto(`/admin/runs/${lastRunId}`);
    expect(page.url()).toContain(`/admin/sign-in?next=${encodeURIComponent(`/admin/runs/${lastRunId}`)}`);
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL(`**/admin/runs/${lastRunId}`), page.click('button[type="submit"]')]);
    expect(await page.textContent('[data-testid="run-status"]')).toBe('succeeded');
    await Promise.all([page.waitForURL(/\/admin\/sign-in\?signed_out=1/), page.click('header button[type="submit"]')]);
    const run = await page.request.post(`/api/admin/jobs/${JOB}/run`, { data: { dryRun: true } });
    expect(run.status()).toBe(401);
  });

  it('POST /api/admin/jobs/<job>/run: 404 for an unknown job, 400 for a bad body', async () => {
    const res = await fetch(`${app.url}/api/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password: PASSWORD }),
    });
    expect(res.status).toBe(200);
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
    // What the admin page's own requests carry; from elsewhere they are refused (security-http.test.ts).
    const origin = app.url;
    const post = (job: string, body: string) =>
      fetch(`${app.url}/api/admin/jobs/${job}/run`, { method: 'POST', headers: { cookie, origin, 'content-type': 'application/json' }, body });
    const unknown = await post('no-such-job', '{"dryRun":true}');
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error.code).toBe('UNKNOWN_JOB');
    for (const bad of ['{"dryRun":"yes"}', '{}', '{"dryRun":true,"days":1}', 'not json', '[]']) {
      const r = await post(JOB, bad);
      expect(r.status, bad).toBe(400);
    }
    const signOut = await fetch(`${app.url}/api/admin/session`, { method: 'DELETE', headers: { cookie, origin } });
    expect(signOut.status).toBe(200);
    expect(signOut.headers.get('set-cookie')).toContain('cw_admin=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0');
  });
  it('rate-limits wrong passwords per client address: 429 with Retry-After, whatever X-Forwarded-For says', async () => {
    // The client's address is the socket's (see tests/e2e/security-http.test.ts for a trusted proxy).
    const signIn = (password: string, ip: string) =>
      fetch(`${app.url}/api/admin/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ password }),
      });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await signIn('wrong-password', `203.0.113.${50 + i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const blocked = await signIn(PASSWORD, '203.0.113.51');
    expect(blocked.status).toBe(429);
    const retryAfter = Number(blocked.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(14 * 60);
    expect(retryAfter).toBeLessThanOrEqual(15 * 60);
    expect((await blocked.json()).error.code).toBe('TOO_MANY_ATTEMPTS');
    expect(blocked.headers.get('set-cookie')).toBeNull();
  });
});
