import { storageReferenceInsert } from '../bindings/apply';
import { AppError } from '../http/errors';
import { readCatalog } from '../bindings/catalog';
import { ruleSubject, type CronwardenConfig, type RuleKind } from '../bindings/spec';
import { quoteLiteral as ql } from '../bindings/sql-text';
import { isSqlDb, type Db, type SqlDb } from '../db/types';
import { compileRules, RULE_REFERENCE_PREFIXES, ruleTables, type RuleCompilation } from './compile';

/** What the start-up check found for one policy or orphan sweep. */
export interface RuleState {
  kind: RuleKind;
  name: string;
  /** `policy:<name>` / `orphan-sweep:<name>`. */
  job: string;
  /** Checked against the catalog, and (for a policy) its view in place. */
  bound: boolean;
  /** Why not: one line each, naming the rule and the setting to change. */
  problems: string[];
}

/** By job name. */
export type RuleStates = Record<string, RuleState>;

export interface RuleOutcome {
  rules: RuleStates;
  compiled: RuleCompilation[];
  /** True when this call (re)created the views. */
  applied: boolean;
}

const LOCK = 'cronwarden.rules';

/** The compiled rules that can run: every problem-free one, the first of each job name. */
function runnable(compiled: RuleCompilation[]): RuleCompilation[] {
  const seen = new Set<string>();
  return compiled.filter((c) => {
    if (c.problems.length > 0 || seen.has(c.job)) return false;
    seen.add(c.job);
    return true;
  });
}

/**
 * The statements that make the database match the compiled rules: every policy view, registry
 * row and rule storage reference dropped, then created again for each rule that compiled. One
 * transaction; the app runs it (PGlite/PostgreSQL) or it is written into a migration (Supabase,
 * `npm run bindings -- --write-migration`, after the bindings' statements).
 */
export function ruleStatements(compiled: RuleCompilation[]): string[] {
  const out: string[] = [
    `delete from cronwarden.bound_storage_references where ${RULE_REFERENCE_PREFIXES.map((p) => `source like ${ql(`${p}%`)}`).join(' or ')}`,
    `do $do$
declare
  r record;
begin
  for r in select b.view_name from cronwarden.bound_rules b where b.view_name is not null loop
    execute format('drop view if exists cronwarden.%I', r.view_name);
  end loop;
end;
$do$`,
    'delete from cronwarden.bound_rules',
  ];
  for (const c of runnable(compiled)) {
    out.push(...c.statements);
    for (const r of c.storageReferences) out.push(storageReferenceInsert(r));
  }
  return out;
}

interface StateRow {
  kind: RuleKind;
  name: string;
  spec_hash: string;
  view_present: boolean;
}

function key(kind: string, name: string) {
  return `${kind}:${name}`;
}

function upToDate(compiled: RuleCompilation[], applied: Map<string, StateRow>): boolean {
  const want = runnable(compiled);
  if (want.length !== applied.size) return false;
  return want.every((c) => {
    const row = applied.get(key(c.kind, c.name));
    return row !== undefined && row.spec_hash === c.hash && row.view_present;
  });
}

function states(compiled: RuleCompilation[], applied: Map<string, StateRow>, canApply: boolean): RuleStates {
  const out: RuleStates = {};
  const ok = new Set(runnable(compiled));
  for (const c of compiled) {
    if (out[c.job]) continue; // a later rule of the same name was refused by name
    const problems = [...c.problems];
    const row = applied.get(key(c.kind, c.name));
    if (ok.has(c) && !(row && row.spec_hash === c.hash && row.view_present)) {
      problems.push(
        canApply
          ? `${ruleSubject(c.kind, c.name)}: it could not be applied; see the log`
          : `${ruleSubject(c.kind, c.name)}: cronwarden.config.ts is not applied to this database: run \`npm run bindings -- --write-migration\` and \`supabase db push\``,
      );
    }
    out[c.job] = { kind: c.kind, name: c.name, job: c.job, bound: problems.length === 0, problems };
  }
  return out;
}

async function appliedState(db: Db): Promise<Map<string, StateRow>> {
  const rows = await db.rpc<StateRow>('rule_state');
  return new Map(rows.map((r) => [key(r.kind, r.name), r]));
}

/**
 * Checks every policy and orphan sweep against the database's catalog and, on PGlite and
 * PostgreSQL, applies them when they changed (under a transaction-scoped advisory lock,
 * re-checked inside it). On Supabase it only compares. Never throws for a rule that does not
 * fit: that rule is reported with its reasons and its job answers 503; database errors propagate.
 * `archivePrefix` is config.exports.archivePrefix: no sweep may work under it.
 * `featureReferences`: the storage-reference sources of the bound features (boundReferenceSources);
 * left out, read from the database (PGlite/PostgreSQL; unknown over rpc only).
 */
export async function bindRules(
  db: Db,
  config: Pick<CronwardenConfig, 'policies' | 'orphanSweeps' | 'refusals'>,
  archivePrefix: string,
  featureReferences?: readonly string[],
): Promise<RuleOutcome> {
  const tables = ruleTables(config);
  const catalog = tables.length ? await readCatalog(db, tables) : new Map();
  const compiled = compileRules(config, catalog, archivePrefix, featureReferences ?? (await appliedFeatureReferences(db)));
  let applied = await appliedState(db);
  let didApply = false;
  if (isSqlDb(db) && !upToDate(compiled, applied)) {
    didApply = await applyLocked(db, compiled);
    applied = await appliedState(db);
  }
  return { rules: states(compiled, applied, isSqlDb(db)), compiled, applied: didApply };
}

/** The features' storage references in place (not the rules'), or null when they cannot be read. */
async function appliedFeatureReferences(db: Db): Promise<string[] | null> {
  if (!isSqlDb(db)) return null;
  const rows = await db.query<{ source: string }>(
    `select source from cronwarden.bound_storage_references where ${RULE_REFERENCE_PREFIXES.map((p) => `source not like ${ql(`${p}%`)}`).join(' and ')}`,
  );
  return rows.map((r) => r.source);
}

async function applyLocked(db: SqlDb, compiled: RuleCompilation[]): Promise<boolean> {
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(hashtext($1))`, [LOCK]);
    const rows = await tx.query<StateRow>(`select * from cronwarden.rule_state()`);
    if (upToDate(compiled, new Map(rows.map((r) => [key(r.kind, r.name), r])))) return false;
    for (const statement of ruleStatements(compiled)) await tx.query(statement);
    return true;
  });
}

/** The one-line reasons of every rule that cannot run (start-up log, doctor). */
export function ruleProblems(rules: RuleStates): string[] {
  return Object.values(rules).flatMap((r) => r.problems);
}

/** The rules' part of a binding migration (Supabase), after the bindings' statements. */
export function ruleMigrationSql(compiled: RuleCompilation[]): string {
  const head = [
    '',
    '-- Retention policies and orphan sweeps (cronwarden.config.ts, `policies` and `orphanSweeps`):',
    ...compiled.map((c) => (c.problems.length ? `--   ${ruleSubject(c.kind, c.name)}: REFUSED: ${c.problems.join('; ')}` : `--   ${ruleSubject(c.kind, c.name)}: ${c.tables.join(', ') || 'no table'}`)),
    '',
  ];
  return `${head.join('\n')}\n${ruleStatements(compiled).map((s) => `${s};`).join('\n\n')}\n`;
}

/**
 * A policy or orphan sweep that cannot run here: refused by its shape or by the catalog, or not
 * applied. Answered 503 POLICY_NOT_BOUND with the one-line reasons: the request was fine, this
 * database cannot serve it.
 */
export class RuleUnavailableError extends AppError {
  constructor(job: string, problems: string[]) {
    super(503, 'POLICY_NOT_BOUND', `${job} cannot run on this database: ${problems.join('; ')}`, { job, problems });
    this.name = 'RuleUnavailableError';
  }
}

/** Throws RuleUnavailableError unless the rule of `job` was checked at start and is bound. */
export function requireRule(rules: RuleStates | undefined, job: string): void {
  const state = rules?.[job];
  if (!state?.bound) throw new RuleUnavailableError(job, state?.problems ?? [`${job}: not checked against this database`]);
}
