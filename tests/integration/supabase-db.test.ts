import { afterEach, expect, it } from 'vitest';
import { z } from 'zod';
import { runJob } from '../../src/lib/cron/runner';
import { defineJob } from '../../src/lib/cron/types';
import { SupabaseDb, SupabaseRpcError } from '../../src/lib/db/supabase';
import { describeEngines } from '../support/db';
import { testDeps } from '../support/deps';
import { startFakePostgrest, type FakePostgrest } from '../support/postgrest';

const KEY = 'service-role-key-for-tests-0123456789';
let server: FakePostgrest | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describeEngines('Supabase Db adapter over PostgREST /rpc', (engine) => {
  it('calls SQL functions by name with named arguments and returns rows', async () => {
    const sql = await engine.fresh();
    server = await startFakePostgrest(sql, KEY);
    const db = SupabaseDb.connect(server.url, KEY);
    const rows = await db.rpc<{ ok: boolean }>('cronwarden_ping');
    expect(rows).toEqual([expect.objectContaining({ ok: true })]);
    expect(server.calls).toEqual([{ fn: 'cronwarden_ping', body: {} }]);
  });

  it('runs a job through the runner: lease, run row, overlap refusal', async () => {
    const sql = await engine.fresh();
    server = await startFakePostgrest(sql, KEY);
    const db = SupabaseDb.connect(server.url, KEY);
    const { deps } = testDeps(db);
    let inner: Awaited<ReturnType<typeof runJob>> | undefined;
    const job = defineJob({
      name: 'supabase-probe',
      description: 'probe',
      input: z.strictObject({}),
      maxDurationSeconds: 30,
      run: async () => {
        inner = await runJob(job, { input: {}, dryRun: false }, deps);
        return { errors: [], rows_affected: 3 };
      },
    });
    const out = await runJob(job, { input: {}, dryRun: true }, deps);
    expect(out.kind).toBe('finished');
    expect(inner?.kind).toBe('conflict');
    const runs = await sql.query<{ status: string; dry_run: boolean }>(
      `select status, dry_run from cronwarden.cron_job_runs where job = 'supabase-probe' order by status`,
    );
    expect(runs).toEqual([
      { status: 'skipped', dry_run: false },
      { status: 'succeeded', dry_run: true },
    ]);
    // Each run keeps its own log lines once its end is recorded: the refused (skipped) one first.
    expect(server.calls.map((c) => c.fn)).toEqual(['cron_begin_run', 'cron_begin_run', 'cron_record_run_logs', 'cron_finish_run', 'cron_record_run_logs']);
    expect(server.calls[0].body).toMatchObject({ p_job: 'supabase-probe', p_dry_run: true, p_input: {} });
  });

  it('turns a PostgREST error into a SupabaseRpcError with the SQL state', async () => {
    const sql = await engine.fresh();
    server = await startFakePostgrest(sql, KEY);
    const db = SupabaseDb.connect(server.url, KEY);
    const err = await db
      .rpc('cron_finish_run', { p_run_id: '00000000-0000-4000-8000-000000000000', p_status: 'bogus' })
      .catch((e) => e);
    expect(err).toBeInstanceOf(SupabaseRpcError);
    expect(err.code).toBe('22023');
  });

  it('is refused with a wrong service key', async () => {
    const sql = await engine.fresh();
    server = await startFakePostgrest(sql, KEY);
    const db = SupabaseDb.connect(server.url, 'wrong-key-wrong-key-wrong-key');
    await expect(db.rpc('cronwarden_ping')).rejects.toBeInstanceOf(SupabaseRpcError);
  });
});
