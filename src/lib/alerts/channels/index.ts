import type { Config } from '../../config';
import { EmailChannel } from './email';
import { PagerDutyChannel } from './pagerduty';
import { SlackChannel } from './slack';
import type { AlertChannel, ChannelOptions } from './types';
import { WebhookChannel } from './webhook';

export type { AlertChannel, AlertNotification, ChannelOptions } from './types';

/** Every channel the configuration enables, in a fixed order: slack, webhook, pagerduty, email. */
export function createChannels(config: Pick<Config, 'alerts'>, options: ChannelOptions = {}): AlertChannel[] {
  const a = config.alerts;
  const out: AlertChannel[] = [];
  if (a.slackWebhookUrl) out.push(new SlackChannel(a.slackWebhookUrl, options));
  if (a.webhookUrl) out.push(new WebhookChannel(a.webhookUrl, options));
  if (a.pagerduty) out.push(new PagerDutyChannel(a.pagerduty.routingKey, a.pagerduty.eventsUrl, options));
  if (a.email) out.push(new EmailChannel(a.email, options));
  return out;
}
