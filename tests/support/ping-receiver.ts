import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';

export interface Ping {
  check: string;
  kind: 'start' | 'success' | 'fail';
  rid: string | null;
  method: string;
  body: string;
  /** What the receiver answered; 'no answer' while a held ping waits for `release()`. */
  status: number | 'no answer';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * A Healthchecks.io-style ping endpoint on 127.0.0.1, as strict as the real one: only
 * `/ping/<uuid>`, `/ping/<uuid>/start` and `/ping/<uuid>/fail` of a known check, GET/HEAD/POST,
 * `rid` a UUID when present, a body of at most 100 kB; anything else is refused (404/400/405).
 * `mode` makes it answer 500 or hold each ping unanswered until `release()`.
 */
export async function startPingReceiver() {
  const pings: Ping[] = [];
  const checks = new Set<string>();
  const held: (() => void)[] = [];
  const state = { mode: 'ok' as 'ok' | 'fail' | 'hold' };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://receiver');
      const m = /^\/ping\/([^/]+)(?:\/(start|fail))?$/.exec(url.pathname);
      if (!m || !checks.has(m[1])) return void res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      if (!['GET', 'HEAD', 'POST'].includes(req.method ?? '')) return void res.writeHead(405).end();
      const rid = url.searchParams.get('rid');
      if (rid !== null && !UUID.test(rid)) return void res.writeHead(400, { 'content-type': 'text/plain' }).end('invalid url format');
      const body = Buffer.concat(chunks);
      if (body.length > 100_000) return void res.writeHead(413).end();
      const ping: Ping = {
        check: m[1],
        kind: (m[2] as 'start' | 'fail' | undefined) ?? 'success',
        rid,
        method: req.method ?? '',
        body: body.toString('utf8'),
        status: 'no answer',
      };
      pings.push(ping);
      const answer = () => {
        ping.status = state.mode === 'fail' ? 500 : 200;
        if (!res.writableEnded && !res.destroyed) res.writeHead(ping.status, { 'content-type': 'text/plain' }).end(state.mode === 'fail' ? 'down' : 'OK');
      };
      if (state.mode === 'hold') held.push(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    pings,
    state,
    /** A new check; its ping URL as a user would paste it (`https://hc-ping.com/<uuid>`). */
    newCheck(): { uuid: string; url: string } {
      const uuid = randomUUID();
      checks.add(uuid);
      return { uuid, url: `${base}/ping/${uuid}` };
    },
    of: (uuid: string) => pings.filter((p) => p.check === uuid),
    /** Answers every held ping (200, or 500 in 'fail' mode). */
    release() {
      state.mode = 'ok';
      for (const answer of held.splice(0)) answer();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type PingReceiver = Awaited<ReturnType<typeof startPingReceiver>>;
