import { bindFeatures, boundReferenceSources, type FeatureState } from './bindings/apply';
import { readForeignKeyChildren, readIndexes, type CatalogIndex } from './bindings/catalog';
import { bindingTables } from './bindings/compile';
import { FEATURE_TITLES, FEATURES, type Bindings, type CronwardenConfig, type FeatureName } from './bindings/spec';
import { quoteIdent, quoteLiteral, quoteTable } from './bindings/sql-text';
import { createBudget } from './cron/budget';
import { jobs, ruleJobs } from './cron/registry';
import { bindRules } from './policies/apply';
import type { JobDeps } from './cron/types';
import { inRolledBackTransaction } from './db/rolled-back';
import { isSqlDb, type Db } from './db/types';

/** An index a job's predicate needs on a team's table, and the statement that creates it. */
export interface IndexAdvice {
  table: string;
  column: string;
  why: string;
  present: boolean;
  /** `create index concurrently ...` to run when absent (outside a transaction). */
  statement: string;
}

export interface FeatureReport {
  feature: FeatureName;
  title: string;
  enabled: boolean;
  bound: boolean;
  problems: string[];
  tables: string[];
  /** Each of the feature's jobs, run as a dry run now: what it would touch. */
  dryRuns: { job: string; result?: Record<string, unknown>; error?: string }[];
  indexes: IndexAdvice[];
  notes: string[];
}

/** One retention policy or orphan sweep of cronwarden.config.ts: whether it can run, what it would do now, its index. */
export interface PolicyReport {
  kind: 'policy' | 'orphanSweep';
  name: string;
  /** `policies/<name>` or `orphan-sweeps/<name>`. */
  job: string;
  bound: boolean;
  /** One line each, naming the policy and the setting to change. */
  problems: string[];
  /** Its dry run now (nothing changed), when it is bound. */
  dryRun?: { result?: Record<string, unknown>; error?: string };
  /** The index its selection reads by (the time column, partial on its condition), when it compiled. */
  index?: { table: string; column: string; present: boolean; statement: string };
}

export interface DoctorReport {
  features: FeatureReport[];
  policies: PolicyReport[];
  /** True when every enabled feature and every policy can run. */
  ok: boolean;
}

interface Need {
  table: string;
  column: string;
  why: string;
  /** The partial index's predicate, and the column it must mention for an index to count. */
  where?: string;
  whereColumn?: string;
}

/** What each job's predicate reads by, on the team's tables (the source: the feature's SQL). */
function needs(b: Bindings, f: FeatureName, fkChildren: { table: string; column: string }[]): Need[] {
  switch (f) {
    case 'exports':
      return [
        {
          table: b.exports.table,
          column: b.exports.columns.expiresAt,
          why: 'export-file-cleanup finds expired files by expiry; retention by partition looks a partition up for completed exports by it',
          // Partial on the completed words: both read completed exports only.
          where: `${quoteIdent(b.exports.columns.status)} in (${b.exports.statuses.completed.map((w) => quoteLiteral(w)).join(', ')})`,
          whereColumn: b.exports.columns.status,
        },
        { table: b.exports.table, column: b.exports.columns.createdAt, why: 'export-log-cleanup deletes by creation time, oldest first' },
        { table: b.exports.table, column: b.exports.columns.filePath, why: 'no object is removed while another row references it' },
        { table: b.exports.table, column: b.exports.columns.userId, why: 'a deleted user\'s exports are found by user' },
      ];
    case 'imports': {
      const out: Need[] = [{ table: b.imports.runs.table, column: b.imports.runs.columns.heartbeatAt, why: 'stuck runs are found by heartbeat' }];
      if (b.imports.rawItems) out.push({ table: b.imports.rawItems.table, column: b.imports.rawItems.columns.runId, why: 'raw items of failed runs are found by run' });
      if (b.imports.tempUploads) {
        out.push({ table: b.imports.tempUploads.table, column: b.imports.tempUploads.columns.createdAt, why: 'expired temp uploads are found by age' });
        out.push({ table: b.imports.tempUploads.table, column: b.imports.tempUploads.columns.storagePath, why: 'no object is removed while another row references it' });
      }
      if (b.imports.jobs) {
        out.push({
          table: b.imports.jobs.table,
          column: b.imports.jobs.columns.finishedAt ?? b.imports.jobs.columns.createdAt,
          why: 'finished import jobs are compacted by age',
        });
      }
      return out;
    }
    case 'drafts':
      return [{ table: b.drafts.table, column: b.drafts.columns.createdAt, why: 'draft-cleanup deletes unused drafts oldest first' }];
    case 'userDeletion':
      return [
        ...b.userDeletion.children.map((c) => ({ table: c.table, column: c.userColumn, why: 'a deleted user\'s rows are found by user' })),
        ...fkChildren.map((c) => ({ table: c.table, column: c.column, why: 'a deleted user\'s rows are found by user (foreign key)' })),
      ];
  }
}

function leading(index: CatalogIndex): string {
  return (index.keyColumns[0] ?? '').replace(/^"(.*)"$/, '$1');
}

function advise(need: Need, indexes: CatalogIndex[]): IndexAdvice {
  const present = indexes.some(
    (i) => i.table === need.table && leading(i) === need.column && (!need.whereColumn || (i.predicate ?? '').includes(need.whereColumn)),
  );
  const rel = need.table.split('.')[1];
  const name = `${rel}_${need.column}_idx`.slice(0, 63);
  return {
    table: need.table,
    column: need.column,
    why: need.why,
    present,
    statement: `create index concurrently if not exists ${quoteIdent(name)} on ${quoteTable(need.table)} (${quoteIdent(need.column)})${need.where ? ` where ${need.where}` : ''};`,
  };
}

/**
 * What an operator needs before trusting the product with a database: per feature, bound or not
 * and why, what each job would touch now (its dry run), the indexes its predicates need that the
 * team's tables lack (with the statements), and notes. Applies changed bindings as the app would.
 */
export async function runDoctor(
  deps: JobDeps,
  cronwarden: Pick<CronwardenConfig, 'policies' | 'orphanSweeps' | 'refusals'> = { policies: [], orphanSweeps: [], refusals: [] },
): Promise<DoctorReport> {
  const b = deps.bindings;
  const { features, compiled: boundFeatures } = await bindFeatures(deps.db, b);
  const indexes = await readIndexes(deps.db, bindingTables(b));
  const usersTable = b.userDeletion.users.table;
  const fk = await readForeignKeyChildren(deps.db, usersTable, b.userDeletion.users.columns.id).catch(() => []);
  const fkIndexes = fk.length ? await readIndexes(deps.db, fk.map((c) => c.table)) : [];
  const reports: FeatureReport[] = [];
  for (const f of FEATURES) {
    const state: FeatureState = features[f];
    const report: FeatureReport = {
      feature: f,
      title: FEATURE_TITLES[f],
      enabled: state.enabled,
      bound: state.bound,
      problems: state.problems,
      tables: [],
      dryRuns: [],
      indexes: [],
      notes: [],
    };
    if (state.bound) {
      const fkChildren = f === 'userDeletion' ? fk.filter((c) => c.onDelete === 'no action' || c.onDelete === 'restrict') : [];
      report.indexes = needs(b, f, fkChildren).map((n) => advise(n, [...indexes, ...fkIndexes]));
      report.tables = [...new Set(report.indexes.map((i) => i.table))];
    }
    if (state.bound) {
      for (const job of jobs.filter((j) => j.feature === f)) {
        try {
          const result = await job.run({
            ...deps,
            features,
            runId: 'doctor',
            input: job.input.parse({}),
            dryRun: true,
            startedAt: deps.now(),
            budget: createBudget(30_000, 0),
          });
          report.dryRuns.push({ job: job.name, result: result as Record<string, unknown> });
        } catch (err) {
          report.dryRuns.push({ job: job.name, error: err instanceof Error ? err.message : String(err) });
        }
      }
    }
    if (f === 'userDeletion' && state.bound) {
      report.notes.push(
        `Deletions made outside DELETE /api/users are seen by the integrity validator only with this trigger on ${usersTable}: ` +
          (await recordDeletionTrigger(deps, b)),
      );
      if (fk.length) {
        report.notes.push(`Tables found by foreign key: ${fk.map((c) => `${c.table}.${c.column} (on delete ${c.onDelete})`).join(', ')}.`);
      }
    }
    reports.push(report);
  }
  const policies = await doctorPolicies(deps, cronwarden, boundReferenceSources(boundFeatures, features));
  return { features: reports, policies, ok: reports.every((r) => !r.enabled || r.bound) && policies.every((p) => p.bound) };
}

/**
 * The statement that installs the deletion-recording trigger on the bound users table: the one
 * the database gives (cronwarden.user_deletion_tracking), so the doctor and the database never
 * disagree; written here the same way (an unbound type or creation column as '') only when the
 * database cannot be asked.
 */
async function recordDeletionTrigger(deps: JobDeps, b: JobDeps['bindings']): Promise<string> {
  try {
    const [row] = await deps.db.rpc<{ trigger_statement: string | null }>('user_deletion_tracking');
    if (row?.trigger_statement) return row.trigger_statement;
  } catch {
    /* an older schema: written from the binding below */
  }
  const { id, type, createdAt } = b.userDeletion.users.columns;
  return (
    `create trigger cronwarden_record_deletion after delete on ${quoteTable(b.userDeletion.users.table)} for each row execute function ` +
    `cronwarden.users_record_deletion(${quoteLiteral(id)}, ${quoteLiteral(type ?? '')}, ${quoteLiteral(createdAt ?? '')});`
  );
}

/** Each policy checked and applied as the app would, its dry run, and whether its index exists. */
async function doctorPolicies(
  deps: JobDeps,
  cronwarden: Pick<CronwardenConfig, 'policies' | 'orphanSweeps' | 'refusals'>,
  featureReferences: readonly string[],
): Promise<PolicyReport[]> {
  const { rules, compiled } = await bindRules(deps.db, cronwarden, deps.config.exports.archivePrefix, featureReferences);
  const indexes = await readIndexes(deps.db, [...new Set(compiled.flatMap((c) => (c.indexAdvice ? [c.indexAdvice.table] : [])))]);
  const jobsByName = new Map(ruleJobs({ ...cronwarden, bindings: deps.bindings }).map((j) => [j.name, j]));
  const out: PolicyReport[] = [];
  for (const c of compiled) {
    const state = rules[c.job];
    if (!state) continue;
    // A second rule of the same name (refused as such): reported on its own line, so the doctor
    // does not call the file fine while the app refuses part of it.
    if (out.some((p) => p.job === c.job)) {
      if (c.problems.length > 0) out.push({ kind: c.kind, name: c.name, job: c.job, bound: false, problems: c.problems });
      continue;
    }
    const report: PolicyReport = { kind: c.kind, name: c.name, job: c.job, bound: state.bound, problems: state.problems };
    if (c.indexAdvice) {
      const { table, column, statement } = c.indexAdvice;
      report.index = { table, column, statement, present: indexes.some((i) => i.table === table && leading(i) === column) };
    }
    const job = jobsByName.get(c.job);
    if (state.bound && job) {
      try {
        const result = await job.run({
          ...deps,
          rules,
          runId: 'doctor',
          input: job.input.parse({}),
          dryRun: true,
          startedAt: deps.now(),
          budget: createBudget(30_000, 0),
        });
        report.dryRun = { result: result as Record<string, unknown> };
      } catch (err) {
        report.dryRun = { error: err instanceof Error ? err.message : String(err) };
      }
    }
    out.push(report);
  }
  return out;
}

/**
 * runDoctor without changing anything anyone else sees: on PGlite and PostgreSQL, `openDeps`
 * (which applies the config's bindings and rules, as openJobDeps does) and the report run in one
 * transaction of `db` that is rolled back, so a candidate config (`npm run doctor -- --config
 * candidate.ts`) is applied and dry-run for this report only, and a running app keeps reaching
 * the tables through its own views (its jobs wait on the views' locks for the report's duration).
 * On Supabase bindings are only compared, never applied, so it runs as is.
 */
export async function runDoctorIsolated(
  db: Db,
  openDeps: (db: Db) => Promise<JobDeps>,
  cronwarden?: Pick<CronwardenConfig, 'policies' | 'orphanSweeps' | 'refusals'>,
): Promise<DoctorReport> {
  if (!isSqlDb(db)) return runDoctor(await openDeps(db), cronwarden);
  return inRolledBackTransaction(db, async (tx) => runDoctor(await openDeps(tx), cronwarden));
}
