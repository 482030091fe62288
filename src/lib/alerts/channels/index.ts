import type { Config } from '../../config';
import { EmailChannel } from './email';
import { PagerDutyChannel } from './pagerduty';
import { SlackChannel } from './slack';
import type { AlertChannel, ChannelOptions } from './types';
import { WebhookChannel } from './webhook';

export type { AlertChannel, AlertNotification, ChannelOptions } from './types';

export type ChannelName = 'slack' | 'webhook' | 'pagerduty' | 'email';

/**
 * The names of the channels the configuration enables, in `createChannels`' order, without
 * building any of them. Empty: alerts open and resolve, but no one is told (the app warns at
 * start, `/api/health` says so, and the console can show it).
 */
export function configuredChannels(config: Pick<Config, 'alerts'>): ChannelName[] {
  const a = config.alerts;
  const out: ChannelName[] = [];
  if (a.slackWebhookUrl) out.push('slack');
  if (a.webhookUrl) out.push('webhook');
  if (a.pagerduty) out.push('pagerduty');
  if (a.email) out.push('email');
  return out;
}

/** The warning to show when no channel is configured (start log, /api/health, console). */
export const NO_ALERT_CHANNEL_WARNING =
  'No alert channel is configured: alerts open on the admin page but are sent nowhere. ' +
  'Set SLACK_WEBHOOK_URL, ALERT_WEBHOOK_URL, PAGERDUTY_ROUTING_KEY or SMTP_URL + ALERT_EMAIL_TO.';

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
