import { expect, it } from 'vitest';
import { BindingConfigError, parseCronwardenConfig } from '../../src/lib/bindings/spec';
import { describeEngines } from '../support/db';
import { existingApp, existingAppBindings } from '../support/existing-app';

/**
 * A binding that does not fit is refused with one line naming the feature, the table or
 * column, and the setting to change; the feature stays unbound and the others bind. A file
 * whose shape is wrong is refused before any database is touched.
 */

it('a misspelt key or an unknown operator in cronwarden.config.ts is refused by its path', () => {
  expect(() => parseCronwardenConfig({ bindings: { exports: { tabel: 'public.data_exports' } } } as never)).toThrow(BindingConfigError);
  expect(() => parseCronwardenConfig({ bindings: { exports: { tabel: 'public.data_exports' } } } as never)).toThrow(
    /bindings\.exports: Unrecognized key: "tabel"/,
  );
  expect(() => parseCronwardenConfig({ bindings: { drafts: { unused: [{ column: 'is_draft', op: '==' }] } } } as never)).toThrow(
    /bindings\.drafts\.unused\.0\.op: must be one of =, <>, <, <=, >, >=, in, not in, is null, is not null, is true, is false/,
  );
});

describeEngines('bindings that do not fit the catalog', (engine) => {
  it('a status word that is no label of the enum, and a time column bound to text: one line each, that feature unbound, the others bound', async () => {
    const bindings = existingAppBindings();
    bindings.exports.statuses.completed = ['done'];
    bindings.drafts.columns.createdAt = 'title';
    const app = await existingApp(engine, bindings);
    expect(app.features.exports.bound).toBe(false);
    expect(app.features.exports.problems).toEqual([
      expect.stringMatching(/^exports: 'done' is not a value of public\.data_exports\.state \(.*export_state.*: pending, running, ready, error, purged\) \(set bindings\.exports\.statuses in cronwarden\.config\.ts\)$/),
    ]);
    expect(app.features.drafts.bound).toBe(false);
    expect(app.features.drafts.problems).toEqual([expect.stringMatching(/^drafts: public\.lessons\.title .*text.*bindings\.drafts\.columns\.createdAt/)]);
    expect(app.features.imports.bound).toBe(true);
    expect(app.features.userDeletion.bound).toBe(true);
  });
});
