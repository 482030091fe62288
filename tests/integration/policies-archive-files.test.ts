import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect, it } from 'vitest';
import { parseCronwardenConfig, type PolicyInput } from '../../src/lib/bindings/spec';
import { runJob, type RunOutcome } from '../../src/lib/cron/runner';
import type { Db, SqlDb } from '../../src/lib/db/types';
import { orphanSweepJob } from '../../src/lib/jobs/orphan-sweep';
import { policyJob } from '../../src/lib/jobs/policy';
import type { LocalStorage } from '../../src/lib/storage/local';
import { bindRules, type RuleStates } from '../../src/lib/policies/apply';
import type { Storage } from '../../src/lib/storage/types';
import fixtureConfig from '../fixtures/existing-app.config';
import { describeEngines } from '../support/db';
import { tempStorage, testConfig, testDeps } from '../support/deps';
import { existingApp } from '../support/existing-app';

// Orphaned-file sweeps, and retention policies that remove the objects their rows name, and policies that archive their
// rows first, on the existing app's own tables (tests/fixtures/existing-app.sql).
const NOW = new Date('2026-03-11T12:30:00.000Z');
const DAY = 86_400_000;
const ago = (ms: number) => new Date(NOW.getTime() - ms);
const ARCHIVE_PREFIX = testConfig().exports.archivePrefix;
const UPLOADER = '00000000-0000-4000-8000-000000000001';

const oldFiles: PolicyInput = {
  name: 'old-files',
  table: 'public.user_files',
  keyColumn: 'id',
  timeColumn: 'created_at',
  age: '30 days',
  storagePathColumn: 'path',
  batchSize: 2,
  schedule: '0 3 * * *',
};

const archivedAuditEvents: PolicyInput = {
  name: 'archived-audit-events',
  table: 'public.audit_logs',
  keyColumn: 'id',
  timeColumn: 'at',
  age: '30 days',
  where: [{ column: 'event', op: 'in', value: ['login', 'logout'] }],
  archive: true,
  batchSize: 2,
  schedule: '15 4 * * *',
};

async function bind(db: SqlDb, policies: unknown[]) {
  const config = parseCronwardenConfig({ ...fixtureConfig, policies });
  const { rules } = await bindRules(db, config, ARCHIVE_PREFIX);
  return { spec: config.policies[0], rules };
}

async function run(db: Db, storage: Storage, rules: RuleStates, spec: ReturnType<typeof parseCronwardenConfig>['policies'][number], dryRun = false): Promise<RunOutcome> {
  const { deps } = testDeps(db, { now: () => NOW, rules, storage });
  return runJob(policyJob(spec), { input: {}, dryRun }, deps);
}

function finished(outcome: RunOutcome) {
  if (outcome.kind !== 'finished') throw new Error(`run ${outcome.kind}: ${outcome.kind === 'crashed' ? String(outcome.error) : ''}`);
  return outcome;
}

async function file(db: SqlDb, path: string, createdAt: Date): Promise<string> {
  const [{ id }] = await db.query<{ id: string }>(`insert into public.user_files (uploader, path, created_at) values ($1, $2, $3) returning id::text as id`, [UPLOADER, path, createdAt]);
  return id;
}

async function auditRow(db: SqlDb, event: string, at: Date): Promise<string> {
  const [{ id }] = await db.query<{ id: string }>(`insert into public.audit_logs (event, payload, at) values ($1, '{}', $2) returning id::text as id`, [event, at]);
  return id;
}

const ids = async (db: SqlDb, table: string) => (await db.query<{ id: string }>(`select id::text as id from ${table} order by id`)).map((r) => r.id);

/** Storage whose `remove` fails for the paths in `broken` (as a remote store answering 500 would). */
function failingFor(storage: Storage, broken: Set<string>): Storage {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      if (prop === 'remove') {
        return async (paths: string[]) => {
          const res = await target.remove(paths.filter((p) => !broken.has(p)));
          return { removed: res.removed, failed: [...res.failed, ...paths.filter((p) => broken.has(p)).map((path) => ({ path, error: 'HTTP 500 from storage' }))] };
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** Every row id in the policy's archive objects, with the object it is in; manifests checked. */
async function archivedIds(storage: Storage): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const o of await storage.list(`${ARCHIVE_PREFIX}/policies/archived-audit-events/`)) {
    if (!o.path.endsWith('.ndjson.gz')) continue;
    const lines = gunzipSync(Buffer.from((await storage.get(o.path))!)).toString('utf8').trim().split('\n');
    const manifest = JSON.parse(Buffer.from((await storage.get(o.path.replace(/\.ndjson\.gz$/, '.manifest.json')))!).toString('utf8'));
    expect(manifest).toMatchObject({ format: 'ndjson+gzip', table: 'public.audit_logs', policy: 'archived-audit-events', object: o.path, rows: lines.length });
    for (const line of lines) {
      const id = String(JSON.parse(line).id);
      out.set(id, [...(out.get(id) ?? []), o.path]);
    }
  }
  return out;
}

describeEngines('retention policies with stored objects and archives', (engine) => {
  it('a storage path column: each object is removed before its row, except one another row still needs, one under the archive prefix, one storage failed to remove', async () => {
    const { db } = await existingApp(engine);
    const storage = tempStorage();
    const put = (path: string) => storage.put(path, `bytes of ${path}`);
    for (const p of ['uploads/a.pdf', 'uploads/b.pdf', 'uploads/shared.pdf', 'uploads/young.pdf', 'uploads/broken.pdf', `${ARCHIVE_PREFIX}/2026/01/01/kept.ndjson.gz`]) await put(p);
    const due = {
      a: await file(db, 'uploads/a.pdf', ago(31 * DAY)),
      b: await file(db, 'uploads/b.pdf', ago(30 * DAY + 1)),
      shared: await file(db, 'uploads/shared.pdf', ago(40 * DAY)),
      archive: await file(db, `${ARCHIVE_PREFIX}/2026/01/01/kept.ndjson.gz`, ago(50 * DAY)),
      missing: await file(db, 'uploads/gone-already.pdf', ago(60 * DAY)),
    };
    const broken = await file(db, 'uploads/broken.pdf', ago(45 * DAY));
    const young = { exactly: await file(db, 'uploads/young.pdf', ago(30 * DAY)), sharing: await file(db, 'uploads/shared.pdf', ago(DAY)) };
    const { spec, rules } = await bind(db, [oldFiles]);
    expect(rules['policies/old-files']).toMatchObject({ bound: true, problems: [] });

    const dry = finished(await run(db, storage, rules, spec, true));
    expect(dry.result).toMatchObject({ would_delete_count: 6, would_remove_objects: 6, rows_affected: 0 });
    expect((await storage.list('uploads/')).length).toBe(5);

    const first = finished(await run(db, failingFor(storage, new Set(['uploads/broken.pdf'])), rules, spec));
    expect(first.status).toBe('failed');
    expect(first.result).toMatchObject({
      deleted_count: 5,
      objects_removed: 3,
      objects_kept: { referenced: 1, archive: 1, invalid: 0 },
      rows_kept_for_failed_objects: 1,
    });
    expect(first.result.errors).toEqual([{ subject: 'uploads/broken.pdf', message: 'HTTP 500 from storage' }]);
    expect(await ids(db, 'public.user_files')).toEqual([broken, young.exactly, young.sharing].sort((x, y) => Number(x) - Number(y)));
    expect((await storage.list('')).map((o) => o.path)).toEqual([`${ARCHIVE_PREFIX}/2026/01/01/kept.ndjson.gz`, 'uploads/broken.pdf', 'uploads/shared.pdf', 'uploads/young.pdf']);
    expect((await ids(db, 'public.user_files')).filter((id) => Object.values(due).includes(id))).toEqual([]);

    // Storage answers again: the row left behind goes with its object.
    const second = finished(await run(db, storage, rules, spec));
    expect(second.status).toBe('succeeded');
    expect(second.result).toMatchObject({ deleted_count: 1, objects_removed: 1, rows_kept_for_failed_objects: 0 });
    expect(await ids(db, 'public.user_files')).toEqual([young.exactly, young.sharing].sort((x, y) => Number(x) - Number(y)));
    expect((await storage.list('uploads/')).map((o) => o.path)).toEqual(['uploads/shared.pdf', 'uploads/young.pdf']);
  });

  it('a row whose path is NULL has no object: nothing named "NULL" is removed, a path spelled NULL is', async () => {
    const { db } = await existingApp(engine);
    // This test's copy of the app allows rows without a file.
    await db.exec(`alter table public.user_files alter column path drop not null`);
    const storage = tempStorage();
    for (const p of ['NULL', 'uploads/NULL', 'uploads/c.pdf']) await storage.put(p, `bytes of ${p}`);
    const [{ id: noFile }] = await db.query<{ id: string }>(
      `insert into public.user_files (uploader, path, created_at) values ($1, null, $2) returning id::text as id`,
      [UPLOADER, ago(40 * DAY)],
    );
    await file(db, 'uploads/NULL', ago(41 * DAY));
    await file(db, 'uploads/c.pdf', ago(42 * DAY));
    const { spec, rules } = await bind(db, [oldFiles]);
    const out = finished(await run(db, storage, rules, spec));
    expect(out.status).toBe('succeeded');
    expect(out.result).toMatchObject({ deleted_count: 3, objects_removed: 2, objects_kept: { referenced: 0, archive: 0, invalid: 0 } });
    expect(await ids(db, 'public.user_files')).not.toContain(noFile);
    expect((await storage.list('')).map((o) => o.path)).toEqual(['NULL']);
  });

  it('the update action with a storage path column: the object goes, the row stays with its new status', async () => {
    const { db } = await existingApp(engine);
    const storage = tempStorage();
    await db.exec(`alter table public.user_files add column state text not null default 'stored'`);
    await storage.put('uploads/old.pdf', 'x');
    await storage.put('uploads/new.pdf', 'y');
    const old = await file(db, 'uploads/old.pdf', ago(31 * DAY));
    const fresh = await file(db, 'uploads/new.pdf', ago(DAY));
    const { spec, rules } = await bind(db, [{ ...oldFiles, action: { update: { column: 'state', value: 'purged' } } }]);
    const out = finished(await run(db, storage, rules, spec));
    expect(out.result).toMatchObject({ updated_count: 1, objects_removed: 1 });
    expect(await db.query(`select id::text as id, state from public.user_files order by id`)).toEqual([
      { id: old, state: 'purged' },
      { id: fresh, state: 'stored' },
    ]);
    expect((await storage.list('uploads/')).map((o) => o.path)).toEqual(['uploads/new.pdf']);
    expect(finished(await run(db, storage, rules, spec)).result).toMatchObject({ updated_count: 0, objects_removed: 0 });
  });

  it('archive on: every deleted row is in exactly one verified archive, also after the process stopped between the archive and the delete', async () => {
    const { db } = await existingApp(engine);
    const storage = tempStorage();
    const due = [];
    for (let i = 0; i < 5; i++) due.push(await auditRow(db, i % 2 ? 'login' : 'logout', ago((31 + i) * DAY)));
    const kept = [await auditRow(db, 'login', ago(30 * DAY)), await auditRow(db, 'export', ago(90 * DAY))];
    const { spec, rules } = await bind(db, [archivedAuditEvents]);
    expect(rules['policies/archived-audit-events']).toMatchObject({ bound: true, problems: [] });

    const dry = finished(await run(db, storage, rules, spec, true));
    expect(dry.result).toMatchObject({ would_delete_count: 5, would_archive_objects: 3 });

    // The process dies after the first batch's archive is written and verified, before its rows are deleted.
    const dying = new Proxy(db, {
      get(target, prop, receiver) {
        if (prop === 'rpc') {
          return async (name: string, args?: Record<string, unknown>) => {
            if (name === 'policy_act_on_keys') throw new Error('process killed');
            return target.rpc(name, args);
          };
        }
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const killed = await run(dying, storage, rules, spec);
    expect(killed.kind === 'finished' ? killed.status : killed.kind).not.toBe('succeeded');
    expect(await ids(db, 'public.audit_logs')).toHaveLength(7);
    const afterKill = await archivedIds(storage);
    expect(afterKill.size).toBe(2);
    const [{ n: pendingBefore }] = await db.query<{ n: number }>(`select count(*)::int as n from cronwarden.policy_archive_pending`);
    expect(pendingBefore).toBe(1);

    const out = finished(await run(db, storage, rules, spec));
    expect(out.status).toBe('succeeded');
    expect(out.result).toMatchObject({ deleted_count: 5, archived_count: 5 });
    expect(await ids(db, 'public.audit_logs')).toEqual(kept);
    const archived = await archivedIds(storage);
    expect([...archived.keys()].sort()).toEqual([...due].sort());
    for (const [id, objects] of archived) expect(objects, id).toHaveLength(1);
    // The interrupted batch was finished under the object key it was recorded with.
    for (const [id, objects] of afterKill) expect(archived.get(id), id).toEqual(objects);
    expect(await db.query(`select * from cronwarden.policy_archive_pending`)).toEqual([]);

    // A store that cannot hold the archive: nothing is deleted.
    await auditRow(db, 'login', ago(35 * DAY));
    const readOnly = new Proxy(storage, {
      get(target, prop, receiver) {
        if (prop === 'put') return async () => Promise.reject(new Error('HTTP 403 from storage'));
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const refused = finished(await run(db, readOnly, rules, spec));
    expect(refused.status).toBe('failed');
    expect(refused.result).toMatchObject({ deleted_count: 0, archived_count: 0 });
    expect(await ids(db, 'public.audit_logs')).toHaveLength(3);
  });

  it('an orphan sweep removes only old objects no row references: not a young one, not a referenced one, not one under the archive prefix; its dry run lists them first', async () => {
    const { db } = await existingApp(engine);
    const storage = tempStorage();
    const HOUR = 3_600_000;
    /** An object last modified `age` before NOW. */
    const put = async (p: string, age: number, body = `bytes of ${p}`) => {
      await storage.put(p, body);
      const at = ago(age);
      fs.utimesSync(path.join((storage as LocalStorage).root, p), at, at);
    };
    await put('uploads/orphan-old.bin', 3 * HOUR, 'x'.repeat(1234));
    await put('uploads/orphan-just-past.bin', 2 * HOUR + 1000, 'y'.repeat(10));
    await put('uploads/in-flight.bin', 2 * HOUR - 1000);
    await put('uploads/owned-by-file-row.bin', 30 * 24 * HOUR);
    await put('uploads/named-in-comment.bin', 30 * 24 * HOUR);
    await put('elsewhere/orphan.bin', 30 * 24 * HOUR);
    await put(`${ARCHIVE_PREFIX}/2026/01/01/batch.ndjson.gz`, 30 * 24 * HOUR);
    await put('archive/stray.bin', 30 * 24 * HOUR, 'z'.repeat(7));
    await file(db, 'uploads/owned-by-file-row.bin', ago(DAY));
    await db.query(`insert into public.comments (body) values ('uploads/named-in-comment.bin')`);
    const config = parseCronwardenConfig({
      ...fixtureConfig,
      orphanSweeps: [
        { name: 'uploads', prefix: 'uploads/', grace: '2 hours', references: [{ table: 'public.comments', column: 'body' }], batchSize: 2, schedule: '0 5 * * *' },
        { name: 'archive-folder', prefix: 'archive/', grace: '1 day', schedule: '0 6 * * *' },
        { name: 'inside-archive', prefix: `${ARCHIVE_PREFIX}/2026/`, grace: '1 day', schedule: '0 6 * * *' },
      ],
    });
    const { rules } = await bindRules(db, config, ARCHIVE_PREFIX);
    expect(rules['orphan-sweeps/uploads']).toMatchObject({ bound: true, problems: [] });
    expect(rules['orphan-sweeps/inside-archive'].problems).toEqual([
      `orphan sweep inside-archive: '${ARCHIVE_PREFIX}/2026/' is under the archive prefix '${ARCHIVE_PREFIX}' (EXPORT_ARCHIVE_PREFIX); archived objects are never swept (set orphanSweeps[2].prefix in cronwarden.config.ts)`,
    ]);
    const sweep = (i: number, dryRun = false) => {
      const { deps } = testDeps(db, { now: () => NOW, rules, storage });
      return runJob(orphanSweepJob(config.orphanSweeps[i]), { input: {}, dryRun }, deps).then(finished);
    };
    const everything = async () => (await storage.list('')).map((o) => o.path);
    const before = await everything();

    const dry = await sweep(0, true);
    expect(dry.result).toMatchObject({
      objects_listed: 5,
      kept_too_young: 1,
      kept_referenced: 2,
      would_remove_count: 2,
      would_free_bytes: 1244,
      would_remove: [
        { path: 'uploads/orphan-just-past.bin', bytes: 10, updated_at: ago(2 * HOUR + 1000).toISOString() },
        { path: 'uploads/orphan-old.bin', bytes: 1234, updated_at: ago(3 * HOUR).toISOString() },
      ],
      partial: false,
    });
    expect(await everything()).toEqual(before);

    const out = await sweep(0);
    expect(out.status).toBe('succeeded');
    expect(out.result).toMatchObject({ objects_removed: 2, bytes_freed: 1244, kept_too_young: 1, kept_referenced: 2, objects_failed: 0, rows_affected: 2 });
    expect(await everything()).toEqual(before.filter((p) => !p.startsWith('uploads/orphan-')));

    // A prefix above the archive: the archive's objects are listed and kept.
    const wide = await sweep(1);
    expect(wide.result).toMatchObject({ objects_listed: 2, kept_archive: 1, objects_removed: 1, bytes_freed: 7 });
    expect(await everything()).toEqual([`${ARCHIVE_PREFIX}/2026/01/01/batch.ndjson.gz`, 'elsewhere/orphan.bin', 'uploads/in-flight.bin', 'uploads/named-in-comment.bin', 'uploads/owned-by-file-row.bin']);

    // Once the row that owned an object is gone, the next sweep takes it.
    await db.exec(`delete from public.user_files`);
    expect((await sweep(0)).result).toMatchObject({ objects_removed: 1, kept_referenced: 1, kept_too_young: 1 });
  });
});
