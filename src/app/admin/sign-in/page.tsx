import { redirect } from 'next/navigation';
import { getApp } from '@/lib/app';
import { hasAdminSession } from '@/lib/admin/guard';
import { DATABASE_UNAVAILABLE_ERROR, safeAdminPath } from '@/lib/admin/session';
import { isDatabaseUnavailable, type DatabaseUnavailableError } from '@/lib/db/availability';
import { DatabaseUnreachable } from '../(console)/database-unreachable';
import styles from '../admin.module.css';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Sign in · Cronwarden admin' };

/** The database's unavailability when it still cannot be reached, else null (it answers again). */
async function stillUnreachable(): Promise<DatabaseUnavailableError | null> {
  try {
    await (await getApp().db()).rpc('cronwarden_ping');
    return null;
  } catch (err) {
    if (isDatabaseUnavailable(err)) return err;
    throw err;
  }
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = safeAdminPath(first(params.next));
  if (await hasAdminSession()) redirect(next);

  const configured = Boolean(getApp().config.admin.password);
  const error = first(params.error);
  // Signing in needs the database (it keeps the sessions): while it is away, say so as the
  // console does; this page reloads itself and shows the form again once it answers.
  const unreachable = error === DATABASE_UNAVAILABLE_ERROR ? await stillUnreachable() : null;
  if (unreachable) {
    const retry = `/admin/sign-in?${new URLSearchParams({ error: DATABASE_UNAVAILABLE_ERROR, ...(next !== '/admin' ? { next } : {}) }).toString()}`;
    return (
      <div className={styles.shell}>
        <main className={styles.main}>
          <DatabaseUnreachable error={unreachable} since={getApp().database.downSince()} retryHref={retry} />
        </main>
      </div>
    );
  }
  const retryAfter = Number(first(params.retry_after));
  let message: string | null = null;
  if (error === 'invalid') message = 'Wrong password.';
  else if (error === 'rate_limited') {
    const minutes = Number.isFinite(retryAfter) && retryAfter > 0 ? Math.ceil(retryAfter / 60) : 15;
    message = `Too many failed attempts from this address. Try again in ${minutes} min.`;
  } else if (error === 'invalid_request') message = 'Enter the password.';

  return (
    <div className={`${styles.shell} ${styles.signInWrap}`}>
      <main className={styles.signInCard}>
        <h1>Cronwarden admin</h1>
        <p className={styles.panelNote}>Job health, run history and monitoring.</p>
        {configured ? (
          <form method="post" action="/api/admin/session">
            <input type="hidden" name="next" value={next} />
            <label htmlFor="password">Admin password</label>
            <input id="password" name="password" type="password" autoComplete="current-password" required autoFocus />
            <button className={styles.button} type="submit">
              Sign in
            </button>
            {message && (
              <p className={styles.alert} role="alert">
                {message}
              </p>
            )}
            {first(params.signed_out) && !message && <p className={styles.notice}>Signed out.</p>}
          </form>
        ) : (
          <p className={styles.alert} role="alert">
            ADMIN_PASSWORD is not set on the server, so the admin area is closed. Set it (at least 8 characters) and
            restart; <code>npm start</code> creates one in <code>.data/admin-password</code> when it is unset.
          </p>
        )}
      </main>
    </div>
  );
}
