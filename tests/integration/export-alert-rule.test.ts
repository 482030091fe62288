import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { evaluateAlerts } from '../../src/lib/alerts/engine';
import { exportRules } from '../../src/lib/alerts/rules/exports';
import { createExportMetricsService } from '../../src/lib/monitoring/export-metrics';
import type { SqlDb } from '../../src/lib/db/types';
import { describeEngines } from '../support/db';
import { testDeps } from '../support/deps';

const NOW = new Date('2026-03-10T12:00:00Z');

async function plant(db: SqlDb, failed: number, total: number) {
  const { deps } = testDeps(db);
  const service = createExportMetricsService({ db, log: deps.log, now: () => NOW });
  for (let i = 0; i < total; i++) {
    await service.logExportMetric({
      export_id: randomUUID(),
      user_id: randomUUID(),
      format: 'json',
      status: i < failed ? 'failed' : 'completed',
      duration_ms: 1000,
      conversation_count: 10,
      file_size_bytes: i < failed ? null : 100,
      error_type: i < failed ? 'TimeoutError' : null,
      error_message: i < failed ? 'timed out' : null,
      timestamp: new Date(NOW.getTime() - 10 * 60_000),
    });
  }
}

async function openAlerts(db: SqlDb, env: Record<string, string>) {
  const { deps } = testDeps(db, { env });
  await evaluateAlerts({ db, config: deps.config, log: deps.log, now: NOW, rules: exportRules, channels: [] });
  return db.query<{ threshold: number; state: string }>(
    `select threshold, state from cronwarden.alerts where rule_id = 'exports.failure_rate_high' and state = 'open'`,
  );
}

describeEngines('export failure-rate rule follows EXPORT_FAILURE_RATE_THRESHOLD', (engine) => {
  it('default 10%: 3 of 20 failed opens the alert', async () => {
    const db = await engine.fresh();
    await plant(db, 3, 20);
    const open = await openAlerts(db, {});
    expect(open).toHaveLength(1);
    expect(Number(open[0].threshold)).toBeCloseTo(0.1);
  });

  it('at 20%: 3 of 20 stays quiet, 5 of 20 opens with the configured threshold recorded', async () => {
    const quiet = await engine.fresh();
    await plant(quiet, 3, 20);
    expect(await openAlerts(quiet, { EXPORT_FAILURE_RATE_THRESHOLD: '0.2' })).toHaveLength(0);
    const loud = await engine.fresh();
    await plant(loud, 5, 20);
    const open = await openAlerts(loud, { EXPORT_FAILURE_RATE_THRESHOLD: '0.2' });
    expect(open).toHaveLength(1);
    expect(Number(open[0].threshold)).toBeCloseTo(0.2);
  });
});
