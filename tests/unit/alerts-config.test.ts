import { describe, expect, it } from 'vitest';
import { createChannels } from '../../src/lib/alerts/channels';
import { pagerDutyDedupKey, pagerDutyEvent } from '../../src/lib/alerts/channels/pagerduty';
import { slackMessage } from '../../src/lib/alerts/channels/slack';
import type { AlertNotification } from '../../src/lib/alerts/channels/types';
import { ConfigError, loadConfig } from '../../src/lib/config';

const base = { CRON_SECRET: 'test-cron-secret-0123456789', LOG_LEVEL: 'silent' };

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig({ ...base, ...env });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`no ConfigError for ${JSON.stringify(env)}`);
}

describe('alert channel configuration fails at start-up, naming the variable', () => {
  const cases: [string, Record<string, string>, RegExp][] = [
    ['SLACK_WEBHOOK_URL', { SLACK_WEBHOOK_URL: 'hooks.slack.com/services/T0/B0/x' }, /SLACK_WEBHOOK_URL: must be an absolute URL/],
    ['SLACK_WEBHOOK_URL', { SLACK_WEBHOOK_URL: 'ftp://hooks.slack.com/services/T0/B0/x' }, /SLACK_WEBHOOK_URL: must be an http:\/\/ or https:\/\/ URL/],
    ['ALERT_WEBHOOK_URL', { ALERT_WEBHOOK_URL: 'not a url' }, /ALERT_WEBHOOK_URL: must be an absolute URL/],
    ['PAGERDUTY_EVENTS_URL', { PAGERDUTY_ROUTING_KEY: 'R0ut1ngKey0123456789abcdef012345', PAGERDUTY_EVENTS_URL: 'events.pagerduty.com' }, /PAGERDUTY_EVENTS_URL:/],
    ['PAGERDUTY_ROUTING_KEY', { PAGERDUTY_EVENTS_URL: 'https://events.pagerduty.com/v2/enqueue' }, /PAGERDUTY_ROUTING_KEY: required when PAGERDUTY_EVENTS_URL is set/],
    ['PAGERDUTY_ROUTING_KEY', { PAGERDUTY_ROUTING_KEY: 'has spaces in it' }, /PAGERDUTY_ROUTING_KEY: must be the Events API v2 integration key/],
    ['ALERT_MIN_SEVERITY', { ALERT_MIN_SEVERITY: 'urgent' }, /ALERT_MIN_SEVERITY: must be one of LOW, MEDIUM, HIGH, CRITICAL/],
    ['ALERT_REPEAT_MINUTES', { ALERT_REPEAT_MINUTES: '0' }, /ALERT_REPEAT_MINUTES: must be at least 1/],
    ['ALERT_REPEAT_MINUTES', { ALERT_REPEAT_MINUTES: 'hourly' }, /ALERT_REPEAT_MINUTES: must be a whole number/],
    ['SMTP_URL', { SMTP_URL: 'mail.example.com:25', ALERT_EMAIL_TO: 'a@example.com' }, /SMTP_URL: must start with smtp:\/\/ or smtps:\/\//],
    ['SMTP_URL', { ALERT_EMAIL_TO: 'a@example.com' }, /SMTP_URL: required when ALERT_EMAIL_TO is set/],
    ['ALERT_EMAIL_TO', { SMTP_URL: 'smtp://mail.example.com:25' }, /ALERT_EMAIL_TO: required when SMTP_URL is set/],
    ['ALERT_EMAIL_TO', { SMTP_URL: 'smtp://mail.example.com:25', ALERT_EMAIL_TO: 'ops@example.com, nobody' }, /ALERT_EMAIL_TO: not an e-mail address: nobody/],
    ['ALERT_EMAIL_FROM', { ALERT_EMAIL_FROM: 'cronwarden' }, /ALERT_EMAIL_FROM: must be an e-mail address/],
    ['METRICS_TOKEN', { METRICS_TOKEN: 'short' }, /METRICS_TOKEN: must be at least 16 characters/],
  ];
  for (const [variable, env, message] of cases) {
    it(`${variable} = ${JSON.stringify(Object.values(env).join(' / '))}`, () => {
      const err = configError(env);
      expect(err.message).toContain(variable);
      expect(err.message).toMatch(message);
    });
  }

  it('a valid configuration builds every channel, in order, with the defaults', () => {
    const config = loadConfig({
      ...base,
      SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/secretpart',
      ALERT_WEBHOOK_URL: 'https://ops.example.com/hooks/cronwarden',
      PAGERDUTY_ROUTING_KEY: 'R0ut1ngKey0123456789abcdef012345',
      SMTP_URL: 'smtps://user:pass@mail.example.com:465',
      ALERT_EMAIL_TO: 'ops@example.com',
      ALERT_MIN_SEVERITY: 'medium',
    });
    expect(config.alerts).toMatchObject({
      repeatMinutes: 240,
      minSeverity: 'MEDIUM',
      pagerduty: { eventsUrl: 'https://events.pagerduty.com/v2/enqueue' },
      email: { from: 'cronwarden@localhost', to: ['ops@example.com'] },
    });
    expect(createChannels(config).map((c) => c.name)).toEqual(['slack', 'webhook', 'pagerduty', 'email']);
    // Secrets in channel settings are known to the log scrubber.
    expect(config.secrets).toEqual(expect.arrayContaining(['secretpart', 'R0ut1ngKey0123456789abcdef012345', 'pass']));
    expect(createChannels(loadConfig(base))).toEqual([]);
  });
});

describe('channel payloads', () => {
  const n = (over: Partial<AlertNotification> = {}): AlertNotification => ({
    kind: 'trigger',
    alert: {
      id: '00000000-0000-4000-8000-000000000001',
      rule_id: 'jobs.stalled',
      subject: 'draft-cleanup',
      severity: 'HIGH',
      title: 'Job stalled <now> & then',
      state: 'open',
      value: 3.456,
      threshold: 3,
      details: {},
      first_seen: new Date('2026-11-20T10:00:00Z'),
      opened_at: new Date('2026-11-20T10:00:00Z'),
      resolved_at: null,
    },
    rule: { comparison: 'gt', responseSla: '30 minutes', runbook: 'Check the cron.' },
    dedupKey: 'jobs.stalled:draft-cleanup',
    url: 'https://cron.example.com/admin#alerts',
    sentAt: new Date('2026-11-20T10:00:00Z'),
    ...over,
  });

  it('PagerDuty: severities map to critical/error/warning/info; dedup_key is <rule_id>:<subject>, at most 255 characters', () => {
    const sev = (severity: AlertNotification['alert']['severity']) =>
      (pagerDutyEvent(n({ alert: { ...n().alert, severity } }), 'k') as { payload: { severity: string } }).payload.severity;
    expect([sev('CRITICAL'), sev('HIGH'), sev('MEDIUM'), sev('LOW')]).toEqual(['critical', 'error', 'warning', 'info']);
    expect(pagerDutyEvent(n(), 'k')).toMatchObject({ event_action: 'trigger', dedup_key: 'jobs.stalled:draft-cleanup' });
    expect(pagerDutyEvent(n({ kind: 'resolve' }), 'k')).toEqual({ routing_key: 'k', event_action: 'resolve', dedup_key: 'jobs.stalled:draft-cleanup' });
    const long = `rule:${'x'.repeat(400)}`;
    const key = pagerDutyDedupKey(long);
    expect(key.length).toBeLessThanOrEqual(255);
    expect(pagerDutyDedupKey(`${long}y`)).not.toBe(key);
  });

  it('Slack: mrkdwn is escaped and the header fits in 150 characters', () => {
    const msg = slackMessage(n({ alert: { ...n().alert, title: `${'T'.repeat(300)} <b>` } }));
    const header = msg.blocks[0] as { text: { text: string } };
    expect(header.text.text.length).toBeLessThanOrEqual(150);
    // mrkdwn (fields, runbook) is escaped; the plain_text header needs no escaping.
    const escaped = slackMessage(n({ alert: { ...n().alert, subject: 'org <1> & co' } }));
    const fields = JSON.stringify(escaped.blocks.slice(1));
    expect(fields).toContain('org &lt;1&gt; &amp; co');
    expect(fields).not.toContain('org <1>');
    expect(escaped.text).toContain('value 3.46 &gt; threshold 3');
  });
});
