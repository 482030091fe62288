import { describe, expect, it } from 'vitest';
import { clientIp, FailureRateLimiter } from '../../src/lib/http/rate-limit';

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

describe('clientIp', () => {
  it('takes the last X-Forwarded-For hop (what the nearest proxy saw)', () => {
    expect(clientIp(new Headers({ 'x-forwarded-for': '198.51.100.1, 10.0.0.2 , 203.0.113.9' }))).toBe('203.0.113.9');
    expect(clientIp(new Headers({ 'x-forwarded-for': '::1' }))).toBe('::1');
  });
  it('falls back to X-Real-IP, then "unknown"', () => {
    expect(clientIp(new Headers({ 'x-real-ip': '192.0.2.4' }))).toBe('192.0.2.4');
    expect(clientIp(new Headers({ 'x-forwarded-for': ' , ' , 'x-real-ip': '192.0.2.5' }))).toBe('192.0.2.5');
    expect(clientIp(new Headers())).toBe('unknown');
  });
  it('bounds the key length', () => {
    expect(clientIp(new Headers({ 'x-forwarded-for': 'x'.repeat(500) }))).toHaveLength(64);
  });
});
