import type { ReactNode } from 'react';
import type { FeatureState } from '@/lib/bindings/features';
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

/**
 * What a feature's panel shows instead of its data when the feature is switched off or not bound
 * to this database, with the reasons (the same lines as start-up, /api/health and the doctor).
 */
export function FeatureUnavailable({ state }: { state: FeatureState }) {
  return (
    <div className={styles.featureOff} role="status" data-testid="feature-unavailable" data-feature={state.feature} data-bound={String(state.bound)} data-enabled={String(state.enabled)}>
      {state.enabled ? (
        <>
          <p className={styles.featureOffTitle}>{state.title} is not bound to this database, so its jobs do not run and its alerts stay quiet.</p>
          <ul className={styles.featureOffReasons}>
            {state.problems.map((p) => (
              <li key={p}>{p}</li>
            ))}
          </ul>
          <p className={styles.featureOffHint}>
            Fix the binding in <code>cronwarden.config.ts</code> (check it with <code>npm run doctor</code>), or switch the feature off with{' '}
            <code>bindings.{state.feature}.enabled: false</code>.
          </p>
        </>
      ) : (
        <p className={styles.featureOffTitle}>
          {state.title} is switched off (<code>bindings.{state.feature}.enabled</code> in <code>cronwarden.config.ts</code>): its jobs do not run and
          its alerts stay quiet.
        </p>
      )}
    </div>
  );
}
