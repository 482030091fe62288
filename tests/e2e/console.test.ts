import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';

const PASSWORD = 'e2e-console-password-0123';
const SHOTS = path.resolve('tests/e2e/screenshots');
const DESKTOP = { width: 1440, height: 900 };
const PHONE = { width: 390, height: 844 };

interface RunRow {
  id: string;
  job: string;
  status: string;
  started_at: string;
  dry_run: boolean;
  trigger: string;
  input: Record<string, unknown>;
  result: Record<string, unknown> | null;
}

describe('the console on the demo history (next start + Chromium, 1440 x 900 and 390 x 844)', () => {
  let app: RunningApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    fs.mkdirSync(SHOTS, { recursive: true });
    app = await startApp({ ADMIN_PASSWORD: PASSWORD, SEED_DEMO_DATA: 'true' });
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: DESKTOP, baseURL: app.url });
    page = await context.newPage();
    await page.goto('/admin');
    await page.fill('input[name="password"]', PASSWORD);
    await Promise.all([page.waitForURL((u) => u.pathname === '/admin'), page.click('button[type="submit"]')]);
  });

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  const shot = (name: string) => page.screenshot({ path: path.join(SHOTS, name), fullPage: true });

  async function runs(query: string): Promise<RunRow[]> {
    const res = await page.request.get(`/api/admin/runs?${query}`);
    expect(res.status(), query).toBe(200);
    return ((await res.json()) as { runs: RunRow[] }).runs;
  }

  /** Content wider than the viewport means a sideways scroll. */
  async function horizontalOverflow(): Promise<number> {
    return page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - window.innerWidth);
  }

  it('demo history: every job has runs over the last 14 days that match its schedule, a few failures and a partial run', async () => {
    const since = Date.now() - 14 * 86_400_000;
    const perJob = async (job: string) => (await runs(`job=${job}&limit=500`)).filter((r) => Date.parse(r.started_at) >= since);
    // Daily jobs: one run a day; hourly jobs: one an hour (up to 500 listed).
    for (const job of ['run-history-prune', 'maintenance', 'export-file-cleanup']) {
      const list = await perJob(job);
      expect(list.length, job).toBeGreaterThanOrEqual(13);
      expect(list.length, job).toBeLessThanOrEqual(15);
    }
    const hourly = (await perJob('draft-cleanup')).filter((r) => r.trigger === 'demo');
    expect(hourly.length).toBeGreaterThanOrEqual(14 * 24 - 1);
    const gaps = hourly.slice(1).map((r, i) => Date.parse(hourly[i].started_at) - Date.parse(r.started_at));
    expect(gaps.every((g) => g > 55 * 60_000 && g < 65 * 60_000)).toBe(true);
    expect(hourly.filter((r) => r.status === 'failed').length).toBeGreaterThanOrEqual(1);
    const partial = hourly.find((r) => r.status === 'partial')!;
    // A partial run's numbers agree with each other.
    expect(partial.result).toMatchObject({ partial: true, deleted_count: 48000, rows_affected: 48000 });
  });

  it('a dry run is marked wherever it is shown and never becomes the last run or a counted run', async () => {
    const job = 'run-history-prune';
    const row = page.locator(`[data-testid="jobs-table"] tr[data-job="${job}"]`);
    const lastRunBefore = await row.locator('[data-testid="job-last-run"] a').first().getAttribute('href');
    const failedBefore = await row.locator('td[data-label="Failed 24 h"]').textContent();

    await row.locator('button[data-action="dry-run"]').click();
    const result = page.locator('[data-testid="run-result"][data-tone="ok"]');
    await result.waitFor();
    expect(await result.textContent()).toContain(`Dry run of ${job}: succeeded (nothing was changed)`);
    expect(await result.getByText('dry run', { exact: true }).count()).toBe(1);
    const dryId = JSON.parse((await result.locator('[data-testid="run-result-json"]').textContent()) ?? '{}').run_id as string;

    // The page refreshed: the last run is the same real run, the dry run stands beside it.
    await page.locator(`[data-testid="recent-runs"] tr[data-run-id="${dryId}"]`).waitFor();
    expect(await row.locator('[data-testid="job-last-run"] a').first().getAttribute('href')).toBe(lastRunBefore);
    expect(await row.locator('[data-testid="job-status"]').textContent()).toBe('succeeded');
    expect(await row.locator('[data-testid="newer-dry-run"] a').getAttribute('href')).toBe(`/admin/runs/${dryId}`);
    expect(await row.locator('td[data-label="Failed 24 h"]').textContent()).toBe(failedBefore);
    const recent = page.locator(`[data-testid="recent-runs"] tr[data-run-id="${dryId}"]`);
    expect(await recent.getAttribute('data-dry-run')).toBe('true');
    expect(await recent.locator('[data-testid="dry-run-badge"]').count()).toBe(1);
    // Real runs carry no dry-run badge.
    const realRows = page.locator('[data-testid="recent-runs"] tr[data-dry-run="false"]');
    expect(await realRows.count()).toBeGreaterThan(0);
    expect(await realRows.locator('[data-testid="dry-run-badge"]').count()).toBe(0);

    // The runs chart has a "Dry run" series apart from the outcomes, and its axes name their units.
    const chart = page.locator('[data-chart="Runs per day"]');
    await chart.locator('.recharts-bar-rectangle').first().waitFor();
    const chartText = (await chart.textContent()) ?? '';
    expect(chartText).toContain('Dry run (changed nothing)');
    expect(chartText).toContain('Day (UTC)');
    expect(chartText).toContain('Runs');

    // The run's page says it changed nothing; so does the metric that alerting reads.
    await page.goto(`/admin/runs/${dryId}`);
    expect(await page.locator('[data-testid="dry-run-badge"]').count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="dry-run-note"]').count()).toBe(1);
    const metrics = await (await page.request.get('/api/metrics')).text();
    const lastRun = Number(metrics.split('\n').find((l) => l.startsWith(`cronwarden_job_last_run_timestamp_seconds{job="${job}"}`))!.split(' ').pop());
    const lastDry = Number(metrics.split('\n').find((l) => l.startsWith(`cronwarden_job_last_dry_run_timestamp_seconds{job="${job}"}`))!.split(' ').pop());
    expect(lastDry).toBeGreaterThan(lastRun);
    await page.goto('/admin');
    await page.locator('#jobs').screenshot({ path: path.join(SHOTS, 'console-jobs-dry-run.png') });
  });

  it('the page of one job: filters by status, trigger and kind, durations over time, the run\'s own log lines', async () => {
    const job = 'draft-cleanup';
    await page.goto('/admin');
    await Promise.all([page.waitForURL(`**/admin/jobs/${job}`), page.locator(`tr[data-job="${job}"] [data-testid="job-link"]`).click()]);
    expect(await page.locator('[data-testid="job-state"] [data-testid="run-status-badge"]').count()).toBe(1);
    const rows = page.locator('[data-testid="job-runs"] tbody tr');
    expect(await rows.count()).toBe(25);
    const durations = page.locator('[data-chart="Run duration"]');
    await durations.locator('.recharts-line-curve').first().waitFor();
    const durationText = (await durations.textContent()) ?? '';
    expect(durationText).toContain('Time (UTC)');
    expect(durationText).toMatch(/\d+(\.\d+)? (ms|s|min)/); // ticks carry their unit
    await shot('console-job-page.png');

    // Status filter: only failed runs, each with "Run again".
    await Promise.all([page.waitForURL(/status=failed/), page.locator('[data-filter="status:failed"]').click()]);
    const failed = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-status')));
    expect(failed.length).toBeGreaterThan(0);
    expect(new Set(failed)).toEqual(new Set(['failed']));
    expect(await page.locator('[data-testid="job-runs"] button[data-action="rerun"]').count()).toBe(failed.length);
    // The log shows the newest failed run's own lines, its error last.
    const log = page.locator('[data-testid="run-log"] li');
    expect(await log.count()).toBeGreaterThanOrEqual(2);
    expect(await log.first().getAttribute('data-type')).toBe('cron_run_started');
    expect(await log.last().getAttribute('data-level')).toBe('error');
    await shot('console-job-page-failed.png');

    // Kind filter: a dry run of this job shows under "dry runs" only.
    await page.goto(`/admin/jobs/${job}`);
    await page.locator('button[data-action="dry-run"]').click();
    await page.locator('[data-testid="run-result"][data-tone="ok"]').waitFor();
    await Promise.all([page.waitForURL(/dry=only/), page.locator('[data-filter="dry:only"]').click()]);
    const dry = await rows.evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-dry-run'), tr.getAttribute('data-trigger')]));
    expect(dry).toEqual([['true', 'admin']]);
    // Trigger filter, combined: the demo history has no admin runs, so "real runs" by admin is empty.
    await Promise.all([page.waitForURL(/dry=none/), page.locator('[data-filter="dry:none"]').click()]);
    await Promise.all([page.waitForURL(/trigger=demo/), page.locator('[data-filter="trigger:demo"]').click()]);
    const demo = await rows.evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-dry-run'), tr.getAttribute('data-trigger')]));
    expect(demo.length).toBe(25);
    expect(demo.every(([d, t]) => d === 'false' && t === 'demo')).toBe(true);
    // Paging: the next page continues where this one ended.
    const lastOnFirst = await rows.last().getAttribute('data-run-id');
    await Promise.all([page.waitForURL(/before=/), page.locator('[data-testid="older-page"]').click()]);
    expect(new URL(page.url()).searchParams.get('before')).toBe(lastOnFirst);
    expect(await rows.count()).toBe(25);
  });

  it('"Run again" runs a failed run again with the same input, recorded as a rerun of it', async () => {
    const job = 'draft-cleanup';
    const [failed] = await runs(`job=${job}&status=failed&dryRun=false&limit=1`);
    expect(failed.input).toEqual({ batchSize: 5000 });
    await page.goto(`/admin/runs/${failed.id}`);
    expect(await page.textContent('[data-testid="run-status"]')).toBe('failed');
    await page.locator('button[data-action="rerun"]').click();
    const result = page.locator('[data-testid="run-result"][data-tone="ok"]');
    await result.waitFor();
    expect(await result.textContent()).toContain(`Run again of ${job}: succeeded`);
    const json = JSON.parse((await result.locator('[data-testid="run-result-json"]').textContent()) ?? '{}');
    expect(json).toMatchObject({ rerun_of: failed.id, dry_run: false, status: 'succeeded' });
    const res = await page.request.get(`/api/admin/runs/${json.run_id}`);
    const body = (await res.json()) as { run: RunRow; log_lines: { line: Record<string, unknown> }[] };
    expect(body.run).toMatchObject({ trigger: 'admin', input: { batchSize: 5000 }, dry_run: false });
    expect(body.log_lines.map((l) => l.line.type)).toContain('cron_run_finished');
    // A run that did not fail is not run again.
    const [ok] = await runs(`job=${job}&status=succeeded&limit=1`);
    const refused = await page.request.post(`/api/admin/jobs/${job}/run`, { data: { rerunOf: ok.id }, headers: { origin: app.url } });
    expect(refused.status()).toBe(409);
    expect((await refused.json()).error.code).toBe('RUN_NOT_FAILED');
  });

  it('a result reads as counts, MB and folded ids, with the raw JSON one click away', async () => {
    const list = await runs('job=maintenance&limit=30');
    const run = list.find(
      (r) => r.status === 'succeeded' && Number(r.result?.tempUploadBytesFreed) >= 1_048_576 && (r.result?.stuckRunIds as unknown[] | undefined)?.length,
    )!;
    expect(run).toBeDefined();
    await page.goto(`/admin/runs/${run.id}`);
    const view = page.locator('[data-testid="result-view"]');
    const bytes = (await view.locator('[data-result-key="tempUploadBytesFreed"] dd').textContent()) ?? '';
    expect(bytes).toMatch(/^\d+\.\d MB$/);
    const ids = view.locator('[data-result-key="stuckRunIds"] details');
    expect(await ids.getAttribute('open')).toBeNull();
    expect(await ids.locator('summary').textContent()).toBe('1 id');
    const raw = view.locator('[data-testid="raw-json"]');
    expect(await raw.locator('pre').isVisible()).toBe(false);
    await raw.locator('summary').click();
    expect(await raw.locator('pre').isVisible()).toBe(true);
    expect(JSON.parse((await raw.locator('pre').textContent()) ?? '{}')).toEqual(run.result);
    await shot('console-run-result.png');
  });

  /**
   * What sticks out of its box on the page: a scroll box wider inside than out (`.tableWrap`
   * and the like), or an element of #alerts or of a table past the left or right edge of its
   * panel. Empty when every alert and row reads without a sideways scroll.
   */
  async function horizontalSpills(): Promise<string[]> {
    return page.evaluate(() => {
      const name = (el: Element) => `${el.tagName.toLowerCase()}${el.getAttribute('data-testid') ? `[${el.getAttribute('data-testid')}]` : ''}${el.getAttribute('data-label') ? `[${el.getAttribute('data-label')}]` : ''} "${(el.textContent ?? '').trim().slice(0, 30)}"`;
      const spills: string[] = [];
      for (const el of document.querySelectorAll('main *')) {
        const style = getComputedStyle(el);
        if (!el.checkVisibility()) continue;
        if ((style.overflowX === 'auto' || style.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1) spills.push(`${name(el)} scrolls sideways: ${el.scrollWidth} px in ${el.clientWidth} px`);
      }
      const boxes = [document.querySelector('#alerts'), ...[...document.querySelectorAll('main table')].map((t) => t.closest('section') ?? t.parentElement)];
      for (const box of new Set(boxes)) {
        if (!box) continue;
        const edge = box.getBoundingClientRect();
        for (const el of box.querySelectorAll('*')) {
          const r = el.getBoundingClientRect();
          if ((r.width === 0 && r.height === 0) || !el.checkVisibility()) continue; // not shown (a closed <details>, a hidden header)
          if (r.left < edge.left - 1 || r.right > edge.right + 1) spills.push(`${name(el)} spans ${Math.round(r.left)}-${Math.round(r.right)} px in #${box.id || box.tagName} (${Math.round(edge.left)}-${Math.round(edge.right)} px)`);
        }
      }
      return spills;
    });
  }

  it('on a phone (390 x 844): open alerts, silences and every table read without a sideways scroll', async () => {
    // Open alerts from the demo history (the alerts job on it), and one silence in force.
    const evaluated = await fetch(`${app.url}/api/cron/alerts-evaluate`, { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } });
    expect(evaluated.status).toBe(200);
    await page.setViewportSize(PHONE);
    await page.goto('/admin');
    const silenced = await page.evaluate(async () => {
      const res = await fetch('/api/admin/alerts/silences', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rule_id: 'drafts.pollution_high', subject: 'global', minutes: 60, reason: 'phone layout check with a long reason that has to wrap' }),
      });
      return res.status;
    });
    expect(silenced).toBe(201);
    await page.reload();
    await page.waitForLoadState('networkidle');
    const alerts = page.locator('[data-testid="open-alerts"] tbody tr');
    expect(await alerts.count()).toBeGreaterThan(0);
    expect(await page.locator('[data-testid="silences"] tbody tr').count()).toBeGreaterThan(0);
    expect(await horizontalSpills()).toEqual([]);
    expect(await horizontalOverflow()).toBeLessThanOrEqual(0);
    // Each open alert's subject, state, value, age and Silence button on the screen.
    for (const alert of await alerts.all()) {
      for (const part of ['td[data-label="Subject"]', 'td[data-label="State"]', 'td[data-label="Value"]', 'td[data-label="Since"]']) {
        const box = await alert.locator(part).boundingBox();
        expect(box, part).not.toBeNull();
        expect(box!.x + box!.width, part).toBeLessThanOrEqual(PHONE.width);
      }
      const silence = alert.locator('button[data-action="silence"]');
      if ((await silence.count()) > 0) {
        const box = await silence.boundingBox();
        expect(box!.x + box!.width).toBeLessThanOrEqual(PHONE.width);
      }
    }
    await page.locator('#alerts').screenshot({ path: path.join(SHOTS, 'console-phone-alerts.png') });
    await page.setViewportSize(DESKTOP);
  });

  it('on a phone (390 x 844): no sideways scroll; each job\'s state, last run and "Run now" in view', async () => {
    await page.setViewportSize(PHONE);
    const jobRun = (await runs('job=draft-cleanup&limit=1'))[0];
    for (const [url, name] of [
      ['/admin', 'console-phone-overview.png'],
      ['/admin/jobs/draft-cleanup', 'console-phone-job.png'],
      [`/admin/runs/${jobRun.id}`, 'console-phone-run.png'],
    ] as const) {
      await page.goto(url);
      await page.waitForLoadState('networkidle');
      expect(await horizontalOverflow(), url).toBeLessThanOrEqual(0);
      expect(await horizontalSpills(), url).toEqual([]);
      await shot(name);
      // What a phone shows before any scrolling.
      await page.screenshot({ path: path.join(SHOTS, name.replace('.png', '-first-screen.png')) });
    }
    await page.goto('/admin');
    const cards = page.locator('[data-testid="jobs-table"] tbody tr');
    expect(await cards.count()).toBeGreaterThan(5);
    for (const card of await cards.all()) {
      for (const part of ['[data-testid="job-status"]', '[data-testid="job-last-run"]', 'button[data-action="run"]']) {
        const box = await card.locator(part).boundingBox();
        expect(box, part).not.toBeNull();
        expect(box!.x, part).toBeGreaterThanOrEqual(0);
        expect(box!.x + box!.width, part).toBeLessThanOrEqual(PHONE.width);
      }
    }
    // Charts fit the screen.
    for (const chart of await page.locator('[data-chart]').all()) {
      const box = await chart.boundingBox();
      if (box) expect(box.x + box.width, (await chart.getAttribute('data-chart')) ?? '').toBeLessThanOrEqual(PHONE.width);
    }
    await page.setViewportSize(DESKTOP);
    expect(await horizontalOverflow()).toBeLessThanOrEqual(0);
    await shot('console-desktop-overview.png');
  });
});
