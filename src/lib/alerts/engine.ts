import type { FeatureStates } from '../bindings/apply';
import type { Config } from '../config';
import type { Budget } from '../cron/types';
import type { Db } from '../db/types';
import type { RuleStates } from '../policies/apply';
import { scrubSecrets, type Logger } from '../logger';
import type { AlertChannel, AlertNotification } from './channels/types';
import { DEFAULT_CHANNEL_TIMEOUT_MS } from './channels/types';
import { atLeast } from './severity';
import {
  alertCounts,
  dueNotifications,
  observeAlert,
  recordNotifications,
  resolveAbsent,
  resolveUnknownRules,
  type AlertRow,
  type ChannelResult,
  type DueNotification,
  type Transition,
} from './store';
import { breaches, type AlertObservation, type AlertRule, type Severity } from './types';

export interface EvaluateOptions {
  db: Db;
  config: Config;
  log: Logger;
  /** Evaluation time: every rule, every state change and every repeat decision uses it. */
  now: Date;
  rules: readonly AlertRule[];
  channels: readonly AlertChannel[];
  /** Observe and report what would change; write nothing, send nothing. */
  dryRun?: boolean;
  /**
   * Resolve active alerts of rules that are not in `rules` (a removed or renamed rule). The
   * evaluate job passes true with the full rule list; leave it off when evaluating a subset.
   */
  resolveUnknownRules?: boolean;
  /** Which features are bound: rules of the others stay quiet (and their alerts resolve). */
  features?: FeatureStates;
  /** The team's rules (policies, orphan sweeps) as checked at start: the jobs of unbound ones are not watched. */
  ruleStates?: RuleStates;
  /** A rule whose observe takes longer fails for this evaluation (default 20 s). */
  ruleTimeoutMs?: number;
  /** What one round of sends may take (default: the channels' 10 s timeout + 1 s). */
  sendEstimateMs?: number;
  /** Stops starting notification rounds when the run's time is nearly up (they stay owed). */
  budget?: Pick<Budget, 'hasTimeFor'>;
}

export interface AlertChange {
  alert_id: string | null;
  rule_id: string;
  subject: string;
  severity: Severity;
  transition: Exclude<Transition, 'none' | 'updated'>;
  value: number | null;
  threshold: number | null;
  silenced: boolean;
}

export interface EvaluationSummary {
  dry_run: boolean;
  rules_evaluated: number;
  rules_disabled: number;
  /** Not evaluated because the run's time budget ran out; evaluated next time. */
  rules_deferred: number;
  rule_errors: { rule_id: string; message: string }[];
  observations: number;
  transitions: { pending: number; opened: number; updated: number; resolved: number };
  /** State changes (pending, opened, resolved), at most 100. */
  changes: AlertChange[];
  notifications: {
    sent: number;
    failed: number;
    /** Owed but held back by a silence (the alert's state is still tracked). */
    silenced: number;
    /** Below ALERT_MIN_SEVERITY: recorded as done without sending. */
    below_min_severity: number;
    /** Not attempted because the run's time budget ran out; sent at the next evaluation. */
    deferred: number;
    /** Resolve messages given up after their retry window. */
    abandoned: number;
  };
  open_alerts: number;
}

const DEFAULT_RULE_TIMEOUT_MS = 20_000;
const MAX_SUBJECT_LENGTH = 200;
const MAX_CHANGES = 100;

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Checks a rule's answer; bad entries are reported and skipped, never fed to the state machine. */
function validObservations(rule: AlertRule, raw: unknown): { ok: AlertObservation[]; problems: string[]; keep: string[] } {
  const ok: AlertObservation[] = [];
  const problems: string[] = [];
  const keep: string[] = [];
  if (!Array.isArray(raw)) return { ok, problems: ['observe() did not return an array'], keep };
  const seen = new Set<string>();
  for (const o of raw as AlertObservation[]) {
    const subject = o?.subject;
    if (typeof subject !== 'string' || subject === '' || subject.length > MAX_SUBJECT_LENGTH) {
      problems.push(`invalid subject ${JSON.stringify(subject)?.slice(0, 80)} (a non-empty string of at most ${MAX_SUBJECT_LENGTH} characters)`);
      continue;
    }
    keep.push(subject);
    if (typeof o.value !== 'number' || !Number.isFinite(o.value)) {
      problems.push(`subject ${subject}: value ${String(o.value)} is not a finite number`);
      continue;
    }
    if (seen.has(subject)) {
      problems.push(`subject ${subject} observed more than once; the first observation counts`);
      continue;
    }
    seen.add(subject);
    ok.push(o);
  }
  if (problems.length) problems.unshift(`rule ${rule.id}:`);
  return { ok, problems, keep };
}

function logChange(log: Logger, row: AlertRow, rule: AlertRule | undefined, dryRun: boolean, extra: Record<string, unknown> = {}): void {
  const t = row.transition;
  if (t !== 'pending' && t !== 'opened' && t !== 'resolved') return;
  const fields = {
    type: 'alert',
    transition: t,
    alert_id: row.id,
    rule_id: row.rule_id,
    subject: row.subject,
    severity: row.severity,
    title: row.title,
    state: row.state,
    value: row.value,
    threshold: row.threshold,
    silenced: row.silenced,
    response_sla: rule?.responseSla,
    dry_run: dryRun,
    ...extra,
  };
  const text = `alert ${t}: ${row.title} (${row.subject})`;
  if (t === 'opened') {
    if (row.severity === 'HIGH' || row.severity === 'CRITICAL') log.error(fields, text);
    else log.warn(fields, text);
  } else {
    log.info(fields, text);
  }
}

function notificationFor(d: DueNotification, rule: AlertRule | undefined, url: string, now: Date): AlertNotification {
  return {
    kind: d.notify_kind,
    alert: {
      id: d.id,
      rule_id: d.rule_id,
      subject: d.subject,
      severity: d.severity,
      title: d.title,
      state: d.state,
      value: d.value,
      threshold: d.threshold,
      details: d.details,
      first_seen: d.first_seen,
      opened_at: d.opened_at,
      resolved_at: d.resolved_at,
    },
    rule: rule ? { comparison: rule.comparison, responseSla: rule.responseSla, runbook: rule.runbook } : undefined,
    dedupKey: `${d.rule_id}:${d.subject}`,
    url,
    sentAt: now,
  };
}

/**
 * One evaluation: every enabled rule observes, each observation goes through alert_observe
 * (SQL decides pending/opened/updated/resolved), subjects a rule no longer reports are resolved,
 * and then every owed notification (trigger, repeat, resolve) is sent to the channels that have
 * not delivered it yet. A rule that throws, or a channel that fails, is logged and reported and
 * never stops the others; failed channels are retried at the next evaluation.
 */
export async function evaluateAlerts(o: EvaluateOptions): Promise<EvaluationSummary> {
  const { db, config, log, now, rules, channels } = o;
  const dryRun = o.dryRun ?? false;
  const summary: EvaluationSummary = {
    dry_run: dryRun,
    rules_evaluated: 0,
    rules_disabled: 0,
    rules_deferred: 0,
    rule_errors: [],
    observations: 0,
    transitions: { pending: 0, opened: 0, updated: 0, resolved: 0 },
    changes: [],
    notifications: { sent: 0, failed: 0, silenced: 0, below_min_severity: 0, deferred: 0, abandoned: 0 },
    open_alerts: 0,
  };
  const byId = new Map<string, AlertRule>();

  const track = (row: AlertRow, rule: AlertRule | undefined, extra?: Record<string, unknown>) => {
    const t = row.transition;
    if (!t || t === 'none') return;
    summary.transitions[t]++;
    if (t === 'updated') return;
    logChange(log, row, rule, dryRun, extra);
    if (summary.changes.length < MAX_CHANGES) {
      summary.changes.push({
        alert_id: row.id,
        rule_id: row.rule_id,
        subject: row.subject,
        severity: row.severity,
        transition: t,
        value: row.value,
        threshold: row.threshold,
        silenced: row.silenced,
      });
    }
  };
  const ruleError = (ruleId: string, message: string, err?: unknown) => {
    const text = scrubSecrets(message, config.secrets).slice(0, 1000);
    summary.rule_errors.push({ rule_id: ruleId, message: text });
    log.error({ type: 'alert_rule_failed', rule_id: ruleId, err: err ?? undefined, error: text }, `alert rule ${ruleId} failed`);
  };

  let slowestRuleMs = 0;
  for (const rule of rules) {
    if (o.budget && !o.budget.hasTimeFor(Math.max(1_000, slowestRuleMs * 2))) {
      // Its alerts stay as they are (neither updated nor resolved) until the next evaluation.
      summary.rules_deferred++;
      if (!byId.has(rule.id)) byId.set(rule.id, rule);
      continue;
    }
    const ruleStarted = performance.now();
    if (byId.has(rule.id)) {
      ruleError(rule.id, 'duplicate rule id: only the first rule with this id is evaluated');
      continue;
    }
    byId.set(rule.id, rule);
    try {
      if (rule.enabled && !rule.enabled(config)) {
        summary.rules_disabled++;
        for (const row of await resolveAbsent(db, rule.id, [], 'rule disabled by configuration', now, dryRun)) track(row, rule);
        continue;
      }
      const feature = rule.feature ? o.features?.[rule.feature] : undefined;
      if (feature && !feature.bound) {
        summary.rules_disabled++;
        const reason = feature.enabled ? `feature ${feature.feature} is not bound` : `feature ${feature.feature} is switched off`;
        for (const row of await resolveAbsent(db, rule.id, [], reason, now, dryRun)) track(row, rule);
        continue;
      }
      const raw = await withTimeout(
        Promise.resolve().then(() => rule.observe({ db, config, now, log, dryRun, features: o.features, rules: o.ruleStates })),
        o.ruleTimeoutMs ?? DEFAULT_RULE_TIMEOUT_MS,
        `rule ${rule.id}`,
      );
      summary.rules_evaluated++;
      const { ok, problems, keep } = validObservations(rule, raw);
      const threshold = rule.thresholdFrom?.(config) ?? rule.threshold;
      if (problems.length) ruleError(rule.id, problems.join(' '));
      for (const obs of ok) {
        summary.observations++;
        const row = await observeAlert(db, {
          ruleId: rule.id,
          subject: obs.subject,
          breached: breaches({ comparison: rule.comparison, threshold }, obs.value),
          value: obs.value,
          threshold,
          severity: rule.severity,
          title: rule.title,
          details: obs.details,
          forSeconds: rule.forSeconds,
          now,
          dryRun,
          reopenSeconds: config.alerts.repeatMinutes * 60,
        });
        track(row, rule);
      }
      if (Array.isArray(raw)) {
        for (const row of await resolveAbsent(db, rule.id, keep, 'subject no longer observed', now, dryRun)) {
          track(row, rule, { reason: 'subject no longer observed' });
        }
      }
    } catch (err) {
      ruleError(rule.id, messageOf(err), err);
    }
    slowestRuleMs = Math.max(slowestRuleMs, performance.now() - ruleStarted);
  }

  if (o.resolveUnknownRules) {
    try {
      for (const row of await resolveUnknownRules(db, [...byId.keys()], now, dryRun)) track(row, undefined, { reason: 'rule no longer exists' });
    } catch (err) {
      ruleError('(unknown rules)', messageOf(err), err);
    }
  }

  if (!dryRun) await notify(o, byId, summary);

  summary.open_alerts = (await alertCounts(db, now)).reduce((n, c) => n + c.open_alerts, 0);
  return summary;
}

async function notify(o: EvaluateOptions, rules: Map<string, AlertRule>, summary: EvaluationSummary): Promise<void> {
  const { db, config, log, now, channels } = o;
  const minSeverity = config.alerts.minSeverity ?? 'LOW';
  const url = `${config.appUrl.replace(/\/+$/, '')}/admin#alerts`;
  const estimate = o.sendEstimateMs ?? DEFAULT_CHANNEL_TIMEOUT_MS + 1_000;
  const due = await dueNotifications(db, config.alerts.repeatMinutes, now);

  for (const d of due) {
    const base = { alert_id: d.id, rule_id: d.rule_id, subject: d.subject, severity: d.severity, kind: d.notify_kind };
    if (d.abandoned) {
      summary.notifications.abandoned++;
      log.warn({ type: 'alert_notification_abandoned', ...base }, 'resolve message not delivered within its retry window; given up');
      continue;
    }
    if (d.silenced) {
      summary.notifications.silenced++;
      continue;
    }
    const wanted = atLeast(d.severity, minSeverity) ? channels : [];
    if (wanted.length === 0 && channels.length > 0) summary.notifications.below_min_severity++;
    const todo = wanted.filter((c) => !d.delivered.includes(c.name));
    if (todo.length === 0) {
      await recordNotifications(db, d.id, d.notify_kind, [], true, now);
      continue;
    }
    if (o.budget && !o.budget.hasTimeFor(estimate)) {
      summary.notifications.deferred++;
      continue;
    }
    const message = notificationFor(d, rules.get(d.rule_id), url, now);
    // At most one send per channel at a time (a handful of channels), each bounded by its timeout.
    const results: ChannelResult[] = await Promise.all(
      todo.map(async (c): Promise<ChannelResult> => {
        try {
          await c.send(message);
          return { channel: c.name, ok: true };
        } catch (err) {
          return { channel: c.name, ok: false, error: scrubSecrets(messageOf(err), config.secrets).slice(0, 1000) };
        }
      }),
    );
    const delivered = new Set([...d.delivered, ...results.filter((r) => r.ok).map((r) => r.channel)]);
    const complete = wanted.every((c) => delivered.has(c.name));
    for (const r of results) {
      if (r.ok) {
        summary.notifications.sent++;
        log.info({ type: 'alert_notification', ...base, channel: r.channel, ok: true }, `alert ${d.notify_kind} sent to ${r.channel}`);
      } else {
        summary.notifications.failed++;
        log.warn(
          { type: 'alert_notification', ...base, channel: r.channel, ok: false, error: r.error },
          `alert ${d.notify_kind} to ${r.channel} failed; retried at the next evaluation`,
        );
      }
    }
    await recordNotifications(db, d.id, d.notify_kind, results, complete, now);
  }
}
