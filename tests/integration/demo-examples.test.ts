import fs from 'node:fs';
import { expect, it } from 'vitest';
import { getCronwardenConfig } from '../../src/lib/bindings/load';
import { getJob } from '../../src/lib/cron/registry';
import { runJob, type RunOutcome } from '../../src/lib/cron/runner';
import { DEMO_SEED_FILE } from '../../src/lib/db/migrator';
import { DEMO_ORPHANS, placeDemoObjects } from '../../src/lib/demo/objects';
import { bindFeatures, boundReferenceSources } from '../../src/lib/bindings/apply';
import { bindRules } from '../../src/lib/policies/apply';
import { describeEngines } from '../support/db';
import { tempStorage, testConfig, testDeps } from '../support/deps';

// The quick start's examples (cronwarden.config.ts): the retention policy on expired sessions and
// the orphan sweep over uploads/, run on the demo app's rows and stored objects.
function finished(outcome: RunOutcome) {
  if (outcome.kind !== 'finished') throw new Error(`run ${outcome.kind}: ${outcome.kind === 'crashed' ? String(outcome.error) : ''}`);
  return outcome;
}

describeEngines('demo examples', (engine) => {
  it('the example policy removes exactly the expired sessions and the example sweep exactly the old orphaned uploads', async () => {
    const db = await engine.fresh();
    await db.exec(fs.readFileSync(DEMO_SEED_FILE, 'utf8'));
    const storage = tempStorage();
    const uploads = await db.query<{ storage_path: string }>(`select storage_path from file_uploads where storage_path like 'uploads/%'`);
    expect(uploads.length).toBeGreaterThan(0);
    expect(await placeDemoObjects(db, storage)).toBe(uploads.length + DEMO_ORPHANS.length);
    expect(await placeDemoObjects(db, storage)).toBe(0); // what exists is left as it is

    const cronwarden = getCronwardenConfig();
    const { rules } = await bindRules(db, cronwarden, testConfig().exports.archivePrefix);
    const { deps } = testDeps(db, { rules, storage });
    const run = (job: string, dryRun = false) => runJob(getJob(job)!, { input: {}, dryRun }, deps).then(finished);

    const sessions = async () =>
      (await db.query<{ n: number; expired: number }>(
        `select count(*)::int as n, count(*) filter (where expires_at < now() - interval '1 day')::int as expired from user_sessions`,
      ))[0];
    const before = await sessions();
    expect(before.expired).toBe(4);
    expect((await run('policies/expired-sessions', true)).result).toMatchObject({ would_delete_count: 4 });
    const policy = await run('policies/expired-sessions');
    expect(policy.status).toBe('succeeded');
    expect(policy.result).toMatchObject({ deleted_count: 4 });
    expect(await sessions()).toEqual({ n: before.n - 4, expired: 0 });

    const listed = async () => (await storage.list('uploads/')).map((o) => o.path).sort();
    const objects = await listed();
    const old = DEMO_ORPHANS.filter((o) => o.ageMs > 86_400_000).map((o) => o.path).sort();
    const dry = await run('orphan-sweeps/uploads', true);
    expect(dry.result).toMatchObject({ would_remove_count: old.length, kept_too_young: 1, kept_referenced: uploads.length });
    expect((dry.result.would_remove as { path: string }[]).map((o) => o.path).sort()).toEqual(old);
    expect(await listed()).toEqual(objects);
    const sweep = await run('orphan-sweeps/uploads');
    expect(sweep.result).toMatchObject({ objects_removed: old.length, kept_too_young: 1, kept_referenced: uploads.length, objects_failed: 0 });
    expect(await listed()).toEqual(objects.filter((p) => !old.includes(p)));
  });

  it("on a team's database where no feature is bound, the example sweep is refused and removes nothing under uploads/", async () => {
    const db = await engine.fresh({ bare: true });
    await db.exec(`create table public.users (id uuid primary key default gen_random_uuid(), email text not null)`);
    const storage = tempStorage();
    // The team's own objects under uploads/, two days old: nothing of ours references them.
    const old = new Date(Date.now() - 2 * 86_400_000);
    for (const p of ['uploads/team/a.png', 'uploads/team/b.pdf']) {
      await storage.put(p, 'the team\'s file');
      fs.utimesSync(`${storage.root}/${p}`, old, old);
    }
    const cronwarden = getCronwardenConfig();
    const { features, compiled } = await bindFeatures(db, cronwarden.bindings);
    expect(Object.values(features).filter((f) => f.bound)).toEqual([]);
    const line =
      "orphan sweep uploads: no bound table references a stored path (no feature with a path column is bound, no policy has a storagePathColumn, the sweep has no references), so every object under 'uploads/' would count as orphaned; name the tables and columns that hold these paths, or remove the sweep (set orphanSweeps[0].references in cronwarden.config.ts)";
    // As a script binds (the features' references read from the database), and as the app does (passed).
    for (const refs of [() => undefined, () => boundReferenceSources(compiled, features)]) {
      const { rules } = await bindRules(db, cronwarden, testConfig().exports.archivePrefix, refs());
      expect(rules['orphan-sweeps/uploads']).toMatchObject({ bound: false, problems: [line] });
      const { deps } = testDeps(db, { rules, storage, features });
      for (const dryRun of [true, false]) {
        await expect(runJob(getJob('orphan-sweeps/uploads')!, { input: {}, dryRun }, deps)).rejects.toMatchObject({ status: 503, code: 'POLICY_NOT_BOUND' });
      }
    }
    expect((await storage.list('uploads/')).map((o) => o.path).sort()).toEqual(['uploads/team/a.png', 'uploads/team/b.pdf']);
    expect(await db.query(`select job from cronwarden.cron_job_runs`)).toEqual([]);
  });
});
