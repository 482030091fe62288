import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';
import { freshPostgresUrl, hasPostgres } from '../support/db';
import { EXISTING_APP_SQL } from '../support/existing-app';

/**
 * The app pointed at a database that already has a team's own tables (tests/fixtures/
 * existing-app.sql) and no binding for them (the default bindings, the demo app's names): it
 * starts, says per feature why it is not bound, answers those features' routes 503, and runs
 * what needs no binding.
 */
const TOKEN = 'admin-api-token-for-tests-0123456789';
const PASSWORD = 'admin-password-for-tests';

describe.skipIf(!hasPostgres())('an existing app without a binding file (next start, PostgreSQL)', () => {
  let app: RunningApp;
  beforeAll(async () => {
    const url = await freshPostgresUrl({ bare: true });
    const sql = postgres(url, { max: 1, onnotice: () => {} });
    await sql.unsafe(EXISTING_APP_SQL);
    await sql.end();
    app = await startApp({ DATABASE_URL: url, DEMO_APP: 'off', ADMIN_API_TOKEN: TOKEN, ADMIN_PASSWORD: PASSWORD });
  });
  afterAll(async () => {
    await app?.stop();
  });
  const auth = { authorization: `Bearer ${TEST_CRON_SECRET}` };

  it('/api/health names each unbound feature with its reasons and stays up', async () => {
    const res = await fetch(`${app.url}/api/health`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.checks).toEqual({ app: 'ok', database: 'ok', migrations: 'ok' });
    expect(body.features.exports).toEqual({
      enabled: true,
      bound: false,
      problems: ['exports: table public.export_logs does not exist (set bindings.exports.table in cronwarden.config.ts)'],
    });
    expect(body.features.drafts.problems).toContain('drafts: public.courses has no column "status" (set bindings.drafts.draft.0.column in cronwarden.config.ts)');
    expect(body.features.userDeletion.bound).toBe(false);
    // What the local scheduler does not fire: every job of an unbound feature and each unbound rule.
    expect([...body.jobs_not_run].sort()).toEqual(
      ['draft-cleanup', 'export-file-cleanup', 'export-log-cleanup', 'export-metrics-aggregate', 'maintenance', 'orphan-sweeps/uploads', 'policies/expired-sessions', 'storage-cleanup-retry'].sort(),
    );
    // The demo's example policy names public.user_sessions, which this app does not have, and its
    // example sweep has nothing bound to check objects against: said by job name (their reasons
    // are in the start log and the doctor).
    expect(body.warnings).toContain(
      '2 rules of cronwarden.config.ts cannot run: policies/expired-sessions, orphan-sweeps/uploads (the reasons: npm run doctor, or the start log)',
    );
  });

  it('logged one line per reason at start', () => {
    const lines = app
      .output()
      .split('\n')
      .filter((l) => l.includes('"feature_not_bound"'))
      .map((l) => JSON.parse(l) as { msg: string });
    expect(lines.map((l) => l.msg)).toContain('exports: table public.export_logs does not exist (set bindings.exports.table in cronwarden.config.ts)');
    expect(new Set(lines.map((l) => l.msg)).size).toBe(lines.length);
  });

  it.each(['draft-cleanup', 'export-file-cleanup', 'maintenance', 'storage-cleanup-retry'])('%s answers 503 FEATURE_NOT_BOUND with the reasons', async (job) => {
    const res = await fetch(`${app.url}/api/cron/${job}`, { headers: auth });
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.error.code).toBe('FEATURE_NOT_BOUND');
    expect(body.error.message).toMatch(/is not bound to this database: .*cronwarden\.config\.ts/);
  });

  it("the demo's orphan sweep, with nothing bound to check objects against, answers 503 POLICY_NOT_BOUND and removes nothing", async () => {
    for (const q of ['?dryRun=1', '']) {
      const res = await fetch(`${app.url}/api/cron/orphan-sweeps/uploads${q}`, { headers: auth });
      expect(res.status).toBe(503);
      const body = await res.json();
      expect(body.error.code).toBe('POLICY_NOT_BOUND');
      expect(body.error.message).toContain("orphan sweep uploads: no bound table references a stored path");
    }
  });

  it('DELETE /api/users answers 503 FEATURE_NOT_BOUND, and jobs that need no binding run', async () => {
    const del = await fetch(`${app.url}/api/users/aaaaaaaa-0000-4000-8000-000000000001`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(del.status).toBe(503);
    expect((await del.json()).error.code).toBe('FEATURE_NOT_BOUND');
    const run = await fetch(`${app.url}/api/cron/run-history-prune`, { headers: auth });
    expect(run.status).toBe(200);
    const evaluate = await fetch(`${app.url}/api/cron/alerts-evaluate`, { headers: auth });
    expect(evaluate.status).toBe(200);
    const body = await evaluate.json();
    // the rules of unbound features stay quiet
    expect(body.result.rule_errors ?? []).toEqual([]);
    expect(body.result.errors).toEqual([]);
  });

  it('the admin page lists the features not running here, each with its reasons', async () => {
    const signIn = await fetch(`${app.url}/api/admin/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: app.url },
      body: JSON.stringify({ password: PASSWORD }),
    });
    expect(signIn.status).toBe(200);
    const cookie = (signIn.headers.get('set-cookie') ?? '').split(';')[0];
    const page = await fetch(`${app.url}/admin`, { headers: { cookie } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-testid="feature-states"');
    expect(html).toContain('Features not running here');
    for (const feature of ['exports', 'drafts', 'userDeletion']) expect(html).toContain(`data-feature="${feature}"`);
    // The same one-line reason as /api/health and the start-up log (quotes escaped in HTML).
    expect(html).toContain('drafts: public.courses has no column &quot;status&quot;');
    // The demo's example policy cannot run here either: its row says so, with the reason.
    expect(html).toContain('policies/expired-sessions cannot run on this database: policy expired-sessions: table public.user_sessions does not exist');
    expect(html).toContain('orphan-sweeps/uploads cannot run on this database: orphan sweep uploads: no bound table references a stored path');
  });
});
