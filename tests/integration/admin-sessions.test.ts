import { describe, expect, it } from 'vitest';
import { safeAdminPath } from '../../src/lib/admin/session';
import type { SqlDb } from '../../src/lib/db/types';
import {
  openSession,
  requireAdmin,
  revokeSession,
  SESSION_COOKIE,
  SESSION_TTL_SECONDS,
  verifySession,
} from '../../src/lib/http/admin-auth';
import { AppError } from '../../src/lib/http/errors';
import { describeEngines } from '../support/db';
import { testConfig } from '../support/deps';

const config = testConfig({ ADMIN_PASSWORD: 'correct horse battery' });
const T0 = new Date('2026-11-23T12:00:00Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const TTL_MS = SESSION_TTL_SECONDS * 1000;

describeEngines('admin sessions kept on the server', (engine) => {
  it('a session is valid from sign-in until its lifetime ends, then refused', async () => {
    const db = await engine.fresh();
    const { token, expiresAt } = await openSession(config, db, T0);
    expect(expiresAt.toISOString()).toBe(at(TTL_MS).toISOString());
    expect(await verifySession(config, db, token, T0)).toBe(true);
    expect(await verifySession(config, db, token, at(TTL_MS - 1))).toBe(true);
    expect(await verifySession(config, db, token, at(TTL_MS))).toBe(false);
    expect(await verifySession(config, db, token, at(30 * 86_400_000))).toBe(false);
  });

  it('sign-out ends the session: a copy of the cookie no longer works', async () => {
    const db = await engine.fresh();
    const a = await openSession(config, db, T0);
    const b = await openSession(config, db, T0);
    await revokeSession(db, a.token, at(1000));
    expect(await verifySession(config, db, a.token, at(2000))).toBe(false);
    // Another browser's session is not affected.
    expect(await verifySession(config, db, b.token, at(2000))).toBe(true);
  });

  it('a new ADMIN_PASSWORD ends every session opened under the old one, for good', async () => {
    const db = await engine.fresh();
    const { token } = await openSession(config, db, T0);
    const changed = testConfig({ ADMIN_PASSWORD: 'a brand new password' });
    expect(await verifySession(changed, db, token, at(1000))).toBe(false);
    // Setting the old password back does not bring the session back.
    expect(await verifySession(config, db, token, at(2000))).toBe(false);
    const fresh = await openSession(changed, db, at(3000));
    expect(await verifySession(changed, db, fresh.token, at(4000))).toBe(true);
  });

  it('the lifetime is the server\'s: an expiry moved far into the future is capped at 8 hours from sign-in', async () => {
    const db = await engine.fresh();
    const { token } = await openSession(config, db, T0);
    await db.query(`update cronwarden.admin_sessions set expires_at = $1`, [at(365 * 86_400_000)]);
    expect(await verifySession(config, db, token, at(TTL_MS - 1))).toBe(true);
    expect(await verifySession(config, db, token, at(TTL_MS))).toBe(false);
  });

  it('the cookie is random and kept only as a SHA-256: nothing in it is derived from the password', async () => {
    const db = await engine.fresh();
    const tokens = [await openSession(config, db, T0), await openSession(testConfig({ ADMIN_PASSWORD: 'another password' }), db, T0)].map((s) => s.token);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(tokens).size).toBe(2);
    const stored = await db.query<{ token_sha256: string; password_fingerprint: string }>(`select token_sha256, password_fingerprint from cronwarden.admin_sessions`);
    for (const row of stored) {
      expect(tokens).not.toContain(row.token_sha256);
      expect(row.token_sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(row.password_fingerprint).not.toContain('correct horse battery');
    }
  });

  it('each install draws its own random salt for the password fingerprint', async () => {
    const salt = async (db: SqlDb) => {
      await openSession(config, db, T0);
      const [row] = await db.query<{ value: string }>(`select value from cronwarden.install_secrets where name = 'admin_password_salt'`);
      return row.value;
    };
    const one = await salt(await engine.fresh());
    const two = await salt(await engine.fresh());
    expect(one).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(one).not.toBe(two);
  });

  it('refuses forged, altered, malformed and unknown tokens', async () => {
    const db = await engine.fresh();
    const { token } = await openSession(config, db, T0);
    const flipped = `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
    for (const bad of [flipped, '9999999999.abc.def', '', undefined, `${token}x`, token.slice(1), 'A'.repeat(43)]) {
      expect(await verifySession(config, db, bad, at(1000)), String(bad)).toBe(false);
    }
  });

  it('requireAdmin: a valid session cookie passes; an ended, expired or missing one is a 401', async () => {
    const db = await engine.fresh();
    const status = async (h: Headers, c = config) => {
      try {
        await requireAdmin(h, c, async () => db);
        return 200;
      } catch (err) {
        return err instanceof AppError ? err.status : -1;
      }
    };
    const cookie = (t: string) => new Headers({ cookie: `theme=dark; ${SESSION_COOKIE}=${t}` });
    const live = await openSession(config, db);
    expect(await status(cookie(live.token))).toBe(200);
    await revokeSession(db, live.token);
    expect(await status(cookie(live.token))).toBe(401);
    const old = await openSession(config, db, new Date(Date.now() - TTL_MS - 1000));
    expect(await status(cookie(old.token))).toBe(401);
    expect(await status(new Headers())).toBe(401);
    expect(await status(new Headers({ authorization: 'Bearer correct horse battery' }))).toBe(401);
    expect(await status(new Headers({ cookie: `${SESSION_COOKIE}=x` }))).toBe(401);
  });

  it('requireAdmin: a 401 says when the server has no ADMIN_API_TOKEN to accept a bearer with', async () => {
    const db = await engine.fresh();
    const message = async (c: typeof config, h: Headers) => {
      try {
        await requireAdmin(h, c, async () => db);
        return 'passed';
      } catch (err) {
        return err instanceof AppError ? `${err.status} ${err.message}` : 'other';
      }
    };
    const bearer = new Headers({ authorization: 'Bearer some-token-0123456789abcdef' });
    expect(await message(config, bearer)).toMatch(/^401 .*no ADMIN_API_TOKEN configured.*\.data\/admin-api-token/);
    const withToken = testConfig({ ADMIN_PASSWORD: 'correct horse battery', ADMIN_API_TOKEN: 'the-api-token-0123456789' });
    expect(await message(withToken, bearer)).toBe('401 Sign in at /admin, or send "Authorization: Bearer <ADMIN_API_TOKEN>".');
    expect(await message(withToken, new Headers({ authorization: 'Bearer the-api-token-0123456789' }))).toBe('passed');
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
