import type { Config } from '../config';
import { bearerTokenOf } from '../cron/auth';
import { AppError } from './errors';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request (POST, PUT, PATCH, DELETE) that a browser sent from another
 * site, so no page elsewhere can sign the admin out, run a job or end a silence with the admin's
 * cookie. Checked before authentication and before any body is read:
 *   - `Sec-Fetch-Site` other than `same-origin` (or `none`, typed by the user): refused;
 *   - `Origin` that is not this app's (its Host, APP_URL, or a trusted proxy's X-Forwarded-Host): refused;
 *   - a request carrying cookies but neither header: refused (every current browser sends one
 *     of them on such a request, so its origin cannot be known);
 *   - a bearer token without cookies (scripts, curl, API clients) and a request without cookies
 *     or browser headers: allowed; no browser attaches a bearer token by itself.
 * Throws AppError 403 CROSS_SITE_REQUEST.
 */
export function assertSameOrigin(request: Request, config: Pick<Config, 'appUrl' | 'clientAddress'>): void {
  if (SAFE_METHODS.has(request.method.toUpperCase())) return;
  const headers = request.headers;
  const hasCookie = (headers.get('cookie') ?? '').trim() !== '';
  if (!hasCookie && bearerTokenOf(headers.get('authorization')) !== null) return;

  const site = headers.get('sec-fetch-site')?.trim().toLowerCase();
  if (site !== undefined && site !== 'same-origin' && site !== 'none') throw crossSite();
  const origin = headers.get('origin')?.trim();
  if (origin !== undefined && !ownHosts(request, config).has(hostOf(origin) ?? '\0')) throw crossSite();
  if (hasCookie && site === undefined && origin === undefined) throw crossSite();
}

function crossSite(): AppError {
  return new AppError(
    403,
    'CROSS_SITE_REQUEST',
    "Refused: changes are accepted only from this app's own pages (Origin / Sec-Fetch-Site), or with a bearer token.",
  );
}

/** The hosts (host:port) this app answers as: its Host header, APP_URL, and what a trusted proxy forwarded. */
function ownHosts(request: Request, config: Pick<Config, 'appUrl' | 'clientAddress'>): Set<string> {
  const own = new Set<string>();
  const host = request.headers.get('host')?.trim().toLowerCase();
  if (host) own.add(host);
  const app = hostOf(config.appUrl);
  if (app) own.add(app);
  if (config.clientAddress.trustProxyHops > 0 || config.clientAddress.vercel) {
    const forwarded = request.headers.get('x-forwarded-host')?.split(',')[0]?.trim().toLowerCase();
    if (forwarded) own.add(forwarded);
  }
  return own;
}

/** host:port of an origin or URL (default ports omitted, as in a Host header), or undefined. */
function hostOf(origin: string): string | undefined {
  if (origin === 'null') return undefined;
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return undefined;
  }
}
