import nodemailer, { type Transporter } from 'nodemailer';
import { headline, plainText } from './format';
import { sendLimit, type AlertChannel, type AlertNotification, type ChannelOptions } from './types';

export interface EmailSettings {
  smtpUrl: string;
  from: string;
  to: string[];
}

/** SMTP_URL + ALERT_EMAIL_FROM + ALERT_EMAIL_TO: one plain-text e-mail per message. */
export class EmailChannel implements AlertChannel {
  readonly name = 'email';
  private readonly timeoutMs: number;
  private readonly limit: ReturnType<typeof sendLimit>;
  private transporter: Transporter | undefined;
  constructor(
    private readonly settings: EmailSettings,
    options: ChannelOptions = {},
  ) {
    this.limit = sendLimit(options, this.name);
    this.timeoutMs = this.limit.timeoutMs;
  }

  private transport(): Transporter {
    this.transporter ??= nodemailer.createTransport({
      url: this.settings.smtpUrl,
      connectionTimeout: this.timeoutMs,
      greetingTimeout: this.timeoutMs,
      socketTimeout: this.timeoutMs,
    });
    return this.transporter;
  }

  async send(n: AlertNotification): Promise<void> {
    const signal = this.limit.signal();
    let giveUp = () => {};
    const timeout = new Promise<never>((_, reject) => {
      giveUp = () => reject(new Error(`SMTP: no answer within ${this.timeoutMs} ms`));
      if (signal.aborted) giveUp();
      else signal.addEventListener('abort', giveUp, { once: true });
    });
    try {
      await Promise.race([
        this.transport().sendMail({
          from: this.settings.from,
          to: this.settings.to,
          subject: `[cronwarden] ${headline(n)}`.slice(0, 250),
          text: plainText(n),
          headers: { 'X-Cronwarden-Alert': n.dedupKey.slice(0, 200) },
        }),
        timeout,
      ]);
    } catch (err) {
      const e = err as Error & { code?: string; responseCode?: number };
      if (e.message.startsWith('SMTP: no answer')) throw e;
      throw new Error(`SMTP: ${e.responseCode ? `${e.responseCode} ` : ''}${e.code ? `${e.code} ` : ''}${e.message}`.slice(0, 500));
    } finally {
      signal.removeEventListener('abort', giveUp);
    }
  }

  async close(): Promise<void> {
    this.transporter?.close();
    this.transporter = undefined;
  }
}
