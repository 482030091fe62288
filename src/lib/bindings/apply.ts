import { isSqlDb, type Db, type SqlDb } from '../db/types';
import { readCatalog } from './catalog';
import { bindingTables, compileBindings, DROP_PUBLIC_CONTRACT, FEATURE_VIEWS, RULE_REFERENCE_PREFIXES, type FeatureCompilation, type StorageReference } from './compile';
import { FEATURE_TITLES, FEATURES, type Bindings, type FeatureName } from './spec';
import { quoteLiteral as ql } from './sql-text';

/** What the start-up check found for one feature. */
export interface FeatureState {
  feature: FeatureName;
  title: string;
  enabled: boolean;
  /** Enabled, checked against the catalog, and its views in place. */
  bound: boolean;
  /** Why not bound: one line each, naming the table and the setting to change. */
  problems: string[];
}

export type FeatureStates = Record<FeatureName, FeatureState>;

export interface BindingOutcome {
  features: FeatureStates;
  compiled: Map<FeatureName, FeatureCompilation>;
  /** True when this call (re)created the views. */
  applied: boolean;
}

const LOCK = 'cronwarden.bindings';

/**
 * The sources of the storage references the features keep (the path columns that protect an
 * object from removal): of each feature that binds (`states`: bound; without: enabled and
 * problem-free, as a migration would apply it). What an orphan sweep checks against besides its own.
 */
export function boundReferenceSources(compiled: Map<FeatureName, FeatureCompilation>, states?: FeatureStates): string[] {
  return [...compiled.values()]
    .filter((c) => (states ? states[c.feature]?.bound : c.enabled && c.problems.length === 0))
    .flatMap((c) => c.storageReferences.map((r) => r.source));
}

/**
 * The statements that make the database match the compiled bindings: every binding view and
 * contract object dropped, then created again for each feature that is enabled and binds, with
 * its registry rows and its recorded hash. One transaction; the caller runs it (the app on
 * PGlite/PostgreSQL) or writes it into a migration (Supabase).
 */
export function applyStatements(compiled: Map<FeatureName, FeatureCompilation>): string[] {
  const out: string[] = [];
  out.push(DROP_PUBLIC_CONTRACT);
  for (const f of FEATURES) for (const v of [...FEATURE_VIEWS[f]].reverse()) out.push(`drop view if exists cronwarden.${v} cascade`);
  // The references of the retention policies and orphan sweeps are theirs (src/lib/policies/apply.ts).
  out.push(
    `delete from cronwarden.bound_storage_references where ${RULE_REFERENCE_PREFIXES.map((p) => `source not like ${ql(`${p}%`)}`).join(' and ')}`,
    'delete from cronwarden.bound_user_tables',
    'delete from cronwarden.bound_settings',
  );
  const bound: FeatureName[] = [];
  for (const f of FEATURES) {
    const c = compiled.get(f);
    if (!c || !c.enabled || c.problems.length > 0) continue;
    bound.push(f);
    out.push(...c.statements);
    for (const r of c.storageReferences) out.push(storageReferenceInsert(r));
    for (const u of c.userTables) {
      out.push(
        `insert into cronwarden.bound_user_tables (relation, user_column, path_column, mode) values (${ql(u.relation)}::regclass, ${ql(u.userColumn)}, ${u.pathColumn ? ql(u.pathColumn) : 'null'}, ${ql(u.mode)}) on conflict (relation) do nothing`,
      );
    }
    for (const [key, value] of Object.entries(c.settings)) {
      out.push(`insert into cronwarden.bound_settings (feature, key, value) values (${ql(f)}, ${ql(key)}, ${ql(JSON.stringify(value))}::jsonb)`);
    }
    out.push(
      `insert into cronwarden.bindings (feature, spec_hash, spec, applied_at) values (${ql(f)}, ${ql(c.hash)}, ${ql(JSON.stringify({ tables: c.tables }))}::jsonb, now())
         on conflict (feature) do update set spec_hash = excluded.spec_hash, spec = excluded.spec, applied_at = excluded.applied_at`,
    );
  }
  out.push(bound.length ? `delete from cronwarden.bindings where feature not in (${bound.map((f) => ql(f)).join(', ')})` : 'delete from cronwarden.bindings');
  return out;
}

/** The registry row that makes storage_paths_in_use count a column's paths as in use. */
export function storageReferenceInsert(r: StorageReference): string {
  return `insert into cronwarden.bound_storage_references (source, relation, path_column, key_column, live_condition) values (${ql(r.source)}, ${ql(r.relation)}::regclass, ${ql(r.pathColumn)}, ${r.keyColumn ? ql(r.keyColumn) : 'null'}, ${r.liveCondition ? ql(r.liveCondition) : 'null'})`;
}

interface StateRow {
  feature: FeatureName;
  spec_hash: string;
  views_present: boolean;
}

function states(compiled: Map<FeatureName, FeatureCompilation>, applied: Map<FeatureName, StateRow>, canApply: boolean): FeatureStates {
  const out = {} as FeatureStates;
  for (const f of FEATURES) {
    const c = compiled.get(f) as FeatureCompilation;
    const row = applied.get(f);
    const problems = [...c.problems];
    if (c.enabled && problems.length === 0 && !(row && row.spec_hash === c.hash && row.views_present)) {
      problems.push(
        canApply
          ? `${f}: the binding could not be applied; see the log`
          : `${f}: the binding in cronwarden.config.ts is not applied to this database: run \`npm run bindings -- --write-migration\` and \`supabase db push\``,
      );
    }
    out[f] = { feature: f, title: FEATURE_TITLES[f], enabled: c.enabled, bound: c.enabled && problems.length === 0, problems: c.enabled ? problems : [] };
  }
  return out;
}

async function appliedState(db: Db): Promise<Map<FeatureName, StateRow>> {
  const rows = await db.rpc<StateRow>('binding_state');
  return new Map(rows.map((r) => [r.feature, r]));
}

function upToDate(compiled: Map<FeatureName, FeatureCompilation>, applied: Map<FeatureName, StateRow>): boolean {
  for (const f of FEATURES) {
    const c = compiled.get(f) as FeatureCompilation;
    const want = c.enabled && c.problems.length === 0;
    const row = applied.get(f);
    if (want !== Boolean(row)) return false;
    if (want && row && (row.spec_hash !== c.hash || !row.views_present)) return false;
  }
  return true;
}

/**
 * Checks the bindings against the database's catalog and, on PGlite and PostgreSQL, applies them
 * when they changed (under a transaction-scoped advisory lock, re-checked inside it, so several
 * processes starting at once apply once). On Supabase it only compares: the views come from a
 * pushed migration. Never throws for a binding that does not fit: that feature is reported
 * unbound with its reasons; database errors propagate.
 */
export async function bindFeatures(db: Db, bindings: Bindings): Promise<BindingOutcome> {
  const catalog = await readCatalog(db, bindingTables(bindings));
  const compiled = compileBindings(bindings, catalog);
  let applied = await appliedState(db);
  let didApply = false;
  if (isSqlDb(db) && !upToDate(compiled, applied)) {
    didApply = await applyLocked(db, compiled);
    applied = await appliedState(db);
  }
  return { features: states(compiled, applied, isSqlDb(db)), compiled, applied: didApply };
}

async function applyLocked(db: SqlDb, compiled: Map<FeatureName, FeatureCompilation>): Promise<boolean> {
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext($1))`, [LOCK]);
    const rows = await tx.query<StateRow>(`select * from cronwarden.binding_state()`);
    if (upToDate(compiled, new Map(rows.map((r) => [r.feature, r])))) return false;
    for (const statement of applyStatements(compiled)) await tx.query(statement);
    return true;
  });
}

/** A migration file's text for teams whose schema changes go through migrations (Supabase). */
export function bindingMigration(compiled: Map<FeatureName, FeatureCompilation>, generatedAt: Date): string {
  const head = [
    '-- Cronwarden bindings: the views through which each feature reaches your tables.',
    `-- Generated by \`npm run bindings -- --write-migration\` at ${generatedAt.toISOString()} from cronwarden.config.ts.`,
    '-- Read it before you push it; generate it again (a new file) whenever the config or your tables change.',
    ...[...compiled.values()].map((c) =>
      c.enabled ? (c.problems.length ? `--   ${c.feature}: NOT BOUND: ${c.problems.join('; ')}` : `--   ${c.feature}: bound to ${c.tables.join(', ')}`) : `--   ${c.feature}: switched off`,
    ),
    '',
  ];
  return `${head.join('\n')}\n${applyStatements(compiled).map((s) => `${s};`).join('\n\n')}\n`;
}
