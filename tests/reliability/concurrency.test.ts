import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jobs } from '../../src/lib/cron/registry';
import { PgliteDb } from '../../src/lib/db/pglite';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { SqlDb } from '../../src/lib/db/types';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';
import { freshPostgresUrl, hasPostgres } from '../support/db';

/**
 * Twenty simultaneous invocations of every cron route against the built app (demo data seeded):
 * each answer is 200 or 409, the runs that took the lease never overlapped, and what they did in
 * total equals one run's work on an identical copy of the data.
 */

const ADMIN_API_TOKEN = 'reliability-admin-token-0123456789';
const CALLERS = 20;

interface Copy {
  app: RunningApp;
  dataDir: string;
  dbUrl?: string;
}

/**
 * Jobs whose rows_affected counts rows written, and that write the same rows again on every run
 * (export-metrics-aggregate upserts each completed hour's rollup): a second run that got the
 * lease reports the same count again. For them each run's count equals the single run's and the
 * data left behind is what must match; for every other job the counts add up to the single run's.
 */
const REWRITES_SAME_ROWS = new Set(['export-metrics-aggregate']);

interface Run {
  id: string;
  job: string;
  status: string;
  started_at: string;
  finished_at: string | null;
  trigger: string;
  rows_affected: number;
  error: string | null;
  result: Record<string, unknown> | null;
}

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => {});
});

async function startCopy(engine: 'pglite' | 'postgres'): Promise<Copy> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-conc-'));
  cleanup.push(async () => fs.rmSync(dataDir, { recursive: true, force: true }));
  const dbUrl = engine === 'postgres' ? await freshPostgresUrl() : undefined;
  const app = await startApp({
    DATA_DIR: dataDir,
    SEED_DEMO_DATA: 'true',
    ADMIN_API_TOKEN,
    LOG_LEVEL: 'info',
    ...(dbUrl ? { DATABASE_URL: dbUrl } : {}),
  });
  cleanup.push(() => app.stop()); // cleanups run last-in first: the app stops before its folder goes
  return { app, dataDir, dbUrl };
}

async function callJob(copy: Copy, job: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${copy.app.url}/api/cron/${job}`, { headers: { authorization: `Bearer ${TEST_CRON_SECRET}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function runsOf(copy: Copy, job: string): Promise<Run[]> {
  const res = await fetch(`${copy.app.url}/api/admin/runs?job=${job}&limit=500`, { headers: { authorization: `Bearer ${ADMIN_API_TOKEN}` } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { runs: Run[] };
  return body.runs.filter((r) => r.trigger !== 'demo');
}

/**
 * When each run got the lease: the runner logs cron_run_started right after cron_begin_run
 * granted it. (started_at in cron_job_runs is stamped before the call, which may first wait
 * for a pooled connection, so it can precede the moment the lease was free.)
 */
function leaseAcquiredAt(copy: Copy): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of copy.app.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const rec = JSON.parse(line) as { type?: string; run_id?: string; time?: string };
      if (rec.type === 'cron_run_started' && rec.run_id && rec.time) out.set(rec.run_id, Date.parse(rec.time));
    } catch {
      /* not a log line */
    }
  }
  return out;
}

/** The app's database, opened from the test once the app is stopped (PGlite) or alongside it (Postgres). */
async function openCopyDb(copy: Copy): Promise<SqlDb> {
  if (copy.dbUrl) return PostgresDb.connect(copy.dbUrl, 1);
  return PgliteDb.open(path.join(copy.dataDir, 'pglite'));
}

/** Tables that record runs and alert bookkeeping, not the data the jobs work on. */
const BOOKKEEPING = new Set(['cron_job_runs', 'cron_job_leases', 'cron_run_counters', 'cron_job_first_seen', 'cronwarden_migrations', 'alert_notifications']);

/**
 * Every data table's rows without their timestamp columns (the two copies were seeded a few
 * seconds apart, so timestamps differ; everything else must be identical), sorted.
 */
async function dataSnapshot(db: SqlDb): Promise<Record<string, string[]>> {
  const cols = await db.query<{ table_name: string; column_name: string; data_type: string }>(
    `select c.table_name, c.column_name, c.data_type
       from information_schema.columns c join information_schema.tables t
         on t.table_schema = c.table_schema and t.table_name = c.table_name
      where c.table_schema = 'public' and t.table_type = 'BASE TABLE'
      order by c.table_name, c.ordinal_position`,
  );
  const byTable = new Map<string, { keep: string[]; drop: string[] }>();
  for (const c of cols) {
    if (BOOKKEEPING.has(c.table_name)) continue;
    const entry = byTable.get(c.table_name) ?? { keep: [], drop: [] };
    // Timestamps move with the seeding time; alert rows get random ids and time-dependent values.
    const volatile = c.data_type.startsWith('timestamp') || (c.table_name === 'alerts' && !['rule_id', 'subject', 'severity', 'state'].includes(c.column_name));
    (volatile ? entry.drop : entry.keep).push(c.column_name);
    byTable.set(c.table_name, entry);
  }
  const out: Record<string, string[]> = {};
  for (const [table, { keep }] of byTable) {
    const rows = await db.query<{ j: unknown }>(`select jsonb_build_array(${keep.map((k) => `t.${k}`).join(', ')}) as j from ${table} t`);
    // A message that quotes a seeded time (a stuck run's last heartbeat) moves with it too.
    out[table] = rows
      .map((r) => (typeof r.j === 'string' ? r.j : JSON.stringify(r.j)).replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z/g, '<time>'))
      .sort();
  }
  return out;
}

function engineList(): ('pglite' | 'postgres')[] {
  return hasPostgres() ? ['pglite', 'postgres'] : ['pglite'];
}

for (const engine of engineList()) {
  describe(`concurrent cron invocations [${engine}]`, () => {
    it(`${CALLERS} simultaneous calls of each cron route: 200 or 409, no overlapping runs, one run's worth of work`, async () => {
      // Two identical copies seeded at the same moment: A takes the storm, B one call per job.
      const [a, b] = await Promise.all([startCopy(engine), startCopy(engine)]);

      const statuses = new Map<string, number[]>();
      for (const job of jobs) {
        const answers = await Promise.all(Array.from({ length: CALLERS }, () => callJob(a, job.name)));
        statuses.set(job.name, answers.map((x) => x.status));
        for (const x of answers) {
          if (x.status !== 200 && x.status !== 409) throw new Error(`${job.name}: ${x.status} ${JSON.stringify(x.body).slice(0, 400)}`);
        }
        const single = await callJob(b, job.name);
        expect(single.status, `${job.name} on the fresh copy: ${JSON.stringify(single.body).slice(0, 400)}`).toBe(200);
      }

      const summary: string[] = [];
      const acquired = leaseAcquiredAt(a);
      let maxWait = 0;
      for (const job of jobs) {
        const codes = statuses.get(job.name)!;
        const ok = codes.filter((c) => c === 200).length;
        const conflicts = codes.filter((c) => c === 409).length;
        expect(ok + conflicts).toBe(CALLERS);
        expect(ok).toBeGreaterThanOrEqual(1);

        const runs = await runsOf(a, job.name);
        expect(runs).toHaveLength(CALLERS);
        const worked = runs.filter((r) => r.status !== 'skipped');
        expect(runs.filter((r) => r.status === 'skipped')).toHaveLength(conflicts);
        expect(worked).toHaveLength(ok);
        for (const r of worked) expect({ job: job.name, status: r.status, error: r.error }).toEqual({ job: job.name, status: 'succeeded', error: null });
        for (const r of worked) {
          expect(acquired.has(r.id), `${job.name}: no cron_run_started line for run ${r.id}`).toBe(true);
          expect(acquired.get(r.id)!).toBeGreaterThanOrEqual(Date.parse(r.started_at));
        }
        worked.sort((x, y) => acquired.get(x.id)! - acquired.get(y.id)!);
        // The lease held: each run that worked got it only after the previous one had finished.
        for (let i = 1; i < worked.length; i++) {
          const prevEnd = Date.parse(worked[i - 1].finished_at!);
          expect(acquired.get(worked[i].id)!, `${job.name}: run ${worked[i].id} got the lease before ${worked[i - 1].id} finished`).toBeGreaterThanOrEqual(prevEnd);
          expect(Date.parse(worked[i].finished_at!)).toBeGreaterThan(prevEnd);
        }
        maxWait = Math.max(maxWait, ...worked.map((r) => acquired.get(r.id)! - Date.parse(r.started_at)));

        const singleRuns = await runsOf(b, job.name);
        expect(singleRuns).toHaveLength(1);
        const [single] = singleRuns;
        expect(single.status).toBe('succeeded');
        const counts = worked.map((r) => Number(r.rows_affected));
        const total = counts.reduce((n, c) => n + c, 0);
        if (REWRITES_SAME_ROWS.has(job.name)) {
          for (const c of counts) expect(c, `${job.name}: each run rewrites the single run's rows`).toBe(Number(single.rows_affected));
        } else {
          expect(total, `${job.name}: rows affected by all runs vs one run on the copy`).toBe(Number(single.rows_affected));
        }
        summary.push(`${job.name}: ${ok}×200 ${conflicts}×409, rows_affected ${JSON.stringify(counts)} (one run on the copy: ${single.rows_affected})`);
      }

      // The data both copies were left with is the same (timestamps aside).
      for (const c of [a, b]) if (!c.dbUrl) await c.app.stop();
      const snapshots: Record<string, string[]>[] = [];
      for (const c of [a, b]) {
        const db = await openCopyDb(c);
        try {
          snapshots.push(await dataSnapshot(db));
        } finally {
          await db.close();
        }
      }
      const [snapA, snapB] = snapshots;
      expect(Object.keys(snapA).length).toBeGreaterThan(10);
      for (const table of Object.keys(snapB)) expect(snapA[table], `table ${table}`).toEqual(snapB[table]);
      expect(Object.keys(snapA).sort()).toEqual(Object.keys(snapB).sort());
      const sizes = Object.entries(snapA).filter(([, rows]) => rows.length > 0).map(([t, rows]) => `${t}=${rows.length}`);
      console.log(
        `concurrency [${engine}]\n  ${summary.join('\n  ')}\n  longest wait from started_at to the lease: ${maxWait} ms\n  same data in both copies: ${sizes.join(' ')}`,
      );
    });
  });
}
