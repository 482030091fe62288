import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { getApp } from '../app';
import type { Config } from '../config';
import { requireAdmin } from '../http/admin-auth';
import { AppError } from '../http/errors';

/**
 * For the admin pages (server components): the same guard as /api/admin/*, on the request's
 * headers. Without a valid session the visitor goes to the sign-in page (which also explains a
 * server without ADMIN_PASSWORD). Every page calls it: layouts are not re-run on navigation.
 */
export async function requireAdminPage(nextPath = '/admin'): Promise<Config> {
  const config = getApp().config;
  let allowed = false;
  try {
    await requireAdmin(await headers(), config);
    allowed = true;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
  }
  if (!allowed) redirect(nextPath === '/admin' ? '/admin/sign-in' : `/admin/sign-in?next=${encodeURIComponent(nextPath)}`);
  return config;
}

/** True when the request carries a valid admin session (for the sign-in page). */
export async function hasAdminSession(): Promise<boolean> {
  try {
    await requireAdmin(await headers(), getApp().config);
    return true;
  } catch {
    return false;
  }
}
