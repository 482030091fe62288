import { describe, expect, it } from 'vitest';
import { announceStartup } from '../../src/lib/startup';
import { captureLogs, testConfig } from '../support/deps';
import { deployedRoutes } from '../../scripts/lib/schedules-command';
import { parseCronwardenConfig } from '../../src/lib/bindings/spec';
import { getJob } from '../../src/lib/cron/registry';
import { policyJobOfPath } from '../../src/lib/cron/route';
import { jobNameOfPath } from '../../src/lib/cron/schedule';
import { POLICY_MAX_DURATION_SECONDS } from '../../src/lib/jobs/policy';
import { projectScheduleProblems } from '../../src/lib/schedules/check';
import { effectiveCronEntries } from '../../src/lib/schedules/firing';
import { renderSupabaseCronMigration } from '../../src/lib/schedules/supabase-cron';
import { JOB_SCHEDULES, scheduleTable } from '../../src/lib/schedules/table';
import { proCrons, renderVercelJson } from '../../src/lib/schedules/vercel';

const policy = {
  name: 'expired-sessions',
  table: 'public.user_sessions',
  keyColumn: 'id',
  timeColumn: 'expires_at',
  age: '7 days',
  schedule: '20 3 * * *',
};
const config = parseCronwardenConfig({
  policies: [policy, { ...policy, name: 'Bad Name' }, { ...policy, name: 'hourly-one', schedule: '5 * * * *' }],
});

describe('retention policies in the one schedule table', () => {
  it('each policy whose shape is valid follows the built-in jobs, as policies/<name> at its own schedule', () => {
    const table = scheduleTable(config);
    expect(table.slice(0, JOB_SCHEDULES.length)).toEqual(JOB_SCHEDULES);
    expect(table.slice(JOB_SCHEDULES.length).map(({ job, schedule }) => ({ job, schedule }))).toEqual([
      { job: 'policies/expired-sessions', schedule: '20 3 * * *' },
      { job: 'policies/hourly-one', schedule: '5 * * * *' },
    ]);
    expect(jobNameOfPath('/api/cron/policies/expired-sessions')).toBe('policies/expired-sessions');
    expect(jobNameOfPath('/api/cron/policies/../x')).toBeUndefined();
  });

  it('vercel.json (Pro) gets one cron per policy at /api/cron/policies/<name>, and the check fails until it is written', () => {
    const table = scheduleTable(config);
    const crons = proCrons(table);
    expect(crons.slice(-2)).toEqual([
      { path: '/api/cron/policies/expired-sessions', schedule: '20 3 * * *' },
      { path: '/api/cron/policies/hourly-one', schedule: '5 * * * *' },
    ]);
    const without = JSON.parse(renderVercelJson(proCrons(JOB_SCHEDULES)));
    expect(projectScheduleProblems({ declaration: { scheduler: 'vercel-pro' }, vercelJson: without, routes: deployedRoutes(), table })).toEqual([
      "vercel.json's crons are not the schedule table's for vercel-pro; run `npm run schedules -- --target vercel-pro --write`",
    ]);
    const written = JSON.parse(renderVercelJson(crons));
    expect(projectScheduleProblems({ declaration: { scheduler: 'vercel-pro' }, vercelJson: written, routes: deployedRoutes(), table })).toEqual([]);
  });

  it('on Hobby an hourly policy runs at the daily dispatch; Supabase Cron calls its route', () => {
    const table = scheduleTable(config);
    expect(effectiveCronEntries('vercel-hobby', table).slice(-2)).toEqual([
      { path: '/api/cron/policies/expired-sessions', schedule: '20 3 * * *' },
      { path: '/api/cron/policies/hourly-one', schedule: '0 5 * * *' },
    ]);
    const sql = renderSupabaseCronMigration({
      appUrl: 'https://app.example.com',
      jobs: table.slice(-1).map((s) => ({ job: s.job, schedule: s.schedule, maxDurationSeconds: POLICY_MAX_DURATION_SECONDS })),
      generatedAt: new Date('2026-12-01T00:00:00Z'),
    });
    expect(sql).toContain(`perform cron.schedule('cronwarden:policies/hourly-one', '5 * * * *'`);
    expect(sql).toContain(`url := 'https://app.example.com/api/cron/policies/hourly-one'`);
  });

  it('the policies route is deployed with its time limit, within Hobby', () => {
    expect(deployedRoutes()).toContainEqual({ path: '/api/cron/policies/[name]', maxDurationSeconds: POLICY_MAX_DURATION_SECONDS });
    expect(POLICY_MAX_DURATION_SECONDS).toBeLessThanOrEqual(300);
  });
});

describe('the job of /api/cron/policies/<name>', () => {
  it('is the policy of that name, the same definition the dispatcher runs', () => {
    const job = policyJobOfPath(config, '/api/cron/policies/expired-sessions');
    expect(job.name).toBe('policies/expired-sessions');
    expect(getJob('policies/expired-sessions', config)).toBe(job);
    expect(job.maxDurationSeconds).toBe(POLICY_MAX_DURATION_SECONDS);
    expect(() => job.input.parse({})).not.toThrow();
    expect(job.input.safeParse({ batchSize: '0' }).success).toBe(false);
    expect(job.input.safeParse({ limit: '5' }).success).toBe(false);
  });

  it('404 POLICY_NOT_FOUND for a name the file lacks; 503 POLICY_NOT_BOUND naming the reason for one refused by its shape', () => {
    expect(() => policyJobOfPath(config, '/api/cron/policies/nothing-here')).toThrow(
      expect.objectContaining({ status: 404, code: 'POLICY_NOT_FOUND', details: { policies: ['expired-sessions', 'hourly-one'] } }),
    );
    let refused: unknown;
    try {
      policyJobOfPath(config, `/api/cron/policies/${encodeURIComponent('Bad Name')}`);
    } catch (err) {
      refused = err;
    }
    // The path carries the name URL-encoded, which is not the name: not found rather than guessed.
    expect(refused).toMatchObject({ status: 404 });
    const named = parseCronwardenConfig({ policies: [{ ...policy, name: 'zero-age', age: '0 days' }] });
    expect(() => policyJobOfPath(named, '/api/cron/policies/zero-age')).toThrow(
      expect.objectContaining({
        status: 503,
        code: 'POLICY_NOT_BOUND',
        message: expect.stringContaining('policy zero-age: age: must be more than zero (set policies[0].age in cronwarden.config.ts)'),
      }),
    );
  });
});

describe('policies refused by their shape are said at start', () => {
  it('one warning line per problem, each naming its policy; valid policies say nothing', () => {
    const refused = parseCronwardenConfig({
      policies: [
        policy,
        { ...policy, name: 'zero-age', age: '0 days' },
        { ...policy, name: 'bad-op', where: [{ column: 'kind', op: 'like', value: 'x%' }], schedule: 'hourly' },
      ],
    });
    const { log, logs } = captureLogs();
    announceStartup(testConfig(), log, [], refused.refusals);
    expect(logs.ofType('policy_refused').map((l) => [l.name, l.msg])).toEqual([
      ['zero-age', 'policy zero-age: age: must be more than zero (set policies[1].age in cronwarden.config.ts)'],
      ['bad-op', expect.stringMatching(/^policy bad-op: where\.0\.op: must be one of =, <>, .* \(set policies\[2\]\.where\.0\.op in cronwarden\.config\.ts\)$/)],
      ['bad-op', expect.stringMatching(/^policy bad-op: schedule: must be a cron expression of five fields/)],
    ]);
  });
});
