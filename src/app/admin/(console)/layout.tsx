import Link from 'next/link';
import type { ReactNode } from 'react';
import styles from '../admin.module.css';

export const metadata = { title: 'Cronwarden admin' };

/**
 * Navigation only, no data. The sign-in check is in every page (`requireAdminPage`), which knows
 * its own path for the redirect back after signing in (layouts are not re-run on navigation).
 */
export default function AdminLayout({ children }: { children: ReactNode }) {
  return (
    <div className={styles.shell}>
      <header className={styles.header}>
        <Link href="/admin" className={styles.brand}>
          Cronwarden admin
        </Link>
        <nav className={styles.nav} aria-label="Sections">
          <Link href="/admin#jobs">Jobs</Link>
          <Link href="/admin#alerts">Alerts</Link>
          <Link href="/admin#runs">Runs</Link>
          <Link href="/admin#exports">Exports</Link>
          <Link href="/admin#maintenance">Maintenance</Link>
          <Link href="/admin#drafts">Drafts</Link>
          <Link href="/admin#deletions">User deletions</Link>
        </nav>
        <form method="post" action="/api/admin/session/sign-out" className={styles.signOut}>
          <button type="submit">Sign out</button>
        </form>
      </header>
      <main className={styles.main}>{children}</main>
    </div>
  );
}
