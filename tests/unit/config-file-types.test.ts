import { expect, it } from 'vitest';
import { defineConfig, parseCronwardenConfig } from '../../src/lib/bindings/spec';

// This file is type-checked with the app (`next build`, `npm run typecheck`): a mistake in one
// rule must not fail the build of the whole app; the start-up check refuses that rule alone.
it('an unknown operator or action type-checks in cronwarden.config.ts and is refused at start with one line naming the policy', () => {
  const file = defineConfig({
    policies: [
      { name: 'ok', table: 'public.audit_logs', keyColumn: 'id', timeColumn: 'at', age: '30 days', schedule: '0 4 * * *' },
      {
        name: 'bad-op',
        table: 'public.audit_logs',
        keyColumn: 'id',
        timeColumn: 'at',
        age: '30 days',
        where: [{ column: 'event', op: 'like', value: 'log%' }],
        schedule: '0 4 * * *',
      },
      { name: 'bad-action', table: 'public.audit_logs', keyColumn: 'id', timeColumn: 'at', age: '30 days', action: 'truncate', schedule: '0 4 * * *' },
    ],
  });
  const config = parseCronwardenConfig(file);
  expect(config.policies.map((p) => p.name)).toEqual(['ok']);
  expect(config.refusals.map((r) => [r.name, r.problems.length])).toEqual([
    ['bad-op', 1],
    ['bad-action', 1],
  ]);
  expect(config.refusals[1].problems).toEqual([
    "policy bad-action: action: must be 'delete' or { update: { column: '<column>', value: <value> } } (set policies[2].action in cronwarden.config.ts)",
  ]);
  expect(config.refusals[0].problems[0]).toMatch(/^policy bad-op: where\.0\.op: must be one of .*\(set policies\[1\]\.where\.0\.op in cronwarden\.config\.ts\)$/);
});
