import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { getApp } from '../app';
import type { Config } from '../config';
import { isDatabaseUnavailable, type DatabaseUnavailableError } from '../db/availability';
import { requireAdmin } from '../http/admin-auth';
import { AppError } from '../http/errors';

/** Where the console says the database cannot be reached, then returns to `nextPath`. */
export const unavailablePath = (nextPath: string) => `/admin/unavailable?next=${encodeURIComponent(nextPath)}`;

/**
 * For the admin pages (server components): the same guard as /api/admin/*, on the request's
 * headers. Without a valid session the visitor goes to the sign-in page (which also explains a
 * server without ADMIN_PASSWORD); while the database that keeps the sessions cannot be reached,
 * to the console's "database unreachable" page. Every page calls it: layouts are not re-run on
 * navigation.
 */
export async function requireAdminPage(nextPath = '/admin'): Promise<Config> {
  const outcome = await adminSessionProbe();
  if (isDatabaseUnavailable(outcome)) redirect(unavailablePath(nextPath));
  if (outcome !== 'allowed') redirect(nextPath === '/admin' ? '/admin/sign-in' : `/admin/sign-in?next=${encodeURIComponent(nextPath)}`);
  return getApp().config;
}

/**
 * The request's admin check as a value: `allowed`, `refused`, or the database's unavailability
 * (the session cannot be checked while it is away). Other errors are thrown.
 */
export async function adminSessionProbe(): Promise<'allowed' | 'refused' | DatabaseUnavailableError> {
  try {
    await requireAdmin(await headers(), getApp().config);
    return 'allowed';
  } catch (err) {
    if (isDatabaseUnavailable(err)) return err;
    if (err instanceof AppError) return 'refused';
    throw err;
  }
}

/** True when the request carries a valid admin session (for the sign-in page). */
export async function hasAdminSession(): Promise<boolean> {
  try {
    return (await adminSessionProbe()) === 'allowed';
  } catch {
    return false;
  }
}
