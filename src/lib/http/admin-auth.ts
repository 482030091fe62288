import { createHash, randomBytes, scryptSync } from 'node:crypto';
import type { Config } from '../config';
import type { Db } from '../db/types';
import { bearerTokenOf, secretsEqual } from '../cron/auth';
import { AppError } from './errors';

export const SESSION_COOKIE = 'cw_admin';
export const SESSION_TTL_SECONDS = 8 * 60 * 60;

const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const SALT_NAME = 'admin_password_salt';

/** SHA-256 (hex) of a session token: the only form in which the server keeps it. */
function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Per database (its install salt) and password: the fingerprint's promise. */
const fingerprints = new WeakMap<Db, Map<string, Promise<string>>>();

/**
 * scrypt of ADMIN_PASSWORD under this install's random salt (kept in cronwarden.install_secrets),
 * computed once per database and password: a session opened under another password no longer
 * matches. Throws AppError 500 SERVER_MISCONFIGURED when ADMIN_PASSWORD is unset.
 */
async function passwordFingerprint(config: Config, db: Db): Promise<string> {
  const password = config.admin.password;
  if (!password) throw new AppError(500, 'SERVER_MISCONFIGURED', 'ADMIN_PASSWORD is not set on the server; the admin area is closed until it is.');
  let ofDb = fingerprints.get(db);
  if (!ofDb) fingerprints.set(db, (ofDb = new Map()));
  const known = ofDb;
  let cached = known.get(password);
  if (!cached) {
    cached = (async () => {
      const [row] = await db.rpc<{ value: string }>('install_secret', { p_name: SALT_NAME, p_candidate: randomBytes(32).toString('base64url') });
      return scryptSync(password, row.value, 32).toString('base64url');
    })();
    // A failed read (database away) is retried by the next request, not cached.
    cached.catch(() => known.delete(password));
    known.set(password, cached);
  }
  return cached;
}

/**
 * Opens a server-side session (SESSION_TTL_SECONDS from `now`) and returns its cookie token: 32
 * random bytes, base64url. Shape: `{ token, expiresAt }` (UTC). Throws AppError 500 without
 * ADMIN_PASSWORD, the database's error when it is away.
 */
export async function openSession(config: Config, db: Db, now = new Date()): Promise<{ token: string; expiresAt: Date }> {
  const token = randomBytes(32).toString('base64url');
  const [row] = await db.rpc<{ expires_at: Date | string }>('admin_session_open', {
    p_token_sha256: tokenDigest(token),
    p_password_fingerprint: await passwordFingerprint(config, db),
    p_ttl_seconds: SESSION_TTL_SECONDS,
    p_now: now,
  });
  return { token, expiresAt: new Date(row.expires_at) };
}

/**
 * True while the session of `token` is open: not signed out, opened under the current
 * ADMIN_PASSWORD, and younger than SESSION_TTL_SECONDS whatever the cookie says.
 */
export async function verifySession(config: Config, db: Db, token: string | undefined, now = new Date()): Promise<boolean> {
  if (!token || !TOKEN_PATTERN.test(token) || !config.admin.password) return false;
  const [row] = await db.rpc<{ valid: boolean }>('admin_session_check', {
    p_token_sha256: tokenDigest(token),
    p_password_fingerprint: await passwordFingerprint(config, db),
    p_max_ttl_seconds: SESSION_TTL_SECONDS,
    p_now: now,
  });
  return row?.valid === true;
}

/** Ends the session of `token` (sign-out); a missing or unknown token is a no-op. */
export async function revokeSession(db: Db, token: string | undefined, now = new Date()): Promise<void> {
  if (!token || !TOKEN_PATTERN.test(token)) return;
  await db.rpc('admin_session_revoke', { p_token_sha256: tokenDigest(token), p_now: now });
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
 * Guard for /api/admin/* (and the admin page's server code): a valid session cookie (checked in
 * the database, see verifySession), or `Authorization: Bearer <ADMIN_API_TOKEN>` for scripts and
 * curl. `openDb` gives the database only when a cookie must be checked. Throws AppError 401/500,
 * or the database's error when it is away.
 */
export async function requireAdmin(headers: Headers, config: Config, openDb: () => Promise<Db> = appDb): Promise<void> {
  const auth = headers.get('authorization');
  if (auth && config.admin.apiToken) {
    const token = bearerTokenOf(auth);
    if (token !== null && token.length <= 512 && secretsEqual(token, config.admin.apiToken)) return;
  }
  if (!config.admin.password && !config.admin.apiToken) {
    throw new AppError(500, 'SERVER_MISCONFIGURED', 'ADMIN_PASSWORD is not set on the server; the admin area is closed until it is.');
  }
  const cookie = readCookie(headers.get('cookie'), SESSION_COOKIE);
  if (config.admin.password && cookie && (await verifySession(config, await openDb(), cookie))) return;
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

/** The app's database (imported when first needed: the app module imports this one's users). */
async function appDb(): Promise<Db> {
  const { getJobDeps } = await import('../app');
  return (await getJobDeps()).db;
}
