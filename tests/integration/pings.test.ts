import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { settlePings } from '../../src/lib/cron/pings';
import { getJob } from '../../src/lib/cron/registry';
import { runJob } from '../../src/lib/cron/runner';
import { defineJob, type JobDefinition } from '../../src/lib/cron/types';
import { describeEngines } from '../support/db';
import { testDeps } from '../support/deps';
import { startPingReceiver, type PingReceiver } from '../support/ping-receiver';

const noInput = z.strictObject({});
const probe = (name: string, run: JobDefinition<Record<string, never>>['run']) =>
  defineJob({ name, description: name, input: noInput, maxDurationSeconds: 60, run });
const envName = (job: string) => `PING_URL_${job.toUpperCase().replace(/-/g, '_')}`;

/** Waits for something the app does in the background (no fixed sleeps). */
async function until(done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

let receiver: PingReceiver;
beforeAll(async () => {
  receiver = await startPingReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

describeEngines('dead-man\'s switch pings', (engine) => {
  it('a real draft-cleanup run pings start, then success, paired by run id, with its summary', async () => {
    const db = await engine.fresh();
    const check = receiver.newCheck();
    const { deps, logs } = testDeps(db, { env: { PING_URL_DRAFT_CLEANUP: check.url } });
    const out = await runJob(getJob('draft-cleanup')!, { input: {}, dryRun: false, trigger: 'scheduler' }, deps);
    await settlePings();
    expect(out.kind).toBe('finished');
    if (out.kind !== 'finished') return;
    const pings = receiver.of(check.uuid);
    expect(pings.map((p) => [p.kind, p.rid, p.method, p.status])).toEqual([
      ['start', out.runId, 'POST', 200],
      ['success', out.runId, 'POST', 200],
    ]);
    const summary = JSON.parse(pings[1].body);
    expect(summary).toMatchObject({ job: 'draft-cleanup', run_id: out.runId, status: 'succeeded', partial: false, error_count: 0, error: null });
    expect(summary.counts.rows_affected).toBe(0);
    expect(summary.duration_ms).toBe(out.result.duration_ms);
    // The URL is a secret: no log line carries it.
    expect(logs.raw.join('')).not.toContain(check.uuid);
  });

  it('a run that throws pings /fail with its status and error, secrets removed', async () => {
    const db = await engine.fresh();
    const job = `ping-crash-${engine.name}`;
    const check = receiver.newCheck();
    const { deps } = testDeps(db, { env: { [envName(job)]: check.url } });
    const secret = deps.config.cron.secret!;
    const out = await runJob(probe(job, async () => { throw new Error(`bucket refused key ${secret}`); }), { input: {}, dryRun: false }, deps);
    await settlePings();
    expect(out.kind).toBe('crashed');
    const pings = receiver.of(check.uuid);
    expect(pings.map((p) => p.kind)).toEqual(['start', 'fail']);
    const summary = JSON.parse(pings[1].body);
    expect(summary).toMatchObject({ job, run_id: out.runId, status: 'failed' });
    expect(summary.error).toContain('bucket refused key [redacted]');
    expect(pings[1].body).not.toContain(secret);
  });

  it('a run the job declares failed pings /fail with its counts and errors; a partial run pings success', async () => {
    const db = await engine.fresh();
    const job = `ping-failed-${engine.name}`;
    const check = receiver.newCheck();
    const { deps } = testDeps(db, { env: { [envName(job)]: check.url } });
    let partial = false;
    const def = probe(job, async () =>
      partial
        ? { errors: [], rows_affected: 40, deleted_count: 40, partial: true }
        : { errors: [{ subject: 'exports/a.csv', message: 'storage said 503' }], rows_affected: 2, deleted_count: 2, failed: true },
    );
    const failed = await runJob(def, { input: {}, dryRun: false }, deps);
    partial = true;
    const cut = await runJob(def, { input: {}, dryRun: false }, deps);
    await settlePings();
    // Each run's pings in order; two runs' pings may interleave (the receiver pairs them by rid).
    const of = (rid: string) => receiver.of(check.uuid).filter((p) => p.rid === rid);
    expect(of(failed.runId).map((p) => p.kind)).toEqual(['start', 'fail']);
    expect(of(cut.runId).map((p) => p.kind)).toEqual(['start', 'success']);
    expect(JSON.parse(of(failed.runId)[1].body)).toMatchObject({
      status: 'failed',
      counts: { rows_affected: 2, deleted_count: 2 },
      error_count: 1,
      errors: [{ subject: 'exports/a.csv', message: 'storage said 503' }],
    });
    expect(JSON.parse(of(cut.runId)[1].body)).toMatchObject({ status: 'partial', partial: true, counts: { deleted_count: 40 } });
  });

  it('dry runs and jobs without a ping URL send nothing', async () => {
    const db = await engine.fresh();
    const check = receiver.newCheck();
    const { deps } = testDeps(db, { env: { PING_URL_DRAFT_CLEANUP: check.url } });
    const dry = await runJob(getJob('draft-cleanup')!, { input: {}, dryRun: true }, deps);
    const other = await runJob(getJob('run-history-prune')!, { input: {}, dryRun: false }, deps);
    await settlePings();
    expect(dry.kind).toBe('finished');
    expect(other.kind).toBe('finished');
    expect(receiver.of(check.uuid)).toEqual([]);
  });

  it('a receiver that never answers does not hold the run up', async () => {
    const db = await engine.fresh();
    const job = `ping-held-${engine.name}`;
    const check = receiver.newCheck();
    const { deps } = testDeps(db, { env: { [envName(job)]: check.url } });
    receiver.state.mode = 'hold';
    try {
      const out = await runJob(probe(job, async () => ({ errors: [], rows_affected: 1 })), { input: {}, dryRun: false }, deps);
      // The run has finished and answered; the receiver holds its start ping unanswered until release().
      expect(out.kind).toBe('finished');
      await until(() => receiver.of(check.uuid).length > 0);
      expect(receiver.of(check.uuid).map((p) => [p.kind, p.status])).toEqual([['start', 'no answer']]);
    } finally {
      receiver.release();
    }
    await settlePings();
    expect(receiver.of(check.uuid).map((p) => [p.kind, p.status])).toEqual([
      ['start', 200],
      ['success', 200],
    ]);
  });

  it('a failing receiver is logged once, not per ping, and its recovery once; runs are unaffected', async () => {
    const db = await engine.fresh();
    const job = `ping-down-${engine.name}`;
    const check = receiver.newCheck();
    const { deps, logs } = testDeps(db, { env: { [envName(job)]: check.url } });
    const def = probe(job, async () => ({ errors: [], rows_affected: 0 }));
    receiver.state.mode = 'fail';
    try {
      for (let i = 0; i < 3; i++) {
        const out = await runJob(def, { input: {}, dryRun: false }, deps);
        await settlePings();
        expect(out.kind === 'finished' && out.status).toBe('succeeded');
      }
    } finally {
      receiver.state.mode = 'ok';
    }
    expect(receiver.of(check.uuid)).toHaveLength(6);
    const failures = logs.ofType('cron_ping_failed').filter((l) => l.level === 'warn');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ job, kind: 'start', host: new URL(check.url).host, reason: 'HTTP 500' });
    await runJob(def, { input: {}, dryRun: false }, deps);
    await settlePings();
    expect(logs.ofType('cron_ping_recovered')).toHaveLength(1);
    expect(logs.raw.join('')).not.toContain(check.uuid);
  });
});
