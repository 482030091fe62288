import type { DatabaseUnavailableError } from '@/lib/db/availability';
import { formatUtc } from '@/lib/admin/format';
import styles from './database-unreachable.module.css';

/** Seconds between automatic reloads while the database is unreachable. */
const RELOAD_SECONDS = 30;

/**
 * What the console shows instead of its pages while the database cannot be reached: where it
 * is (host and port, never credentials), since when, and what to check.
 */
export function DatabaseUnreachable({ error, since, retryHref }: { error: DatabaseUnavailableError; since: Date | null; retryHref: string }) {
  const { driver, host, port } = error.endpoint;
  const where = port === null ? 'the embedded database' : `${host}:${port}`;
  return (
    <section className={styles.page} role="alert" data-testid="database-unreachable">
      <meta httpEquiv="refresh" content={String(RELOAD_SECONDS)} />
      <h1 className={styles.title}>Database unreachable</h1>
      <p className={styles.lead}>
        Cronwarden cannot reach its database at <span className={styles.where}>{where}</span> ({error.reason})
        {since ? ` since ${formatUtc(since.toISOString())}` : ''}. Jobs cannot run and this console cannot show their
        state until the database answers again.
      </p>
      <ul className={styles.checks}>
        {driver === 'supabase' ? (
          <li>
            Is the Supabase project up and not paused? Check its status page and <code>SUPABASE_URL</code>.
          </li>
        ) : (
          <li>
            Is the server up and accepting connections? <code>pg_isready -h {host} -p {port ?? 5432}</code>
          </li>
        )}
        <li>Can this host reach it (network, firewall, DNS)?</li>
        <li>
          Does <code>{driver === 'supabase' ? 'SUPABASE_URL' : 'DATABASE_URL'}</code> point at the right host and port?
        </li>
      </ul>
      <a className={styles.retry} href={retryHref}>
        Try again
      </a>
      <p className={styles.note}>
        This page reloads every {RELOAD_SECONDS} s. Cron routes answer 503 DATABASE_UNAVAILABLE meanwhile; the outage
        and the recovery are each logged once (type database_unavailable / database_available).
      </p>
    </section>
  );
}
