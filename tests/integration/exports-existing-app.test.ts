import { gunzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { evaluateAlerts } from '../../src/lib/alerts/engine';
import { exportFilesSetAsideRule } from '../../src/lib/alerts/rules/exports';
import { exportFileCleanupJob, FILE_CLAIM_TTL_SECONDS, FILE_MAX_ATTEMPTS } from '../../src/lib/jobs/export-file-cleanup';
import { exportLogCleanupJob } from '../../src/lib/jobs/export-log-cleanup';
import { createExportMetricsService } from '../../src/lib/monitoring/export-metrics';
import { describeEngines } from '../support/db';
import { tempStorage, testDeps } from '../support/deps';
import { existingApp } from '../support/existing-app';

/**
 * Export operations on an existing app's own table (tests/fixtures/existing-app.sql:
 * public.data_exports, a bigint id, owner_id, an enum state with the words ready / error /
 * purged, object_key, ttl_until), through its binding, row by row at the boundaries.
 */

const NOW = new Date('2026-11-30T02:00:00Z');
const H = 3600_000;
const DAY = 24 * H;
const ME = 'aaaaaaaa-0000-4000-8000-000000000001';
const YOU = 'aaaaaaaa-0000-4000-8000-000000000002';

/** Every row of the app's tables that Cronwarden must not touch, as JSON. */
async function untouched(db: SqlDb) {
  return db.query(
    `select (select coalesce(jsonb_agg(t order by t.id), '[]') from public.alerts t) as alerts,
            (select coalesce(jsonb_agg(t order by t.id), '[]') from public.audit_logs t) as audit_logs,
            (select coalesce(jsonb_agg(t order by t.id), '[]') from public.courses t) as courses,
            (select coalesce(jsonb_agg(t order by t.id), '[]') from public.users t) as users,
            (select coalesce(jsonb_agg(t order by t.id), '[]') from auth.users t) as auth_users`,
  );
}

interface Row {
  id: number;
  owner: string;
  state: 'pending' | 'running' | 'ready' | 'error' | 'purged';
  key: string | null;
  ttl: Date | null;
  requested: Date;
  file: boolean;
}

async function load(db: SqlDb): Promise<Row[]> {
  await db.exec(`
    insert into auth.users (id, email) values ('${ME}', 'me@example.com'), ('${YOU}', 'you@example.com');
    insert into public.users (id, email, full_name) values ('${ME}', 'me@example.com', 'Me'), ('${YOU}', 'you@example.com', 'You');
    insert into public.alerts (user_id, message) values ('${ME}', 'your export is ready');
    insert into public.audit_logs (actor_id, event, payload) values ('${ME}', 'export.requested', '{"kind": "csv"}');
    insert into public.courses (title, is_draft) values ('not ours', true);
  `);
  const rows: Omit<Row, 'id'>[] = [
    // due: ready and past ttl (one a second past, one long past); one of them has no object
    { owner: ME, state: 'ready', key: 'exports/me/1.csv', ttl: new Date(NOW.getTime() - 1000), requested: new Date(NOW.getTime() - 2 * DAY), file: true },
    { owner: YOU, state: 'ready', key: 'exports/you/2.csv', ttl: new Date(NOW.getTime() - 10 * H), requested: new Date(NOW.getTime() - 2 * DAY), file: true },
    { owner: ME, state: 'ready', key: null, ttl: new Date(NOW.getTime() - H), requested: new Date(NOW.getTime() - 2 * DAY), file: false },
    // exactly at the ttl: due (expires_at <= now)
    { owner: ME, state: 'ready', key: 'exports/me/4.csv', ttl: NOW, requested: new Date(NOW.getTime() - DAY), file: true },
    // not due: a second before its ttl, no ttl at all
    { owner: ME, state: 'ready', key: 'exports/me/5.csv', ttl: new Date(NOW.getTime() + 1000), requested: new Date(NOW.getTime() - DAY), file: true },
    { owner: ME, state: 'ready', key: 'exports/me/6.csv', ttl: null, requested: new Date(NOW.getTime() - DAY), file: true },
    // not ready: never touched whatever its ttl
    { owner: ME, state: 'error', key: null, ttl: new Date(NOW.getTime() - DAY), requested: new Date(NOW.getTime() - 2 * DAY), file: false },
    { owner: ME, state: 'running', key: 'exports/me/8.csv', ttl: new Date(NOW.getTime() - DAY), requested: new Date(NOW.getTime() - 2 * DAY), file: true },
    { owner: ME, state: 'purged', key: 'exports/me/9.csv', ttl: new Date(NOW.getTime() - 5 * DAY), requested: new Date(NOW.getTime() - 6 * DAY), file: false },
    // two rows, one object: the expired one gives it up, the live one keeps it
    { owner: ME, state: 'ready', key: 'exports/shared.csv', ttl: new Date(NOW.getTime() - H), requested: new Date(NOW.getTime() - 2 * DAY), file: true },
    { owner: YOU, state: 'ready', key: 'exports/shared.csv', ttl: new Date(NOW.getTime() + 7 * DAY), requested: new Date(NOW.getTime() - H), file: true },
    // a row pointing into the archive: never removed, set aside after the third attempt
    { owner: ME, state: 'ready', key: 'archive/export-logs/2026/10/batch.ndjson.gz', ttl: new Date(NOW.getTime() - H), requested: new Date(NOW.getTime() - 2 * DAY), file: true },
  ];
  const out: Row[] = [];
  for (const r of rows) {
    const [{ id }] = await db.query<{ id: number }>(
      `insert into public.data_exports (owner_id, state, object_key, bytes, requested_at, ttl_until) values ($1, $2, $3, 100, $4, $5) returning id`,
      [r.owner, r.state, r.key, r.requested, r.ttl],
    );
    out.push({ id: Number(id), ...r });
  }
  return out;
}

async function states(db: SqlDb): Promise<Record<number, string>> {
  const rows = await db.query<{ id: number; state: string }>(`select id, state::text from public.data_exports order by id`);
  return Object.fromEntries(rows.map((r) => [Number(r.id), r.state]));
}

describeEngines('exports on an existing app (bound to public.data_exports)', (engine) => {
  it('file cleanup purges exactly the due ready rows, keeps shared and archived objects, sets aside what never succeeds', async () => {
    const app = await existingApp(engine);
    expect(app.features.exports).toMatchObject({ bound: true, problems: [] });
    const db = app.db;
    const rows = await load(db);
    const storage = tempStorage();
    for (const r of rows) if (r.file && r.key) await storage.put(r.key, 'x');
    const before = await untouched(db);
    const { deps } = testDeps(db, { storage, now: () => NOW, bindings: app.bindings, features: app.features });

    const out = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, deps);
    expect(out.kind).toBe('finished');
    if (out.kind !== 'finished') return;
    const due = [0, 1, 2, 3, 9, 11].map((i) => rows[i].id);
    expect(out.result).toMatchObject({ total_found: due.length, deleted_count: 3, logs_updated: 5, kept_shared_count: 1, failed_count: 1, set_aside_count: 0 });

    const after = await states(db);
    for (const r of rows) {
      const expected = [rows[0], rows[1], rows[2], rows[3], rows[9]].includes(r) ? 'purged' : r.state;
      expect([r.id, after[r.id]]).toEqual([r.id, expected]);
    }
    for (const i of [0, 1, 3]) expect(await storage.exists(rows[i].key!)).toBe(false);
    for (const i of [4, 5, 7, 10, 11]) expect(await storage.exists(rows[i].key!)).toBe(true); // not due, live share, archive
    expect(await untouched(db)).toEqual(before);

    // The archive row fails again on every run until the third, then waits for an operator.
    for (let attempt = 2; attempt <= FILE_MAX_ATTEMPTS; attempt++) {
      const later = new Date(NOW.getTime() + attempt * (FILE_CLAIM_TTL_SECONDS + 1) * 1000);
      const again = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, { ...deps, now: () => later });
      expect(again.kind === 'finished' && again.result).toMatchObject({ failed_count: 1, set_aside_count: attempt === FILE_MAX_ATTEMPTS ? 1 : 0 });
    }
    const muchLater = new Date(NOW.getTime() + 10 * DAY);
    const quiet = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, { ...deps, now: () => muchLater });
    // The live sharer's own ttl has passed: now nothing else needs the object. The set-aside row is not taken.
    expect(quiet.kind === 'finished' && quiet.result).toMatchObject({ total_found: 1, deleted_count: 1, failed_count: 0 });
    expect(await storage.exists('exports/shared.csv')).toBe(false);
    expect(await storage.exists(rows[11].key!)).toBe(true);
    const summary = await evaluateAlerts({ db, config: deps.config, log: deps.log, now: muchLater, rules: [exportFilesSetAsideRule], channels: [], features: app.features });
    expect(summary.changes).toEqual([expect.objectContaining({ rule_id: 'exports.files_set_aside', transition: 'opened', value: 1 })]);
  });

  it('log retention deletes the rows older than the cutoff except ready rows with an object, and archives their whole rows', async () => {
    const app = await existingApp(engine);
    const db = app.db;
    const storage = tempStorage();
    await load(db);
    const cutoff = NOW.getTime() - 30 * DAY;
    const old = async (state: string, key: string | null, at: number) =>
      Number(
        (
          await db.query<{ id: number }>(
            `insert into public.data_exports (owner_id, state, object_key, kind, requested_at) values ($1, $2, $3, 'pdf', $4) returning id`,
            [ME, state, key, new Date(at)],
          )
        )[0].id,
      );
    const gone = [await old('purged', 'exports/x.csv', cutoff - 1000), await old('error', null, cutoff - DAY), await old('pending', null, cutoff - 1)];
    const kept = [await old('ready', 'exports/live.csv', cutoff - DAY), await old('purged', null, cutoff), await old('error', null, cutoff + 1000)];
    const before = await untouched(db);
    const { deps } = testDeps(db, {
      storage,
      now: () => NOW,
      bindings: app.bindings,
      features: app.features,
      env: { EXPORT_ARCHIVE_ENABLED: 'true' },
    });

    const out = await runJob(exportLogCleanupJob, { input: { batchSize: 2 }, dryRun: false }, deps);
    expect(out.kind === 'finished' && out.result).toMatchObject({ deleted_count: 3, archived_count: 3 });
    const left = new Set((await db.query<{ id: number }>(`select id from public.data_exports`)).map((r) => Number(r.id)));
    for (const id of gone) expect(left.has(id)).toBe(false);
    for (const id of kept) expect(left.has(id)).toBe(true);
    expect(await untouched(db)).toEqual(before);
    // The archive holds the team's own rows, every column (kind included), under their own names.
    const objects = (await storage.list('archive/export-logs/')).filter((o) => o.path.endsWith('.ndjson.gz'));
    expect(objects).toHaveLength(2);
    const archived = [];
    for (const o of objects) {
      const text = gunzipSync((await storage.get(o.path))!).toString('utf8');
      archived.push(...text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>));
    }
    expect(archived.map((r) => Number(r.id)).sort((a, b) => a - b)).toEqual([...gone].sort((a, b) => a - b));
    for (const r of archived) expect(Object.keys(r).sort()).toEqual(['bytes', 'id', 'kind', 'object_key', 'owner_id', 'ready_at', 'requested_at', 'state', 'ttl_until']);
  });

  it('metrics take the team\'s bigint export ids and uuid user ids as text; a user id of another type is refused', async () => {
    const app = await existingApp(engine);
    const { deps } = testDeps(app.db, { now: () => NOW, bindings: app.bindings, features: app.features });
    const metrics = createExportMetricsService({ db: app.db, log: deps.log, config: deps.config, now: () => NOW });
    await metrics.logExportMetric({
      export_id: '42', user_id: ME, format: 'pdf', status: 'completed', conversation_count: 3, duration_ms: 40 * 86_400_000, file_size_bytes: 10,
      timestamp: new Date(NOW.getTime() - 60_000),
    });
    const agg = await metrics.aggregateMetrics({ from: new Date(NOW.getTime() - H), to: NOW, period: 'hourly' });
    expect(agg).toMatchObject({ total_exports: 1, avg_duration_by_format: { pdf: 40 * 86_400_000 } });
    const bad = await runJob(exportLogCleanupJob, { input: { userId: 'not-a-uuid' }, dryRun: true }, deps);
    expect(bad.kind === 'crashed' && bad.error).toMatchObject({ status: 400, code: 'INVALID_PARAMETER' });
  });
});
