import { z } from 'zod';
import { secretsEqual } from '../cron/auth';
import { failureResponse } from '../cron/route';
import { getApp, getJobDeps } from '../app';
import { isDatabaseUnavailable } from '../db/availability';
import { clearedSessionCookie, openSession, readCookie, revokeSession, SESSION_COOKIE, sessionCookie } from '../http/admin-auth';
import { readBodyText, readForm } from '../http/body';
import { AppError, errorResponse, jsonResponse } from '../http/errors';
import { clientAddress } from '../http/client-address';
import { FailureRateLimiter } from '../http/rate-limit';
import { assertSameOrigin } from '../http/same-origin';

/** Wrong passwords allowed per client address inside SIGN_IN_WINDOW_MS before 429. */
export const SIGN_IN_FAILURE_LIMIT = 5;
export const SIGN_IN_WINDOW_MS = 15 * 60 * 1000;

const signInLimiter = new FailureRateLimiter({ limit: SIGN_IN_FAILURE_LIMIT, windowMs: SIGN_IN_WINDOW_MS });

const jsonBody = z.strictObject({
  password: z.string().min(1, { message: 'is required' }).max(1024, { message: 'is too long' }),
});

/** Where to go after signing in: only paths inside /admin (no open redirects). */
export function safeAdminPath(raw: unknown): string {
  if (typeof raw !== 'string') return '/admin';
  return /^\/admin(\/[A-Za-z0-9_~-]+)*\/?$/.test(raw) && !raw.startsWith('/admin/sign-in') ? raw : '/admin';
}

function isForm(request: Request): boolean {
  const type = request.headers.get('content-type') ?? '';
  return type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data');
}

function isHttps(request: Request): boolean {
  const proto = request.headers.get('x-forwarded-proto')?.split(',')[0].trim();
  return (proto ?? new URL(request.url).protocol.replace(':', '')) === 'https';
}

function redirectTo(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 303, headers: { location, 'cache-control': 'no-store', ...headers } });
}

/** The sign-in page's `error` when the database (which keeps the sessions) cannot be reached. */
export const DATABASE_UNAVAILABLE_ERROR = 'database_unavailable';

function signInPage(params: Record<string, string>): string {
  return `/admin/sign-in?${new URLSearchParams(params).toString()}`;
}

/** The password (and where to go next), read under the body cap whatever the transfer encoding. */
async function readCredentials(request: Request, form: boolean): Promise<{ password: string; next: string }> {
  if (form) {
    const data = await readForm(request);
    const password = data.get('password');
    if (typeof password !== 'string' || password === '' || password.length > 1024) {
      throw new AppError(400, 'INVALID_PARAMETER', "Invalid field 'password': is required.");
    }
    return { password, next: safeAdminPath(data.get('next')) };
  }
  const text = await readBodyText(request);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AppError(400, 'INVALID_JSON', 'Send a JSON body {"password": "..."} or a form with a password field.');
  }
  const parsed = jsonBody.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.code === 'unrecognized_keys' ? issue.keys.join(', ') : issue.path.join('.') || 'body';
    throw new AppError(400, 'INVALID_PARAMETER', `Invalid field '${field.slice(0, 64)}': ${issue.message}.`);
  }
  return { password: parsed.data.password, next: '/admin' };
}

/**
 * POST /api/admin/session: signs in with ADMIN_PASSWORD (JSON `{password}` or a form post, at
 * most 8 KB: 413 beyond, whatever the transfer encoding). Refused (403) from another site. Wrong
 * passwords count per client address (the socket's, see client-address.ts); past the limit every
 * attempt (right or wrong) gets 429 with Retry-After until the window ends. Forms get 303
 * redirects (to the sign-in page saying the database is unreachable while it is), JSON callers
 * status codes (503 DATABASE_UNAVAILABLE while the database is away).
 */
export async function signIn(request: Request): Promise<Response> {
  const form = isForm(request);
  let formNext: string | undefined;
  try {
    const { config, log } = getApp();
    assertSameOrigin(request, config);
    const ip = clientAddress(request, config.clientAddress);
    if (!config.admin.password) {
      throw new AppError(500, 'SERVER_MISCONFIGURED', 'ADMIN_PASSWORD is not set on the server; the admin area is closed until it is.');
    }
    const limited = (retryAfterSeconds: number) => {
      const headers = { 'retry-after': String(retryAfterSeconds) };
      if (form) return redirectTo(signInPage({ error: 'rate_limited', retry_after: String(retryAfterSeconds) }), headers);
      return errorResponse(
        429,
        'TOO_MANY_ATTEMPTS',
        `Too many failed sign-in attempts; try again in ${Math.ceil(retryAfterSeconds / 60)} min.`,
        { retry_after_seconds: retryAfterSeconds },
        headers,
      );
    };
    const before = signInLimiter.check(ip);
    if (!before.allowed) return limited(before.retryAfterSeconds);

    const { password, next } = await readCredentials(request, form);
    if (next !== '/admin') formNext = next;
    if (!secretsEqual(password, config.admin.password)) {
      const after = signInLimiter.fail(ip);
      log.warn({ type: 'admin_sign_in_failed', client_ip: ip, failures: after.failures }, 'admin sign-in refused');
      if (!after.allowed) return limited(after.retryAfterSeconds);
      if (form) return redirectTo(signInPage({ error: 'invalid', ...(next !== '/admin' ? { next } : {}) }));
      return errorResponse(401, 'INVALID_PASSWORD', 'Wrong password.');
    }
    signInLimiter.reset(ip);
    const { db, now } = await getJobDeps();
    const session = await openSession(config, db, now());
    const cookie = sessionCookie(session.token, isHttps(request));
    log.info({ type: 'admin_signed_in', client_ip: ip }, 'admin signed in');
    if (form) return redirectTo(next, { 'set-cookie': cookie });
    return jsonResponse({ success: true, expires_at: session.expiresAt.toISOString() }, 200, { 'set-cookie': cookie });
  } catch (err) {
    // A body over the cap and a cross-site post get their status, not a friendly redirect.
    if (form && err instanceof AppError && err.status < 500 && err.status !== 413 && err.status !== 403) {
      return redirectTo(signInPage({ error: 'invalid_request' }));
    }
    // A person at the sign-in form gets the console's "database unreachable" page, not JSON.
    if (form && isDatabaseUnavailable(err)) return redirectTo(signInPage({ error: DATABASE_UNAVAILABLE_ERROR, ...(formNext ? { next: formNext } : {}) }));
    return failureResponse(err);
  }
}

/**
 * DELETE /api/admin/session (JSON) and POST /api/admin/session/sign-out (form): ends the session
 * on the server (a copy of the cookie no longer works) and clears the cookie. Refused (403) from
 * another site. The cookie is cleared even when the database cannot be reached.
 */
export async function signOut(request: Request, form: boolean): Promise<Response> {
  let app: ReturnType<typeof getApp> | undefined;
  try {
    app = getApp();
  } catch {
    // an invalid configuration must not keep the cookie alive
  }
  try {
    // Another site must not be able to sign the admin out either.
    assertSameOrigin(request, app?.config ?? { appUrl: '', clientAddress: { trustProxyHops: 0, vercel: false } });
  } catch (err) {
    return failureResponse(err);
  }
  const token = readCookie(request.headers.get('cookie'), SESSION_COOKIE);
  if (app && token) {
    try {
      const { db, now } = await getJobDeps();
      await revokeSession(db, token, now());
    } catch (err) {
      app.log.error({ type: 'admin_sign_out_not_recorded', err }, 'the session could not be ended on the server; it ends at its expiry');
    }
  }
  app?.log.info({ type: 'admin_signed_out', client_ip: clientAddress(request, app.config.clientAddress) }, 'admin signed out');
  const cookie = clearedSessionCookie();
  if (form) return redirectTo('/admin/sign-in?signed_out=1', { 'set-cookie': cookie });
  return jsonResponse({ success: true }, 200, { 'set-cookie': cookie });
}
