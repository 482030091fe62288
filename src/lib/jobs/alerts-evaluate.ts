import { z } from 'zod';
import { createChannels } from '../alerts/channels';
import type { AlertChannel } from '../alerts/channels/types';
import { evaluateAlerts } from '../alerts/engine';
import { allRules } from '../alerts/rules';
import { pruneAlerts } from '../alerts/store';
import type { AlertRule } from '../alerts/types';
import type { Config } from '../config';
import { defineJob, type JobError } from '../cron/types';

const input = z.strictObject({});

export interface AlertsEvaluateWiring {
  rules: () => readonly AlertRule[];
  channels: (config: Config) => AlertChannel[];
}

/** What the job evaluates and where it sends; tests replace it, the app uses every rule and channel. */
export const alertsEvaluateWiring: AlertsEvaluateWiring = {
  rules: () => allRules,
  channels: (config) => createChannels(config),
};

/**
 * Every 5 minutes: evaluates every alert rule, opens/updates/resolves alerts, sends owed
 * notifications (trigger, repeat every ALERT_REPEAT_MINUTES, resolve; failed channels retried),
 * and prunes one batch of alert history (notifications > 30 days, resolved alerts > 90 days).
 */
export const alertsEvaluateJob = defineJob({
  name: 'alerts-evaluate',
  description: 'Evaluate the alert rules and send alert notifications',
  input,
  maxDurationSeconds: 60,
  async run({ db, config, log, dryRun, startedAt, budget, features, rules: ruleStates }) {
    const channels = alertsEvaluateWiring.channels(config);
    const rules = alertsEvaluateWiring.rules();
    try {
      const summary = await evaluateAlerts({
        db,
        config,
        log,
        now: startedAt,
        rules,
        channels,
        dryRun,
        resolveUnknownRules: true,
        budget,
        features,
        ruleStates,
      });
      const pruned = await pruneAlerts(db, { now: startedAt, dryRun });
      const errors: JobError[] = summary.rule_errors.map((e) => ({ subject: `rule:${e.rule_id}`, message: e.message }));
      const t = summary.transitions;
      const written = t.pending + t.opened + t.resolved;
      return {
        errors,
        rows_affected: dryRun ? 0 : written + pruned.notifications_deleted + pruned.alerts_deleted + pruned.silences_deleted,
        // Every rule failing is a failed evaluation; some failing is reported in errors.
        failed: summary.rules_evaluated === 0 && summary.rules_deferred === 0 && summary.rule_errors.length > 0,
        rules_evaluated: summary.rules_evaluated,
        rules_disabled: summary.rules_disabled,
        rules_deferred: summary.rules_deferred,
        observations: summary.observations,
        transitions: summary.transitions,
        changes: summary.changes,
        notifications: summary.notifications,
        channels: channels.map((c) => c.name),
        open_alerts: summary.open_alerts,
        [dryRun ? 'would_prune' : 'pruned']: pruned,
        partial: summary.rules_deferred > 0 || summary.notifications.deferred > 0,
      };
    } finally {
      await Promise.all(channels.map((c) => c.close?.().catch(() => undefined)));
    }
  },
});
