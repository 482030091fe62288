import { expect, it } from 'vitest';
import { demoBindings, parseCronwardenConfig } from '../../src/lib/bindings/spec';
import { getCronwardenConfig } from '../../src/lib/bindings/load';
import { runJob } from '../../src/lib/cron/runner';
import { runDoctor, runDoctorIsolated } from '../../src/lib/doctor';
import { draftCleanupJob } from '../../src/lib/jobs/draft-cleanup';
import { describeEngines } from '../support/db';
import { testConfig, testDeps } from '../support/deps';
import { openJobDeps } from '../../src/lib/world';
import { existingApp, existingAppBindings } from '../support/existing-app';

describeEngines('doctor', (engine) => {
  it('on an existing app without its binding: every feature not bound, with the table and the setting to change', async () => {
    const app = await existingApp(engine, demoBindings());
    const { deps } = testDeps(app.db, { bindings: app.bindings, features: app.features });
    const report = await runDoctor(deps);
    expect(report.ok).toBe(false);
    const byFeature = Object.fromEntries(report.features.map((f) => [f.feature, f]));
    expect(byFeature.exports.problems).toEqual([
      'exports: table public.export_logs does not exist (set bindings.exports.table in cronwarden.config.ts)',
    ]);
    expect(byFeature.drafts.problems).toContain(
      'drafts: public.courses has no column "status" (set bindings.drafts.draft.0.column in cronwarden.config.ts)',
    );
    expect(byFeature.userDeletion.problems).toContain(
      'userDeletion: public.users has no column "type" (set bindings.userDeletion.users.columns.type in cronwarden.config.ts)',
    );
    for (const f of report.features) expect(f.bound).toBe(false);
  });

  it("on an existing app without its binding, the demo's orphan sweep is refused: no bound path column protects anything under its prefix", async () => {
    const app = await existingApp(engine, demoBindings());
    const { deps } = testDeps(app.db, { bindings: app.bindings, features: app.features });
    const report = await runDoctor(deps, getCronwardenConfig());
    expect(report.ok).toBe(false);
    const sweep = report.policies.find((p) => p.job === 'orphan-sweeps/uploads')!;
    expect(sweep).toMatchObject({ bound: false });
    expect(sweep.problems).toEqual([
      "orphan sweep uploads: no bound table references a stored path (no feature with a path column is bound, no policy has a storagePathColumn, the sweep has no references), so every object under 'uploads/' would count as orphaned; name the tables and columns that hold these paths, or remove the sweep (set orphanSweeps[0].references in cronwarden.config.ts)",
    ]);
    expect(sweep.dryRun).toBeUndefined();
    // The same sweep with a reference of its own binds.
    const cronwarden = parseCronwardenConfig({ orphanSweeps: [{ name: 'uploads', prefix: 'uploads/', grace: '1 day', schedule: '50 3 * * *', references: [{ table: 'public.user_files', column: 'path' }] }] });
    expect((await runDoctor(deps, cronwarden)).policies[0]).toMatchObject({ job: 'orphan-sweeps/uploads', bound: true, problems: [] });
  });

  it('the user-deletion trigger note gives the statement the database gives, an unbound type or creation column as empty', async () => {
    for (const [columns, args] of [
      [{ type: null, createdAt: null }, `users_record_deletion('id', '', '')`],
      [{ type: 'plan', createdAt: 'signed_up_at' }, `users_record_deletion('id', 'plan', 'signed_up_at')`],
    ] as const) {
      const bindings = existingAppBindings();
      bindings.userDeletion.users.columns = { ...bindings.userDeletion.users.columns, ...columns };
      const app = await existingApp(engine, bindings);
      const { deps } = testDeps(app.db, { bindings: app.bindings, features: app.features });
      const report = await runDoctor(deps);
      const userDeletion = report.features.find((f) => f.feature === 'userDeletion')!;
      expect(userDeletion.bound).toBe(true);
      const [{ trigger_statement }] = await app.db.query<{ trigger_statement: string }>(`select trigger_statement from cronwarden.user_deletion_tracking()`);
      expect(trigger_statement).toContain(args);
      const note = userDeletion.notes.find((n) => n.includes('create trigger cronwarden_record_deletion'))!;
      expect(note.endsWith(`: ${trigger_statement}`), note).toBe(true);
    }
  });

  it('with the binding: bound, a dry run per job that changes nothing, and the missing indexes as statements', async () => {
    const app = await existingApp(engine, existingAppBindings());
    await app.db.exec(`insert into public.lessons (is_draft, inserted_at) values (true, now() - interval '3 days')`);
    const { deps } = testDeps(app.db, { bindings: app.bindings, features: app.features });
    const report = await runDoctor(deps);
    const exports = report.features.find((f) => f.feature === 'exports')!;
    expect(exports).toMatchObject({ enabled: true, bound: true, problems: [] });
    expect(exports.dryRuns.map((d) => d.job).sort()).toEqual(['export-file-cleanup', 'export-log-cleanup', 'export-metrics-aggregate']);
    expect(exports.dryRuns.every((d) => d.error === undefined && d.result?.dry_run !== false)).toBe(true);
    // data_exports has an index on ttl_until (the expiry) but none on requested_at
    expect(exports.indexes.find((i) => i.column === 'ttl_until')).toMatchObject({ present: true });
    expect(exports.indexes.find((i) => i.column === 'requested_at')).toMatchObject({
      present: false,
      statement: 'create index concurrently if not exists "data_exports_requested_at_idx" on "public"."data_exports" ("requested_at");',
    });
    // the statement it prints works, and then the doctor finds the index
    await app.db.exec(exports.indexes.find((i) => i.column === 'requested_at')!.statement);
    const again = await runDoctor(deps);
    expect(again.features.find((f) => f.feature === 'exports')!.indexes.find((i) => i.column === 'requested_at')!.present).toBe(true);
    expect((await app.db.query(`select count(*)::int as n from public.lessons`))[0]).toEqual({ n: 1 });
    expect(report.ok).toBe(true);
  });

  it('a candidate config is checked and dry-run without becoming live: the app keeps deleting by its own binding', async () => {
    const app = await existingApp(engine, existingAppBindings());
    // Two old drafts: one unused by the live rule, one that a worker started (kept by it).
    await app.db.exec(`insert into public.lessons (title, is_draft, generation_started_at, inserted_at) values
      ('unused', true, null, now() - interval '3 days'), ('started', true, now() - interval '2 days', now() - interval '3 days')`);
    const broader = existingAppBindings();
    broader.drafts.unused = [{ column: 'is_draft', op: 'is true' }];
    // As the doctor script opens it: the candidate's bindings applied (openJobDeps), then the report.
    const report = await runDoctorIsolated(app.db, (db) => openJobDeps(testConfig(), { db, bindings: broader, cronwarden: { ...getCronwardenConfig(), bindings: broader } }));
    const drafts = report.features.find((f) => f.feature === 'drafts')!;
    expect(drafts.bound).toBe(true);
    // The report is the candidate's: it would delete both.
    expect(drafts.dryRuns.find((d) => d.job === 'draft-cleanup')!.result).toMatchObject({ would_delete_count: 2 });
    // The live binding is unchanged: a run now deletes by the live rule alone.
    const { deps } = testDeps(app.db, { bindings: app.bindings, features: app.features });
    const out = await runJob(draftCleanupJob, { input: {}, dryRun: false, trigger: 'script' }, deps);
    expect(out).toMatchObject({ kind: 'finished', status: 'succeeded', result: { deleted_count: 1 } });
    expect(await app.db.query(`select title from public.lessons order by id`)).toEqual([{ title: 'started' }]);
  });

  it('the expiry index counts only when partial on the completed words: file cleanup and retention by partition read completed exports by it', async () => {
    const app = await existingApp(engine, existingAppBindings());
    await app.db.exec(`drop index public.data_exports_ttl_idx; create index data_exports_ttl_plain_idx on public.data_exports (ttl_until)`);
    const { deps } = testDeps(app.db, { bindings: app.bindings, features: app.features });
    const ttl = async () => (await runDoctor(deps)).features.find((f) => f.feature === 'exports')!.indexes.find((i) => i.column === 'ttl_until')!;
    const advice = await ttl();
    expect(advice).toMatchObject({
      present: false,
      statement: `create index concurrently if not exists "data_exports_ttl_until_idx" on "public"."data_exports" ("ttl_until") where "state" in ('ready');`,
    });
    await app.db.exec(advice.statement);
    expect((await ttl()).present).toBe(true);
  });

  it('retention policies: bound with a dry run that changes nothing and the index its selection needs; a refused one is not ok', async () => {
    const app = await existingApp(engine, existingAppBindings());
    await app.db.exec(`insert into public.audit_logs (event, at) values ('login', now() - interval '40 days'), ('login', now() - interval '1 day'), ('export', now() - interval '40 days')`);
    const policy = {
      name: 'old-logins',
      table: 'public.audit_logs',
      keyColumn: 'id',
      timeColumn: 'at',
      age: '30 days',
      where: [{ column: 'event', op: '=', value: 'login' }],
      schedule: '0 4 * * *',
    };
    const cronwarden = parseCronwardenConfig({ policies: [policy] });
    const { deps } = testDeps(app.db, { bindings: app.bindings, features: app.features });
    const report = await runDoctor(deps, cronwarden);
    expect(report.policies).toHaveLength(1);
    const [p] = report.policies;
    expect(p).toMatchObject({ name: 'old-logins', job: 'policies/old-logins', bound: true, problems: [] });
    expect(p.dryRun?.result).toMatchObject({ would_delete_count: 1, kept_by_condition: 1, rows_affected: 0 });
    expect(p.index).toEqual({
      table: 'public.audit_logs',
      column: 'at',
      present: false,
      statement: `create index concurrently if not exists "audit_logs_at_old_logins_idx" on "public"."audit_logs" ("at") where "event" = 'login';`,
    });
    expect(report.ok).toBe(true);
    expect((await app.db.query(`select count(*)::int as n from public.audit_logs`))[0]).toEqual({ n: 3 });
    // the statement it prints works (outside a transaction), and then the doctor finds the index
    await app.db.exec(p.index!.statement);
    expect((await runDoctor(deps, cronwarden)).policies[0].index!.present).toBe(true);

    const refused = await runDoctor(deps, parseCronwardenConfig({ policies: [{ ...policy, timeColumn: 'event' }] }));
    expect(refused.policies[0]).toMatchObject({
      bound: false,
      problems: ['policy old-logins: public.audit_logs.event is text; this setting needs a timestamp column (set policies[0].timeColumn in cronwarden.config.ts)'],
    });
    expect(refused.policies[0].dryRun).toBeUndefined();
    expect(refused.ok).toBe(false);

    // A second policy of the same name: the first runs, the second is refused, and said so.
    const twice = await runDoctor(deps, parseCronwardenConfig({ policies: [policy, { ...policy, table: 'public.comments' }] }));
    expect(twice.policies.map((x) => [x.name, x.bound])).toEqual([['old-logins', true], ['old-logins', false]]);
    expect(twice.policies[1].problems).toEqual(['policy old-logins: the name is used by an earlier policy (set policies[1].name in cronwarden.config.ts)']);
    expect(twice.ok).toBe(false);
  });
});
