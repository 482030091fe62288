import { webhookPayload } from './format';
import { postJson } from './http';
import { sendLimit, type AlertChannel, type AlertNotification, type ChannelOptions } from './types';

/** ALERT_WEBHOOK_URL: one JSON document per message (see webhookPayload for its shape). */
export class WebhookChannel implements AlertChannel {
  readonly name = 'webhook';
  private readonly limit: ReturnType<typeof sendLimit>;
  constructor(
    private readonly url: string,
    options: ChannelOptions = {},
  ) {
    this.limit = sendLimit(options, this.name);
  }

  async send(n: AlertNotification): Promise<void> {
    await postJson(this.url, webhookPayload(n), this.limit, 'Alert webhook');
  }
}
