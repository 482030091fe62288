import { createHash } from 'node:crypto';
import type { Catalog, CatalogColumn, CatalogTable } from './catalog';
import type { Term } from './spec';
import { quoteIdent as qi, quoteLiteral as ql, quoteTable as qt } from './sql-text';

/**
 * Checking a configuration against the database's catalog and rendering what passes as SQL:
 * shared by the feature bindings (compile.ts) and the retention policies (src/lib/policies).
 * Everything that reaches SQL is a checked column, quoted, or a literal of the column's type.
 */

export type ColumnKind = 'key' | 'time' | 'text' | 'status' | 'number' | 'any';

export const TIME_TYPE = /^timestamp(\(\d\))? with(out)? time zone$/;
export const isTz = (c: CatalogColumn | undefined) => Boolean(c && /^timestamp(\(\d\))? with time zone$/.test(c.type));

export type Scalar = string | number | boolean;

/**
 * Collects problems for one subject (a feature, a policy) and renders checked columns as SQL.
 * Each problem is one line: `<subject>: <what> (set <settingPrefix>.<setting> in cronwarden.config.ts)`.
 */
export class Checker {
  readonly problems: string[] = [];
  readonly tables = new Set<string>();
  constructor(
    private readonly subject: string,
    private readonly settingPrefix: string,
    private readonly catalog: Catalog,
  ) {}

  say(text: string, setting: string) {
    this.problems.push(`${this.subject}: ${text} (set ${this.settingPrefix}.${setting} in cronwarden.config.ts)`);
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

  column(table: CatalogTable | undefined, setting: string, name: string, kind: ColumnKind): CatalogColumn | undefined {
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

  /**
   * One condition term as SQL over `alias` (`t."status" in ('failed')`; without an alias the bare
   * column, as an index predicate needs it), or undefined (and a problem) when it does not fit.
   */
  term(table: CatalogTable | undefined, setting: string, term: Term, alias: string | null = 't'): string | undefined {
    const c = this.column(table, `${setting}.column`, term.column, 'any');
    if (!table || !c) return undefined;
    const col = alias ? `${alias}.${qi(c.name)}` : qi(c.name);
    if (term.op === 'is null' || term.op === 'is not null') return `${col} ${term.op}`;
    if (term.op === 'is true' || term.op === 'is false') {
      if (c.category !== 'B') return this.say(`${table.name}.${c.name} is ${c.type}; '${term.op}' needs a boolean column`, setting), undefined;
      return `${col} ${term.op}`;
    }
    const list = Array.isArray(term.value) ? term.value : [term.value as Scalar];
    const literals: string[] = [];
    for (const v of list) {
      const lit = this.literal(table, c, setting, v);
      if (lit === undefined) return undefined;
      literals.push(lit);
    }
    if (term.op === 'in' || term.op === 'not in') return `${col} ${term.op} (${literals.join(', ')})`;
    if (c.category === 'B' && term.op !== '=' && term.op !== '<>') {
      return this.say(`'${term.op}' does not apply to the boolean ${table.name}.${c.name}`, setting), undefined;
    }
    return `${col} ${term.op} ${literals[0]}`;
  }

  /** `v` as a literal of column `c`'s type, or undefined (and a problem) when it does not fit. */
  literal(table: CatalogTable, c: CatalogColumn, setting: string, v: Scalar): string | undefined {
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
export function timeExpr(c: CatalogColumn | undefined, fallback = 'null::timestamptz'): string {
  if (!c) return fallback;
  return isTz(c) ? `t.${qi(c.name)}` : `(t.${qi(c.name)} at time zone 'UTC')`;
}

/** `create view cronwarden.<name>` selecting `columns` ([expression, alias]) from the team's table as t. */
export function viewSql(name: string, table: string, columns: [string, string][]): string {
  const list = columns.map(([expr, alias]) => `       ${expr} as ${alias}`).join(',\n');
  return `create view cronwarden.${name} as\nselect\n${list}\n  from ${qt(table)} t`;
}

export function inList(words: string[]): string {
  return words.map((w) => ql(w)).join(', ');
}

export function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('hex');
}
