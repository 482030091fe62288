import { redirect } from 'next/navigation';
import { getApp } from '@/lib/app';
import { adminSessionProbe } from '@/lib/admin/guard';
import { safeAdminPath } from '@/lib/admin/session';
import { isDatabaseUnavailable } from '@/lib/db/availability';
import { DatabaseUnreachable } from '../database-unreachable';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Database unreachable · Cronwarden admin' };

/**
 * Where a console page sends the visitor while the database (which also keeps the admin
 * sessions) cannot be reached: says so, reloads, and once it answers goes back to `next`
 * (or to the sign-in page without a valid session).
 */
export default async function DatabaseUnavailablePage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const next = safeAdminPath((await searchParams).next);
  const outcome = await adminSessionProbe();
  if (isDatabaseUnavailable(outcome)) return <DatabaseUnreachable error={outcome} since={getApp().database.downSince()} retryHref={next} />;
  redirect(outcome === 'allowed' ? next : next === '/admin' ? '/admin/sign-in' : `/admin/sign-in?next=${encodeURIComponent(next)}`);
}
