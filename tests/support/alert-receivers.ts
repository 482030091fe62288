import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export type Mode = 'ok' | 'fail' | 'hang';

export interface HttpDelivery {
  channel: 'slack' | 'webhook' | 'pagerduty';
  status: number | 'no answer';
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- receivers keep what they were sent
  body: any;
}

export interface MailDelivery {
  from: string;
  to: string[];
  subject: string;
  raw: string;
}

/**
 * Real receivers on 127.0.0.1: a Slack incoming webhook, a generic JSON webhook, a PagerDuty
 * Events API v2 endpoint (each checks the shape it accepts, like the real service, and answers
 * 400 otherwise) and an SMTP server. `mode[channel]` makes one of them fail (HTTP 500 / SMTP 451)
 * or never answer.
 */
export async function startReceivers() {
  const http_: HttpDelivery[] = [];
  const mails: MailDelivery[] = [];
  const mode: Record<'slack' | 'webhook' | 'pagerduty' | 'email', Mode> = { slack: 'ok', webhook: 'ok', pagerduty: 'ok', email: 'ok' };

  const server = http.createServer((req, res) => {
    // One connection per delivery. With keep-alive, a sender reusing a pooled connection that the
    // server closes at its keep-alive timeout (5 s) gets ECONNRESET; when the test process is
    // starved of CPU for seconds between evaluations, that race decides the test.
    res.shouldKeepAlive = false;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = req.url ?? '';
      const channel = url.startsWith('/slack/') ? 'slack' : url === '/hook' ? 'webhook' : url === '/pd/v2/enqueue' ? 'pagerduty' : undefined;
      if (!channel || req.method !== 'POST' || !(req.headers['content-type'] ?? '').startsWith('application/json')) {
        res.writeHead(404).end();
        return;
      }
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        res.writeHead(400).end('invalid_payload');
        return;
      }
      const m = mode[channel];
      if (m === 'hang') {
        http_.push({ channel, status: 'no answer', body });
        return;
      }
      if (m === 'fail') {
        http_.push({ channel, status: 500, body });
        res.writeHead(500, { 'content-type': 'text/plain' }).end('receiver is down');
        return;
      }
      const problem = channel === 'slack' ? slackProblem(body) : channel === 'pagerduty' ? pagerDutyProblem(body) : webhookProblem(body);
      if (problem) {
        http_.push({ channel, status: 400, body });
        res.writeHead(400, { 'content-type': 'text/plain' }).end(problem);
        return;
      }
      if (channel === 'pagerduty') {
        http_.push({ channel, status: 202, body });
        const dedup = (body as { dedup_key: string }).dedup_key;
        res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', message: 'Event processed', dedup_key: dedup }));
        return;
      }
      http_.push({ channel, status: 200, body });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (mode.email === 'fail') {
          const err = Object.assign(new Error('mailbox unavailable, try later'), { responseCode: 451 });
          callback(err);
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        const subject = /^Subject: (.*(?:\r\n[ \t].*)*)/m.exec(raw)?.[1]?.replace(/\r\n[ \t]/g, ' ') ?? '';
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject,
          raw,
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  const smtpPort = (smtp.server.address() as AddressInfo).port;

  return {
    mode,
    http: http_,
    mails,
    of: (channel: HttpDelivery['channel']) => http_.filter((d) => d.channel === channel),
    env: {
      SLACK_WEBHOOK_URL: `${base}/slack/T0000/B0000/slacksecretpart`,
      ALERT_WEBHOOK_URL: `${base}/hook`,
      PAGERDUTY_ROUTING_KEY: 'R0ut1ngKey0123456789abcdef012345',
      PAGERDUTY_EVENTS_URL: `${base}/pd/v2/enqueue`,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      ALERT_EMAIL_FROM: 'cronwarden@example.com',
      ALERT_EMAIL_TO: 'oncall@example.com, lead@example.com',
    },
    reset() {
      http_.length = 0;
      mails.length = 0;
      for (const k of Object.keys(mode) as (keyof typeof mode)[]) mode[k] = 'ok';
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    },
  };
}

export type Receivers = Awaited<ReturnType<typeof startReceivers>>;

function slackProblem(b: unknown): string | undefined {
  const body = b as { text?: unknown; blocks?: { type?: string; text?: { text?: string } }[] };
  if (typeof body.text !== 'string' || body.text.length === 0) return 'no_text';
  if (body.text.length > 40_000) return 'msg_too_long';
  if (!Array.isArray(body.blocks) || body.blocks.length === 0 || body.blocks.length > 50) return 'invalid_blocks';
  for (const block of body.blocks) {
    if (!['header', 'section', 'context', 'divider'].includes(block.type ?? '')) return 'invalid_blocks';
    if (block.type === 'header' && (block.text?.text ?? '').length > 150) return 'invalid_blocks';
  }
  return undefined;
}

function pagerDutyProblem(b: unknown): string | undefined {
  const body = b as {
    routing_key?: unknown;
    event_action?: unknown;
    dedup_key?: unknown;
    payload?: { summary?: unknown; source?: unknown; severity?: unknown };
  };
  if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32) return 'Invalid routing key';
  if (!['trigger', 'acknowledge', 'resolve'].includes(String(body.event_action))) return 'Invalid event_action';
  if (typeof body.dedup_key !== 'string' || body.dedup_key.length === 0 || body.dedup_key.length > 255) return 'Invalid dedup_key';
  if (body.event_action === 'trigger') {
    const p = body.payload;
    if (!p || typeof p.summary !== 'string' || p.summary.length === 0 || p.summary.length > 1024) return 'Invalid payload.summary';
    if (typeof p.source !== 'string' || p.source.length === 0) return 'Invalid payload.source';
    if (!['critical', 'error', 'warning', 'info'].includes(String(p.severity))) return 'Invalid payload.severity';
  }
  return undefined;
}

function webhookProblem(b: unknown): string | undefined {
  const body = b as { version?: unknown; event?: unknown; alert?: { rule_id?: unknown; subject?: unknown } };
  if (body.version !== 1) return 'unknown version';
  if (typeof body.event !== 'string' || !/^alert\.(trigger|repeat|resolve)$/.test(body.event)) return 'unknown event';
  if (typeof body.alert?.rule_id !== 'string' || typeof body.alert?.subject !== 'string') return 'no alert';
  return undefined;
}
