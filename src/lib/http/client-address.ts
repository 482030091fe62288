import { ipAddress } from '@vercel/functions/headers';
import type { Config } from '../config';
import { peerAddress } from './request-stamp';

/**
 * The client's address for rate limits and logs.
 *
 * A route handler in `next start` never sees the socket, and `X-Forwarded-For` is whatever the
 * client wrote; the socket address comes from the request stamp (see request-stamp.ts).
 *
 * - default: the socket's address; `X-Forwarded-For` is ignored.
 * - TRUST_PROXY_HOPS=n: n reverse proxies each append the address they saw; the client is the
 *   n-th address from the right of `X-Forwarded-For` + socket address.
 * - on Vercel: the platform's client address (`x-real-ip`, which Vercel sets itself).
 * Answers 'unknown' when the address cannot be known; everything unknown shares one bucket.
 */
export function clientAddress(request: Request, policy: Config['clientAddress']): string {
  if (policy.vercel) return clip(ipAddress(request)) ?? 'unknown';
  const peer = peerAddress(request.headers);
  if (policy.trustProxyHops === 0) return peer ?? 'unknown';
  const forwarded = (request.headers.get('x-forwarded-for') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const chain = peer ? [...forwarded, peer] : forwarded;
  if (chain.length === 0) return 'unknown';
  return clip(chain[Math.max(0, chain.length - 1 - policy.trustProxyHops)]) ?? 'unknown';
}

const clip = (s: string | undefined) => (s ? s.trim().slice(0, 64) || undefined : undefined);
