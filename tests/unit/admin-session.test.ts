import { describe, expect, it } from 'vitest';
import {
  createSessionToken,
  requireAdmin,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
  verifySessionToken,
} from '../../src/lib/http/admin-auth';
import { AppError } from '../../src/lib/http/errors';
import { safeAdminPath } from '../../src/lib/admin/session';
import { testConfig } from '../support/deps';

const config = testConfig({ ADMIN_PASSWORD: 'correct horse battery' });
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);

function flip(ch: string): string {
  return ch === 'A' ? 'B' : 'A';
}

describe('admin session tokens', () => {
  it('accepts a fresh token until it expires, then refuses it', () => {
    const token = createSessionToken(config, T0);
    expect(verifySessionToken(config, token, T0)).toBe(true);
    expect(verifySessionToken(config, token, T0 + SESSION_TTL_SECONDS * 1000 - 1)).toBe(true);
    expect(verifySessionToken(config, token, T0 + SESSION_TTL_SECONDS * 1000)).toBe(false);
    expect(verifySessionToken(config, token, T0 + 30 * 86_400_000)).toBe(false);
  });

  it('refuses a token whose expiry, nonce or signature was changed', () => {
    const token = createSessionToken(config, T0);
    const [exp, nonce, sig] = token.split('.');
    const later = String(Number(exp) + 86_400);
    expect(verifySessionToken(config, `${later}.${nonce}.${sig}`, T0)).toBe(false);
    expect(verifySessionToken(config, `${exp}.${flip(nonce[0])}${nonce.slice(1)}.${sig}`, T0)).toBe(false);
    expect(verifySessionToken(config, `${exp}.${nonce}.${sig.slice(0, -1)}${flip(sig.slice(-1))}`, T0)).toBe(false);
    expect(verifySessionToken(config, `${exp}.${nonce}`, T0)).toBe(false);
    expect(verifySessionToken(config, `${token}.x`, T0)).toBe(false);
    expect(verifySessionToken(config, '', T0)).toBe(false);
    expect(verifySessionToken(config, undefined, T0)).toBe(false);
    expect(verifySessionToken(config, `${token}${'A'.repeat(200)}`, T0)).toBe(false);
  });

  it('refuses a token signed under another password or SESSION_SECRET', () => {
    const other = testConfig({ ADMIN_PASSWORD: 'another password' });
    expect(verifySessionToken(config, createSessionToken(other, T0), T0)).toBe(false);
    const withSecret = testConfig({ ADMIN_PASSWORD: 'correct horse battery', SESSION_SECRET: 's'.repeat(40) });
    expect(verifySessionToken(withSecret, createSessionToken(config, T0), T0)).toBe(false);
    expect(verifySessionToken(withSecret, createSessionToken(withSecret, T0), T0)).toBe(true);
  });

  it('requireAdmin: a valid session cookie passes, an expired or missing one is a 401', () => {
    const cookie = (t: string) => new Headers({ cookie: `theme=dark; ${SESSION_COOKIE}=${t}` });
    expect(() => requireAdmin(cookie(createSessionToken(config)), config)).not.toThrow();
    const expired = createSessionToken(config, Date.now() - SESSION_TTL_SECONDS * 1000 - 1000);
    const status = (h: Headers) => {
      try {
        requireAdmin(h, config);
        return 200;
      } catch (err) {
        return err instanceof AppError ? err.status : -1;
      }
    };
    expect(status(cookie(expired))).toBe(401);
    expect(status(new Headers())).toBe(401);
    expect(status(new Headers({ authorization: 'Bearer correct horse battery' }))).toBe(401);
    expect(status(new Headers({ cookie: `${SESSION_COOKIE}=x` }))).toBe(401);
    expect(status(new Headers({ cookie: `${SESSION_COOKIE}=${createSessionToken(config)}` }))).toBe(200);
  });

  it('requireAdmin: a 401 says when the server has no ADMIN_API_TOKEN to accept a bearer with', () => {
    const message = (c: typeof config, h: Headers) => {
      try {
        requireAdmin(h, c);
        return 'passed';
      } catch (err) {
        return err instanceof AppError ? `${err.status} ${err.message}` : 'other';
      }
    };
    const bearer = new Headers({ authorization: 'Bearer some-token-0123456789abcdef' });
    expect(message(config, bearer)).toMatch(/^401 .*no ADMIN_API_TOKEN configured.*\.data\/admin-api-token/);
    const withToken = testConfig({ ADMIN_PASSWORD: 'correct horse battery', ADMIN_API_TOKEN: 'the-api-token-0123456789' });
    expect(message(withToken, bearer)).toBe('401 Sign in at /admin, or send "Authorization: Bearer <ADMIN_API_TOKEN>".');
    expect(message(withToken, new Headers({ authorization: 'Bearer the-api-token-0123456789' }))).toBe('passed');
  });
});

describe('safeAdminPath', () => {
  it('keeps paths inside /admin and refuses everything else', () => {
    expect(safeAdminPath('/admin')).toBe('/admin');
    expect(safeAdminPath('/admin/runs/4f0b8a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b')).toBe('/admin/runs/4f0b8a9e-1c2d-4e5f-8a9b-0c1d2e3f4a5b');
    for (const bad of ['//evil.example/admin', 'https://evil.example', '/administrator', '/admin/../api', '/admin/sign-in', '/admin?x=1', '/admin\\evil', null, 7]) {
      expect(safeAdminPath(bad)).toBe('/admin');
    }
  });
});
