import { expect, it } from 'vitest';
import { configuredChannels, createChannels } from '../../src/lib/alerts/channels';
import { loadConfig } from '../../src/lib/config';

const all = {
  SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/slack/T0/B0/secretpart',
  ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hook',
  PAGERDUTY_ROUTING_KEY: 'R0ut1ngKey0123456789abcdef012345',
  SMTP_URL: 'smtp://127.0.0.1:9',
  ALERT_EMAIL_TO: 'oncall@example.com',
};

it('configuredChannels names exactly the channels createChannels builds, in its order; none when none is set', async () => {
  const cases: Record<string, string>[] = [
    {},
    { ALERT_WEBHOOK_URL: all.ALERT_WEBHOOK_URL },
    { SMTP_URL: all.SMTP_URL, ALERT_EMAIL_TO: all.ALERT_EMAIL_TO, SLACK_WEBHOOK_URL: all.SLACK_WEBHOOK_URL },
    all,
  ];
  for (const env of cases) {
    const config = loadConfig(env);
    const built = createChannels(config);
    expect(configuredChannels(config), Object.keys(env).join(',')).toEqual(built.map((c) => c.name));
    await Promise.all(built.map((c) => c.close?.()));
  }
  expect(configuredChannels(loadConfig({}))).toEqual([]);
  expect(configuredChannels(loadConfig(all))).toEqual(['slack', 'webhook', 'pagerduty', 'email']);
});
