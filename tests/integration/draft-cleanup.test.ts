import { describe, expect, it } from 'vitest';
import { runJob } from '../../src/lib/cron/runner';
import type { SqlDb } from '../../src/lib/db/types';
import { PostgresDb } from '../../src/lib/db/postgres';
import { parseOrThrow } from '../../src/lib/http/query';
import { draftCleanupJob } from '../../src/lib/jobs/draft-cleanup';
import { describeEngines, freshPostgresUrl, hasPostgres } from '../support/db';
import { testDeps } from '../support/deps';
import { HOUR, SEC, insertCourse, insertCourses, insertOrg } from '../support/drafts';

const NOW = new Date('2026-03-11T12:30:00Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms);

async function ids(db: SqlDb): Promise<string[]> {
  return (await db.query<{ id: string }>(`select id from courses order by id`)).map((r) => r.id);
}

/** Unused drafts around the 24 h boundary, and older courses the cleanup must not touch. */
async function boundaryFixture(db: SqlDb) {
  const org = await insertOrg(db, 'Org');
  const due = await insertCourse(db, { org, created_at: ago(24 * HOUR + SEC) });
  const exactly24h = await insertCourse(db, { org, created_at: ago(24 * HOUR) });
  const young = await insertCourse(db, { org, created_at: ago(24 * HOUR - SEC) });
  const published = await insertCourse(db, { org, status: 'published', generation_status: 'completed', created_at: ago(30 * 24 * HOUR) });
  const publishedNoGen = await insertCourse(db, { org, status: 'published', created_at: ago(30 * 24 * HOUR) });
  const archived = await insertCourse(db, { org, status: 'archived', created_at: ago(30 * 24 * HOUR) });
  const usedDraft = await insertCourse(db, { org, generation_status: 'failed', created_at: ago(30 * 24 * HOUR) });
  return { org, due, keep: [exactly24h, young, published, publishedNoGen, archived, usedDraft] };
}

async function run(db: SqlDb, input: Record<string, number> = {}, dryRun = false, extra: { budgetMs?: number; budgetClock?: () => number } = {}) {
  const { deps, logs } = testDeps(db, { now: () => NOW });
  const out = await runJob(draftCleanupJob, { input, dryRun, ...extra }, deps);
  if (out.kind !== 'finished') throw new Error(`run did not finish: ${out.kind}`);
  return { result: out.result, logs, runId: out.runId };
}

describeEngines('draft-cleanup job', (engine) => {
  it('deletes unused drafts older than 24 h (boundary ± 1 s) and nothing else', async () => {
    const db = await engine.fresh();
    const f = await boundaryFixture(db);
    const { result, logs, runId } = await run(db);
    expect(result).toMatchObject({
      status: 'succeeded',
      deleted_count: 1,
      deleted_ids: [f.due],
      deleted_ids_truncated: false,
      cutoff_time: '2026-03-10T12:30:00.000Z',
      hours: 24,
      batches: 1,
      rows_affected: 1,
      partial: false,
      errors: [],
    });
    expect(await ids(db)).toEqual([...f.keep].sort());
    const [rec] = await db.query<{ status: string; rows_affected: string | number; result: { deleted_count: number } }>(
      `select status, rows_affected, result from cronwarden.cron_job_runs where id = $1`,
      [runId],
    );
    expect(rec.status).toBe('succeeded');
    expect(Number(rec.rows_affected)).toBe(1);
    expect(rec.result.deleted_count).toBe(1);
    expect(logs.ofType('draft_cleanup_complete')).toMatchObject([{ deleted_count: 1, cutoff_time: '2026-03-10T12:30:00.000Z' }]);

    // Nothing left to do: a second run deletes nothing.
    const again = await run(db);
    expect(again.result).toMatchObject({ deleted_count: 0, deleted_ids: [], batches: 1 });
  });

  it('a dry run reports what it would delete and changes nothing', async () => {
    const db = await engine.fresh();
    const f = await boundaryFixture(db);
    const before = await ids(db);
    const { result } = await run(db, {}, true);
    expect(result).toMatchObject({
      dry_run: true,
      deleted_count: 0,
      deleted_ids: [],
      would_delete_count: 1,
      would_delete_ids: [f.due],
      would_delete_ids_truncated: false,
      rows_affected: 0,
    });
    expect(await ids(db)).toEqual(before);
  });

  it('loops batches, caps the listed ids at 100 (oldest first) and honours hours', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    // 250 unused drafts, one per minute, the newest 2 days old; ids by age.
    const old: string[] = [];
    for (let i = 0; i < 250; i++) old.push(await insertCourse(db, { org, created_at: ago(48 * HOUR + (250 - i) * 60 * SEC) }));
    await insertCourses(db, 3, { org, created_at: ago(2 * HOUR) }); // younger than 24 h, older than 1 h
    await insertCourses(db, 2, { org, created_at: ago(30 * 60 * SEC) }); // 30 minutes old

    const dry = await run(db, { batchSize: 100 }, true);
    expect(dry.result).toMatchObject({ would_delete_count: 250, would_delete_ids_truncated: true });
    expect(dry.result.would_delete_ids).toEqual(old.slice(0, 100));

    const { result } = await run(db, { batchSize: 100 });
    expect(result).toMatchObject({ deleted_count: 250, deleted_ids_truncated: true, batches: 3, rows_affected: 250 });
    expect(result.deleted_ids).toEqual(old.slice(0, 100));
    expect((await ids(db)).length).toBe(5);

    const short = await run(db, { hours: 1 });
    expect(short.result).toMatchObject({ deleted_count: 3, hours: 1, cutoff_time: '2026-03-11T11:30:00.000Z' });
    expect((await ids(db)).length).toBe(2);
  });

  it('more drafts created at one instant than a batch holds: batches stay within their size and take them all', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    await insertCourses(db, 5, { org, created_at: ago(48 * HOUR) });
    const keep = await insertCourse(db, { org, created_at: ago(HOUR) });
    const rows: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const [row] = await db.rpc<{ deleted_count: number; has_more: boolean; resume_from: Date | null }>('draft_cleanup_batch', { p_batch_size: 2, p_now: NOW });
      rows.push([row.deleted_count, row.has_more, row.resume_from]);
    }
    // A full batch taken at that instant resumes there; the last one ends at the cutoff.
    expect(rows).toEqual([
      [2, true, ago(48 * HOUR)],
      [2, true, ago(48 * HOUR)],
      [1, false, ago(24 * HOUR)],
      [0, false, ago(24 * HOUR)],
    ]);
    expect(await ids(db)).toEqual([keep]);
  });

  it('a batch starts at p_from and says where the next one resumes', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    const t = [6, 5, 4, 3, 2, 1].map((h) => ago(24 * HOUR + h * HOUR)); // oldest first
    const d: string[] = [];
    for (const created_at of t) d.push(await insertCourse(db, { org, created_at }));
    const batch = (args: Record<string, unknown>) => db.rpc('draft_cleanup_batch', { p_now: NOW, ...args }).then((r) => r[0]);
    expect(await batch({ p_batch_size: 2 })).toMatchObject({ deleted_ids: [d[0], d[1]], has_more: true, resume_from: t[2] });
    expect(await batch({ p_batch_size: 2, p_from: t[2] })).toMatchObject({ deleted_ids: [d[2], d[3]], has_more: true, resume_from: t[4] });
    // Drafts created before p_from are left to a later run.
    expect(await batch({ p_batch_size: 10, p_from: t[5] })).toMatchObject({ deleted_ids: [d[5]], has_more: false, resume_from: ago(24 * HOUR) });
    expect(await ids(db)).toEqual([d[4]]);
    expect(await batch({})).toMatchObject({ deleted_ids: [d[4]], has_more: false });
  });

  it('lists at most p_list_limit ids, oldest first, and counts every deletion', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    const old: string[] = [];
    for (let i = 0; i < 5; i++) old.push(await insertCourse(db, { org, created_at: ago(48 * HOUR - i * SEC) })); // oldest first
    const [row] = await db.rpc('draft_cleanup_batch', { p_list_limit: 2, p_now: NOW });
    expect(row).toEqual({ deleted_count: 5, deleted_ids: old.slice(0, 2), cutoff_time: ago(24 * HOUR), has_more: false, resume_from: ago(24 * HOUR) });
    const [none] = await db.rpc('draft_cleanup_batch', { p_list_limit: 0, p_now: NOW });
    expect(none).toMatchObject({ deleted_count: 0, deleted_ids: [] });
  });

  it('stops starting batches when the time budget runs out and reports partial', async () => {
    const db = await engine.fresh();
    const org = await insertOrg(db, 'Org');
    await insertCourses(db, 25, { org, created_at: ago(48 * HOUR) });
    let t = 0;
    const clock = () => (t += 600); // budget of 1000 ms: room for one batch only
    const { result } = await run(db, { batchSize: 10 }, false, { budgetMs: 1000, budgetClock: clock });
    expect(result).toMatchObject({ status: 'partial', partial: true, deleted_count: 10, batches: 1 });
    expect((await ids(db)).length).toBe(15);
  });

  it('trigger_manual_cleanup deletes one batch and returns deleted_count, deleted_ids, cutoff_time', async () => {
    const db = await engine.fresh();
    const f = await boundaryFixture(db);
    const rows = await db.rpc('trigger_manual_cleanup', { p_now: NOW });
    expect(rows).toEqual([{ deleted_count: 1, deleted_ids: [f.due], cutoff_time: ago(24 * HOUR) }]);
    expect(await db.rpc('trigger_manual_cleanup', { p_now: NOW })).toEqual([{ deleted_count: 0, deleted_ids: [], cutoff_time: ago(24 * HOUR) }]);
    // The seed's name in public, as `select * from trigger_manual_cleanup();` reaches it.
    const again = await insertCourse(db, { org: f.org, created_at: ago(25 * HOUR) });
    expect(await db.query(`select * from public.trigger_manual_cleanup(p_now => $1)`, [NOW])).toEqual([
      { deleted_count: 1, deleted_ids: [again], cutoff_time: ago(24 * HOUR) },
    ]);
    await expect(db.rpc('draft_cleanup_batch', { p_hours: 0, p_now: NOW })).rejects.toThrow(/p_hours/);
    await expect(db.rpc('draft_cleanup_batch', { p_batch_size: 10_001, p_now: NOW })).rejects.toThrow(/p_batch_size/);
  });

  it('validates its query parameters', () => {
    expect(parseOrThrow(draftCleanupJob.input, { hours: '720', batchSize: '10000' })).toEqual({ hours: 720, batchSize: 10000 });
    expect(() => parseOrThrow(draftCleanupJob.input, { hours: '0' })).toThrow(/at least 1/);
    expect(() => parseOrThrow(draftCleanupJob.input, { hours: '721' })).toThrow(/at most 720/);
    expect(() => parseOrThrow(draftCleanupJob.input, { batchSize: '10001' })).toThrow(/at most 10000/);
    expect(() => parseOrThrow(draftCleanupJob.input, { olderThan: '1' })).toThrow(/Unknown/);
  });
});

/** Settles with `p`, or rejects after `ms` (so a blocked statement fails the test instead of hanging). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
    }),
  ]);
}

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe.skipIf(!hasPostgres())('draft-cleanup with a concurrent user (two connections, real PostgreSQL)', () => {
  async function twoClients() {
    const url = await freshPostgresUrl();
    return { a: PostgresDb.connect(url, 1), b: PostgresDb.connect(url, 1) };
  }

  it('skips a draft another transaction is starting to use; it survives once that commits', async () => {
    const { a, b } = await twoClients();
    try {
      const org = await insertOrg(a, 'Org');
      const used = await insertCourse(a, { org, created_at: ago(48 * HOUR) });
      const other1 = await insertCourse(a, { org, created_at: ago(47 * HOUR) });
      const other2 = await insertCourse(a, { org, created_at: ago(46 * HOUR) });

      const locked = deferred();
      const finish = deferred();
      // B: the user starts generation on the old draft; the transaction stays open (row locked).
      const bTx = b.transaction(async (tx) => {
        const res = await tx.query(`update courses set generation_status = 'queued', updated_at = now() where id = $1 returning id`, [used]);
        expect(res).toHaveLength(1);
        locked.resolve();
        await finish.promise;
      });
      await locked.promise;
      try {
        // A still sees the draft as unused (B has not committed): it is a candidate...
        const dry = await within(run(a, {}, true), 10_000, 'dry run');
        expect(dry.result).toMatchObject({ would_delete_count: 3 });
        expect(dry.result.would_delete_ids).toContain(used);
        // ...but the real cleanup does not wait for B's lock, and does not take the row.
        const { result } = await within(run(a), 10_000, 'cleanup while the draft is locked');
        expect(result).toMatchObject({ status: 'succeeded', deleted_count: 2 });
        expect([...(result.deleted_ids as string[])].sort()).toEqual([other1, other2].sort());
      } finally {
        finish.resolve();
        await bTx;
      }
      expect(await a.query(`select id, generation_status from courses`)).toEqual([{ id: used, generation_status: 'queued' }]);
      // Used now: later runs leave it alone too.
      expect((await run(a)).result).toMatchObject({ deleted_count: 0 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a locked draft in the middle of the batches: the others go batch by batch without waiting, it survives', async () => {
    const { a, b } = await twoClients();
    try {
      const org = await insertOrg(a, 'Org');
      // 30 unused drafts, one per minute, two days old and older; the 15th oldest is in use.
      const drafts: string[] = [];
      for (let i = 0; i < 30; i++) drafts.push(await insertCourse(a, { org, created_at: ago(48 * HOUR + (30 - i) * 60 * SEC) }));
      const used = drafts[14];
      const young = await insertCourse(a, { org, created_at: ago(HOUR) });
      const locked = deferred();
      const finish = deferred();
      const bTx = b.transaction(async (tx) => {
        await tx.query(`update courses set generation_status = 'queued' where id = $1`, [used]);
        locked.resolve();
        await finish.promise;
      });
      await locked.promise;
      try {
        const { result } = await within(run(a, { batchSize: 10 }), 20_000, 'cleanup while a draft in its range is locked');
        expect(result).toMatchObject({ status: 'succeeded', deleted_count: 29, partial: false });
        expect(result.deleted_ids).toEqual(drafts.filter((id) => id !== used));
        // One batch, inside a transaction, with the locked draft in its range: the lock
        // timeout it gave itself is gone afterwards.
        await a.transaction(async (tx) => {
          const [row] = await tx.query<{ deleted_count: number }>(`select * from cronwarden.draft_cleanup_batch(p_now => $1)`, [NOW]);
          expect(row.deleted_count).toBe(0);
          expect(await tx.query(`select current_setting('lock_timeout') as v`)).toEqual([{ v: '0' }]);
        });
      } finally {
        finish.resolve();
        await bTx;
      }
      expect((await a.query<{ id: string }>(`select id from courses order by created_at`)).map((r) => r.id)).toEqual([used, young]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('a draft skipped because its user rolled back is deleted by the next run', async () => {
    const { a, b } = await twoClients();
    try {
      const org = await insertOrg(a, 'Org');
      const draft = await insertCourse(a, { org, created_at: ago(48 * HOUR) });
      const locked = deferred();
      const finish = deferred();
      const bTx = b
        .transaction(async (tx) => {
          await tx.query(`update courses set generation_status = 'queued' where id = $1`, [draft]);
          locked.resolve();
          await finish.promise;
          throw new Error('user cancelled');
        })
        .catch((err: Error) => err.message);
      await locked.promise;
      const first = await within(run(a), 10_000, 'cleanup while the draft is locked');
      expect(first.result).toMatchObject({ deleted_count: 0, deleted_ids: [] });
      finish.resolve();
      expect(await bTx).toBe('user cancelled');
      const second = await run(a);
      expect(second.result).toMatchObject({ deleted_count: 1, deleted_ids: [draft] });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('when the cleanup locks the draft first, the user update waits and then finds no row', async () => {
    const { a, b } = await twoClients();
    try {
      const org = await insertOrg(a, 'Org');
      const draft = await insertCourse(a, { org, created_at: ago(48 * HOUR) });
      const deletedInA = deferred();
      const commitA = deferred();
      // A: one cleanup batch inside an open transaction (rows locked and deleted, not committed).
      const aTx = a.transaction(async (tx) => {
        const [row] = await tx.query<{ deleted_ids: string[] }>(
          `select * from cronwarden.draft_cleanup_batch(p_hours => 24, p_batch_size => 100, p_dry_run => false, p_now => $1)`,
          [NOW],
        );
        expect(row.deleted_ids).toEqual([draft]);
        deletedInA.resolve();
        await commitA.promise;
      });
      await deletedInA.promise;
      let bSettled = false;
      const bUpdate = b
        .query(`update courses set generation_status = 'queued' where id = $1 returning id`, [draft])
        .finally(() => (bSettled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(bSettled).toBe(false); // B waits on A's row lock
      commitA.resolve();
      await aTx;
      expect(await within(bUpdate, 10_000, 'user update')).toEqual([]); // the draft is gone; nothing half-updated
      expect(await a.query(`select id from courses`)).toEqual([]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });
});
