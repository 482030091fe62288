import styles from '../admin.module.css';

/** The runs-per-day chart's series: outcomes stacked, dry runs in a bar of their own. */
export const RUN_OUTCOME_SERIES = [
  { key: 'succeeded', name: 'Succeeded', color: '#1f9d55', stack: 'runs' },
  { key: 'partial', name: 'Partial', color: '#d68a1c', stack: 'runs' },
  { key: 'failed', name: 'Failed', color: '#c8372d', stack: 'runs' },
  { key: 'skipped', name: 'Skipped (overlap)', color: '#9aa3ad', stack: 'runs' },
  { key: 'dry_run', name: 'Dry run (changed nothing)', color: '#9db7f0', stack: 'dry' },
];

/** A run's status, and a "dry run" badge beside it for a run that changed nothing. */
export function RunStatusBadges({ status, dryRun }: { status: string; dryRun: boolean }) {
  return (
    <span className={styles.badges}>
      <span className={`${styles.badge} ${styles[`badge_${status}`] ?? ''}`} data-testid="run-status-badge">
        {status}
      </span>
      {dryRun && (
        <span className={`${styles.badge} ${styles.badge_dry}`} data-testid="dry-run-badge" title="A dry run reports what a run would do and changes nothing">
          dry run
        </span>
      )}
    </span>
  );
}
