import type { AlertFacts, NotificationKind } from '../store';

/** What every channel is given: one alert, one kind of message. */
export interface AlertNotification {
  kind: NotificationKind;
  alert: AlertFacts;
  /** From the rule definition, when the rule still exists. */
  rule?: { comparison: string; responseSla: string; runbook: string };
  /** `<rule_id>:<subject>`: the same for every message about one alert (PagerDuty dedup_key). */
  dedupKey: string;
  /** Where to look: the admin page. */
  url: string;
  sentAt: Date;
}

export interface AlertChannel {
  /** Stable name recorded in alert_notifications: slack, webhook, pagerduty, email. */
  readonly name: string;
  /** Delivers or throws (non-2xx, timeout, refused connection, SMTP error). */
  send(n: AlertNotification): Promise<void>;
  close?(): Promise<void>;
}

export interface ChannelOptions {
  /** Per-send limit; a send that takes longer fails and is retried at the next evaluation. */
  timeoutMs?: number;
  /**
   * Makes the signal that ends one send after `timeoutMs` (default: AbortSignal.timeout). Tests
   * pass signals they abort on cue (one channel's, by its name), so what they assert does not
   * depend on the machine's speed.
   */
  timeoutSignal?: (timeoutMs: number, channel: string) => AbortSignal;
}

export const DEFAULT_CHANNEL_TIMEOUT_MS = 10_000;

/** The channel's send limit: its timeout and the signal that enforces it. */
export function sendLimit(options: ChannelOptions, channel: string): { timeoutMs: number; signal: () => AbortSignal } {
  const timeoutMs = options.timeoutMs ?? DEFAULT_CHANNEL_TIMEOUT_MS;
  const make = options.timeoutSignal ?? ((ms: number) => AbortSignal.timeout(ms));
  return { timeoutMs, signal: () => make(timeoutMs, channel) };
}
