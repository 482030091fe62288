import { expect, it } from 'vitest';
import { z } from 'zod';
import { runJob } from '../../src/lib/cron/runner';
import { defineJob } from '../../src/lib/cron/types';
import { exportFileCleanupJob } from '../../src/lib/jobs/export-file-cleanup';
import { describeEngines } from '../support/db';
import { tempStorage, testDeps } from '../support/deps';

const NOW = new Date('2026-11-22T02:00:00Z');
const EXPORT_ID = '0f000000-0000-4000-8000-0000000000e1';
const USER_ID = '0e000000-0000-4000-8000-0000000000e1';

describeEngines('storage errors name paths relative to the storage root', (engine) => {
  it('in job results, run records and logs: a file that cannot be removed', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    // A folder where the export file should be: unlink fails (EISDIR), and Node's message names the path.
    await storage.put('exports/user/e1.json/inner.txt', 'x');
    await db.query(
      `insert into export_logs (export_id, user_id, format, status, file_path, file_size_bytes, created_at, completed_at, expires_at)
       values ($1, $2, 'json', 'completed', 'exports/user/e1.json', 10, $3, $3, $4)`,
      [EXPORT_ID, USER_ID, new Date(NOW.getTime() - 48 * 3600_000), new Date(NOW.getTime() - 3600_000)],
    );
    const { deps, logs } = testDeps(db, { storage, now: () => NOW });
    const out = await runJob(exportFileCleanupJob, { input: {}, dryRun: false }, deps);
    expect(out.kind).toBe('finished');
    if (out.kind !== 'finished') return;
    expect(out.status).toBe('failed');
    expect(out.result.errors[0]).toMatchObject({ subject: 'exports/user/e1.json' });
    expect(out.result.errors[0].message).toMatch(/'exports\/user\/e1\.json'/);

    const [run] = await db.query<{ result: unknown; error: string | null }>(`select result, error from cron_job_runs where id = $1`, [out.runId]);
    const [row] = await db.query<{ cleanup_error: string | null }>(`select cleanup_error from export_logs where export_id = $1`, [EXPORT_ID]);
    expect(row.cleanup_error).toMatch(/'exports\/user\/e1\.json'/);
    const surfaces = { response: JSON.stringify(out.result), run: JSON.stringify(run), row: row.cleanup_error, logs: logs.raw.join('') };
    for (const [where, text] of Object.entries(surfaces)) {
      expect(text, where).not.toContain(storage.root);
    }
    expect(logs.ofType('export_file_delete_failed')).toHaveLength(1);
  });

  it('in run records and logs: a storage call that throws fails the run with a relative path', async () => {
    const db = await engine.fresh();
    const storage = tempStorage();
    await storage.put('archive/blocker', 'a file where a folder is needed');
    const writer = defineJob({
      name: 'archive-writer',
      description: 'writes one object',
      input: z.strictObject({}),
      maxDurationSeconds: 60,
      async run({ storage: s }) {
        await s.put('archive/blocker/part-1.jsonl', '{}');
        return { errors: [], rows_affected: 1 };
      },
    });
    const { deps, logs } = testDeps(db, { storage, now: () => NOW });
    const out = await runJob(writer, { input: {}, dryRun: false }, deps);
    expect(out.kind).toBe('crashed');
    const [run] = await db.query<{ status: string; error: string }>(`select status, error from cron_job_runs where id = $1`, [out.runId]);
    expect(run.status).toBe('failed');
    expect(run.error).toMatch(/'archive\/blocker'/);
    expect(run.error).not.toContain(storage.root);
    expect(logs.ofType('cron_run_failed')).toHaveLength(1);
    expect(logs.raw.join('')).not.toContain(storage.root);
  });
});
