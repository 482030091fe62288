import { expect, it } from 'vitest';
import { allRules } from '../../src/lib/alerts/rules';
import {
  draftCleanupFailuresRule,
  draftCleanupStalledRule,
  draftOldPendingRule,
  draftPollutionCriticalRule,
  draftPollutionHighRule,
  draftRules,
  draftTrafficSpikeRule,
  draftUnusedCriticalRule,
} from '../../src/lib/alerts/rules/drafts';
import { breaches, type AlertRule } from '../../src/lib/alerts/types';
import type { SqlDb } from '../../src/lib/db/types';
import { allGauges } from '../../src/lib/monitoring/gauges/index';
import { draftGauges } from '../../src/lib/monitoring/gauges/drafts';
import { describeEngines } from '../support/db';
import { captureLogs, testConfig } from '../support/deps';
import { HOUR, MIN, SEC, insertCourses, insertOrg, insertRun } from '../support/drafts';

const NOW = new Date('2026-03-11T12:30:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);

async function observe(rule: AlertRule, db: SqlDb, now = NOW) {
  const { log } = captureLogs();
  const obs = await rule.observe({ db, config: testConfig(), now, log });
  expect(obs).toHaveLength(1);
  return { value: obs[0].value, fires: breaches(rule, obs[0].value), details: obs[0].details };
}

/** Turns `n` used drafts into unused ones (generation status cleared). */
async function unuse(db: SqlDb, n: number) {
  await db.query(
    `update courses set generation_status = null
      where id in (select id from courses where status = 'draft' and generation_status is not null limit $1)`,
    [n],
  );
}

it('the draft rules are registered with unique ids, runbooks, and the spec thresholds', () => {
  for (const r of draftRules) expect(allRules).toContain(r);
  for (const g of draftGauges) expect(allGauges).toContain(g);
  expect(new Set(allRules.map((r) => r.id)).size).toBe(allRules.length);
  const spec = Object.fromEntries(draftRules.map((r) => [r.id, [r.severity, r.comparison, r.threshold, r.responseSla]]));
  expect(spec).toEqual({
    'drafts.pollution_high': ['MEDIUM', 'gt', 30, '4 hours'],
    'drafts.pollution_critical': ['HIGH', 'gt', 50, '1 hour'],
    'drafts.unused_critical': ['HIGH', 'gt', 100, '1 hour'],
    'drafts.cleanup_stalled': ['HIGH', 'gt', 2, '30 minutes'],
    'drafts.old_drafts_pending': ['MEDIUM', 'gt', 5, '2 hours'],
    'drafts.traffic_spike': ['MEDIUM', 'gt', 100, '1 hour'],
    'drafts.redis_unreachable': ['HIGH', 'gte', 1, '15 minutes'],
    'drafts.cleanup_failures': ['HIGH', 'gte', 3, '30 minutes'],
  });
  for (const r of draftRules) expect(r.runbook.length).toBeGreaterThan(80);
  // They read the drafts binding: quiet while it is not bound.
  for (const r of draftRules) expect(r.feature, r.id).toBe('drafts');
  for (const g of draftGauges) expect(g.feature, g.name).toBe('drafts');
});

describeEngines('draft alert rules at their thresholds', (engine) => {
  it('pollution > 30 %: 30 of 100 drafts unused is quiet, 31 fires', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    await insertCourses(db, 70, { org, generation_status: 'completed', created_at: ago(HOUR) });
    await insertCourses(db, 30, { org, created_at: ago(HOUR) });
    await insertCourses(db, 50, { org, status: 'published', created_at: ago(HOUR) }); // not drafts
    expect(await observe(draftPollutionHighRule, db)).toMatchObject({ value: 30, fires: false });
    await unuse(db, 1);
    expect(await observe(draftPollutionHighRule, db)).toMatchObject({ value: 31, fires: true });
  });

  it('pollution > 50 %: 50 of 100 is quiet, 51 fires', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    await insertCourses(db, 50, { org, generation_status: 'completed', created_at: ago(HOUR) });
    await insertCourses(db, 50, { org, created_at: ago(HOUR) });
    expect(await observe(draftPollutionCriticalRule, db)).toMatchObject({ value: 50, fires: false });
    expect(await observe(draftPollutionHighRule, db)).toMatchObject({ value: 50, fires: true });
    await unuse(db, 1);
    expect(await observe(draftPollutionCriticalRule, db)).toMatchObject({ value: 51, fires: true });
  });

  it('pollution is compared unrounded: 300 of 1000 is quiet, 301 of 1000 (30.1 %) fires', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    await insertCourses(db, 700, { org, generation_status: 'completed', created_at: ago(HOUR) });
    await insertCourses(db, 300, { org, created_at: ago(HOUR) });
    expect(await observe(draftPollutionHighRule, db)).toMatchObject({ value: 30, fires: false });
    await unuse(db, 1);
    expect(await observe(draftPollutionHighRule, db)).toMatchObject({ value: 30.1, fires: true });
  });

  it('unused drafts > 100: 100 is quiet, 101 fires (at any pollution)', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    await insertCourses(db, 900, { org, generation_status: 'completed', created_at: ago(HOUR) });
    await insertCourses(db, 100, { org, created_at: ago(HOUR) });
    expect(await observe(draftUnusedCriticalRule, db)).toMatchObject({ value: 100, fires: false });
    await insertCourses(db, 1, { org, created_at: ago(HOUR) });
    expect(await observe(draftUnusedCriticalRule, db)).toMatchObject({ value: 101, fires: true });
    expect(await observe(draftPollutionHighRule, db)).toMatchObject({ fires: false }); // 101 of 1001
  });

  it('cleanup stalled > 2 h: exactly 2 h since the last success is quiet, 2 h + 1 s fires', async () => {
    const db = await engine.fresh();
    const { log } = captureLogs();
    expect(await draftCleanupStalledRule.observe({ db, config: testConfig(), now: NOW, log })).toEqual([]); // never ran
    // succeeded at 10:29:59, finished 10:30:00 (1 s); failures after it do not count as progress
    await insertRun(db, { status: 'succeeded', started_at: ago(2 * HOUR + SEC), duration_ms: 1000 });
    await insertRun(db, { status: 'failed', started_at: ago(HOUR), duration_ms: 100 });
    await insertRun(db, { status: 'succeeded', started_at: ago(30 * MIN), duration_ms: 100, dry_run: true });
    expect(await observe(draftCleanupStalledRule, db)).toMatchObject({ value: 2, fires: false });
    const later = await observe(draftCleanupStalledRule, db, new Date(NOW.getTime() + SEC));
    expect(later.fires).toBe(true);
    expect(later.value).toBeCloseTo(2 + 1 / 3600, 12);
  });

  it('old drafts pending > 5: five unused drafts past 24 h are quiet, six fire', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    await insertCourses(db, 5, { org, created_at: ago(24 * HOUR + SEC) });
    await insertCourses(db, 3, { org, created_at: ago(24 * HOUR) }); // exactly 24 h: not yet due
    await insertCourses(db, 3, { org, generation_status: 'failed', created_at: ago(48 * HOUR) }); // used
    await insertCourses(db, 3, { org, status: 'archived', created_at: ago(48 * HOUR) }); // not drafts
    expect(await observe(draftOldPendingRule, db)).toMatchObject({ value: 5, fires: false });
    await insertCourses(db, 1, { org, created_at: ago(30 * HOUR) });
    expect(await observe(draftOldPendingRule, db)).toMatchObject({ value: 6, fires: true });
  });

  it('traffic spike > 100 created in the last hour: 100 is quiet, 101 fires', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    await insertCourses(db, 60, { org, created_at: ago(59 * MIN) });
    await insertCourses(db, 40, { org, status: 'published', generation_status: 'completed', created_at: ago(SEC) });
    await insertCourses(db, 7, { org, created_at: ago(HOUR) }); // exactly an hour ago: outside
    await insertCourses(db, 4, { org, created_at: new Date(NOW.getTime() + MIN) }); // after NOW: outside
    expect(await observe(draftTrafficSpikeRule, db)).toMatchObject({ value: 100, fires: false });
    await insertCourses(db, 1, { org, created_at: ago(HOUR - SEC) });
    expect(await observe(draftTrafficSpikeRule, db)).toMatchObject({ value: 101, fires: true });
  });

  it('cleanup failures: two in a row are quiet, the third fires, a success clears it', async () => {
    const db = await engine.fresh();
    await insertRun(db, { status: 'failed', started_at: ago(5 * HOUR), duration_ms: 10 }); // before the last success
    await insertRun(db, { status: 'succeeded', started_at: ago(4 * HOUR), duration_ms: 10, deleted_count: 2 });
    await insertRun(db, { status: 'failed', started_at: ago(3 * HOUR), duration_ms: 10 });
    await insertRun(db, { status: 'skipped', started_at: ago(150 * MIN), duration_ms: 0 });
    await insertRun(db, { status: 'failed', started_at: ago(2 * HOUR), duration_ms: 10 });
    await insertRun(db, { status: 'failed', started_at: ago(90 * MIN), duration_ms: 10, dry_run: true });
    await insertRun(db, { status: 'failed', started_at: ago(80 * MIN), duration_ms: 10, job: 'run-history-prune' });
    expect(await observe(draftCleanupFailuresRule, db)).toMatchObject({ value: 2, fires: false });
    await insertRun(db, { status: 'failed', started_at: ago(HOUR), duration_ms: 10 });
    expect(await observe(draftCleanupFailuresRule, db)).toMatchObject({ value: 3, fires: true });
    await insertRun(db, { status: 'partial', started_at: ago(10 * MIN), duration_ms: 10, deleted_count: 1 });
    expect(await observe(draftCleanupFailuresRule, db)).toMatchObject({ value: 0, fires: false });
  });

  it('gauges report drafts, unused drafts and the pollution ratio', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    const empty = await Promise.all(draftGauges.map((g) => g.collect({ db, config: testConfig(), now: NOW })));
    expect(empty).toEqual([[{ value: 0 }], [{ value: 0 }], [{ value: 0 }]]);
    await insertCourses(db, 5, { org, generation_status: 'completed', created_at: ago(HOUR) });
    await insertCourses(db, 3, { org, created_at: ago(HOUR) });
    await insertCourses(db, 2, { org, status: 'published', created_at: ago(HOUR) });
    const values = await Promise.all(draftGauges.map((g) => g.collect({ db, config: testConfig(), now: NOW })));
    expect(Object.fromEntries(draftGauges.map((g, i) => [g.name, values[i]]))).toEqual({
      cronwarden_drafts: [{ value: 8 }],
      cronwarden_drafts_unused: [{ value: 3 }],
      cronwarden_drafts_pollution_ratio: [{ value: 0.375 }],
    });
  });
});
