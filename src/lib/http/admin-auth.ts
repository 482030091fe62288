import { createHmac, randomBytes } from 'node:crypto';
import type { Config } from '../config';
import { bearerTokenOf, secretsEqual } from '../cron/auth';
import { AppError } from './errors';

export const SESSION_COOKIE = 'cw_admin';
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

/** Key for signing session cookies: SESSION_SECRET, else derived from ADMIN_PASSWORD. */
function signingKey(config: Config): string {
  if (config.admin.sessionSecret) return config.admin.sessionSecret;
  if (config.admin.password) return createHmac('sha256', 'cronwarden-session').update(config.admin.password).digest('hex');
  throw new AppError(500, 'SERVER_MISCONFIGURED', 'ADMIN_PASSWORD is not set on the server; the admin area is closed until it is.');
}

function sign(payload: string, key: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url');
}

/** `<expiresAtSeconds>.<nonce>.<signature>`: httpOnly, SameSite=strict, no server-side state. */
export function createSessionToken(config: Config, now = Date.now()): string {
  const payload = `${Math.floor(now / 1000) + SESSION_TTL_SECONDS}.${randomBytes(12).toString('base64url')}`;
  return `${payload}.${sign(payload, signingKey(config))}`;
}

export function verifySessionToken(config: Config, token: string | undefined, now = Date.now()): boolean {
  if (!token || token.length > 200) return false;
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  const [exp, nonce, sig] = parts;
  if (!secretsEqual(sig, sign(`${exp}.${nonce}`, signingKey(config)))) return false;
  const expires = Number(exp);
  return Number.isInteger(expires) && expires * 1000 > now;
}

export function sessionCookie(token: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${SESSION_TTL_SECONDS}${secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(): string {
  return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
}

export function readCookie(header: string | null, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/**
 * Guard for /api/admin/* (and the admin page's server code): a valid session cookie, or
 * `Authorization: Bearer <ADMIN_API_TOKEN>` for scripts and curl. Throws AppError 401/500.
 */
export function requireAdmin(headers: Headers, config: Config): void {
  const auth = headers.get('authorization');
  if (auth && config.admin.apiToken) {
    const token = bearerTokenOf(auth);
    if (token !== null && token.length <= 512 && secretsEqual(token, config.admin.apiToken)) return;
  }
  if (!config.admin.password && !config.admin.apiToken) {
    throw new AppError(500, 'SERVER_MISCONFIGURED', 'ADMIN_PASSWORD is not set on the server; the admin area is closed until it is.');
  }
  if (config.admin.password && verifySessionToken(config, readCookie(headers.get('cookie'), SESSION_COOKIE))) return;
  if (!config.admin.apiToken) {
    throw new AppError(
      401,
      'UNAUTHORIZED',
      'Sign in at /admin. This server has no ADMIN_API_TOKEN configured, so it accepts no bearer token: set ADMIN_API_TOKEN ' +
        '(at least 16 characters; `npm start` keeps one in .data/admin-api-token) and restart.',
    );
  }
  throw new AppError(401, 'UNAUTHORIZED', 'Sign in at /admin, or send "Authorization: Bearer <ADMIN_API_TOKEN>".');
}
