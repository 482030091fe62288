import { webhookPayload } from './format';
import { postJson } from './http';
import { DEFAULT_CHANNEL_TIMEOUT_MS, type AlertChannel, type AlertNotification, type ChannelOptions } from './types';

/** ALERT_WEBHOOK_URL: one JSON document per message (see webhookPayload for its shape). */
export class WebhookChannel implements AlertChannel {
  readonly name = 'webhook';
  private readonly timeoutMs: number;
  constructor(
    private readonly url: string,
    options: ChannelOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_CHANNEL_TIMEOUT_MS;
  }

  async send(n: AlertNotification): Promise<void> {
    await postJson(this.url, webhookPayload(n), this.timeoutMs, 'Alert webhook');
  }
}
