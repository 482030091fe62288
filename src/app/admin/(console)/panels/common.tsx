import type { ReactNode } from 'react';
import styles from '../../admin.module.css';

export function Stat({ label, value, tone, hint }: { label: string; value: ReactNode; tone?: 'ok' | 'warn' | 'bad'; hint?: string }) {
  const toneClass = tone === 'bad' ? styles.statBad : tone === 'warn' ? styles.statWarn : tone === 'ok' ? styles.statOk : '';
  return (
    <div className={`${styles.stat} ${toneClass}`} title={hint}>
      <div className={styles.statLabel}>{label}</div>
      <div className={styles.statValue}>{value}</div>
    </div>
  );
}

export function PanelUnavailable({ message }: { message: string }) {
  return (
    <div className={styles.empty} role="status">
      Could not load this panel: {message}
    </div>
  );
}

export function Badge({ status }: { status: string }) {
  return <span className={`${styles.badge} ${styles[`badge_${status.toLowerCase()}`] ?? ''}`}>{status}</span>;
}
