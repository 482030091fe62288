import type { Catalog } from '../bindings/catalog';
import { Checker, hashOf, isTz, timeExpr, viewSql } from '../bindings/checker';
import { RULE_REFERENCE_PREFIXES, type StorageReference } from '../bindings/compile';

export { RULE_REFERENCE_PREFIXES };
import {
  ruleSetting,
  ruleSubject,
  type CronwardenConfig,
  type OrphanSweepSpec,
  type PolicySpec,
  type RuleKind,
} from '../bindings/spec';
import { quoteIdent as qi, quoteLiteral as ql, quoteTable as qt } from '../bindings/sql-text';

/**
 * The team's own rules checked against the catalog and turned into SQL: one view per policy in
 * schema cronwarden (see supabase/migrations/20261201001100_policies.sql for its columns and
 * the functions that read it), its registry row, and the storage references that keep objects
 * alive (a policy's storage path column, an orphan sweep's extra references). Pure: the catalog
 * is read before, the SQL applied after (src/lib/policies/apply.ts).
 */

/** The index a policy's selection reads by: its time column, partial on its condition. */
export interface PolicyIndex {
  table: string;
  column: string;
  /** The condition as an index predicate (bare column names), or null for a plain index. */
  predicate: string | null;
  /** `create index concurrently ...` (outside a transaction). */
  statement: string;
}

export interface RuleCompilation {
  kind: RuleKind;
  name: string;
  /** Position in cronwarden.config.ts (policies[i] / orphanSweeps[i]). */
  index: number;
  /** The job that runs it: `policy:<name>` / `orphan-sweep:<name>`. */
  job: string;
  /** One line each, naming the rule and the setting to change. Empty: it can run. */
  problems: string[];
  /** The spec as parsed; null when its shape was refused. */
  policy: PolicySpec | null;
  sweep: OrphanSweepSpec | null;
  tables: string[];
  /** The view (policies) and the registry row, in order. */
  statements: string[];
  storageReferences: StorageReference[];
  indexAdvice: PolicyIndex | null;
  hash: string;
}

/**
 * A policy's job is `policies/<name>`: served at /api/cron/policies/<name> and scheduled in the
 * schedule table like the built-in jobs (whose path is /api/cron/<job>).
 */
export const POLICY_JOB_PREFIX = 'policies/';
export const ORPHAN_SWEEP_JOB_PREFIX = 'orphan-sweeps/';
/** How an orphan sweep's extra references are named in bound_storage_references.source. */
const ORPHAN_SWEEP_REFERENCE_PREFIX = 'orphan-sweep:';

export const policyJobName = (name: string) => `${POLICY_JOB_PREFIX}${name}`;
export const orphanSweepJobName = (name: string) => `${ORPHAN_SWEEP_JOB_PREFIX}${name}`;
export const ruleJobName = (kind: RuleKind, name: string) => (kind === 'policy' ? policyJobName(name) : orphanSweepJobName(name));

/** The view of a policy: `policy_<name>` with '-' as '_' (names are slugs, so this is one-to-one). */
export const policyViewName = (name: string) => `policy_${name.replace(/-/g, '_')}`;

/** The storage-reference source of a policy (bound_storage_references.source). */
export const policyReferenceSource = (name: string) => `policy:${name}`;

/** True when `path` is the prefix `archivePrefix` itself or lies under it. */
function underPrefix(path: string, archivePrefix: string): boolean {
  const prefix = archivePrefix.replace(/\/+$/, '');
  return path === prefix || path.startsWith(`${prefix}/`);
}

interface RegistryValues {
  view: string | null;
  relation: string | null;
  key: string | null;
  tz: boolean | null;
  action: string | null;
  path: boolean;
}

function registryRow(kind: RuleKind, name: string, v: RegistryValues, hash: string): string {
  const or = (x: string | null) => (x === null ? 'null' : ql(x));
  return `insert into cronwarden.bound_rules (kind, name, view_name, relation, key_column, time_tz, action, has_path, spec_hash) values (${ql(kind)}, ${ql(name)}, ${or(v.view)}, ${v.relation ? `${ql(v.relation)}::regclass` : 'null'}, ${or(v.key)}, ${v.tz === null ? 'null' : ql(v.tz)}, ${or(v.action)}, ${ql(v.path)}, ${ql(hash)})`;
}

function refused(kind: RuleKind, name: string, index: number, problems: string[], spec: { policy?: PolicySpec; sweep?: OrphanSweepSpec }, tables: string[]): RuleCompilation {
  return {
    kind,
    name,
    index,
    job: ruleJobName(kind, name),
    problems,
    policy: spec.policy ?? null,
    sweep: spec.sweep ?? null,
    tables,
    statements: [],
    storageReferences: [],
    indexAdvice: null,
    hash: hashOf({ kind, name, spec, problems }),
  };
}

export function compilePolicy(p: PolicySpec, index: number, catalog: Catalog): RuleCompilation {
  const subject = ruleSubject('policy', p.name);
  const k = new Checker(subject, ruleSetting('policy', index), catalog);
  // The same terms without the alias, for the index predicate (its problems are k's already).
  const bare = new Checker(subject, ruleSetting('policy', index), catalog);
  if (p.table.startsWith('cronwarden.')) {
    k.say(`${p.table} is one of Cronwarden's own tables; policies work on your tables`, 'table');
    return refused('policy', p.name, index, k.problems, { policy: p }, [p.table]);
  }
  const t = k.table('table', p.table);
  const key = k.column(t, 'keyColumn', p.keyColumn, 'key');
  const time = k.column(t, 'timeColumn', p.timeColumn, 'time');
  const path = p.storagePathColumn ? k.column(t, 'storagePathColumn', p.storagePathColumn, 'text') : undefined;
  const terms = p.where.map((term, i) => k.term(t, `where.${i}`, term));
  const bareTerms = p.where.map((term, i) => bare.term(t, `where.${i}`, term, null));

  // The update action: the column and its value, typed like the column. A row already holding
  // the value is not selected (so a run ends, and the next one does not write it again).
  let update: { column: string; literal: string } | undefined;
  if (t && p.action !== 'delete') {
    const { column, value } = p.action.update;
    const c = k.column(t, 'action.update.column', column, 'any');
    if (c && value === null && c.notNull) {
      k.say(`${t.name}.${c.name} is NOT NULL; the update sets it to null`, 'action.update.value');
    } else if (c) {
      const literal = value === null ? 'null' : k.literal(t, c, 'action.update.value', value);
      if (literal !== undefined) update = { column: c.name, literal };
      if (c.name === p.keyColumn || c.name === p.timeColumn) k.say(`the update may not change the key or time column`, 'action.update.column');
    }
  }

  if (k.problems.length > 0 || !t || !key || !time) return refused('policy', p.name, index, k.problems, { policy: p }, [...k.tables]);

  const view = policyViewName(p.name);
  const conditions = terms as string[];
  const bareConditions = bareTerms as string[];
  if (update) {
    conditions.push(`t.${qi(update.column)} is distinct from ${update.literal}`);
    bareConditions.push(`${qi(update.column)} is distinct from ${update.literal}`);
  }
  const columns: [string, string][] = [
    [`t.${qi(key.name)}`, 'key'],
    [`t.${qi(time.name)}`, 'time_raw'],
    [timeExpr(time), 'time'],
    [conditions.length ? `(${conditions.join(' and ')})` : 'true', 'selected'],
    [path ? `t.${qi(path.name)}` : 'null::text', 'path'],
    // Whether the row still needs its object (an updated row has given it up).
    [update ? `(t.${qi(update.column)} is distinct from ${update.literal})` : 'true', 'holds_path'],
  ];
  if (update) {
    columns.push([`t.${qi(update.column)}`, 'update_column']);
    // typed like the column (text, enum, ...), so it can be assigned to it
    columns.push([`(case when false then t.${qi(update.column)} else ${update.literal} end)`, 'update_value']);
  }
  columns.push(['to_jsonb(t)', 'row_json'], ['pg_column_size(t.*)::bigint', 'row_bytes']);
  const statements = [viewSql(view, p.table, columns)];
  const storageReferences: StorageReference[] = path
    ? [{ source: policyReferenceSource(p.name), relation: `cronwarden.${view}`, pathColumn: 'path', keyColumn: 'key', liveCondition: 'holds_path' }]
    : [];

  const rel = p.table.slice(p.table.indexOf('.') + 1);
  const indexName = `${rel}_${time.name}_${p.name.replace(/-/g, '_')}_idx`.slice(0, 63);
  const predicate = bareConditions.length ? bareConditions.join(' and ') : null;
  const indexAdvice: PolicyIndex = {
    table: p.table,
    column: time.name,
    predicate,
    statement: `create index concurrently if not exists ${qi(indexName)} on ${qt(p.table)} (${qi(time.name)})${predicate ? ` where ${predicate}` : ''};`,
  };

  const hash = hashOf({ kind: 'policy', spec: p, statements, storageReferences });
  statements.push(
    registryRow('policy', p.name, { view, relation: p.table, key: key.name, tz: isTz(time), action: update ? 'update' : 'delete', path: Boolean(path) }, hash),
  );
  return {
    kind: 'policy',
    name: p.name,
    index,
    job: policyJobName(p.name),
    problems: [],
    policy: p,
    sweep: null,
    tables: [...k.tables],
    statements,
    storageReferences,
    indexAdvice,
    hash,
  };
}

/**
 * An orphan sweep checked against the catalog. `otherReferences`: how many storage references
 * besides the sweep's own are bound (the bound features' path columns, the policies'), or null
 * when not known. With none at all, nothing tells a live object from an orphan: every object
 * under the prefix would be removed, so the sweep is refused.
 */
export function compileOrphanSweep(s: OrphanSweepSpec, index: number, catalog: Catalog, archivePrefix: string, otherReferences: number | null = null): RuleCompilation {
  const k = new Checker(ruleSubject('orphanSweep', s.name), ruleSetting('orphanSweep', index), catalog);
  if (underPrefix(s.prefix.replace(/\/+$/, ''), archivePrefix)) {
    k.say(`'${s.prefix}' is under the archive prefix '${archivePrefix}' (EXPORT_ARCHIVE_PREFIX); archived objects are never swept`, 'prefix');
  }
  const storageReferences: StorageReference[] = [];
  s.references.forEach((r, i) => {
    const t = k.table(`references.${i}.table`, r.table, false);
    const c = k.column(t, `references.${i}.column`, r.column, 'text');
    if (t && c) {
      storageReferences.push({ source: `${ORPHAN_SWEEP_REFERENCE_PREFIX}${s.name}:${r.table}.${r.column}`, relation: r.table, pathColumn: c.name, keyColumn: null, liveCondition: null });
    }
  });
  if (s.references.length === 0 && otherReferences === 0) {
    k.say(
      `no bound table references a stored path (no feature with a path column is bound, no policy has a storagePathColumn, the sweep has no references), so every object under '${s.prefix}' would count as orphaned; name the tables and columns that hold these paths, or remove the sweep`,
      'references',
    );
  }
  if (k.problems.length > 0) return refused('orphanSweep', s.name, index, k.problems, { sweep: s }, [...k.tables]);
  const hash = hashOf({ kind: 'orphanSweep', spec: s, storageReferences });
  return {
    kind: 'orphanSweep',
    name: s.name,
    index,
    job: orphanSweepJobName(s.name),
    problems: [],
    policy: null,
    sweep: s,
    tables: [...k.tables],
    statements: [registryRow('orphanSweep', s.name, { view: null, relation: null, key: null, tz: null, action: null, path: false }, hash)],
    storageReferences,
    indexAdvice: null,
    hash,
  };
}

/** Every table the rules name: what the catalog must describe before compiling. */
export function ruleTables(config: Pick<CronwardenConfig, 'policies' | 'orphanSweeps'>): string[] {
  return [...new Set([...config.policies.map((p) => p.table), ...config.orphanSweeps.flatMap((s) => s.references.map((r) => r.table))])];
}

/**
 * Every policy and orphan sweep, in the order of cronwarden.config.ts (policies first): checked
 * against the catalog and compiled, or refused (by shape: config.refusals; by the catalog: a
 * missing table or column, a value that does not fit, ...) with one line per problem.
 * `featureReferences`: the sources of the storage references the bound features keep (see
 * boundReferenceSources), or null when not known; an orphan sweep with no reference at all is refused.
 */
export function compileRules(
  config: Pick<CronwardenConfig, 'policies' | 'orphanSweeps' | 'refusals'>,
  catalog: Catalog,
  archivePrefix: string,
  featureReferences: readonly string[] | null = null,
): RuleCompilation[] {
  const out: RuleCompilation[] = [];
  const byShape = new Map(config.refusals.map((r) => [`${r.kind}:${r.index}`, r]));
  let p = 0;
  let s = 0;
  const policyCount = config.policies.length + config.refusals.filter((r) => r.kind === 'policy').length;
  for (let i = 0; i < policyCount; i++) {
    const r = byShape.get(`policy:${i}`);
    if (r) out.push(refused('policy', r.name, i, r.problems, {}, []));
    else out.push(compilePolicy(config.policies[p++], i, catalog));
  }
  const policyReferences = out.filter((c) => c.problems.length === 0).reduce((n, c) => n + c.storageReferences.length, 0);
  const otherReferences = featureReferences === null ? null : featureReferences.length + policyReferences;
  const sweepCount = config.orphanSweeps.length + config.refusals.filter((r) => r.kind === 'orphanSweep').length;
  for (let i = 0; i < sweepCount; i++) {
    const r = byShape.get(`orphanSweep:${i}`);
    if (r) out.push(refused('orphanSweep', r.name, i, r.problems, {}, []));
    else out.push(compileOrphanSweep(config.orphanSweeps[s++], i, catalog, archivePrefix, otherReferences));
  }
  return out;
}
