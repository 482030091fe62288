import { redirect } from 'next/navigation';
import { getApp } from '@/lib/app';
import { hasAdminSession } from '@/lib/admin/guard';
import { safeAdminPath } from '@/lib/admin/session';
import styles from '../admin.module.css';

export const dynamic = 'force-dynamic';
export const metadata = { title: 'Sign in · Cronwarden admin' };

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export default async function SignInPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const next = safeAdminPath(first(params.next));
  if (await hasAdminSession()) redirect(next);

  const configured = Boolean(getApp().config.admin.password);
  const error = first(params.error);
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
