import { randomBytes } from 'node:crypto';
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { secretsEqual } from '../cron/auth';

/**
 * What the server saw before Next rewrote it, for route handlers that cannot see it otherwise.
 *
 * In `next start` a route handler gets a Request built from the headers and a re-formatted URL:
 * - the socket address reaches it only as `X-Forwarded-For`, which Next fills from the socket
 *   only when the client sent none (`??=` in next/dist/server/base-server.js), so a client that
 *   writes the header chooses its address;
 * - the query string goes through an object (`searchParamsToUrlQuery`) where `?__proto__=1`
 *   sets the object's prototype and disappears, so the handler cannot refuse it.
 * installRequestStamp (called from src/instrumentation.ts) copies both from each request as it
 * arrives into headers that carry a per-process random token a client cannot forge; the stamp
 * overwrites whatever the client sent under those names. A request without a valid stamp (the
 * hook not installed: another server, a test calling a handler directly) reads as unstamped.
 */

export const PEER_HEADER = 'x-cronwarden-peer';
export const TARGET_HEADER = 'x-cronwarden-target';

const STAMP = Symbol.for('cronwarden.requestStamp');
type StampState = { token: string };
const scope = globalThis as typeof globalThis & { [STAMP]?: StampState };

/**
 * Stamps every request this process's HTTP server receives with its socket address and its
 * request target, before Next sees it (Node's `http.server.request.start` diagnostics channel
 * fires ahead of the 'request' event). Idempotent. Node runtime only.
 */
export function installRequestStamp(): void {
  if (scope[STAMP]) return;
  const state: StampState = { token: randomBytes(16).toString('hex') };
  subscribe('http.server.request.start', (message) => {
    const { request, socket } = message as { request: IncomingMessage; socket: Socket };
    request.headers[PEER_HEADER] = `${state.token} ${socket.remoteAddress ?? ''}`;
    request.headers[TARGET_HEADER] = `${state.token} ${request.url ?? ''}`;
  });
  scope[STAMP] = state;
}

function stamped(headers: Headers, name: string): string | undefined {
  const state = scope[STAMP];
  const value = headers.get(name);
  if (!state || !value) return undefined;
  const space = value.indexOf(' ');
  if (space < 0 || !secretsEqual(value.slice(0, space), state.token)) return undefined;
  return value.slice(space + 1);
}

/** The socket address of this request, when stamped. */
export function peerAddress(headers: Headers): string | undefined {
  return stamped(headers, PEER_HEADER) || undefined;
}

/**
 * `request.url` with the query parameters Next's own parsing loses put back from the request as
 * sent: names of Object.prototype members such as `__proto__`, which become the prototype of
 * Next's query object instead of a key. Only those: any other difference (a platform's routing
 * parameters, Next's normalisation) stays as Next made it.
 */
export function originalUrl(request: Request): URL {
  const url = new URL(request.url);
  const target = stamped(request.headers, TARGET_HEADER);
  if (!target?.startsWith('/')) return url;
  let sent: URL;
  try {
    sent = new URL(target, url.origin);
  } catch {
    return url;
  }
  for (const [key, value] of sent.searchParams) {
    if (key in Object.prototype && !url.searchParams.has(key)) url.searchParams.append(key, value);
  }
  return url;
}
