import { getApp } from '@/lib/app';
import { configuredChannels, NO_ALERT_CHANNEL_WARNING } from '@/lib/alerts/channels';
import styles from '../admin.module.css';

/**
 * Warnings an operator must see on every console page: alerts that open but are sent nowhere.
 * Reads the configuration only (no database).
 */
export function OperatorWarnings() {
  const { config } = getApp();
  if (configuredChannels(config).length > 0) return null;
  return (
    <div className={styles.banner} role="alert" data-testid="no-alert-channel">
      <strong>Nobody is told about alerts.</strong> {NO_ALERT_CHANNEL_WARNING} See <code>docs/alerting.md</code>.
    </div>
  );
}
