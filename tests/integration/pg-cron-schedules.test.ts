import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { jobs } from '../../src/lib/cron/registry';
import { pgCronJobName, pgNetTimeoutMs, renderSupabaseCronMigration, VAULT_SECRET_NAME, type SupabaseCronJob } from '../../src/lib/schedules/supabase-cron';
import { JOB_SCHEDULES } from '../../src/lib/schedules/table';

/**
 * The generated Supabase Cron migration on real PostgreSQL with pg_cron (Debian
 * postgresql-15-cron, preloaded; .ci/run configures it). pg_cron only installs in the database
 * named by cron.database_name, so the test uses that database (creating it when missing) and
 * serialises concurrent runs with an advisory lock. pg_net and Vault are not installable here:
 * the test creates `net.http_get` (recording each call) and `vault.decrypted_secrets` stand-ins
 * with the real ones' signatures.
 */

const adminUrl = inject('pgAdminUrl');
const APP_URL = 'https://app.example.test';
const SECRET = 'pg-cron-test-secret-0123456789abcdef';
const TEAM = 'cw-test-team';

const tableJobs: SupabaseCronJob[] = JOB_SCHEDULES.map((s) => ({
  job: s.job,
  schedule: s.schedule,
  maxDurationSeconds: jobs.find((j) => j.name === s.job)!.maxDurationSeconds,
}));
const migration = (list: SupabaseCronJob[] = tableJobs) =>
  renderSupabaseCronMigration({ appUrl: APP_URL, jobs: list, generatedAt: new Date('2026-12-01T00:00:00Z') });

interface CronJobRow {
  jobid: string;
  jobname: string | null;
  schedule: string;
  command: string;
  database: string;
  active: boolean;
}

describe.skipIf(!adminUrl)('Supabase Cron migration on PostgreSQL + pg_cron', () => {
  let sql: postgres.Sql;
  let cronDb = '';
  const notices: string[] = [];

  const cronJobs = () => sql<CronJobRow[]>`select jobid::text, jobname, schedule, command, database, active from cron.job order by jobid`;
  const ours = async () => (await cronJobs()).filter((j) => j.jobname?.startsWith('cronwarden:'));
  const team = async () => (await cronJobs()).filter((j) => (j.jobname ?? '').startsWith(TEAM) || j.command.includes(TEAM));

  async function cleanUp() {
    await sql`select cron.unschedule(jobid) from cron.job where jobname like 'cronwarden:%' or jobname like ${`${TEAM}%`} or command like ${`%${TEAM}%`}`;
    await sql.unsafe('drop schema if exists net cascade; drop schema if exists vault cascade');
  }

  beforeAll(async () => {
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      const [{ preload }] = await admin`select current_setting('shared_preload_libraries') as preload`;
      if (!String(preload).split(',').map((s) => s.trim()).includes('pg_cron')) {
        throw new Error(
          "The PostgreSQL server at TEST_DATABASE_URL does not preload pg_cron: install postgresql-15-cron, set shared_preload_libraries = 'pg_cron' and cron.database_name in conf.d, and restart it (.ci/run does this).",
        );
      }
      [{ name: cronDb }] = await admin`select current_setting('cron.database_name') as name`;
      try {
        await admin.unsafe(`create database "${cronDb.replace(/"/g, '""')}"`);
      } catch (err) {
        if ((err as { code?: string }).code !== '42P04') throw err; // exists already
      }
    } finally {
      await admin.end();
    }
    const url = new URL(adminUrl);
    url.pathname = `/${cronDb}`;
    // One connection: the advisory lock below belongs to it for the whole file.
    sql = postgres(url.toString(), { max: 1, onnotice: (n) => notices.push(String(n.message)) });
    await sql`select pg_advisory_lock(hashtext('cronwarden pg_cron schedules test'))`;
    await sql`create extension if not exists pg_cron`;
    await cleanUp();
    await sql.unsafe(`
      create schema net;
      create table net.recorded_calls (
        id bigserial primary key, url text not null, params jsonb, headers jsonb, timeout_milliseconds integer);
      -- pg_net's signature: net.http_get(url, params, headers, timeout_milliseconds) returns the request id.
      create function net.http_get(
        url text, params jsonb default '{}'::jsonb, headers jsonb default '{}'::jsonb, timeout_milliseconds integer default 5000)
      returns bigint language sql strict as $$
        insert into net.recorded_calls (url, params, headers, timeout_milliseconds)
        values (url, params, headers, timeout_milliseconds) returning id
      $$;
      create schema vault;
      create table vault.secrets (id uuid primary key default gen_random_uuid(), name text unique, secret text not null);
      create view vault.decrypted_secrets as select id, name, secret as decrypted_secret from vault.secrets;
    `);
    await sql`insert into vault.secrets (name, secret) values (${VAULT_SECRET_NAME}, ${SECRET})`;
    // The team's own pg_cron jobs, one of them with a name that only resembles ours.
    await sql`select cron.schedule(${`${TEAM}:nightly-report`}, '0 1 * * *', ${`select 1 /* ${TEAM} */`})`;
    await sql`select cron.schedule('30 2 * * 0', ${`select 2 /* ${TEAM} unnamed */`})`;
    await sql`select cron.schedule(${`${TEAM}-cronwarden-backup`}, '0 4 * * *', ${`select 3 /* ${TEAM} */`})`;
  });

  afterAll(async () => {
    if (!sql) return;
    await cleanUp().catch(() => {});
    await sql`select pg_advisory_unlock(hashtext('cronwarden pg_cron schedules test'))`.catch(() => {});
    await sql.end();
  });

  it('creates one cron.job per job with its schedule, in this database, and leaves the team jobs alone', async () => {
    const teamBefore = await team();
    expect(teamBefore).toHaveLength(3);
    await sql.unsafe(migration());
    const mine = await ours();
    expect(mine.map((j) => [j.jobname, j.schedule]).sort()).toEqual(JOB_SCHEDULES.map((s) => [`cronwarden:${s.job}`, s.schedule]).sort());
    expect(mine.every((j) => j.active && j.database === cronDb)).toBe(true);
    expect(await team()).toEqual(teamBefore);
  });

  it('a second application replaces ours: exactly one per job, new ids, team jobs untouched', async () => {
    const teamBefore = await team();
    const first = await ours();
    await sql.unsafe(migration());
    const second = await ours();
    expect(second).toHaveLength(JOB_SCHEDULES.length);
    expect(new Set(second.map((j) => j.jobname)).size).toBe(JOB_SCHEDULES.length);
    expect(second.some((j) => first.some((f) => f.jobid === j.jobid))).toBe(false);
    expect(await team()).toEqual(teamBefore);
  });

  it('a newer file drops a schedule the older one had', async () => {
    await sql.unsafe(migration([...tableJobs, { job: 'retired-job', schedule: '0 6 * * *', maxDurationSeconds: 60 }]));
    expect((await ours()).map((j) => j.jobname)).toContain('cronwarden:retired-job');
    await sql.unsafe(migration());
    expect((await ours()).map((j) => j.jobname)).not.toContain('cronwarden:retired-job');
    expect(await ours()).toHaveLength(JOB_SCHEDULES.length);
  });

  it("each job's command calls its route with net.http_get: URL, the Vault secret as bearer, the timeout", async () => {
    for (const j of await ours()) {
      const job = tableJobs.find((t) => `cronwarden:${t.job}` === j.jobname)!;
      expect(j.command).not.toContain(SECRET);
      const [{ http_get: requestId }] = await sql.unsafe<{ http_get: string }[]>(j.command);
      const [call] = await sql<{ url: string; headers: Record<string, string>; params: unknown; timeout_milliseconds: number }[]>`
        select url, headers, params, timeout_milliseconds from net.recorded_calls where id = ${requestId}`;
      expect(call).toEqual({
        url: `${APP_URL}/api/cron/${job.job}`,
        headers: { Authorization: `Bearer ${SECRET}`, 'x-cron-trigger': 'pg_cron' },
        params: {},
        timeout_milliseconds: pgNetTimeoutMs(job.maxDurationSeconds),
      });
      expect(call.timeout_milliseconds).toBe((job.maxDurationSeconds + 30) * 1000);
    }
  });

  it('reads the secret at each firing: a rotated secret is used without a new migration', async () => {
    await sql`update vault.secrets set secret = ${`${SECRET}-rotated`} where name = ${VAULT_SECRET_NAME}`;
    const [j] = await ours();
    const [{ http_get: id }] = await sql.unsafe<{ http_get: string }[]>(j.command);
    const [call] = await sql<{ headers: Record<string, string> }[]>`select headers from net.recorded_calls where id = ${id}`;
    expect(call.headers.Authorization).toBe(`Bearer ${SECRET}-rotated`);
    await sql`update vault.secrets set secret = ${SECRET} where name = ${VAULT_SECRET_NAME}`;
  });

  it('warns when Vault has no secret yet, and refuses clearly (changing nothing) without pg_net', async () => {
    await sql`delete from vault.secrets where name = ${VAULT_SECRET_NAME}`;
    notices.length = 0;
    await sql.unsafe(migration());
    expect(notices.join('\n')).toContain(`no secret named ${VAULT_SECRET_NAME}`);
    await sql`insert into vault.secrets (name, secret) values (${VAULT_SECRET_NAME}, ${SECRET})`;

    const before = await cronJobs();
    await sql.unsafe('alter function net.http_get(text, jsonb, jsonb, integer) rename to http_get_renamed');
    await expect(sql.unsafe(migration())).rejects.toThrow(/need pg_net/);
    expect(await cronJobs()).toEqual(before);
    await sql.unsafe('alter function net.http_get_renamed(text, jsonb, jsonb, integer) rename to http_get');
  });

  it('rule jobs too, long names included: one cron.job each, names within 63 bytes and distinct, each calling its own route', async () => {
    const teamBefore = await team();
    const rules: SupabaseCronJob[] = [
      { job: 'policies/expired-sessions', schedule: '15 4 * * *', maxDurationSeconds: 300 },
      // 25 + 40 bytes: cut to 63, both would be one name, and the second schedule would replace the first.
      { job: 'orphan-sweeps/customer-invoice-attachments-originals-a', schedule: '0 5 * * *', maxDurationSeconds: 300 },
      { job: 'orphan-sweeps/customer-invoice-attachments-originals-b', schedule: '30 5 * * *', maxDurationSeconds: 300 },
    ];
    const all = [...tableJobs, ...rules];
    await sql.unsafe(migration(all));
    const mine = await ours();
    expect(mine).toHaveLength(all.length);
    expect(new Set(mine.map((j) => j.jobname)).size).toBe(all.length);
    for (const j of mine) expect(Buffer.byteLength(j.jobname!)).toBeLessThanOrEqual(63);
    for (const r of rules) {
      const row = mine.find((j) => j.jobname === pgCronJobName(r.job))!;
      expect(row.schedule).toBe(r.schedule);
      const [{ http_get: id }] = await sql.unsafe<{ http_get: string }[]>(row.command);
      const [call] = await sql<{ url: string }[]>`select url from net.recorded_calls where id = ${id}`;
      expect(call.url).toBe(`${APP_URL}/api/cron/${r.job}`);
    }
    expect(await team()).toEqual(teamBefore);
    await sql.unsafe(migration());
    expect(await ours()).toHaveLength(JOB_SCHEDULES.length);
  });

  it("the removal SQL in the file's header removes ours and only ours", async () => {
    const teamBefore = await team();
    const removal = /--\s+(select cron\.unschedule\(jobid\) from cron\.job where jobname like 'cronwarden:%';)/.exec(migration());
    expect(removal).not.toBeNull();
    await sql.unsafe(removal![1]);
    expect(await ours()).toEqual([]);
    expect(await team()).toEqual(teamBefore);
  });
});
