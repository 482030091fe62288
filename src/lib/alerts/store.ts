import type { Db } from '../db/types';
import type { Severity } from './types';

/**
 * Typed callers of the alert SQL functions (supabase/migrations/20261123000200_alerts.sql).
 * Every decision about alert state lives in SQL; these only name the arguments and shape rows.
 */

export type AlertState = 'pending' | 'open' | 'resolved';
export type Transition = 'none' | 'pending' | 'opened' | 'updated' | 'resolved';
export type NotificationKind = 'trigger' | 'repeat' | 'resolve';

export interface AlertRow {
  /** What the call did (alert_observe, alert_resolve_*); null in listings. */
  transition: Transition | null;
  /** A silence covers this alert at the evaluation time. */
  silenced: boolean;
  id: string | null;
  rule_id: string;
  subject: string;
  severity: Severity;
  title: string;
  state: AlertState | null;
  value: number | null;
  threshold: number | null;
  details: Record<string, unknown>;
  first_seen: Date | null;
  last_seen: Date | null;
  opened_at: Date | null;
  resolved_at: Date | null;
  last_notified_at: Date | null;
  notify_pending: boolean | null;
  notify_kind: NotificationKind | null;
}

/** What a notification says about an alert (channels get exactly this). */
export interface AlertFacts {
  id: string;
  rule_id: string;
  subject: string;
  severity: Severity;
  title: string;
  state: AlertState;
  value: number | null;
  threshold: number | null;
  details: Record<string, unknown>;
  first_seen: Date;
  opened_at: Date | null;
  resolved_at: Date | null;
}

export interface DueNotification extends AlertFacts {
  last_notified_at: Date | null;
  notify_kind: NotificationKind;
  notify_since: Date;
  silenced: boolean;
  /** Channels that already delivered this round. */
  delivered: string[];
  /** A resolve round given up after its retry window; answered once so it can be logged. */
  abandoned: boolean;
}

export interface SilenceRow {
  id: string;
  rule_id: string;
  subject: string | null;
  created_at: Date;
  until: Date;
  reason: string;
  created_by: string;
}

export interface AlertCount {
  severity: Severity;
  open_alerts: number;
  pending_alerts: number;
  silenced_alerts: number;
}

export interface ObserveArgs {
  ruleId: string;
  subject: string;
  breached: boolean;
  value: number;
  threshold: number;
  severity: Severity;
  title: string;
  details?: Record<string, unknown>;
  forSeconds: number;
  now: Date;
  dryRun?: boolean;
  /** An alert that resolved less than this long ago fires again as the same alert (flapping). */
  reopenSeconds?: number;
}

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

function alertRow(r: AlertRow): AlertRow {
  return { ...r, value: num(r.value), threshold: num(r.threshold), details: r.details ?? {} };
}

export async function observeAlert(db: Db, a: ObserveArgs): Promise<AlertRow> {
  const [row] = await db.rpc<AlertRow>('alert_observe', {
    p_rule_id: a.ruleId,
    p_subject: a.subject,
    p_breached: a.breached,
    p_value: a.value,
    p_threshold: a.threshold,
    p_severity: a.severity,
    p_title: a.title,
    p_details: a.details ?? {},
    p_for_seconds: Math.max(0, Math.round(a.forSeconds)),
    p_now: a.now,
    p_dry_run: a.dryRun ?? false,
    p_reopen_seconds: Math.max(0, Math.round(a.reopenSeconds ?? 0)),
  });
  return alertRow(row);
}

export async function resolveAbsent(
  db: Db,
  ruleId: string,
  keepSubjects: string[],
  reason: string,
  now: Date,
  dryRun = false,
): Promise<AlertRow[]> {
  const rows = await db.rpc<AlertRow>('alert_resolve_absent', {
    p_rule_id: ruleId,
    p_subjects: keepSubjects,
    p_reason: reason,
    p_now: now,
    p_dry_run: dryRun,
  });
  return rows.map(alertRow);
}

export async function resolveUnknownRules(db: Db, ruleIds: string[], now: Date, dryRun = false): Promise<AlertRow[]> {
  const rows = await db.rpc<AlertRow>('alert_resolve_unknown_rules', { p_rule_ids: ruleIds, p_now: now, p_dry_run: dryRun });
  return rows.map(alertRow);
}

export async function dueNotifications(db: Db, repeatMinutes: number, now: Date, limit = 200): Promise<DueNotification[]> {
  const rows = await db.rpc<DueNotification>('alert_due_notifications', {
    p_repeat_seconds: repeatMinutes * 60,
    p_limit: limit,
    p_now: now,
  });
  return rows.map((r) => ({ ...r, value: num(r.value), threshold: num(r.threshold), details: r.details ?? {}, delivered: r.delivered ?? [] }));
}

export interface ChannelResult {
  channel: string;
  ok: boolean;
  error?: string;
}

export async function recordNotifications(
  db: Db,
  alertId: string,
  kind: NotificationKind,
  results: ChannelResult[],
  complete: boolean,
  now: Date,
): Promise<{ notify_pending: boolean; last_notified_at: Date | null } | undefined> {
  const [row] = await db.rpc<{ alert_id: string; notify_pending: boolean; last_notified_at: Date | null }>('alert_record_notifications', {
    p_alert_id: alertId,
    p_kind: kind,
    p_results: results.map((r) => ({ channel: r.channel, ok: r.ok, error: r.error ?? null })),
    p_complete: complete,
    p_now: now,
  });
  return row;
}

export async function listActiveAlerts(db: Db, now: Date): Promise<AlertRow[]> {
  return (await db.rpc<AlertRow>('alert_list_active', { p_now: now })).map(alertRow);
}

export async function listRecentAlerts(db: Db, limit: number, now: Date, includeUnopened = false): Promise<AlertRow[]> {
  const rows = await db.rpc<AlertRow>('alert_list_recent', { p_limit: limit, p_include_unopened: includeUnopened, p_now: now });
  return rows.map(alertRow);
}

export async function alertCounts(db: Db, now: Date): Promise<AlertCount[]> {
  const rows = await db.rpc<AlertCount>('alert_counts', { p_now: now });
  return rows.map((r) => ({
    severity: r.severity,
    open_alerts: Number(r.open_alerts),
    pending_alerts: Number(r.pending_alerts),
    silenced_alerts: Number(r.silenced_alerts),
  }));
}

export async function createSilence(
  db: Db,
  s: { ruleId: string; subject?: string | null; minutes: number; reason: string; createdBy: string; now: Date },
): Promise<SilenceRow> {
  const [row] = await db.rpc<SilenceRow>('alert_silence_create', {
    p_rule_id: s.ruleId,
    p_subject: s.subject ?? null,
    p_minutes: s.minutes,
    p_reason: s.reason,
    p_created_by: s.createdBy,
    p_now: s.now,
  });
  return row;
}

export async function deleteSilence(db: Db, id: string): Promise<SilenceRow | undefined> {
  const [row] = await db.rpc<SilenceRow>('alert_silence_delete', { p_id: id });
  return row;
}

export async function listSilences(db: Db, now: Date): Promise<SilenceRow[]> {
  return db.rpc<SilenceRow>('alert_silence_list', { p_now: now });
}

export interface PruneResult {
  notifications_deleted: number;
  alerts_deleted: number;
  silences_deleted: number;
  has_more: boolean;
}

export async function pruneAlerts(
  db: Db,
  o: { notificationDays?: number; resolvedDays?: number; batchSize?: number; dryRun?: boolean; now: Date },
): Promise<PruneResult> {
  const [row] = await db.rpc<PruneResult>('alert_prune', {
    p_notification_days: o.notificationDays ?? 30,
    p_resolved_days: o.resolvedDays ?? 90,
    p_batch_size: o.batchSize ?? 5000,
    p_dry_run: o.dryRun ?? false,
    p_now: o.now,
  });
  return {
    notifications_deleted: Number(row.notifications_deleted),
    alerts_deleted: Number(row.alerts_deleted),
    silences_deleted: Number(row.silences_deleted),
    has_more: Boolean(row.has_more),
  };
}

/** Open (not pending) alerts per subject, e.g. a job name, for overview pages. */
export async function openAlertsBySubject(db: Db, now: Date): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const a of await listActiveAlerts(db, now)) {
    if (a.state === 'open') out.set(a.subject, (out.get(a.subject) ?? 0) + 1);
  }
  return out;
}
