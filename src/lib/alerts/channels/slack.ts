import { SEVERITY_EMOJI } from '../severity';
import { conditionText, formatNumber, headline, plainText } from './format';
import { postJson } from './http';
import { sendLimit, type AlertChannel, type AlertNotification, type ChannelOptions } from './types';

/** Slack's mrkdwn needs &, < and > escaped; everything else is shown as written. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** An incoming-webhook message: fallback text plus Block Kit blocks (Slack's size limits respected). */
export function slackMessage(n: AlertNotification) {
  const icon = n.kind === 'resolve' ? ':white_check_mark:' : SEVERITY_EMOJI[n.alert.severity];
  const fields = [
    `*Rule*\n\`${esc(n.alert.rule_id)}\``,
    `*Subject*\n${esc(n.alert.subject)}`,
    `*Severity*\n${n.alert.severity}${n.rule ? ` (respond within ${esc(n.rule.responseSla)})` : ''}`,
    `*Value*\n${esc(conditionText(n))}`,
  ];
  if (n.alert.opened_at) fields.push(`*Opened*\n<!date^${Math.floor(n.alert.opened_at.getTime() / 1000)}^{date_short_pretty} {time}|${n.alert.opened_at.toISOString()}>`);
  if (n.alert.resolved_at) fields.push(`*Resolved*\n${n.alert.resolved_at.toISOString()}`);
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: clip(headline(n), 150), emoji: true } },
    { type: 'section', fields: fields.map((text) => ({ type: 'mrkdwn', text: clip(text, 2000) })) },
  ];
  if (n.kind !== 'resolve' && n.rule) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: clip(`*What to do*\n${esc(n.rule.runbook)}`, 3000) } });
  }
  blocks.push({
    type: 'context',
    elements: [{ type: 'mrkdwn', text: clip(`${icon} <${n.url}|Open the alerts page> · value ${formatNumber(n.alert.value)}`, 3000) }],
  });
  // `text` is the notification and fallback text; Slack reads it as mrkdwn too.
  return { text: clip(esc(plainText(n)), 3000), blocks };
}

export class SlackChannel implements AlertChannel {
  readonly name = 'slack';
  private readonly limit: ReturnType<typeof sendLimit>;
  constructor(
    private readonly webhookUrl: string,
    options: ChannelOptions = {},
  ) {
    this.limit = sendLimit(options, this.name);
  }

  async send(n: AlertNotification): Promise<void> {
    await postJson(this.webhookUrl, slackMessage(n), this.limit, 'Slack webhook');
  }
}
