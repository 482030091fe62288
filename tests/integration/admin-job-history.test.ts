import { expect, it } from 'vitest';
import { z } from 'zod';
import { durationWindow, jobDurations, jobRunFacets, jobRunPage, runLogLines } from '../../src/lib/admin/job-history';
import { jobsOverview, runsPerDayOf } from '../../src/lib/admin/jobs';
import { runJob } from '../../src/lib/cron/runner';
import { captureRunLog } from '../../src/lib/cron/run-log';
import { defineJob } from '../../src/lib/cron/types';
import type { SqlDb } from '../../src/lib/db/types';
import { renderMetrics } from '../../src/lib/monitoring/metrics';
import { describeEngines } from '../support/db';
import { captureLogs, testConfig, testDeps } from '../support/deps';

const NOW = new Date('2026-11-23T12:00:00Z');
const JOB = 'run-history-prune';
const id = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

async function insertRun(
  db: SqlDb,
  r: { id: string; status: string; started: string; duration?: number; rows?: number; dry?: boolean; trigger?: string; job?: string },
) {
  const started = new Date(r.started);
  await db.query(
    `insert into cronwarden.cron_job_runs (id, job, status, started_at, finished_at, duration_ms, dry_run, trigger, input, result, rows_affected, error)
     values ($1, $2, $3, $4, $5, $6, $7, $8, '{}'::jsonb, null, $9, null)`,
    [r.id, r.job ?? JOB, r.status, started, new Date(started.getTime() + (r.duration ?? 0)), r.duration ?? 0, r.dry ?? false, r.trigger ?? 'scheduler', r.rows ?? 0],
  );
}

/** The value of a series without labels or with exactly these labels, from a text exposition. */
function sample(body: string, name: string, labels: string): number | undefined {
  const line = body.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

describeEngines('the console never shows a dry run as a run that did', (engine) => {
  it('leaves dry runs out of the last run, the 24 h counts, runs per day and the last-run metric, and reports them apart', async () => {
    const db = await engine.fresh();
    await insertRun(db, { id: id(1), status: 'succeeded', started: '2026-11-23T04:30:00Z', duration: 80, rows: 5 });
    // Newer than the real run: a dry run that "succeeded" and one that "failed".
    await insertRun(db, { id: id(2), status: 'failed', started: '2026-11-23T09:00:00Z', duration: 40, dry: true, trigger: 'admin' });
    await insertRun(db, { id: id(3), status: 'succeeded', started: '2026-11-23T10:00:00Z', duration: 50, dry: true, trigger: 'admin' });

    const job = (await jobsOverview(db, NOW)).find((j) => j.name === JOB)!;
    expect(job.last_run).toMatchObject({ id: id(1), status: 'succeeded', rows_affected: 5 });
    expect(job.last_dry_run).toEqual({ id: id(3), status: 'succeeded', started_at: '2026-11-23T10:00:00.000Z' });
    expect(job).toMatchObject({ runs_24h: 1, failures_24h: 0 });

    const today = (await runsPerDayOf(db, NOW, 2)).find((d) => d.day === '2026-11-23')!;
    expect(today).toEqual({ day: '2026-11-23', succeeded: 1, partial: 0, failed: 0, skipped: 0, dry_run: 2 });

    const { body } = await renderMetrics({ db, config: testConfig(), now: NOW, log: captureLogs().log });
    expect(sample(body, 'cronwarden_job_last_run_timestamp_seconds', `job="${JOB}"`)).toBe(Date.parse('2026-11-23T04:30:00Z') / 1000);
    expect(sample(body, 'cronwarden_job_last_dry_run_timestamp_seconds', `job="${JOB}"`)).toBe(Date.parse('2026-11-23T10:00:00Z') / 1000);
    expect(sample(body, 'cronwarden_job_last_status', `job="${JOB}",status="failed"`)).toBe(0);
  });
});

describeEngines('the page of one job', (engine) => {
  it('pages its runs newest first with status, trigger and dry-run filters, and counts the choices', async () => {
    const db = await engine.fresh();
    // 30 runs an hour apart; every 5th failed, every 7th a dry run by hand; one run of another job.
    for (let n = 1; n <= 30; n++) {
      const started = new Date(NOW.getTime() - n * 3_600_000).toISOString();
      await insertRun(db, { id: id(n), status: n % 5 === 0 ? 'failed' : 'succeeded', started, duration: 100 + n, dry: n % 7 === 0, trigger: n % 7 === 0 ? 'admin' : 'scheduler' });
    }
    await insertRun(db, { id: id(99), job: 'maintenance', status: 'failed', started: NOW.toISOString() });

    const first = await jobRunPage(db, JOB, {}, null, 12);
    expect(first.runs.map((r) => r.id)).toEqual(Array.from({ length: 12 }, (_, i) => id(i + 1)));
    expect(first.nextBefore).toBe(id(12));
    const second = await jobRunPage(db, JOB, {}, first.nextBefore, 12);
    const third = await jobRunPage(db, JOB, {}, second.nextBefore, 12);
    expect([...first.runs, ...second.runs, ...third.runs].map((r) => r.id)).toEqual(Array.from({ length: 30 }, (_, i) => id(i + 1)));
    expect(third.nextBefore).toBeNull();

    expect((await jobRunPage(db, JOB, { status: 'failed' }, null)).runs.map((r) => r.id)).toEqual([id(5), id(10), id(15), id(20), id(25), id(30)]);
    expect((await jobRunPage(db, JOB, { trigger: 'admin' }, null)).runs.map((r) => r.id)).toEqual([id(7), id(14), id(21), id(28)]);
    expect((await jobRunPage(db, JOB, { dryRun: true }, null)).runs.every((r) => r.dry_run)).toBe(true);
    expect((await jobRunPage(db, JOB, { dryRun: false, status: 'failed' }, null)).runs.map((r) => r.id)).toEqual([id(5), id(10), id(15), id(20), id(25), id(30)]);

    expect(await jobRunFacets(db, JOB)).toEqual({
      total: 30,
      byStatus: { failed: 6, succeeded: 24 },
      byTrigger: { admin: 4, scheduler: 26 },
      dryRuns: 4,
    });
  });

  it('charts durations per bucket from runs that changed something, with empty buckets as gaps', async () => {
    const db = await engine.fresh();
    await insertRun(db, { id: id(1), status: 'succeeded', started: '2026-11-22T04:30:00Z', duration: 100 });
    await insertRun(db, { id: id(2), status: 'failed', started: '2026-11-23T04:30:00Z', duration: 300 });
    await insertRun(db, { id: id(3), status: 'succeeded', started: '2026-11-23T05:00:00Z', duration: 9_999, dry: true });
    // A daily job: 14 UTC days, one bucket a day (no shorter than its interval), ending after today.
    const w = durationWindow('30 4 * * *', NOW);
    expect(w).toMatchObject({ bucketSeconds: 86_400, label: '14 days', from: new Date('2026-11-10T00:00:00Z'), to: new Date('2026-11-24T00:00:00Z') });
    const points = await jobDurations(db, JOB, w);
    expect(points).toHaveLength(14);
    const withRuns = points.filter((p) => p.runs > 0);
    expect(withRuns).toEqual([
      { bucket: '2026-11-22T00:00:00.000Z', label: '11-22', runs: 1, failed: 0, p50_ms: 100, p95_ms: 100, max_ms: 100 },
      { bucket: '2026-11-23T00:00:00.000Z', label: '11-23', runs: 1, failed: 1, p50_ms: 300, p95_ms: 300, max_ms: 300 },
    ]);
    // An hourly job: 14 days in 4-hour buckets (at most about 120 points).
    expect(durationWindow('0 * * * *', NOW)).toMatchObject({ bucketSeconds: 4 * 3600, label: '14 days' });
    expect(points.find((p) => p.runs === 0)).toMatchObject({ p50_ms: null, max_ms: null });
  });

  it('keeps the lines a run wrote, redacted, with the run; a long run keeps its first and last lines', async () => {
    const db = await engine.fresh();
    const secret = 'sk-console-secret-value-123456';
    const { deps, logs } = testDeps(db, { env: { CRON_SECRET: secret } });
    const chatty = defineJob({
      name: JOB,
      description: 'test',
      input: z.strictObject({}),
      maxDurationSeconds: 60,
      run: async ({ log }) => {
        log.info({ type: 'step', n: 1, token: secret }, `using ${secret}`);
        log.warn({ type: 'step', n: 2 }, 'slow batch');
        return { errors: [], rows_affected: 2 };
      },
    });
    const out = await runJob(chatty, { input: {}, dryRun: false, trigger: 'admin' }, deps);
    expect(out.kind).toBe('finished');
    const lines = await runLogLines(db, out.runId);
    expect(lines.map((l) => [l.level, l.line.type])).toEqual([
      ['info', 'cron_run_started'],
      ['info', 'step'],
      ['warn', 'step'],
      ['info', 'cron_run_finished'],
    ]);
    expect(lines.every((l) => l.line.run_id === out.runId && l.line.job === JOB)).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(secret);
    // The process log got the same lines as before.
    expect(logs.lines.filter((l) => l.run_id === out.runId).map((l) => l.type)).toEqual(['cron_run_started', 'step', 'step', 'cron_run_finished']);

    const capture = captureRunLog(captureLogs().log, { maxLines: 4, maxBytes: 64 * 1024, maxLineBytes: 4096 });
    for (let n = 1; n <= 10; n++) capture.log.info({ type: 'line', n }, `line ${n}`);
    const kept = capture.lines();
    expect(kept.map((l) => l.line.n ?? l.line.type)).toEqual([1, 2, 'cron_run_log_truncated', 9, 10]);
    expect(kept[2].line).toMatchObject({ dropped_lines: 6 });
  });
});
