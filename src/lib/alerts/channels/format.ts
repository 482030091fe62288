import type { AlertNotification } from './types';

const COMPARISON_WORDS: Record<string, string> = { gt: '>', gte: '>=', lt: '<', lte: '<=' };

export function formatNumber(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return 'n/a';
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 100) / 100);
}

export function headline(n: AlertNotification): string {
  const state = n.kind === 'resolve' ? 'RESOLVED' : n.kind === 'repeat' ? 'STILL FIRING' : 'FIRING';
  return `[${state}] [${n.alert.severity}] ${n.alert.title} (${n.alert.subject})`;
}

export function conditionText(n: AlertNotification): string {
  const cmp = n.rule ? (COMPARISON_WORDS[n.rule.comparison] ?? n.rule.comparison) : 'vs';
  return `value ${formatNumber(n.alert.value)} ${cmp} threshold ${formatNumber(n.alert.threshold)}`;
}

/** Plain text used by e-mail and as Slack's fallback text. */
export function plainText(n: AlertNotification): string {
  const lines = [
    headline(n),
    '',
    `Rule: ${n.alert.rule_id}`,
    `Subject: ${n.alert.subject}`,
    `Severity: ${n.alert.severity}${n.rule ? ` (respond within ${n.rule.responseSla})` : ''}`,
    `Condition: ${conditionText(n)}`,
    `Opened: ${n.alert.opened_at ? n.alert.opened_at.toISOString() : 'n/a'}`,
  ];
  if (n.alert.resolved_at) lines.push(`Resolved: ${n.alert.resolved_at.toISOString()}`);
  if (n.rule) lines.push('', `What to do: ${n.rule.runbook}`);
  const details = JSON.stringify(n.alert.details, null, 2);
  if (details && details !== '{}') lines.push('', `Details: ${details.slice(0, 4000)}`);
  lines.push('', `Alerts: ${n.url}`);
  return lines.join('\n');
}

/** The JSON the generic webhook receives. */
export function webhookPayload(n: AlertNotification) {
  return {
    version: 1,
    event: `alert.${n.kind}`,
    dedup_key: n.dedupKey,
    alert: {
      id: n.alert.id,
      rule_id: n.alert.rule_id,
      subject: n.alert.subject,
      severity: n.alert.severity,
      title: n.alert.title,
      state: n.alert.state,
      value: n.alert.value,
      threshold: n.alert.threshold,
      comparison: n.rule?.comparison ?? null,
      details: n.alert.details,
      first_seen: n.alert.first_seen.toISOString(),
      opened_at: n.alert.opened_at?.toISOString() ?? null,
      resolved_at: n.alert.resolved_at?.toISOString() ?? null,
      response_sla: n.rule?.responseSla ?? null,
      runbook: n.rule?.runbook ?? null,
    },
    url: n.url,
    sent_at: n.sentAt.toISOString(),
  };
}
