import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';
import { startReceivers, type Receivers } from '../support/alert-receivers';

const ADMIN_TOKEN = 'e2e-admin-token-0123456789';
const METRICS_TOKEN = 'e2e-metrics-token-0123456789';

describe('alerting over HTTP (next start)', () => {
  let app: RunningApp;
  let rx: Receivers;

  beforeAll(async () => {
    rx = await startReceivers();
    app = await startApp({
      ADMIN_API_TOKEN: ADMIN_TOKEN,
      METRICS_TOKEN,
      ALERT_WEBHOOK_URL: rx.env.ALERT_WEBHOOK_URL,
    });
  });

  afterAll(async () => {
    await app?.stop();
    await rx?.close();
  });

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${app.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(init.headers ?? {}) } });

  it('GET /api/cron/alerts-evaluate runs every rule and records the run', async () => {
    expect((await fetch(`${app.url}/api/cron/alerts-evaluate`)).status).toBe(401);
    const res = await fetch(`${app.url}/api/cron/alerts-evaluate`, { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.success).toBe(true);
    expect(body.result).toMatchObject({ job: 'alerts-evaluate', status: 'succeeded', channels: ['webhook'], errors: [] });
    expect(body.result.rules_evaluated).toBeGreaterThanOrEqual(3);
  });

  it('silences: POST validates (400 naming the field, 413, 415), GET lists, DELETE ends', async () => {
    const post = (body: string, type = 'application/json') =>
      admin('/api/admin/alerts/silences', { method: 'POST', headers: { 'content-type': type }, body });

    const bad = await post(JSON.stringify({ rule_id: 'jobs.stalled', minutes: 0, reason: 'x' }));
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain("'minutes'");
    expect((await post('x'.repeat(9 * 1024))).status).toBe(413);
    expect((await post('rule_id=jobs.stalled', 'text/plain')).status).toBe(415);
    expect((await fetch(`${app.url}/api/admin/alerts/silences`, { method: 'POST', body: '{}' })).status).toBe(401);

    const created = await post(JSON.stringify({ rule_id: 'jobs.stalled', subject: 'alerts-evaluate', minutes: 30, reason: 'e2e' }));
    expect(created.status).toBe(201);
    const { silence } = await created.json();

    const list = await (await admin('/api/admin/alerts')).json();
    expect(list.success).toBe(true);
    expect(list.silences.map((s: { id: string }) => s.id)).toEqual([silence.id]);
    expect(list.counts).toHaveLength(4);

    expect((await admin(`/api/admin/alerts/silences/${silence.id}`, { method: 'DELETE' })).status).toBe(200);
    expect((await admin(`/api/admin/alerts/silences/${silence.id}`, { method: 'DELETE' })).status).toBe(404);
    expect((await admin('/api/admin/alerts/silences/not-a-uuid', { method: 'DELETE' })).status).toBe(400);
  });

  it('GET /api/metrics needs the bearer token and answers the text exposition', async () => {
    const refused = await fetch(`${app.url}/api/metrics`);
    expect(refused.status).toBe(401);
    expect((await refused.json()).error.code).toBe('UNAUTHORIZED');
    const res = await fetch(`${app.url}/api/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    expect(text).toMatch(/^cronwarden_job_runs_total\{job="alerts-evaluate",status="succeeded"\} 1$/m);
    expect(text).toMatch(/^cronwarden_alerts_open\{severity="CRITICAL"\} \d+$/m);
    expect(text).toMatch(/^cronwarden_metrics_collectors_failed 0$/m);
  });
});
