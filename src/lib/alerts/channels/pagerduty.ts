import { createHash } from 'node:crypto';
import type { Severity } from '../types';
import { plainText } from './format';
import { postJson } from './http';
import { sendLimit, type AlertChannel, type AlertNotification, type ChannelOptions } from './types';

/** PagerDuty Events API v2 severities. */
export const PAGERDUTY_SEVERITY: Record<Severity, 'critical' | 'error' | 'warning' | 'info'> = {
  CRITICAL: 'critical',
  HIGH: 'error',
  MEDIUM: 'warning',
  LOW: 'info',
};

/** `<rule_id>:<subject>`, kept under PagerDuty's 255-character limit without losing uniqueness. */
export function pagerDutyDedupKey(dedupKey: string): string {
  if (dedupKey.length <= 255) return dedupKey;
  return `${dedupKey.slice(0, 200)}:${createHash('sha256').update(dedupKey).digest('hex').slice(0, 40)}`;
}

/**
 * One Events API v2 event. Trigger and repeat both send `trigger` with the same dedup_key
 * (PagerDuty adds a repeat to the open incident's log, or opens a new incident if someone
 * resolved it by hand while the condition still holds); resolve sends `resolve`.
 */
export function pagerDutyEvent(n: AlertNotification, routingKey: string) {
  const dedup_key = pagerDutyDedupKey(n.dedupKey);
  if (n.kind === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key };
  let source = 'cronwarden';
  try {
    source = new URL(n.url).host || source;
  } catch {
    // keep the default
  }
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key,
    client: 'Cronwarden',
    client_url: n.url,
    links: [{ href: n.url, text: 'Cronwarden alerts' }],
    payload: {
      summary: `[${n.alert.severity}] ${n.alert.title} (${n.alert.subject})`.slice(0, 1024),
      source,
      severity: PAGERDUTY_SEVERITY[n.alert.severity],
      timestamp: (n.alert.opened_at ?? n.alert.first_seen).toISOString(),
      component: n.alert.subject,
      group: n.alert.rule_id.split('.')[0],
      class: n.alert.rule_id,
      custom_details: {
        rule_id: n.alert.rule_id,
        subject: n.alert.subject,
        value: n.alert.value,
        threshold: n.alert.threshold,
        comparison: n.rule?.comparison ?? null,
        response_sla: n.rule?.responseSla ?? null,
        runbook: n.rule?.runbook ?? null,
        details: n.alert.details,
        repeat: n.kind === 'repeat',
        text: plainText(n).slice(0, 4000),
      },
    },
  };
}

export class PagerDutyChannel implements AlertChannel {
  readonly name = 'pagerduty';
  private readonly limit: ReturnType<typeof sendLimit>;
  constructor(
    private readonly routingKey: string,
    private readonly eventsUrl: string,
    options: ChannelOptions = {},
  ) {
    this.limit = sendLimit(options, this.name);
  }

  async send(n: AlertNotification): Promise<void> {
    await postJson(this.eventsUrl, pagerDutyEvent(n, this.routingKey), this.limit, 'PagerDuty Events API');
  }
}
