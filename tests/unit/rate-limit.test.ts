import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { clientAddress } from '../../src/lib/http/client-address';
import { installRequestStamp, PEER_HEADER } from '../../src/lib/http/request-stamp';
import { FailureRateLimiter } from '../../src/lib/http/rate-limit';

const WINDOW = 15 * 60 * 1000;

function limiter(maxKeys?: number) {
  let now = 1_700_000_000_000;
  const l = new FailureRateLimiter({ limit: 5, windowMs: WINDOW, maxKeys, now: () => now });
  return { l, advance: (ms: number) => (now += ms) };
}

describe('FailureRateLimiter', () => {
  it('allows four failures, refuses from the fifth until the window ends, with Retry-After seconds', () => {
    const { l, advance } = limiter();
    for (let i = 1; i <= 4; i++) {
      expect(l.fail('203.0.113.7')).toEqual({ allowed: true, failures: i, retryAfterSeconds: 0 });
      advance(1000);
    }
    // 4 s into the window: the fifth failure closes it for the remaining 15 min - 4 s.
    expect(l.fail('203.0.113.7')).toEqual({ allowed: false, failures: 5, retryAfterSeconds: 15 * 60 - 4 });
    advance(60_000);
    expect(l.check('203.0.113.7')).toEqual({ allowed: false, failures: 5, retryAfterSeconds: 15 * 60 - 64 });
    advance(WINDOW - 64_000 - 1);
    expect(l.check('203.0.113.7')).toMatchObject({ allowed: false, retryAfterSeconds: 1 });
    advance(1);
    expect(l.check('203.0.113.7')).toEqual({ allowed: true, failures: 0, retryAfterSeconds: 0 });
    expect(l.fail('203.0.113.7')).toEqual({ allowed: true, failures: 1, retryAfterSeconds: 0 });
  });

  it('counts each address on its own, and reset forgets one address only', () => {
    const { l } = limiter();
    for (let i = 0; i < 5; i++) l.fail('a');
    l.fail('b');
    expect(l.check('a').allowed).toBe(false);
    expect(l.check('b')).toEqual({ allowed: true, failures: 1, retryAfterSeconds: 0 });
    l.reset('a');
    expect(l.check('a')).toEqual({ allowed: true, failures: 0, retryAfterSeconds: 0 });
    expect(l.check('b').failures).toBe(1);
  });

  it('check does not count', () => {
    const { l } = limiter();
    for (let i = 0; i < 20; i++) expect(l.check('x').allowed).toBe(true);
    expect(l.check('x').failures).toBe(0);
  });

  it('keeps at most maxKeys addresses, dropping expired ones first, then the oldest', () => {
    const { l, advance } = limiter(3);
    l.fail('old');
    advance(WINDOW);
    l.fail('k1');
    l.fail('k2');
    l.fail('k3'); // 'old' has expired: it goes, the live ones stay
    expect(l.size).toBe(3);
    expect(l.check('k1').failures).toBe(1);
    l.fail('k4'); // full of live keys: the oldest (k1) goes
    expect(l.size).toBe(3);
    expect(l.check('k1').failures).toBe(0);
    expect(l.check('k4').failures).toBe(1);
  });

  it('refuses nonsense settings', () => {
    expect(() => new FailureRateLimiter({ limit: 0, windowMs: 1000 })).toThrow(/limit/);
    expect(() => new FailureRateLimiter({ limit: 3, windowMs: 0 })).toThrow(/windowMs/);
  });
});

/** A real HTTP server whose handler sees what a Next route handler sees: a Request built from the headers. */
async function serve(policy: { trustProxyHops: number; vercel: boolean }) {
  installRequestStamp();
  const server = http.createServer((req, res) => {
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
    res.end(clientAddress(new Request('http://local/', { headers }), policy));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    ask: async (headers: Record<string, string> = {}) => (await fetch(url, { headers })).text(),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('clientAddress', () => {
  it("is the socket's address by default: X-Forwarded-For, X-Real-IP and a forged stamp are ignored", async () => {
    const s = await serve({ trustProxyHops: 0, vercel: false });
    try {
      expect(await s.ask()).toBe('127.0.0.1');
      expect(await s.ask({ 'x-forwarded-for': '203.0.113.9' })).toBe('127.0.0.1');
      expect(await s.ask({ 'x-forwarded-for': '198.51.100.1, 203.0.113.9', 'x-real-ip': '192.0.2.4' })).toBe('127.0.0.1');
      expect(await s.ask({ [PEER_HEADER]: '0123456789abcdef0123456789abcdef 192.0.2.77' })).toBe('127.0.0.1');
    } finally {
      await s.close();
    }
  });
  it('with TRUST_PROXY_HOPS=n takes the n-th address from the right of X-Forwarded-For + socket', async () => {
    const one = await serve({ trustProxyHops: 1, vercel: false });
    const two = await serve({ trustProxyHops: 2, vercel: false });
    try {
      // One proxy appended the client it saw (203.0.113.9); what the client wrote before is ignored.
      expect(await one.ask({ 'x-forwarded-for': '198.51.100.1, 203.0.113.9' })).toBe('203.0.113.9');
      expect(await two.ask({ 'x-forwarded-for': '198.51.100.1, 203.0.113.9, 10.0.0.2' })).toBe('203.0.113.9');
      // Fewer hops than configured: the leftmost address there is.
      expect(await two.ask({ 'x-forwarded-for': '203.0.113.9' })).toBe('203.0.113.9');
    } finally {
      await one.close();
      await two.close();
    }
  });
  it("on Vercel is the platform's client address (x-real-ip, set by Vercel)", () => {
    const vercel = { trustProxyHops: 0, vercel: true };
    expect(clientAddress(new Request('http://x/', { headers: { 'x-real-ip': '192.0.2.4', 'x-forwarded-for': '1.2.3.4' } }), vercel)).toBe('192.0.2.4');
    expect(clientAddress(new Request('http://x/'), vercel)).toBe('unknown');
  });
  it('is "unknown" without a stamp from this process, and bounded in length', () => {
    const headers = { [PEER_HEADER]: 'not-the-token 192.0.2.1', 'x-forwarded-for': '192.0.2.2' };
    expect(clientAddress(new Request('http://x/', { headers }), { trustProxyHops: 0, vercel: false })).toBe('unknown');
    expect(clientAddress(new Request('http://x/', { headers: { 'x-forwarded-for': 'x'.repeat(500) } }), { trustProxyHops: 1, vercel: false })).toHaveLength(64);
  });
});
