import { createHash } from 'node:crypto';
import type { Catalog, CatalogColumn, CatalogTable } from './catalog';
import {
  FEATURE_TITLES,
  FEATURES,
  type Bindings,
  type DraftsBinding,
  type ExportsBinding,
  type FeatureName,
  type ImportsBinding,
  type Term,
  type UserDeletionBinding,
} from './spec';
import { quoteIdent as qi, quoteLiteral as ql, quoteTable as qt } from './sql-text';

/**
 * A binding checked against the catalog and turned into SQL: the views in schema cronwarden
 * with our canonical column names, the registry rows the feature functions read, and the
 * seeds' contract names in public. Pure: the catalog is read before, the SQL applied after.
 */
export interface FeatureCompilation {
  feature: FeatureName;
  enabled: boolean;
  /** One line each, naming the feature, the table and the setting to change. Empty: bindable. */
  problems: string[];
  /** The team's tables this feature reads or changes. */
  tables: string[];
  /** Views and contract objects, in order. */
  statements: string[];
  storageReferences: StorageReference[];
  userTables: UserTable[];
  settings: Record<string, unknown>;
  /** sha256 of the binding and everything generated from it: a change means apply again. */
  hash: string;
}

export interface StorageReference {
  source: string;
  relation: string;
  pathColumn: string;
  keyColumn: string | null;
  liveCondition: string | null;
}

export interface UserTable {
  relation: string;
  userColumn: string;
  pathColumn: string | null;
  mode: 'declared' | 'excluded';
}

/** The views each feature owns in schema cronwarden (dropped and created again on apply). */
export const FEATURE_VIEWS: Record<FeatureName, string[]> = {
  exports: ['exports'],
  imports: ['import_runs', 'import_raw_items', 'import_temp_uploads', 'import_jobs'],
  drafts: ['drafts', 'draft_organizations'],
  userDeletion: ['users'],
};

type Kind = 'key' | 'time' | 'text' | 'status' | 'number' | 'any';

const TIME_TYPE = /^timestamp(\(\d\))? with(out)? time zone$/;
const isTz = (c: CatalogColumn | undefined) => Boolean(c && /^timestamp(\(\d\))? with time zone$/.test(c.type));

/** Collects problems for one feature and renders checked columns as SQL. */
class Checker {
  readonly problems: string[] = [];
  readonly tables = new Set<string>();
  constructor(
    private readonly feature: FeatureName,
    private readonly catalog: Catalog,
  ) {}

  private say(text: string, setting: string) {
    this.problems.push(`${this.feature}: ${text} (set bindings.${this.feature}.${setting} in cronwarden.config.ts)`);
  }

  table(setting: string, name: string, writable = true): CatalogTable | undefined {
    this.tables.add(name);
    const t = this.catalog.get(name);
    if (!t || !t.found) {
      this.say(`table ${name} does not exist`, setting);
      return undefined;
    }
    if (writable && t.kind !== 'r' && t.kind !== 'p') {
      this.say(`${name} is not a table (kind ${t.kind}); Cronwarden changes its rows`, setting);
      return undefined;
    }
    return t;
  }

  column(table: CatalogTable | undefined, setting: string, name: string, kind: Kind): CatalogColumn | undefined {
    if (!table) return undefined;
    const c = table.columns.get(name);
    if (!c) {
      this.say(`${table.name} has no column "${name}"`, setting);
      return undefined;
    }
    const wrong = (need: string) => this.say(`${table.name}.${name} is ${c.type}; ${need}`, setting);
    switch (kind) {
      case 'time':
        if (!TIME_TYPE.test(c.type)) return wrong('this setting needs a timestamp column'), undefined;
        break;
      case 'text':
        if (c.category !== 'S') return wrong('this setting needs a text column'), undefined;
        break;
      case 'status':
        if (c.category !== 'S' && c.category !== 'E') return wrong('this setting needs a text or enum column'), undefined;
        break;
      case 'number':
        if (c.category !== 'N') return wrong('this setting needs a numeric column'), undefined;
        break;
      case 'key':
        if (c.category === 'A' || c.type === 'json' || c.type === 'jsonb') return wrong('this setting needs a key column'), undefined;
        break;
      case 'any':
        break;
    }
    return c;
  }

  /** A status word must be one of an enum column's labels. */
  word(table: CatalogTable | undefined, column: CatalogColumn | undefined, setting: string, word: string): boolean {
    if (!table || !column) return false;
    if (column.enumLabels && !column.enumLabels.includes(word)) {
      this.say(`'${word}' is not a value of ${table.name}.${column.name} (${column.type}: ${column.enumLabels.join(', ')})`, setting);
      return false;
    }
    return true;
  }

  /** One condition term as SQL over alias t, or undefined (and a problem) when it does not fit. */
  term(table: CatalogTable | undefined, setting: string, term: Term): string | undefined {
    const c = this.column(table, `${setting}.column`, term.column, 'any');
    if (!table || !c) return undefined;
    const col = `t.${qi(c.name)}`;
    if (term.op === 'is null' || term.op === 'is not null') return `${col} ${term.op}`;
    if (term.op === 'is true' || term.op === 'is false') {
      if (c.category !== 'B') return this.say(`${table.name}.${c.name} is ${c.type}; '${term.op}' needs a boolean column`, setting), undefined;
      return `${col} ${term.op}`;
    }
    const list = Array.isArray(term.value) ? term.value : [term.value as string | number | boolean];
    const literals: string[] = [];
    for (const v of list) {
      const lit = this.literalFor(table, c, setting, v);
      if (lit === undefined) return undefined;
      literals.push(lit);
    }
    if (term.op === 'in' || term.op === 'not in') return `${col} ${term.op} (${literals.join(', ')})`;
    if (c.category === 'B' && term.op !== '=' && term.op !== '<>') {
      return this.say(`'${term.op}' does not apply to the boolean ${table.name}.${c.name}`, setting), undefined;
    }
    return `${col} ${term.op} ${literals[0]}`;
  }

  private literalFor(table: CatalogTable, c: CatalogColumn, setting: string, v: string | number | boolean): string | undefined {
    const bad = (need: string) => {
      this.say(`value ${JSON.stringify(v)} does not fit ${table.name}.${c.name} (${c.type}): ${need}`, setting);
      return undefined;
    };
    switch (c.category) {
      case 'B':
        return typeof v === 'boolean' ? ql(v) : bad('give true or false');
      case 'N':
        return typeof v === 'number' ? ql(v) : bad('give a number');
      case 'D':
        if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) return bad('give an ISO date-time such as 2026-01-31T00:00:00Z');
        return `${ql(v)}::${c.type}`;
      case 'E':
        if (typeof v !== 'string' || !c.enumLabels?.includes(v)) return bad(`give one of ${c.enumLabels?.join(', ')}`);
        return ql(v);
      case 'U':
        if (c.type === 'uuid' && (typeof v !== 'string' || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v))) {
          return bad('give a UUID');
        }
        return typeof v === 'string' ? ql(v) : bad('give a string');
      case 'S':
        return typeof v === 'string' ? ql(v) : bad('give a string');
      default:
        return bad('conditions on this type are not supported');
    }
  }
}

/** A time column read as timestamptz: a column without time zone is taken as UTC. */
function timeExpr(c: CatalogColumn | undefined, fallback = 'null::timestamptz'): string {
  if (!c) return fallback;
  return isTz(c) ? `t.${qi(c.name)}` : `(t.${qi(c.name)} at time zone 'UTC')`;
}

function viewSql(name: string, table: string, columns: [string, string][]): string {
  const list = columns.map(([expr, alias]) => `       ${expr} as ${alias}`).join(',\n');
  return `create view cronwarden.${name} as\nselect\n${list}\n  from ${qt(table)} t`;
}

function inList(words: string[]): string {
  return words.map((w) => ql(w)).join(', ');
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}

function finish(base: Omit<FeatureCompilation, 'hash'>, spec: unknown): FeatureCompilation {
  if (base.problems.length > 0) {
    return { ...base, statements: [], storageReferences: [], userTables: [], settings: {}, hash: hashOf({ spec, problems: base.problems }) };
  }
  return {
    ...base,
    hash: hashOf({ spec, statements: base.statements, refs: base.storageReferences, users: base.userTables, settings: base.settings }),
  };
}

function compileExports(b: ExportsBinding, catalog: Catalog): FeatureCompilation {
  const k = new Checker('exports', catalog);
  const t = k.table('table', b.table);
  const id = k.column(t, 'columns.id', b.columns.id, 'key');
  const user = k.column(t, 'columns.userId', b.columns.userId, 'key');
  const status = k.column(t, 'columns.status', b.columns.status, 'status');
  const path = k.column(t, 'columns.filePath', b.columns.filePath, 'text');
  const created = k.column(t, 'columns.createdAt', b.columns.createdAt, 'time');
  const expires = k.column(t, 'columns.expiresAt', b.columns.expiresAt, 'time');
  const completed = b.columns.completedAt ? k.column(t, 'columns.completedAt', b.columns.completedAt, 'time') : undefined;
  const size = b.columns.fileSizeBytes ? k.column(t, 'columns.fileSizeBytes', b.columns.fileSizeBytes, 'number') : undefined;
  for (const w of [...b.statuses.completed, ...b.statuses.failed]) k.word(t, status, 'statuses', w);
  k.word(t, status, 'statuses.expired', b.statuses.expired);
  const statements: string[] = [];
  if (k.problems.length === 0 && id && user && status && path) {
    const s = `t.${qi(status.name)}`;
    statements.push(
      viewSql('exports', b.table, [
        [`t.${qi(id.name)}`, 'id'],
        [`t.${qi(user.name)}`, 'user_id'],
        [s, 'status'],
        [`t.${qi(path.name)}`, 'file_path'],
        [timeExpr(created), 'created_at'],
        [timeExpr(expires), 'expires_at'],
        [timeExpr(completed), 'completed_at'],
        [size ? `t.${qi(size.name)}::bigint` : 'null::bigint', 'file_size_bytes'],
        [`(${s} in (${inList(b.statuses.completed)}))`, 'is_completed'],
        [`(${s} in (${inList(b.statuses.failed)}))`, 'is_failed'],
        [`(${s} = ${ql(b.statuses.expired)})`, 'is_expired'],
        // typed like the status column (text or the team's enum), so it can be assigned to it
        [`(case when false then ${s} else ${ql(b.statuses.expired)} end)`, 'expired_status'],
        ['to_jsonb(t)', 'row_json'],
        ['pg_column_size(t.*)::bigint', 'row_bytes'],
      ]),
    );
  }
  return finish(
    {
      feature: 'exports',
      enabled: b.enabled,
      problems: k.problems,
      tables: [...k.tables],
      statements,
      storageReferences: [{ source: 'exports', relation: 'cronwarden.exports', pathColumn: 'file_path', keyColumn: 'id', liveCondition: 'not is_expired' }],
      userTables: [],
      settings: { table: b.table, partitioned: Boolean(t?.partitioned), columns: b.columns, statuses: b.statuses },
    },
    b,
  );
}

function compileImports(b: ImportsBinding, catalog: Catalog): FeatureCompilation {
  const k = new Checker('imports', catalog);
  const statements: string[] = [];
  const refs: StorageReference[] = [];
  const settings: Record<string, unknown> = { raw_items: false, temp_uploads: false, jobs: false };

  const runs = k.table('runs.table', b.runs.table);
  const rid = k.column(runs, 'runs.columns.id', b.runs.columns.id, 'key');
  const rstatus = k.column(runs, 'runs.columns.status', b.runs.columns.status, 'status');
  const beat = k.column(runs, 'runs.columns.heartbeatAt', b.runs.columns.heartbeatAt, 'time');
  const fin = b.runs.columns.finishedAt ? k.column(runs, 'runs.columns.finishedAt', b.runs.columns.finishedAt, 'time') : undefined;
  const err = b.runs.columns.error ? k.column(runs, 'runs.columns.error', b.runs.columns.error, 'text') : undefined;
  for (const w of b.runs.statuses.processing) k.word(runs, rstatus, 'runs.statuses.processing', w);
  k.word(runs, rstatus, 'runs.statuses.failed', b.runs.statuses.failed);
  if (rid && rstatus && beat) {
    const s = `t.${qi(rstatus.name)}`;
    const cols: [string, string][] = [
      [`t.${qi(rid.name)}`, 'id'],
      [s, 'status'],
      [timeExpr(beat), 'heartbeat_at'],
      [`t.${qi(beat.name)}`, 'heartbeat_raw'],
      [timeExpr(fin), 'finished_at'],
      [err ? `t.${qi(err.name)}` : 'null::text', 'error'],
      [`(${s} in (${inList(b.runs.statuses.processing)}))`, 'is_processing'],
      [`(${s} = ${ql(b.runs.statuses.failed)})`, 'is_failed'],
      [`(case when false then ${s} else ${ql(b.runs.statuses.failed)} end)`, 'failed_status'],
    ];
    if (fin) cols.push([`t.${qi(fin.name)}`, 'finished_raw']);
    if (err) cols.push([`t.${qi(err.name)}`, 'error_raw']);
    statements.push(viewSql('import_runs', b.runs.table, cols));
    settings.runs = {
      heartbeat_tz: isTz(beat),
      finished: Boolean(fin),
      finished_tz: isTz(fin),
      error: Boolean(err),
    };
  }

  if (b.rawItems) {
    const items = k.table('rawItems.table', b.rawItems.table);
    const iid = k.column(items, 'rawItems.columns.id', b.rawItems.columns.id, 'key');
    const irun = k.column(items, 'rawItems.columns.runId', b.rawItems.columns.runId, 'key');
    if (irun && rid && irun.type !== rid.type) {
      k.problems.push(
        `imports: ${b.rawItems.table}.${irun.name} is ${irun.type} but ${b.runs.table}.${rid.name} is ${rid.type}; they must match (set bindings.imports.rawItems.columns.runId in cronwarden.config.ts)`,
      );
    } else if (iid && irun) {
      statements.push(viewSql('import_raw_items', b.rawItems.table, [[`t.${qi(iid.name)}`, 'id'], [`t.${qi(irun.name)}`, 'run_id']]));
      settings.raw_items = true;
    }
  }

  if (b.tempUploads) {
    const up = k.table('tempUploads.table', b.tempUploads.table);
    const uid = k.column(up, 'tempUploads.columns.id', b.tempUploads.columns.id, 'key');
    const upath = k.column(up, 'tempUploads.columns.storagePath', b.tempUploads.columns.storagePath, 'text');
    const ucreated = k.column(up, 'tempUploads.columns.createdAt', b.tempUploads.columns.createdAt, 'time');
    const usize = b.tempUploads.columns.sizeBytes ? k.column(up, 'tempUploads.columns.sizeBytes', b.tempUploads.columns.sizeBytes, 'number') : undefined;
    if (uid && upath && ucreated) {
      statements.push(
        viewSql('import_temp_uploads', b.tempUploads.table, [
          [`t.${qi(uid.name)}`, 'id'],
          [`t.${qi(upath.name)}`, 'storage_path'],
          [timeExpr(ucreated), 'created_at'],
          [usize ? `coalesce(t.${qi(usize.name)}, 0)::bigint` : '0::bigint', 'size_bytes'],
        ]),
      );
      refs.push({ source: 'imports.temp_uploads', relation: 'cronwarden.import_temp_uploads', pathColumn: 'storage_path', keyColumn: 'id', liveCondition: null });
      settings.temp_uploads = true;
    }
  }

  if (b.jobs) {
    const jobs = k.table('jobs.table', b.jobs.table);
    const jid = k.column(jobs, 'jobs.columns.id', b.jobs.columns.id, 'key');
    const jstatus = k.column(jobs, 'jobs.columns.status', b.jobs.columns.status, 'status');
    const jcreated = k.column(jobs, 'jobs.columns.createdAt', b.jobs.columns.createdAt, 'time');
    const jfin = b.jobs.columns.finishedAt ? k.column(jobs, 'jobs.columns.finishedAt', b.jobs.columns.finishedAt, 'time') : undefined;
    const jcompacted = b.jobs.columns.compactedAt ? k.column(jobs, 'jobs.columns.compactedAt', b.jobs.columns.compactedAt, 'time') : undefined;
    const compact = b.jobs.compactColumns.map((c, i) => k.column(jobs, `jobs.compactColumns.${i}`, c, 'any'));
    for (const w of b.jobs.statuses.finished) k.word(jobs, jstatus, 'jobs.statuses.finished', w);
    for (const [i, c] of compact.entries()) {
      if (c?.notNull) k.problems.push(`imports: ${b.jobs.table}.${c.name} is NOT NULL; compaction sets it to null (set bindings.imports.jobs.compactColumns.${i} in cronwarden.config.ts)`);
    }
    const cols = compact.filter((c): c is CatalogColumn => Boolean(c));
    if (jid && jstatus && jcreated && cols.length === compact.length && !cols.some((c) => c.notNull)) {
      const s = `t.${qi(jstatus.name)}`;
      const view: [string, string][] = [
        [`t.${qi(jid.name)}`, 'id'],
        [s, 'status'],
        [timeExpr(jcreated), 'created_at'],
        [timeExpr(jfin), 'finished_at'],
        [timeExpr(jcompacted), 'compacted_at'],
        [`(${s} in (${inList(b.jobs.statuses.finished)}))`, 'is_finished'],
        [`(${cols.map((c) => `t.${qi(c.name)} is not null`).join(' or ')})`, 'has_payload'],
        [`(${cols.map((c) => `coalesce(pg_column_size(t.${qi(c.name)}), 0)`).join(' + ')})::bigint`, 'payload_bytes'],
      ];
      cols.forEach((c, i) => view.push([`t.${qi(c.name)}`, `compact_${i + 1}`]));
      if (jcompacted) view.push([`t.${qi(jcompacted.name)}`, 'compacted_raw']);
      statements.push(viewSql('import_jobs', b.jobs.table, view));
      settings.jobs = { compact_columns: cols.length, compacted: Boolean(jcompacted), compacted_tz: isTz(jcompacted) };
    }
  }

  if (k.problems.length === 0) {
    statements.push(...publicContract('imports'));
  }
  return finish(
    { feature: 'imports', enabled: b.enabled, problems: k.problems, tables: [...k.tables], statements, storageReferences: refs, userTables: [], settings },
    b,
  );
}

function compileDrafts(b: DraftsBinding, catalog: Catalog): FeatureCompilation {
  const k = new Checker('drafts', catalog);
  const t = k.table('table', b.table);
  const id = k.column(t, 'columns.id', b.columns.id, 'key');
  const created = k.column(t, 'columns.createdAt', b.columns.createdAt, 'time');
  const updated = b.columns.updatedAt ? k.column(t, 'columns.updatedAt', b.columns.updatedAt, 'time') : undefined;
  const org = b.columns.organizationId ? k.column(t, 'columns.organizationId', b.columns.organizationId, 'key') : undefined;
  const title = b.columns.title ? k.column(t, 'columns.title', b.columns.title, 'any') : undefined;
  const by = b.columns.createdBy ? k.column(t, 'columns.createdBy', b.columns.createdBy, 'key') : undefined;
  const draft = b.draft.map((term, i) => k.term(t, `draft.${i}`, term));
  const unused = b.unused.map((term, i) => k.term(t, `unused.${i}`, term));
  let orgTable: CatalogTable | undefined;
  let orgId: CatalogColumn | undefined;
  let orgName: CatalogColumn | undefined;
  if (b.organizations) {
    orgTable = k.table('organizations.table', b.organizations.table, false);
    orgId = k.column(orgTable, 'organizations.columns.id', b.organizations.columns.id, 'key');
    orgName = k.column(orgTable, 'organizations.columns.name', b.organizations.columns.name, 'any');
    if (!b.columns.organizationId) k.problems.push(`drafts: organizations are bound but columns.organizationId is not (set bindings.drafts.columns.organizationId in cronwarden.config.ts)`);
  }
  const statements: string[] = [];
  if (k.problems.length === 0 && id && created) {
    const isDraft = draft.join(' and ');
    statements.push(
      viewSql('drafts', b.table, [
        [`t.${qi(id.name)}`, 'id'],
        [timeExpr(created), 'created_at'],
        [updated ? timeExpr(updated) : timeExpr(created), 'updated_at'],
        [org ? `t.${qi(org.name)}` : 'null::text', 'organization_id'],
        [title ? `t.${qi(title.name)}::text` : 'null::text', 'title'],
        [by ? `t.${qi(by.name)}` : 'null::text', 'created_by'],
        [`(${isDraft})`, 'is_draft'],
        [`(${isDraft} and ${unused.join(' and ')})`, 'is_unused'],
      ]),
    );
    if (b.organizations && orgId && orgName) {
      statements.push(viewSql('draft_organizations', b.organizations.table, [[`t.${qi(orgId.name)}`, 'id'], [`t.${qi(orgName.name)}::text`, 'name']]));
    } else {
      statements.push(`create view cronwarden.draft_organizations as\nselect d.organization_id as id, null::text as name from cronwarden.drafts d where false`);
    }
    statements.push(...publicContract('drafts'));
  }
  return finish(
    {
      feature: 'drafts',
      enabled: b.enabled,
      problems: k.problems,
      tables: [...k.tables],
      statements,
      storageReferences: [],
      userTables: [],
      settings: { table: b.table, unused_condition: [...draft, ...unused].join(' and ') },
    },
    b,
  );
}

function compileUserDeletion(b: UserDeletionBinding, exportsBinding: ExportsBinding, exportsBound: boolean, catalog: Catalog): FeatureCompilation {
  const k = new Checker('userDeletion', catalog);
  const t = k.table('users.table', b.users.table);
  const id = k.column(t, 'users.columns.id', b.users.columns.id, 'key');
  const type = b.users.columns.type ? k.column(t, 'users.columns.type', b.users.columns.type, 'any') : undefined;
  const created = b.users.columns.createdAt ? k.column(t, 'users.columns.createdAt', b.users.columns.createdAt, 'time') : undefined;
  const userTables: UserTable[] = [];
  const refs: StorageReference[] = [];
  b.children.forEach((child, i) => {
    const ct = k.table(`children.${i}.table`, child.table);
    const uc = k.column(ct, `children.${i}.userColumn`, child.userColumn, 'key');
    const pc = child.storagePathColumn ? k.column(ct, `children.${i}.storagePathColumn`, child.storagePathColumn, 'text') : undefined;
    if (ct && uc && id && uc.type !== id.type) {
      k.problems.push(
        `userDeletion: ${child.table}.${uc.name} is ${uc.type} but ${b.users.table}.${id.name} is ${id.type}; they must match (set bindings.userDeletion.children.${i}.userColumn in cronwarden.config.ts)`,
      );
    }
    if (ct && uc) {
      userTables.push({ relation: child.table, userColumn: uc.name, pathColumn: pc?.name ?? null, mode: 'declared' });
      if (pc) refs.push({ source: `userDeletion:${child.table}.${pc.name}`, relation: child.table, pathColumn: pc.name, keyColumn: null, liveCondition: null });
    }
  });
  for (const ex of b.exclude) {
    k.tables.add(ex);
    userTables.push({ relation: ex, userColumn: '', pathColumn: null, mode: 'excluded' });
  }
  // A deleted user leaves no export log behind: the exports table is one of their tables.
  if (exportsBound && !userTables.some((u) => u.relation === exportsBinding.table) && !b.exclude.includes(exportsBinding.table)) {
    userTables.push({ relation: exportsBinding.table, userColumn: exportsBinding.columns.userId, pathColumn: exportsBinding.columns.filePath, mode: 'declared' });
  }
  const statements: string[] = [];
  if (k.problems.length === 0 && id) {
    statements.push(
      viewSql('users', b.users.table, [
        [`t.${qi(id.name)}`, 'id'],
        [type ? `t.${qi(type.name)}::text` : 'null::text', 'type'],
        [timeExpr(created), 'created_at'],
      ]),
    );
  }
  return finish(
    {
      feature: 'userDeletion',
      enabled: b.enabled,
      problems: k.problems,
      tables: [...k.tables],
      statements,
      storageReferences: refs,
      userTables,
      settings: {
        table: b.users.table,
        id_column: b.users.columns.id,
        // the trigger that records deletions (cronwarden.users_record_deletion) reads these columns
        type_column: b.users.columns.type,
        created_at_column: b.users.columns.createdAt,
        discover_foreign_keys: b.discoverForeignKeys,
      },
    },
    b,
  );
}

/**
 * The seeds' contract names in public, for a bound feature: created, or replaced when ours
 * (marked by a comment that starts with 'cronwarden:'); a team's own object of that name is left
 * alone. Dropped again when the feature is unbound (see dropPublicContract).
 */
function publicContract(feature: FeatureName): string[] {
  // `requires`: the cronwarden function the contract object calls (created by its migration).
  const guard = (kind: 'view' | 'function', name: string, signature: string, create: string, comment: string, requires: string) => {
    const target = kind === 'view' ? `public.${name}` : `function public.${signature}`;
    return `do $do$
begin
  if to_regprocedure('cronwarden.${requires}') is not null and (${kind === 'view' ? `to_regclass('public.${name}') is null or obj_description(to_regclass('public.${name}'), 'pg_class') like 'cronwarden:%'` : `to_regprocedure('public.${signature}') is null or obj_description(to_regprocedure('public.${signature}'), 'pg_proc') like 'cronwarden:%'`}) then
    execute ${ql(create)};
    execute ${ql(`comment on ${kind} public.${kind === 'view' ? name : signature} is ${ql(`cronwarden: ${comment}`)}`)};
    execute ${ql(`revoke all on ${target} from public`)};
    -- Supabase grants what is created in public to its API roles: these are for the server alone.
    if exists (select 1 from pg_roles where rolname = 'anon') and exists (select 1 from pg_roles where rolname = 'authenticated') then
      execute ${ql(`revoke all on ${target} from anon, authenticated`)};
    end if;
  end if;
end;
$do$`;
  };
  if (feature === 'imports') {
    return [
      guard('view', 'maintenance_status', '', 'create or replace view public.maintenance_status as select * from cronwarden.get_maintenance_status()', 'what import maintenance would do now', 'get_maintenance_status(timestamp with time zone,integer)'),
      guard(
        'function',
        'run_maintenance_cleanup',
        'run_maintenance_cleanup(integer,integer,integer,boolean,timestamp with time zone)',
        `create or replace function public.run_maintenance_cleanup(p_hours integer default 24, p_batch_size integer default 1000, p_max_batches integer default 100, p_dry_run boolean default false, p_now timestamptz default now())
returns table (stuck_runs_marked bigint, import_jobs_compacted bigint, raw_items_purged bigint, temp_uploads_pending bigint, errors jsonb, ran_at timestamptz)
language sql as $fn$ select * from cronwarden.run_maintenance_cleanup(p_hours, p_batch_size, p_max_batches, p_dry_run, p_now) $fn$`,
        'the SQL-only import maintenance steps, for pg_cron',
        'run_maintenance_cleanup(integer,integer,integer,boolean,timestamp with time zone)',
      ),
    ];
  }
  if (feature === 'drafts') {
    return [
      guard(
        'function',
        'trigger_manual_cleanup',
        'trigger_manual_cleanup(integer,integer,timestamp with time zone)',
        `create or replace function public.trigger_manual_cleanup(p_hours integer default 24, p_batch_size integer default 1000, p_now timestamptz default now())
returns table (deleted_count integer, deleted_ids text[], cutoff_time timestamptz)
language sql as $fn$ select * from cronwarden.trigger_manual_cleanup(p_hours, p_batch_size, p_now) $fn$`,
        'one batch of the draft cleanup, by hand',
        'trigger_manual_cleanup(integer,integer,timestamp with time zone)',
      ),
    ];
  }
  return [];
}

/** Drops our contract objects in public (only ours: the comment marks them). */
export const DROP_PUBLIC_CONTRACT = `do $do$
begin
  if to_regclass('public.maintenance_status') is not null and obj_description(to_regclass('public.maintenance_status'), 'pg_class') like 'cronwarden:%' then
    drop view public.maintenance_status;
  end if;
  if to_regprocedure('public.run_maintenance_cleanup(integer,integer,integer,boolean,timestamp with time zone)') is not null
     and obj_description(to_regprocedure('public.run_maintenance_cleanup(integer,integer,integer,boolean,timestamp with time zone)'), 'pg_proc') like 'cronwarden:%' then
    drop function public.run_maintenance_cleanup(integer,integer,integer,boolean,timestamp with time zone);
  end if;
  if to_regprocedure('public.trigger_manual_cleanup(integer,integer,timestamp with time zone)') is not null
     and obj_description(to_regprocedure('public.trigger_manual_cleanup(integer,integer,timestamp with time zone)'), 'pg_proc') like 'cronwarden:%' then
    drop function public.trigger_manual_cleanup(integer,integer,timestamp with time zone);
  end if;
end;
$do$`;

/** Every table the bindings name: what the catalog must describe before compiling. */
export function bindingTables(b: Bindings): string[] {
  const t = [b.exports.table, b.imports.runs.table, b.drafts.table, b.userDeletion.users.table];
  if (b.imports.rawItems) t.push(b.imports.rawItems.table);
  if (b.imports.tempUploads) t.push(b.imports.tempUploads.table);
  if (b.imports.jobs) t.push(b.imports.jobs.table);
  if (b.drafts.organizations) t.push(b.drafts.organizations.table);
  for (const c of b.userDeletion.children) t.push(c.table);
  return [...new Set(t)];
}

/**
 * Checks every feature's binding against the catalog and generates its SQL. A switched-off
 * feature is compiled too (so the doctor can say whether it would bind) but never applied.
 */
export function compileBindings(b: Bindings, catalog: Catalog): Map<FeatureName, FeatureCompilation> {
  const exportsC = compileExports(b.exports, catalog);
  const out = new Map<FeatureName, FeatureCompilation>([
    ['exports', exportsC],
    ['imports', compileImports(b.imports, catalog)],
    ['drafts', compileDrafts(b.drafts, catalog)],
    ['userDeletion', compileUserDeletion(b.userDeletion, b.exports, exportsC.enabled && exportsC.problems.length === 0, catalog)],
  ]);
  return new Map(FEATURES.map((f) => [f, out.get(f) as FeatureCompilation]));
}

export function featureTitle(f: FeatureName): string {
  return `${FEATURE_TITLES[f]} (${f})`;
}
