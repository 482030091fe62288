import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../support/app-server';
import { freshPostgresUrl, hasPostgres } from '../support/db';
import { hasPromtool, promtoolProblems } from '../support/promtool';
import { startReceivers, type Receivers } from '../support/alert-receivers';

const lines = (app: RunningApp, type: string) =>
  app
    .output()
    .split('\n')
    .filter((l) => l.includes(`"type":"${type}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('the embedded default: no alert channel, /api/metrics open, each said once', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({ SEED_DEMO_DATA: 'true' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('says at start, in one warning line, that no alert channel is configured', async () => {
    for (let i = 0; i < 3; i++) await fetch(`${app.url}/api/health`);
    const warned = lines(app, 'alert_channels_missing');
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 'warn', alert_channels: [] });
    expect(String(warned[0].msg)).toContain('SLACK_WEBHOOK_URL');
  });

  it('/api/health lists the alert channels (none) and says metrics are open, in words', async () => {
    const body = await (await fetch(`${app.url}/api/health`)).json();
    expect(body).toMatchObject({ status: 'ok', alert_channels: [], metrics: 'open' });
    expect(body.warnings.join('\n')).toMatch(/No alert channel is configured/);
    expect(body.warnings.join('\n')).toMatch(/\/api\/metrics is open .*METRICS_TOKEN/);
  });

  it('/api/metrics stays open on the embedded default, with one warning at the first scrape', async () => {
    for (let i = 0; i < 3; i++) expect((await fetch(`${app.url}/api/metrics`)).status).toBe(200);
    expect(lines(app, 'metrics_open')).toHaveLength(1);
    expect(lines(app, 'metrics_open')[0]).toMatchObject({ level: 'warn' });
  });

  it.skipIf(!hasPromtool())('promtool check metrics accepts the exposition the app serves', async () => {
    const res = await fetch(`${app.url}/api/metrics`);
    const text = await res.text();
    expect(text).toMatch(/^cronwarden_drafts \d+$/m);
    expect(text).toMatch(/^cronwarden_metrics_collectors_failed 0$/m);
    expect(promtoolProblems(text)).toEqual([]);
  });
});

describe.skipIf(!hasPostgres())('a server deployment (DATABASE_URL) without METRICS_TOKEN, with a webhook channel', () => {
  let app: RunningApp;
  let receivers: Receivers;
  beforeAll(async () => {
    receivers = await startReceivers();
    app = await startApp({ DATABASE_URL: await freshPostgresUrl(), ALERT_WEBHOOK_URL: receivers.env.ALERT_WEBHOOK_URL });
  });
  afterAll(async () => {
    await app?.stop();
    await receivers?.close();
  });

  it('/api/metrics answers 503 naming METRICS_TOKEN, with or without a bearer token', async () => {
    for (const headers of [{}, { authorization: 'Bearer some-token-0123456789abcdef' }] as Record<string, string>[]) {
      const res = await fetch(`${app.url}/api/metrics`, { headers });
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.error.code).toBe('METRICS_TOKEN_UNSET');
      expect(body.error.message).toContain('METRICS_TOKEN');
    }
  });

  it('/api/health lists the webhook channel and says metrics are refused; start warned about the token, not the channels', async () => {
    const body = await (await fetch(`${app.url}/api/health`)).json();
    expect(body).toMatchObject({ status: 'ok', alert_channels: ['webhook'], metrics: 'refused' });
    expect(body.warnings).toHaveLength(1);
    expect(body.warnings[0]).toContain('METRICS_TOKEN');
    expect(lines(app, 'alert_channels_missing')).toHaveLength(0);
    expect(lines(app, 'metrics_token_missing')).toHaveLength(1);
  });
});
