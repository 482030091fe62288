import { z } from 'zod';
import type { Db } from '../db/types';
import { adminHandler, type AdminWorld } from '../http/admin-route';
import { AppError, jsonResponse } from '../http/errors';
import { allRules } from './rules';
import {
  alertCounts,
  createSilence,
  deleteSilence,
  listActiveAlerts,
  listRecentAlerts,
  listSilences,
  type AlertRow,
  type SilenceRow,
} from './store';
import type { AlertRule } from './types';

/** Body of POST /api/admin/alerts/silences. */
export const silenceBody = z.strictObject({
  rule_id: z.string({ message: 'must be a rule id such as jobs.stalled' }).trim().min(1, { message: 'must not be empty' }).max(200),
  subject: z
    .string({ message: 'must be a string (a job name, an organization id, ...) or null for every subject' })
    .trim()
    .min(1, { message: 'must not be empty; leave it out to silence every subject' })
    .max(200)
    .nullable()
    .optional(),
  minutes: z
    .number({ message: 'must be a whole number of minutes' })
    .int({ message: 'must be a whole number of minutes' })
    .min(1, { message: 'must be at least 1' })
    .max(10_080, { message: 'must be at most 10080 (7 days)' }),
  reason: z.string({ message: 'must say why (shown with the silence)' }).trim().min(1, { message: 'must not be empty' }).max(500),
});
export type SilenceBody = z.infer<typeof silenceBody>;

export const silenceIdParams = z.strictObject({ id: z.uuid({ message: 'must be a silence id (UUID)' }) });

function present(a: AlertRow, rules: Map<string, AlertRule>) {
  const rule = rules.get(a.rule_id);
  return {
    id: a.id,
    rule_id: a.rule_id,
    subject: a.subject,
    severity: a.severity,
    title: a.title,
    state: a.state,
    value: a.value,
    threshold: a.threshold,
    comparison: rule?.comparison ?? null,
    details: a.details,
    first_seen: a.first_seen,
    last_seen: a.last_seen,
    opened_at: a.opened_at,
    resolved_at: a.resolved_at,
    last_notified_at: a.last_notified_at,
    notification_pending: a.notify_pending ?? false,
    silenced: a.silenced,
    response_sla: rule?.responseSla ?? null,
    runbook: rule?.runbook ?? null,
  };
}

export type AlertView = ReturnType<typeof present>;

/** Active alerts (open and pending), the most recently resolved ones, silences in force, counts. */
export async function alertsOverview(db: Db, now: Date, recentLimit = 50, rules: readonly AlertRule[] = allRules) {
  const byId = new Map(rules.map((r) => [r.id, r]));
  const [active, recent, silences, counts] = await Promise.all([
    listActiveAlerts(db, now),
    listRecentAlerts(db, recentLimit, now),
    listSilences(db, now),
    alertCounts(db, now),
  ]);
  return {
    open: active.map((a) => present(a, byId)),
    recent: recent.map((a) => present(a, byId)),
    silences,
    counts,
  };
}

/** Creates a silence for a known rule (an unknown rule id is almost always a typo: 400). */
export async function silenceAlerts(
  db: Db,
  body: SilenceBody,
  createdBy: string,
  now: Date,
  rules: readonly AlertRule[] = allRules,
): Promise<SilenceRow> {
  if (!rules.some((r) => r.id === body.rule_id)) {
    throw new AppError(400, 'UNKNOWN_RULE', `Invalid field 'rule_id': no rule '${body.rule_id.slice(0, 100)}'.`, { field: 'rule_id' });
  }
  return createSilence(db, {
    ruleId: body.rule_id,
    subject: body.subject ?? null,
    minutes: body.minutes,
    reason: body.reason,
    createdBy,
    now,
  });
}

export async function removeSilence(db: Db, id: string): Promise<SilenceRow> {
  const row = await deleteSilence(db, id);
  if (!row) throw new AppError(404, 'SILENCE_NOT_FOUND', 'No silence with this id.');
  return row;
}

/** POST /api/admin/alerts/silences: `{ rule_id, subject?, minutes (1..10080), reason }` → 201 with the silence. */
export function silencesPost(world?: () => AdminWorld) {
  return adminHandler(
    { body: silenceBody },
    async ({ deps, body, actor }) => {
      const now = deps.now();
      const silence = await silenceAlerts(deps.db, body, actor, now);
      return jsonResponse({ success: true, silence, timestamp: now.toISOString() }, 201);
    },
    world,
  );
}

/** DELETE /api/admin/alerts/silences/<id>: ends the silence now (404 when there is none). */
export function silenceDelete(world?: () => AdminWorld) {
  return adminHandler(
    { params: silenceIdParams },
    async ({ deps, params }) => {
      const silence = await removeSilence(deps.db, params.id);
      return { success: true, deleted: silence, timestamp: deps.now().toISOString() };
    },
    world,
  );
}
