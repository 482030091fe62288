import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789abcdef';

/**
 * The demo seed's export section, restated: export n (1..160) was created n*18+7 minutes ago,
 * n=1 queued, n=2 processing, n in 18..22 or n%17=0 failed, the rest completed; completed ones
 * expire 24 h after finishing and were already expired when older than 30 h.
 */
const seedExports = Array.from({ length: 160 }, (_, i) => {
  const n = i + 1;
  const outcome = n === 1 ? 'queued' : n === 2 ? 'processing' : (n >= 18 && n <= 22) || n % 17 === 0 ? 'failed' : 'completed';
  return { n, outcome, ageMinutes: n * 18 + 7 };
});
const dueForFileCleanup = seedExports.filter((e) => e.outcome === 'completed' && e.ageMinutes > 24 * 60 && e.ageMinutes <= 30 * 60);
const finishedLast24h = seedExports.filter((e) => e.outcome !== 'queued' && e.outcome !== 'processing' && e.ageMinutes < 24 * 60);
const OLD_LOGS = 20;

describe('export routes over real HTTP (next start, demo data)', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({ SEED_DEMO_DATA: 'true', ADMIN_API_TOKEN: ADMIN_TOKEN });
  });
  afterAll(async () => {
    await app?.stop();
  });

  const get = async (path: string, token = TEST_CRON_SECRET) => {
    const res = await fetch(app.url + path, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: await res.json() };
  };

  it('export-file-cleanup: dry run counts, the real run expires the due exports, a rerun finds none', async () => {
    expect(dueForFileCleanup.length).toBe(19);
    const dry = await get('/api/cron/export-file-cleanup?dryRun=1');
    expect(dry.status).toBe(200);
    expect(dry.body.result).toMatchObject({ dry_run: true, total_found: 19, would_delete_count: 19, deleted_count: 0, logs_updated: 0 });

    const real = await get('/api/cron/export-file-cleanup');
    expect(real.status).toBe(200);
    expect(real.body.success).toBe(true);
    // Demo files are not in storage: a file already gone counts as removed.
    expect(real.body.result).toMatchObject({ total_found: 19, deleted_count: 19, failed_count: 0, logs_updated: 19, errors: [] });
    for (const key of ['total_found', 'deleted_count', 'failed_count', 'logs_updated', 'errors', 'duration_ms', 'timestamp']) {
      expect(real.body.result).toHaveProperty(key);
    }
    expect(typeof real.body.timestamp).toBe('string');
    expect(app.output()).toContain('"type":"export_file_cleanup_complete"');

    const again = await get('/api/cron/export-file-cleanup');
    expect(again.body.result).toMatchObject({ total_found: 0, logs_updated: 0 });

    const byAge = await get('/api/cron/export-file-cleanup?retentionHours=0');
    expect(byAge.status).toBe(400);
    expect(byAge.body.error.message).toContain('retentionHours');
    expect((await get('/api/cron/export-file-cleanup', 'wrong-secret-value-xyz')).status).toBe(401);
  });

  it('admin endpoints give the aggregate, the hourly series and the cleanup stats', async () => {
    expect((await get('/api/admin/exports/metrics', 'not-the-admin-token-123')).status).toBe(401);
    const metrics = await get('/api/admin/exports/metrics?hours=24', ADMIN_TOKEN);
    expect(metrics.status).toBe(200);
    expect(metrics.body.aggregate.total_exports).toBe(finishedLast24h.length);
    expect(metrics.body.aggregate.failed_exports).toBe(finishedLast24h.filter((e) => e.outcome === 'failed').length);
    // The seed rolled the finished hours up: every finished export of the window is in the series
    // except those of the current, unfinished hour.
    const hourly: { hour: string; total_exports: number }[] = metrics.body.hourly;
    expect(hourly.length).toBeGreaterThan(10);
    const startOfHour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    expect(hourly.every((h) => new Date(h.hour) < startOfHour)).toBe(true);

    const stats = await get('/api/admin/exports/cleanup-stats', ADMIN_TOKEN);
    expect(stats.status).toBe(200);
    expect(stats.body.logs).toMatchObject({ retention_days: 30, eligible_for_cleanup: OLD_LOGS, kept_with_live_file: 0 });
    expect(stats.body.logs.estimated_bytes).toBeGreaterThan(0);
    expect(stats.body.files).toMatchObject({ expired_due: 0 });
  });

  it('export-log-cleanup and export-metrics-aggregate answer in the seed shape', async () => {
    const dry = await get('/api/cron/export-log-cleanup?dryRun=1');
    expect(dry.body.result).toMatchObject({ dry_run: true, would_delete_count: OLD_LOGS, deleted_count: 0 });
    const real = await get('/api/cron/export-log-cleanup?batchSize=7');
    expect(real.body.result).toMatchObject({ deleted_count: OLD_LOGS, batches: 3, archive_enabled: false, status: 'succeeded' });

    const agg = await get('/api/cron/export-metrics-aggregate');
    expect(agg.status).toBe(200);
    expect(agg.body.result).toMatchObject({ status: 'succeeded', lookback_hours: 48 });
    expect(typeof agg.body.result.failure_rate).toBe('number');
    expect(typeof agg.body.result.alert).toBe('boolean');
  });

  it('scripts/test-cron-endpoints.sh passes its four checks against the app', () => {
    const r = spawnSync('bash', ['scripts/test-cron-endpoints.sh', app.url, TEST_CRON_SECRET], { encoding: 'utf8', timeout: 60_000 });
    expect(r.stdout.match(/PASSED/g)).toHaveLength(4);
    expect(r.status).toBe(0);
    const bad = spawnSync('bash', ['scripts/test-cron-endpoints.sh', app.url, 'not-the-right-secret-0000'], { encoding: 'utf8', timeout: 60_000 });
    expect(bad.status).toBe(1);
    expect(bad.stdout.match(/FAILED/g)).toHaveLength(3);
  });
});
