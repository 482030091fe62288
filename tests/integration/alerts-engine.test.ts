import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { createChannels } from '../../src/lib/alerts/channels';
import { evaluateAlerts } from '../../src/lib/alerts/engine';
import { createSilence } from '../../src/lib/alerts/store';
import type { AlertObservation, AlertRule } from '../../src/lib/alerts/types';
import type { Config } from '../../src/lib/config';
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { alertsEvaluateJob, alertsEvaluateWiring } from '../../src/lib/jobs/alerts-evaluate';
import { startReceivers, type Receivers } from '../support/alert-receivers';
import { allFeaturesBound } from '../../src/lib/bindings/features';
import { demoBindings } from '../../src/lib/bindings/spec';
import { describeEngines } from '../support/db';
import { captureLogs, testConfig } from '../support/deps';

const T0 = new Date('2026-11-20T10:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

let rx: Receivers;
beforeAll(async () => {
  rx = await startReceivers();
});
afterAll(async () => {
  await rx?.close();
});
beforeEach(() => rx.reset());

/** A rule whose observations the test sets directly. */
function controllable(id: string, over: Partial<AlertRule> = {}) {
  const state: { obs: AlertObservation[]; throws?: string } = { obs: [] };
  const rule: AlertRule = {
    id,
    title: 'Queue depth high',
    severity: 'HIGH',
    responseSla: '1 hour',
    threshold: 10,
    comparison: 'gt',
    forSeconds: 0,
    runbook: 'Drain the queue.',
    async observe() {
      if (state.throws) throw new Error(state.throws);
      return state.obs;
    },
    ...over,
  };
  return { rule, state };
}

/**
 * Receivers that are meant to answer get all the time they need: under CPU contention a local
 * receiver can take seconds, and a channel timeout would turn that into a failed delivery. Only
 * the test's own timeout bounds them.
 */
const RECEIVER_TIME_MS = 120_000;

/**
 * Send timeouts the test ends on cue, so a hanging receiver fails without a wall-clock race. Only
 * the named channel's sends expire: a receiver that answered may not have reached its client yet on
 * a busy machine, and aborting it then would fail a send that succeeded.
 */
function manualTimeouts() {
  const controllers: { channel: string; controller: AbortController }[] = [];
  return {
    timeoutSignal: (_ms: number, channel: string) => {
      const controller = new AbortController();
      controllers.push({ channel, controller });
      return controller.signal;
    },
    /** The sends to `channel` started so far run out of time now. */
    expire: (channel: string) => {
      for (const c of controllers) if (c.channel === channel) c.controller.abort(new DOMException('send timed out', 'TimeoutError'));
    },
  };
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

function setup(db: SqlDb, env: Record<string, string> = {}, timeoutMs = RECEIVER_TIME_MS, timeoutSignal?: (ms: number, channel: string) => AbortSignal) {
  const config: Config = testConfig({ ...rx.env, ALERT_REPEAT_MINUTES: '60', APP_URL: 'https://cron.example.com', ...env });
  const { log, logs } = captureLogs(config.secrets);
  const channels = createChannels(config, { timeoutMs, timeoutSignal });
  const evaluate = (now: Date, rules: AlertRule[], extra: { dryRun?: boolean; resolveUnknownRules?: boolean } = {}) =>
    evaluateAlerts({ db, config, log, now, rules, channels, ...extra });
  return { config, log, logs, channels, evaluate };
}

const counts = () => ({
  slack: rx.of('slack').length,
  webhook: rx.of('webhook').length,
  pagerduty: rx.of('pagerduty').length,
  email: rx.mails.length,
});

async function notificationRows(db: SqlDb) {
  return db.query<{ channel: string; kind: string; ok: boolean; error: string | null; sent_at: Date }>(
    `select channel, kind, ok, error, sent_at from cronwarden.alert_notifications order by sent_at, channel`,
  );
}

describeEngines('alert engine', (engine) => {
  it('fires once, repeats only after the repeat interval, resolves once', async () => {
    const db = await engine.fresh();
    const { logs, evaluate } = setup(db);
    const { rule, state } = controllable('test.queue_depth');

    state.obs = [{ subject: 'q1', value: 20, details: { depth: 20 } }];
    const s1 = await evaluate(T0, [rule]);
    expect(s1.transitions).toEqual({ pending: 0, opened: 1, updated: 0, resolved: 0 });
    expect(s1.notifications).toMatchObject({ sent: 4, failed: 0 });
    expect(s1.open_alerts).toBe(1);
    expect(counts()).toEqual({ slack: 1, webhook: 1, pagerduty: 1, email: 1 });

    const [slack] = rx.of('slack');
    expect(slack.status).toBe(200);
    expect(slack.body.text).toContain('[FIRING] [HIGH] Queue depth high (q1)');
    expect(slack.body.blocks[0]).toMatchObject({ type: 'header' });
    const [hook] = rx.of('webhook');
    expect(hook.body).toMatchObject({
      version: 1,
      event: 'alert.trigger',
      dedup_key: 'test.queue_depth:q1',
      alert: { rule_id: 'test.queue_depth', subject: 'q1', severity: 'HIGH', state: 'open', value: 20, threshold: 10, details: { depth: 20 } },
      url: 'https://cron.example.com/admin#alerts',
    });
    const [pd] = rx.of('pagerduty');
    expect(pd.status).toBe(202);
    expect(pd.body).toMatchObject({
      routing_key: rx.env.PAGERDUTY_ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'test.queue_depth:q1',
      payload: { severity: 'error', source: 'cron.example.com', timestamp: T0.toISOString() },
    });
    expect(rx.mails[0].to).toEqual(['oncall@example.com', 'lead@example.com']);
    expect(rx.mails[0].from).toBe('cronwarden@example.com');
    expect(rx.mails[0].subject).toContain('[FIRING] [HIGH] Queue depth high (q1)');

    // Still breached: updated, nothing sent until a full repeat interval (60 min) has passed.
    state.obs = [{ subject: 'q1', value: 25 }];
    for (const m of [5, 30, 59]) {
      const s = await evaluate(at(m), [rule]);
      expect(s.transitions.updated, `minute ${m}`).toBe(1);
      expect(s.notifications.sent, `minute ${m}`).toBe(0);
    }
    expect(counts()).toEqual({ slack: 1, webhook: 1, pagerduty: 1, email: 1 });

    const s60 = await evaluate(at(60), [rule]);
    expect(s60.notifications.sent).toBe(4);
    expect(counts()).toEqual({ slack: 2, webhook: 2, pagerduty: 2, email: 2 });
    expect(rx.of('webhook')[1].body).toMatchObject({ event: 'alert.repeat', alert: { value: 25 } });
    expect(rx.of('slack')[1].body.text).toContain('[STILL FIRING]');
    expect(rx.of('pagerduty')[1].body).toMatchObject({ event_action: 'trigger', dedup_key: 'test.queue_depth:q1' });
    // The next repeat counts from this one.
    expect((await evaluate(at(61), [rule])).notifications.sent).toBe(0);

    state.obs = [{ subject: 'q1', value: 5 }];
    const s70 = await evaluate(at(70), [rule]);
    expect(s70.transitions.resolved).toBe(1);
    expect(s70.notifications.sent).toBe(4);
    expect(s70.open_alerts).toBe(0);
    expect(counts()).toEqual({ slack: 3, webhook: 3, pagerduty: 3, email: 3 });
    expect(rx.of('pagerduty')[2].body).toEqual({
      routing_key: rx.env.PAGERDUTY_ROUTING_KEY,
      event_action: 'resolve',
      dedup_key: 'test.queue_depth:q1',
    });
    expect(rx.of('webhook')[2].body).toMatchObject({ event: 'alert.resolve', alert: { state: 'resolved', resolved_at: at(70).toISOString() } });
    expect(rx.mails[2].subject).toContain('[RESOLVED]');

    // Cleared and quiet: nothing more, ever.
    for (const m of [75, 200, 400]) expect((await evaluate(at(m), [rule])).notifications.sent).toBe(0);
    expect(counts()).toEqual({ slack: 3, webhook: 3, pagerduty: 3, email: 3 });

    const alerts = await db.query<{ state: string; opened_at: Date; resolved_at: Date; notify_pending: boolean }>(
      `select state, opened_at, resolved_at, notify_pending from cronwarden.alerts`,
    );
    expect(alerts).toEqual([{ state: 'resolved', opened_at: T0, resolved_at: at(70), notify_pending: false }]);
    const rows = await notificationRows(db);
    expect(rows).toHaveLength(12);
    expect(rows.every((r) => r.ok)).toBe(true);
    expect(rows.map((r) => r.kind)).toEqual([...Array(4).fill('trigger'), ...Array(4).fill('repeat'), ...Array(4).fill('resolve')]);

    const changes = logs.ofType('alert');
    expect(changes.map((l) => l.transition)).toEqual(['opened', 'resolved']);
    expect(changes[0]).toMatchObject({ rule_id: 'test.queue_depth', subject: 'q1', severity: 'HIGH', level: 'error', silenced: false });
    // The Slack webhook's secret path never reaches a log line.
    expect(logs.raw.join('')).not.toContain('slacksecretpart');
  });

  it('opens only after the condition held for forSeconds; a condition that clears while pending sends nothing', async () => {
    const db = await engine.fresh();
    const { logs, evaluate } = setup(db);
    const { rule, state } = controllable('test.for_duration', { forSeconds: 600, severity: 'MEDIUM' });

    state.obs = [
      { subject: 'steady', value: 50 },
      { subject: 'blip', value: 50 },
    ];
    const s0 = await evaluate(T0, [rule]);
    expect(s0.transitions).toEqual({ pending: 2, opened: 0, updated: 0, resolved: 0 });
    expect(s0.notifications.sent).toBe(0);

    state.obs = [
      { subject: 'steady', value: 60 },
      { subject: 'blip', value: 1 },
    ];
    const s5 = await evaluate(at(5), [rule]);
    expect(s5.transitions).toEqual({ pending: 0, opened: 0, updated: 1, resolved: 1 });
    expect(s5.notifications.sent).toBe(0);

    state.obs = [{ subject: 'steady', value: 70 }];
    const s9 = await evaluate(at(9), [rule]);
    expect(s9.transitions.opened).toBe(0);

    const s10 = await evaluate(at(10), [rule]);
    expect(s10.transitions.opened).toBe(1);
    expect(s10.notifications.sent).toBe(4);
    expect(rx.of('pagerduty')[0].body.payload.severity).toBe('warning');
    expect(rx.of('webhook').map((d) => d.body.alert.subject)).toEqual(['steady']);

    const rows = await db.query<{ subject: string; state: string; first_seen: Date; opened_at: Date | null }>(
      `select subject, state, first_seen, opened_at from cronwarden.alerts order by subject`,
    );
    expect(rows).toEqual([
      { subject: 'blip', state: 'resolved', first_seen: T0, opened_at: null },
      { subject: 'steady', state: 'open', first_seen: T0, opened_at: at(10) },
    ]);
    expect(logs.ofType('alert').map((l) => `${l.subject}:${l.transition}`)).toEqual([
      'steady:pending',
      'blip:pending',
      'blip:resolved',
      'steady:opened',
    ]);
  });

  it('respects silences: state is tracked, nothing is sent while silenced, the trigger goes out when the silence ends', async () => {
    const db = await engine.fresh();
    const { logs, evaluate } = setup(db);
    const a = controllable('test.silenced_subject');
    const b = controllable('test.silenced_rule', { severity: 'CRITICAL' });
    await createSilence(db, { ruleId: 'test.silenced_subject', subject: 'q1', minutes: 30, reason: 'maintenance', createdBy: 'test', now: T0 });
    await createSilence(db, { ruleId: 'test.silenced_rule', subject: null, minutes: 30, reason: 'known issue', createdBy: 'test', now: T0 });

    a.state.obs = [
      { subject: 'q1', value: 20 },
      { subject: 'q2', value: 30 },
    ];
    b.state.obs = [{ subject: 'x', value: 99 }];
    const s0 = await evaluate(T0, [a.rule, b.rule]);
    expect(s0.transitions.opened).toBe(3);
    expect(s0.notifications).toMatchObject({ sent: 4, silenced: 2 });
    expect(rx.of('webhook').map((d) => `${d.body.alert.rule_id}:${d.body.alert.subject}`)).toEqual(['test.silenced_subject:q2']);
    const opened = logs.ofType('alert').filter((l) => l.transition === 'opened');
    expect(opened.map((l) => [l.subject, l.silenced])).toEqual([
      ['q1', true],
      ['q2', false],
      ['x', true],
    ]);

    // Rule b clears during its silence: nobody was told it fired, so no resolve message either.
    b.state.obs = [{ subject: 'x', value: 1 }];
    const s10 = await evaluate(at(10), [a.rule, b.rule]);
    expect(s10.transitions.resolved).toBe(1);
    expect(s10.notifications.sent).toBe(0);

    // The silence ends at T0 + 30 min: q1's trigger is sent at the first evaluation after that.
    const s30 = await evaluate(at(30), [a.rule, b.rule]);
    expect(s30.notifications.sent).toBe(4);
    const q1 = rx.of('webhook').filter((d) => d.body.alert.subject === 'q1');
    expect(q1.map((d) => d.body.event)).toEqual(['alert.trigger']);
    expect(rx.of('webhook').some((d) => d.body.alert.rule_id === 'test.silenced_rule')).toBe(false);
    expect(counts()).toEqual({ slack: 2, webhook: 2, pagerduty: 2, email: 2 });

    // q2 was told at T0, q1 at T0+30: their repeats (60 min) come separately.
    const s60 = await evaluate(at(60), [a.rule, b.rule]);
    expect(rx.of('webhook').slice(2).map((d) => `${d.body.event}:${d.body.alert.subject}`)).toEqual(['alert.repeat:q2']);
    expect(s60.notifications.sent).toBe(4);
    await evaluate(at(90), [a.rule, b.rule]);
    expect(rx.of('webhook').slice(3).map((d) => `${d.body.event}:${d.body.alert.subject}`)).toEqual(['alert.repeat:q1']);
  });

  it('a failing or hanging channel does not block the others and is retried at the next evaluation', async () => {
    const db = await engine.fresh();
    // The send timeout (1.5 s by its label) runs out when the test says so, not by the clock.
    const timeouts = manualTimeouts();
    const { logs, evaluate } = setup(db, {}, 1_500, timeouts.timeoutSignal);
    const { rule, state } = controllable('test.channel_failure');
    rx.mode.webhook = 'fail';
    rx.mode.pagerduty = 'hang';

    state.obs = [{ subject: 'q1', value: 20 }];
    const evaluation = evaluate(T0, [rule]);
    // Channels are sent to side by side: every receiver has its message while PagerDuty's still
    // hangs (one after another, the e-mail would wait for PagerDuty's timeout and never arrive).
    await until(() => rx.of('slack').length === 1 && rx.of('webhook').length === 1 && rx.mails.length === 1 && rx.of('pagerduty').length === 1);
    // One timeout ends the round: the hanging receiver costs its timeout once.
    timeouts.expire('pagerduty');
    const s0 = await evaluation;
    expect(s0.notifications).toMatchObject({ sent: 2, failed: 2 });
    expect(rx.of('slack')).toHaveLength(1);
    expect(rx.mails).toHaveLength(1);
    expect(rx.of('webhook').map((d) => d.status)).toEqual([500]);
    expect(rx.of('pagerduty').map((d) => d.status)).toEqual(['no answer']);

    const failed = (await notificationRows(db)).filter((r) => !r.ok);
    expect(failed.map((r) => r.channel).sort()).toEqual(['pagerduty', 'webhook']);
    expect(failed.find((r) => r.channel === 'webhook')?.error).toContain('HTTP 500');
    expect(failed.find((r) => r.channel === 'pagerduty')?.error).toContain('no answer within 1500 ms');
    const [pending] = await db.query<{ notify_pending: boolean; last_notified_at: Date }>(`select notify_pending, last_notified_at from cronwarden.alerts`);
    expect(pending).toEqual({ notify_pending: true, last_notified_at: T0 });
    expect(logs.ofType('alert_notification').filter((l) => l.ok === false).map((l) => l.channel).sort()).toEqual(['pagerduty', 'webhook']);

    // Still failing at the next evaluation: retried (only those two), still owed.
    rx.mode.pagerduty = 'ok';
    const s5 = await evaluate(at(5), [rule]);
    expect(s5.notifications).toMatchObject({ sent: 1, failed: 1 });
    expect(counts()).toEqual({ slack: 1, webhook: 2, pagerduty: 2, email: 1 });

    rx.mode.webhook = 'ok';
    const s10 = await evaluate(at(10), [rule]);
    expect(s10.notifications).toMatchObject({ sent: 1, failed: 0 });
    expect(counts()).toEqual({ slack: 1, webhook: 3, pagerduty: 2, email: 1 });
    expect(rx.of('webhook')[2]).toMatchObject({ status: 200, body: { event: 'alert.trigger' } });

    // Delivered everywhere: the round is closed, nothing more until the repeat is due.
    expect((await evaluate(at(15), [rule])).notifications.sent).toBe(0);
    const [done] = await db.query<{ notify_pending: boolean }>(`select notify_pending from cronwarden.alerts`);
    expect(done.notify_pending).toBe(false);

    // An SMTP server refusing the message is a failure like any other.
    rx.mode.email = 'fail';
    state.obs = [{ subject: 'q1', value: 1 }];
    const s20 = await evaluate(at(20), [rule]);
    expect(s20.notifications).toMatchObject({ sent: 3, failed: 1 });
    const smtpError = (await notificationRows(db)).find((r) => r.channel === 'email' && !r.ok);
    expect(smtpError?.error).toMatch(/^SMTP: 451/);
  });

  it('a rule that throws is reported and never stops the others; its alerts stay as they were', async () => {
    const db = await engine.fresh();
    const { logs, evaluate } = setup(db);
    const flaky = controllable('test.flaky');
    const good = controllable('test.good', { severity: 'LOW' });

    flaky.state.obs = [{ subject: 'a', value: 11 }];
    await evaluate(T0, [flaky.rule, good.rule]);

    flaky.state.throws = 'database said no';
    good.state.obs = [{ subject: 'g', value: 12 }];
    const s = await evaluate(at(5), [flaky.rule, good.rule]);
    expect(s.rule_errors).toEqual([{ rule_id: 'test.flaky', message: 'database said no' }]);
    expect(s.rules_evaluated).toBe(1);
    expect(s.transitions).toMatchObject({ opened: 1, resolved: 0 });
    expect(logs.ofType('alert_rule_failed')).toHaveLength(1);
    const states = await db.query<{ rule_id: string; state: string }>(`select rule_id, state from cronwarden.alerts order by rule_id`);
    expect(states).toEqual([
      { rule_id: 'test.flaky', state: 'open' },
      { rule_id: 'test.good', state: 'open' },
    ]);

    // Invalid observations are reported and skipped; the valid ones still count.
    flaky.state.throws = undefined;
    flaky.state.obs = [
      { subject: 'a', value: Number.NaN },
      { subject: '', value: 3 },
      { subject: 'b', value: 50 },
    ];
    const s2 = await evaluate(at(10), [flaky.rule, good.rule]);
    expect(s2.rule_errors).toHaveLength(1);
    expect(s2.rule_errors[0].message).toContain('subject a: value NaN is not a finite number');
    // 'a' reported a bad value: kept as it was, not resolved as "no longer observed".
    const flakyRows = await db.query<{ subject: string; state: string }>(
      `select subject, state from cronwarden.alerts where rule_id = 'test.flaky' order by subject`,
    );
    expect(flakyRows).toEqual([
      { subject: 'a', state: 'open' },
      { subject: 'b', state: 'open' },
    ]);
  });

  it('resolves subjects no longer observed, alerts of disabled rules and of rules that no longer exist', async () => {
    const db = await engine.fresh();
    const { evaluate } = setup(db);
    const per = controllable('test.per_subject');
    let enabled = true;
    const optional = controllable('test.optional', { enabled: () => enabled });
    const removed = controllable('test.removed');

    per.state.obs = [
      { subject: 'org-1', value: 20 },
      { subject: 'org-2', value: 30 },
    ];
    optional.state.obs = [{ subject: 'global', value: 20 }];
    removed.state.obs = [{ subject: 'global', value: 20 }];
    expect((await evaluate(T0, [per.rule, optional.rule, removed.rule])).transitions.opened).toBe(4);

    per.state.obs = [{ subject: 'org-1', value: 21 }];
    enabled = false;
    const s = await evaluate(at(5), [per.rule, optional.rule], { resolveUnknownRules: true });
    expect(s.rules_disabled).toBe(1);
    expect(s.transitions).toMatchObject({ updated: 1, resolved: 3 });
    expect(s.notifications.sent).toBe(12);
    const rows = await db.query<{ rule_id: string; subject: string; state: string; reason: string | null }>(
      `select rule_id, subject, state, details->>'resolved_reason' as reason from cronwarden.alerts order by rule_id, subject`,
    );
    expect(rows).toEqual([
      { rule_id: 'test.optional', subject: 'global', state: 'resolved', reason: 'rule disabled by configuration' },
      { rule_id: 'test.per_subject', subject: 'org-1', state: 'open', reason: null },
      { rule_id: 'test.per_subject', subject: 'org-2', state: 'resolved', reason: 'subject no longer observed' },
      { rule_id: 'test.removed', subject: 'global', state: 'resolved', reason: 'rule no longer exists' },
    ]);
  });

  it('ALERT_MIN_SEVERITY: lower alerts are tracked but not sent; a dry run writes and sends nothing', async () => {
    const db = await engine.fresh();
    const { evaluate } = setup(db, { ALERT_MIN_SEVERITY: 'high' });
    const low = controllable('test.low', { severity: 'MEDIUM' });
    const high = controllable('test.high', { severity: 'CRITICAL' });
    low.state.obs = [{ subject: 'x', value: 20 }];
    high.state.obs = [{ subject: 'y', value: 20 }];

    const dry = await evaluate(T0, [low.rule, high.rule], { dryRun: true });
    expect(dry).toMatchObject({ dry_run: true, transitions: { opened: 2 }, notifications: { sent: 0 }, open_alerts: 0 });
    expect(await db.query(`select id from cronwarden.alerts`)).toEqual([]);
    expect(counts()).toEqual({ slack: 0, webhook: 0, pagerduty: 0, email: 0 });

    const s = await evaluate(T0, [low.rule, high.rule]);
    expect(s.notifications).toMatchObject({ sent: 4, below_min_severity: 1 });
    expect(rx.of('pagerduty').map((d) => d.body.payload.severity)).toEqual(['critical']);
    expect(s.open_alerts).toBe(2);
  });

  it('when the time budget runs out, rules and messages wait for the next evaluation', async () => {
    const db = await engine.fresh();
    const config: Config = testConfig({ ...rx.env, ALERT_REPEAT_MINUTES: '60' });
    const { log } = captureLogs(config.secrets);
    const channels = createChannels(config, { timeoutMs: RECEIVER_TIME_MS });
    const { rule, state } = controllable('test.budget');
    const other = controllable('test.budget_other');
    state.obs = [{ subject: 'q', value: 50 }];
    // Time for a rule (estimate 1 s) but not for a round of sends (estimate 6 s).
    const short = { hasTimeFor: (ms: number) => ms <= 2_000 };
    const s0 = await evaluateAlerts({ db, config, log, now: T0, rules: [rule], channels, budget: short, sendEstimateMs: 6_000 });
    expect(s0.transitions.opened).toBe(1);
    expect(s0.notifications).toMatchObject({ sent: 0, deferred: 1 });
    expect(counts()).toEqual({ slack: 0, webhook: 0, pagerduty: 0, email: 0 });

    const s1 = await evaluateAlerts({ db, config, log, now: at(5), rules: [rule], channels });
    expect(s1.notifications).toMatchObject({ sent: 4, deferred: 0 });

    // No time at all: nothing is evaluated, so nothing is resolved either.
    state.obs = [{ subject: 'q', value: 1 }];
    const s2 = await evaluateAlerts({ db, config, log, now: at(10), rules: [rule, other.rule], channels, budget: { hasTimeFor: () => false } });
    expect(s2).toMatchObject({ rules_evaluated: 0, rules_deferred: 2, open_alerts: 1 });
    expect(s2.transitions.resolved).toBe(0);
  });

  it('the alerts-evaluate job runs the evaluation, records the run and reports its counts', async () => {
    const db = await engine.fresh();
    const config = testConfig({ ...rx.env, ALERT_REPEAT_MINUTES: '60' });
    const { log } = captureLogs(config.secrets);
    const { rule, state } = controllable('test.job_rule');
    const broken = controllable('test.job_broken');
    broken.state.throws = 'cannot observe';
    const saved = { ...alertsEvaluateWiring };
    alertsEvaluateWiring.rules = () => [rule, broken.rule];
    alertsEvaluateWiring.channels = (c) => createChannels(c, { timeoutMs: RECEIVER_TIME_MS });
    try {
      state.obs = [{ subject: 'q', value: 99 }];
      const deps = { db, config, log, storage: undefined as never, now: () => T0, features: allFeaturesBound(), bindings: demoBindings() };
      const dry = await runJob(alertsEvaluateJob, { input: {}, dryRun: true }, deps);
      expect(dry.kind).toBe('finished');
      if (dry.kind !== 'finished') return;
      expect(dry.result).toMatchObject({ status: 'succeeded', dry_run: true, rows_affected: 0, transitions: { opened: 1 } });
      expect(await db.query(`select id from cronwarden.alerts`)).toEqual([]);

      const out = await runJob(alertsEvaluateJob, { input: {}, dryRun: false }, deps);
      expect(out.kind).toBe('finished');
      if (out.kind !== 'finished') return;
      expect(out.result).toMatchObject({
        status: 'succeeded',
        rows_affected: 1,
        rules_evaluated: 1,
        transitions: { opened: 1 },
        notifications: { sent: 4, failed: 0 },
        channels: ['slack', 'webhook', 'pagerduty', 'email'],
        open_alerts: 1,
        errors: [{ subject: 'rule:test.job_broken', message: 'cannot observe' }],
      });
      const [run] = await db.query<{ status: string; rows_affected: string | number }>(
        `select status, rows_affected from cronwarden.cron_job_runs where job = 'alerts-evaluate' and not dry_run`,
      );
      expect(run.status).toBe('succeeded');
      expect(Number(run.rows_affected)).toBe(1);
    } finally {
      Object.assign(alertsEvaluateWiring, saved);
    }
  });
});
