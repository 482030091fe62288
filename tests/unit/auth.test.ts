import { describe, expect, it } from 'vitest';
import { bearerTokenOf, checkBearer, secretsEqual } from '../../src/lib/cron/auth';
import { requireAdmin } from '../../src/lib/http/admin-auth';
import { metricsAuthorized } from '../../src/lib/monitoring/metrics';
import { testConfig } from '../support/deps';
import { AppError } from '../../src/lib/http/errors';

const SECRET = 'a-very-long-cron-secret-value';

function outcome(header: string | null, ...configured: [string | undefined] | []) {
  const secret = configured.length ? configured[0] : SECRET;
  const headers = new Headers();
  if (header !== null) headers.set('authorization', header);
  try {
    checkBearer(headers, secret);
    return { status: 200, code: 'OK' };
  } catch (err) {
    if (err instanceof AppError) return { status: err.status, code: err.code, message: err.message };
    throw err;
  }
}

describe('cron guard', () => {
  it('accepts the right bearer secret', () => expect(outcome(`Bearer ${SECRET}`).status).toBe(200));
  it('401 on a missing header', () => expect(outcome(null)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' }));
  it('401 on a wrong secret, including a prefix or an extension of it', () => {
    expect(outcome('Bearer wrong').status).toBe(401);
    expect(outcome(`Bearer ${SECRET.slice(0, -1)}`).status).toBe(401);
    expect(outcome(`Bearer ${SECRET}x`).status).toBe(401);
  });
  it('500 naming the variable when the server has no secret (never open)', () => {
    expect(outcome(`Bearer ${SECRET}`, undefined)).toMatchObject({ status: 500, code: 'SERVER_MISCONFIGURED' });
    expect(outcome(null, undefined).message).toContain('CRON_SECRET');
  });
  it('400 on malformed or oversized headers, without echoing them', () => {
    for (const h of [SECRET, `Basic ${SECRET}`, 'Bearer', 'Bearer two words', `bearer${SECRET}`]) {
      const o = outcome(h);
      expect(o.status, h).toBe(400);
      expect(o.message).not.toContain(SECRET);
    }
    expect(outcome(`Bearer ${'x'.repeat(5000)}`)).toMatchObject({ status: 400, code: 'AUTH_HEADER_TOO_LONG' });
  });
  it('the Authorization scheme is case-insensitive: bearer, BEARER and BeArEr carry the same secret', () => {
    for (const scheme of ['bearer', 'BEARER', 'BeArEr', 'Bearer ']) {
      expect(outcome(`${scheme} ${SECRET}`).status, scheme).toBe(200);
      expect(outcome(`${scheme} wrong-secret`).status, scheme).toBe(401);
    }
    expect(bearerTokenOf('bearer abc')).toBe('abc');
    expect(bearerTokenOf('Basic abc')).toBeNull();
  });
  it('every bearer check (admin API token, metrics token) reads the scheme case-insensitively', () => {
    const token = 'admin-api-token-0123456789';
    const config = testConfig({ ADMIN_API_TOKEN: token });
    expect(() => requireAdmin(new Headers({ authorization: `bearer ${token}` }), config)).not.toThrow();
    expect(() => requireAdmin(new Headers({ authorization: `bearer not-the-token-0000` }), config)).toThrow(AppError);
    expect(metricsAuthorized(new Headers({ authorization: `BEARER ${token}` }), token)).toBe(true);
    expect(metricsAuthorized(new Headers({ authorization: `bearer nope` }), token)).toBe(false);
  });
  it('secretsEqual compares whole values', () => {
    expect(secretsEqual('abc', 'abc')).toBe(true);
    expect(secretsEqual('abc', 'abd')).toBe(false);
    expect(secretsEqual('', 'abc')).toBe(false);
  });
});
