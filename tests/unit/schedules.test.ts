import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { deployedRoutes } from '../../scripts/lib/schedules-command';
import { loadConfig } from '../../src/lib/config';
import { getJob, jobs } from '../../src/lib/cron/registry';
import { cronEntries, describeSchedule, intervalMs, jobNameOfPath, nextRuns } from '../../src/lib/cron/schedule';
import { projectScheduleProblems } from '../../src/lib/schedules/check';
import { effectiveCronEntries, firesMoreThanDaily, jobFirings, nextFiring } from '../../src/lib/schedules/firing';
import { activeScheduler, declaredScheduler, parseSchedulerDeclaration, SCHEDULER_NAMES, SCHEDULERS } from '../../src/lib/schedules/scheduler';
import { normalizeAppUrl, pgCronAccepts, renderSupabaseCronMigration, VAULT_SECRET_NAME } from '../../src/lib/schedules/supabase-cron';
import { DISPATCH_MAX_DURATION_SECONDS, DISPATCH_PATH, dispatchOrder, HOBBY_DISPATCH_SCHEDULE, JOB_SCHEDULES } from '../../src/lib/schedules/table';
import { checkMaxDurations, checkVercelCrons, firesAtMostDaily, hobbyCrons, proCrons, renderVercelJson } from '../../src/lib/schedules/vercel';

/** A built-in job's route file; a rule's (`policies/<name>`, `orphan-sweeps/<name>`) is its kind's `[name]` route. */
const routeFile = (name: string) => path.join('src', 'app', 'api', 'cron', name.replace(/^(policies|orphan-sweeps)\/.*$/, '$1/[name]'), 'route.ts');
const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8'));
const DAY = 86_400_000;

describe('the schedule table, the registry and the route files agree', () => {
  const entries = cronEntries();

  it('every job has exactly one schedule', () => {
    for (const job of jobs) {
      expect(JOB_SCHEDULES.filter((s) => s.job === job.name), job.name).toHaveLength(1);
      expect(entries.filter((e) => jobNameOfPath(e.path) === job.name), job.name).toHaveLength(1);
    }
  });

  it('every schedule names a registered job with a route file', () => {
    for (const e of entries) {
      const name = jobNameOfPath(e.path);
      expect(name, e.path).toBeDefined();
      expect(getJob(name!), e.path).toBeDefined();
      expect(fs.existsSync(routeFile(name!)), routeFile(name!)).toBe(true);
    }
  });

  it('every schedule parses, fires within its period, and reads as text', () => {
    for (const e of entries) {
      expect(() => nextRuns(e.schedule, 2), e.schedule).not.toThrow();
      expect(intervalMs(e.schedule)).toBeGreaterThan(0);
      expect(describeSchedule(e.schedule)).toMatch(/UTC/);
    }
  });

  it("each route file declares maxDuration equal to its job's, and force-dynamic", () => {
    for (const job of jobs) {
      const src = fs.readFileSync(routeFile(job.name), 'utf8');
      expect(src, job.name).toMatch(/export const dynamic = 'force-dynamic'/);
      const m = /export const maxDuration = (\d+)/.exec(src);
      expect(m, job.name).not.toBeNull();
      expect(Number(m![1]), job.name).toBe(job.maxDurationSeconds);
    }
  });

  it('the dispatcher route declares the dispatcher time limit, within Hobby', () => {
    const src = fs.readFileSync(routeFile('dispatch'), 'utf8');
    expect(src).toMatch(/export const dynamic = 'force-dynamic'/);
    expect(Number(/export const maxDuration = (\d+)/.exec(src)?.[1])).toBe(DISPATCH_MAX_DURATION_SECONDS);
    expect(checkMaxDurations(deployedRoutes(), 'hobby')).toEqual([]);
    expect(checkMaxDurations([{ path: '/x', maxDurationSeconds: 301 }], 'hobby')).toEqual(["/x: maxDuration 301 s is above the hobby plan's 300 s"]);
  });

  it('no cron route exists without a job, except the dispatcher', () => {
    const dirs = fs.readdirSync(path.join('src', 'app', 'api', 'cron'));
    // policies/[name] and orphan-sweeps/[name] serve the rules of cronwarden.config.ts (tests below).
    for (const d of dirs) expect(jobs.some((j) => j.name === d) || `/api/cron/${d}` === DISPATCH_PATH || d === 'policies' || d === 'orphan-sweeps', d).toBe(true);
  });

  it("every job's default input validates (the dispatcher runs them with it)", () => {
    for (const job of jobs) expect(() => job.input.parse({}), job.name).not.toThrow();
  });
});

describe('this repository deploys on the plan it declares', () => {
  it('scheduler.json declares a scheduler and vercel.json fits it (fails before Vercel refuses a deployment)', () => {
    const problems = projectScheduleProblems({
      declaration: readJson('scheduler.json'),
      vercelJson: readJson('vercel.json'),
      routes: deployedRoutes(),
    });
    expect(problems).toEqual([]);
  });

  it('the Pro file is what vercel.json has always been, 8 crons, then one per rule of cronwarden.config.ts; no dispatcher', () => {
    const text = renderVercelJson(proCrons());
    const crons: { path: string }[] = JSON.parse(text).crons;
    expect(crons.slice(0, 8).map((c) => jobNameOfPath(c.path))).toEqual(JOB_SCHEDULES.map((s) => s.job));
    expect(crons.slice(8).every((c) => /^\/api\/cron\/(policies|orphan-sweeps)\//.test(c.path))).toBe(true);
    expect(text).not.toContain(DISPATCH_PATH);
    if (declaredScheduler() === 'vercel-pro') expect(fs.readFileSync('vercel.json', 'utf8')).toBe(text);
  });
});

describe('Vercel plan check', () => {
  const pro = JSON.parse(renderVercelJson(proCrons()));
  const hobby = JSON.parse(renderVercelJson(hobbyCrons()));

  it('the Hobby file passes on Hobby: one daily cron, the dispatcher', () => {
    expect(hobby.crons).toEqual([{ path: DISPATCH_PATH, schedule: HOBBY_DISPATCH_SCHEDULE }]);
    expect(checkVercelCrons(hobby, 'hobby')).toEqual([]);
    expect(projectScheduleProblems({ declaration: { scheduler: 'vercel-hobby' }, vercelJson: hobby, routes: deployedRoutes() })).toEqual([]);
  });

  it('the Pro file fails on Hobby, naming each cron that runs more than once a day', () => {
    const problems = checkVercelCrons(pro, 'hobby');
    const subDaily = JOB_SCHEDULES.filter((s) => firesMoreThanDaily(s.schedule));
    expect(subDaily.map((s) => s.job).sort()).toEqual(['alerts-evaluate', 'draft-cleanup', 'export-metrics-aggregate', 'storage-cleanup-retry']);
    expect(problems).toHaveLength(subDaily.length);
    for (const s of subDaily) expect(problems.join('\n')).toContain(`(/api/cron/${s.job}): "${s.schedule}" runs more than once per day`);
    const declared = projectScheduleProblems({ declaration: { scheduler: 'vercel-hobby' }, vercelJson: pro, routes: deployedRoutes() });
    expect(declared).toHaveLength(subDaily.length);
    expect(declared[0]).toContain('npm run schedules -- --target vercel-hobby --write');
  });

  it('the Pro file passes on Pro; the Hobby file on Pro is flagged as not the declared crons', () => {
    expect(checkVercelCrons(pro, 'pro')).toEqual([]);
    expect(projectScheduleProblems({ declaration: { scheduler: 'vercel-pro' }, vercelJson: hobby })).toEqual([
      "vercel.json's crons are not the schedule table's for vercel-pro; run `npm run schedules -- --target vercel-pro --write`",
    ]);
  });

  it('with Supabase Cron, vercel.json has no crons (pg_cron fires them) and deploys on any plan', () => {
    const none = JSON.parse(renderVercelJson(SCHEDULERS['supabase-cron'].vercelCrons()));
    expect(none.crons).toEqual([]);
    expect(projectScheduleProblems({ declaration: { scheduler: 'supabase-cron' }, vercelJson: none })).toEqual([]);
    expect(projectScheduleProblems({ declaration: { scheduler: 'supabase-cron' }, vercelJson: pro })).not.toEqual([]);
  });

  it('once a day means one minute and one hour', () => {
    for (const ok of ['0 3 * * *', '30 4 * * *', '0 3 1 * *', '15 23 * * 1-5']) expect(firesAtMostDaily(ok), ok).toBe(true);
    for (const bad of ['0 * * * *', '*/5 * * * *', '0 3,15 * * *', '*/30 3 * * *', '0 1-2 * * *', '0 3 * * * *']) expect(firesAtMostDaily(bad), bad).toBe(false);
  });

  it('refuses malformed files with a sentence, never an exception', () => {
    expect(checkVercelCrons([], 'pro')).toEqual(['vercel.json: not a JSON object']);
    expect(checkVercelCrons({ crons: {} }, 'pro')).toEqual(['vercel.json: "crons" is not an array']);
    expect(checkVercelCrons({ crons: [{ path: 'x', schedule: '0 3 * * *' }] }, 'pro')[0]).toContain('starting with /');
    expect(checkVercelCrons({ crons: [{ path: '/x', schedule: '0 3 * *' }] }, 'pro')[0]).toContain('not a 5-field');
    expect(checkVercelCrons({ crons: [{ path: '/x', schedule: '0 99 * * *' }] }, 'pro')[0]).toContain('not a valid cron');
    expect(checkVercelCrons({ crons: Array.from({ length: 101 }, () => ({ path: '/x', schedule: '0 3 * * *' })) }, 'hobby')[0]).toContain('allows 100');
    expect(projectScheduleProblems({ declaration: { scheduler: 'vercel-free' }, vercelJson: pro })[0]).toMatch(/^scheduler\.json: scheduler: must be one of vercel-pro/);
  });

  it('keeps the other keys of vercel.json when it writes crons', () => {
    const text = renderVercelJson(hobbyCrons(), { $schema: 'x', functions: { 'app/**': { memory: 1024 } }, crons: [{ path: '/old', schedule: '0 1 * * *' }] });
    expect(JSON.parse(text)).toEqual({ $schema: 'x', functions: { 'app/**': { memory: 1024 } }, crons: hobbyCrons() });
  });
});

describe('Hobby: what runs less often, and when', () => {
  const firings = jobFirings('vercel-hobby');

  it('every job that runs more than once a day says what once a day means', () => {
    for (const s of JOB_SCHEDULES) {
      if (firesMoreThanDaily(s.schedule)) expect(s.onceADayMeans?.length ?? 0, s.job).toBeGreaterThan(20);
    }
    expect(firings.filter((f) => f.lessOften).map((f) => f.job)).toEqual(JOB_SCHEDULES.filter((s) => firesMoreThanDaily(s.schedule)).map((s) => s.job));
  });

  it("the daily dispatch comes after every daily job's own time, so none waits a day", () => {
    const day = new Date('2026-12-02T00:00:00Z');
    const dispatchAt = nextRuns(HOBBY_DISPATCH_SCHEDULE, 1, day)[0];
    for (const s of JOB_SCHEDULES.filter((x) => !firesMoreThanDaily(x.schedule) && x.schedule.split(' ')[2] === '*')) {
      expect(nextRuns(s.schedule, 1, day)[0].getTime(), s.job).toBeLessThan(dispatchAt.getTime());
    }
  });

  it('the stalled alert measures Hobby jobs against the daily dispatch; other schedulers against their own', () => {
    for (const e of effectiveCronEntries('vercel-hobby')) expect(intervalMs(e.schedule), e.path).toBeGreaterThanOrEqual(DAY);
    expect(effectiveCronEntries('vercel-pro')).toEqual(cronEntries());
    expect(effectiveCronEntries('supabase-cron')).toEqual(cronEntries());
  });

  it('next firing on Hobby is the dispatch after the next own time', () => {
    const now = new Date('2026-12-02T11:30:00Z');
    const alerts = firings.find((f) => f.job === 'alerts-evaluate')!;
    expect(nextFiring(alerts, now)).toEqual(new Date('2026-12-03T05:00:00Z'));
    const monthly = firings.find((f) => f.job === 'export-log-cleanup')!;
    expect(nextFiring(monthly, now)).toEqual(new Date('2027-01-01T05:00:00Z'));
    const proAlerts = jobFirings('vercel-pro').find((f) => f.job === 'alerts-evaluate')!;
    expect(nextFiring(proAlerts, now)).toEqual(new Date('2026-12-02T11:35:00Z'));
  });

  it('dispatches alerts-evaluate last', () => {
    expect(dispatchOrder().at(-1)!.job).toBe('alerts-evaluate');
    expect(dispatchOrder(JOB_SCHEDULES).map((s) => s.job).sort()).toEqual(JOB_SCHEDULES.map((s) => s.job).sort());
  });
});

describe('the declared scheduler', () => {
  it('reads scheduler.json, and CRON_SCHEDULER overrides it at run time', () => {
    expect(SCHEDULER_NAMES).toContain(declaredScheduler());
    expect(activeScheduler(loadConfig({}))).toBe(declaredScheduler());
    expect(activeScheduler(loadConfig({ CRON_SCHEDULER: 'local' }))).toBe('local');
    expect(() => loadConfig({ CRON_SCHEDULER: 'hobby' })).toThrow(/CRON_SCHEDULER: must be one of vercel-pro, vercel-hobby, supabase-cron, local/);
  });

  it('names the file and the allowed values when the declaration is wrong', () => {
    expect(parseSchedulerDeclaration({ scheduler: 'supabase-cron', $comment: 'x' })).toBe('supabase-cron');
    expect(() => parseSchedulerDeclaration({})).toThrow(/^scheduler\.json: scheduler: must be one of/);
    expect(() => parseSchedulerDeclaration('vercel-pro')).toThrow(/^scheduler\.json/);
  });
});

describe('Supabase Cron migration text', () => {
  const jobsWithLimits = JOB_SCHEDULES.map((s) => ({ job: s.job, schedule: s.schedule, maxDurationSeconds: jobs.find((j) => j.name === s.job)!.maxDurationSeconds }));
  const sql = renderSupabaseCronMigration({ appUrl: 'https://app.example.com/base/', jobs: jobsWithLimits, generatedAt: new Date('2026-12-01T10:00:00.123Z') });

  it('schedules every job under the cronwarden: prefix, reading the secret from Vault', () => {
    for (const s of JOB_SCHEDULES) {
      expect(sql).toContain(`perform cron.schedule('cronwarden:${s.job}', '${s.schedule}', $cronwarden_cmd$`);
      expect(sql).toContain(`url := 'https://app.example.com/base/api/cron/${s.job}'`);
    }
    expect(sql.match(/perform cron\.schedule\(/g)).toHaveLength(JOB_SCHEDULES.length);
    expect(sql.match(/'Bearer ' \|\| \(select decrypted_secret from vault\.decrypted_secrets where name = 'cronwarden_cron_secret'\)/g)).toHaveLength(
      JOB_SCHEDULES.length,
    );
    expect(sql).toContain(`perform cron.unschedule(jobid) from cron.job where jobname like 'cronwarden:%';`);
    expect(sql).toContain(`select vault.create_secret('<the CRON_SECRET value>', '${VAULT_SECRET_NAME}');`);
    expect(sql).toContain('-- Generated 2026-12-01T10:00:00Z by');
  });

  it('refuses URLs that would leak or break the SQL, and schedules pg_cron would not read', () => {
    expect(normalizeAppUrl('https://app.example.com/')).toBe('https://app.example.com');
    expect(() => normalizeAppUrl('https://user:pw@app.example.com')).toThrow(/credentials/);
    expect(() => normalizeAppUrl('https://app.example.com/?a=1')).toThrow(/query/);
    expect(() => normalizeAppUrl('ftp://app.example.com')).toThrow(/http/);
    expect(() => normalizeAppUrl('https://app.example.com/$x$')).toThrow(/\$/);
    expect(() => normalizeAppUrl('app.example.com')).toThrow(/absolute URL/);
    expect(renderSupabaseCronMigration({ appUrl: "https://app.example.com/it's", jobs: jobsWithLimits.slice(0, 1), generatedAt: new Date() })).toContain(
      "url := 'https://app.example.com/it''s/api/cron/",
    );
    expect(pgCronAccepts('*/5 * * * *')).toBe(true);
    expect(pgCronAccepts('0 3 * * MON')).toBe(false);
    expect(() => renderSupabaseCronMigration({ appUrl: 'https://a.example', jobs: [{ job: 'x', schedule: '@daily', maxDurationSeconds: 60 }], generatedAt: new Date() })).toThrow(
      /pg_cron does not read/,
    );
  });
});
