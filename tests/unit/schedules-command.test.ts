import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrationTimestamp, runSchedulesCommand } from '../../scripts/lib/schedules-command';
import { DISPATCH_PATH } from '../../src/lib/schedules/table';

const NOW = new Date('2026-12-01T10:20:30.456Z');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/**
 * A project on Vercel Pro in a temp folder: this repository's vercel.json (its other settings)
 * with the crons the command writes for Pro, whatever this repository's scheduler.json declares.
 */
function project(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-schedules-'));
  dirs.push(dir);
  fs.copyFileSync('vercel.json', path.join(dir, 'vercel.json'));
  fs.writeFileSync(path.join(dir, 'scheduler.json'), JSON.stringify({ ...readJson('scheduler.json'), scheduler: 'vercel-pro' }));
  expect(run(dir, '--target', 'vercel-pro', '--write').code).toBe(0);
  return dir;
}

const proVercelJson = (dir: string) => fs.readFileSync(path.join(dir, 'vercel.json'), 'utf8');

function run(dir: string, ...args: string[]) {
  let out = '';
  let err = '';
  const code = runSchedulesCommand(args, { cwd: dir, now: NOW, out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}


describe('npx tsx scripts/schedules.ts', () => {
  it('prints the Pro vercel.json by default, and says it would be refused on Hobby', () => {
    const dir = project();
    const r = run(dir);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Target: vercel-pro');
    expect(r.out).toContain('On Vercel Hobby this vercel.json would be refused (4 crons run more than once a day)');
    expect(r.out.endsWith(proVercelJson(dir))).toBe(true);
  });

  it('vercel-hobby: says plainly which jobs run once a day and what that means', () => {
    const r = run(project(), '--target', 'vercel-hobby');
    expect(r.code).toBe(0);
    expect(r.out).toContain('These 4 jobs run once a day on Hobby instead of their own schedule:');
    expect(r.out).toContain('alerts-evaluate (every 5 minutes -> once a day):');
    expect(r.out).toContain('alert rules are evaluated once a day');
    expect(r.out).toMatch(/draft-cleanup \(every hour -> once a day\)/);
    expect(r.out).toContain('These keep their frequency');
    expect(JSON.parse(r.out.slice(r.out.indexOf('\n{') + 1)).crons).toEqual([{ path: DISPATCH_PATH, schedule: '0 5 * * *' }]);
  });

  it('--write switches vercel.json and scheduler.json; --check then passes for that target only', () => {
    const dir = project();
    const before = run(dir, '--check', '--target', 'vercel-hobby');
    expect(before.code).toBe(1);
    expect(before.err).toContain('scheduler.json declares vercel-pro, not vercel-hobby');

    expect(run(dir, '--target', 'vercel-hobby', '--write').code).toBe(0);
    expect(readJson(path.join(dir, 'vercel.json'))).toEqual({
      $schema: 'https://openapi.vercel.sh/vercel.json',
      crons: [{ path: DISPATCH_PATH, schedule: '0 5 * * *' }],
    });
    const declaration = readJson(path.join(dir, 'scheduler.json'));
    expect(declaration.scheduler).toBe('vercel-hobby');
    expect(declaration.$comment).toContain('Which scheduler');
    const ok = run(dir, '--check');
    expect(ok.code).toBe(0);
    expect(ok.out).toContain('Check passed: scheduler.json declares vercel-hobby and vercel.json deploys on the Vercel hobby plan.');
    expect(run(dir, '--check', '--target', 'vercel-pro').code).toBe(1);
  });

  it('--check fails, naming the refused crons, when the declaration says Hobby but vercel.json is the Pro file', () => {
    const dir = project();
    fs.writeFileSync(path.join(dir, 'scheduler.json'), JSON.stringify({ scheduler: 'vercel-hobby' }));
    const r = run(dir, '--check');
    expect(r.code).toBe(1);
    expect(r.err).toContain('(/api/cron/alerts-evaluate): "*/5 * * * *" runs more than once per day; Vercel refuses it on Hobby');
    expect(r.err).toContain('run `npm run schedules -- --target vercel-hobby --write`');
  });

  it('supabase-cron: writes the migration where asked (default supabase/migrations/<timestamp>_...), and vercel.json without crons', () => {
    const dir = project();
    const r = run(dir, '--target', 'supabase-cron', '--url', 'https://app.example.com', '--write');
    expect(r.code).toBe(0);
    const file = path.join(dir, 'supabase', 'migrations', '20261201102030_cronwarden_schedules.sql');
    expect(fs.readFileSync(file, 'utf8')).toContain("perform cron.schedule('cronwarden:alerts-evaluate', '*/5 * * * *'");
    expect(readJson(path.join(dir, 'vercel.json')).crons).toEqual([]);
    expect(readJson(path.join(dir, 'scheduler.json')).scheduler).toBe('supabase-cron');
    expect(run(dir, '--check').code).toBe(0);

    const named = path.join(dir, 'elsewhere', 'schedules.sql');
    expect(run(dir, '--target', 'supabase-cron', '--url', 'https://app.example.com', '--write', '--out', named).code).toBe(0);
    expect(fs.existsSync(named)).toBe(true);
    expect(migrationTimestamp(NOW)).toBe('20261201102030');
  });

  it('switching away from supabase-cron says that pg_cron still fires the old schedules, and how to remove them', () => {
    const dir = project();
    expect(run(dir, '--target', 'supabase-cron', '--url', 'https://app.example.com', '--write').code).toBe(0);
    const back = run(dir, '--target', 'vercel-pro', '--write');
    expect(back.code).toBe(0);
    expect(back.out).toContain('pg_cron keeps firing them beside vercel-pro');
    expect(back.out).toContain("select cron.unschedule(jobid) from cron.job where jobname like 'cronwarden:%';");
    // Said once: the declaration now is vercel-pro.
    expect(run(dir, '--target', 'vercel-hobby', '--write').out).not.toContain('pg_cron keeps firing');
  });

  it('refuses what it cannot do, with a message and exit code 2', () => {
    const dir = project();
    const before = proVercelJson(dir);
    const noUrl = run(dir, '--target', 'supabase-cron');
    expect(noUrl).toMatchObject({ code: 2 });
    expect(noUrl.err).toContain('needs --url');
    expect(run(dir, '--target', 'supabase-cron', '--url', 'https://u:p@app.example.com').err).toContain('credentials');
    expect(run(dir, '--target', 'vercel-free').err).toContain('--target: must be one of vercel-pro, vercel-hobby, supabase-cron, local');
    expect(run(dir, '--nope').code).toBe(2);
    expect(run(dir, '--check', '--write').code).toBe(2);
    expect(run(dir, '--target', 'vercel-pro', '--url', 'https://a.example').code).toBe(2);
    expect(run(dir, '--target', 'supabase-cron', '--url', 'http://127.0.0.1:3000').err).toContain("the database server itself from pg_net's side");
    // Nothing was written by any of these.
    expect(fs.readFileSync(path.join(dir, 'vercel.json'), 'utf8')).toBe(before);
    expect(fs.existsSync(path.join(dir, 'supabase'))).toBe(false);
  });
});
