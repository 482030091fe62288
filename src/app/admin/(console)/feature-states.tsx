import type { FeatureStates } from '@/lib/bindings/features';
import { FEATURES } from '@/lib/bindings/spec';
import styles from '../admin.module.css';

/**
 * Features that cannot run on this database: switched off in cronwarden.config.ts, or not bound
 * (with the one-line reasons naming the table and the setting). Their jobs are not run and
 * their alert rules stay quiet, so the console says why. Nothing is shown when every feature
 * is bound.
 */
export function FeatureStatesPanel({ states }: { states: FeatureStates }) {
  const off = FEATURES.map((f) => states[f]).filter((s) => s && !s.bound);
  if (off.length === 0) return null;
  return (
    <section id="features" className={styles.panel} data-testid="feature-states">
      <h2>Features not running here</h2>
      <p className={styles.panelNote}>
        Their jobs are not run and their alerts stay quiet. Change <code>cronwarden.config.ts</code>, then check with{' '}
        <code>npm run doctor</code>.
      </p>
      <ul>
        {off.map((s) => (
          <li key={s.feature} data-feature={s.feature}>
            <strong>{s.title}</strong>: {s.enabled ? 'not bound' : 'switched off'}
            {s.enabled && s.problems.length > 0 ? (
              <ul>
                {s.problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
