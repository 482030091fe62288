import { afterAll, beforeAll, expect, it } from 'vitest';
import { createChannels } from '../../src/lib/alerts/channels';
import { evaluateAlerts } from '../../src/lib/alerts/engine';
import type { AlertObservation, AlertRule } from '../../src/lib/alerts/types';
import { startReceivers, type Receivers } from '../support/alert-receivers';
import { describeEngines } from '../support/db';
import { captureLogs, testConfig } from '../support/deps';

/**
 * A noisy condition: an alert that resolves and fires again within the repeat interval is the
 * same alert, and its channels hear of it at most once per interval.
 */
const T0 = new Date('2026-11-20T10:00:00.000Z');
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

let rx: Receivers;
beforeAll(async () => {
  rx = await startReceivers();
});
afterAll(async () => {
  await rx?.close();
});

describeEngines('flapping alerts', (engine) => {
  it('a condition that flips four times within the repeat interval is one alert, told once that it fired and once that it resolved', async () => {
    rx.reset();
    const db = await engine.fresh();
    // The webhook channel alone, given all the time it needs (the machine may be busy).
    const config = testConfig({ ALERT_WEBHOOK_URL: rx.env.ALERT_WEBHOOK_URL, ALERT_REPEAT_MINUTES: '60' });
    const { log } = captureLogs(config.secrets);
    const channels = createChannels(config, { timeoutMs: 60_000 });
    const state: { obs: AlertObservation[] } = { obs: [] };
    const rule: AlertRule = {
      id: 'test.noisy', title: 'Noisy', severity: 'HIGH', responseSla: '1 hour', threshold: 10, comparison: 'gt',
      forSeconds: 0, runbook: 'Look.', observe: async () => state.obs,
    };
    const evaluate = (m: number) => evaluateAlerts({ db, config, log, now: at(m), rules: [rule], channels });

    for (const [m, value] of [[0, 20], [5, 1], [10, 20], [15, 1], [20, 20], [25, 1], [30, 20], [35, 1]] as const) {
      state.obs = [{ subject: 'q', value }];
      await evaluate(m);
    }
    const rows = await db.query<{ state: string; flaps: number }>(`select state, flaps from cronwarden.alerts`);
    expect(rows).toEqual([{ state: 'resolved', flaps: 3 }]);
    expect(rx.of('webhook').map((d) => d.body.event)).toEqual(['alert.trigger', 'alert.resolve']);

    // Firing again once the interval since the last trigger has passed: the channels hear of it.
    state.obs = [{ subject: 'q', value: 20 }];
    await evaluate(50); // within 60 min of the trigger at minute 0: held back
    expect(rx.of('webhook')).toHaveLength(2);
    await evaluate(61);
    expect(rx.of('webhook').map((d) => d.body.event)).toEqual(['alert.trigger', 'alert.resolve', 'alert.trigger']);
    expect((await db.query(`select count(*)::int as n from cronwarden.alerts`))[0]).toEqual({ n: 1 });

    // Long after it resolved, a new episode is a new alert.
    state.obs = [{ subject: 'q', value: 1 }];
    await evaluate(70);
    state.obs = [{ subject: 'q', value: 20 }];
    await evaluate(200);
    expect((await db.query(`select count(*)::int as n from cronwarden.alerts`))[0]).toEqual({ n: 2 });
    await Promise.all(channels.map((c) => c.close?.()));
  });
});
