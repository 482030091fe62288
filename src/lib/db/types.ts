export type DbDriver = 'pglite' | 'postgres' | 'supabase';

export type Row = Record<string, unknown>;

/**
 * The port job code talks to: call a SQL function of schema cronwarden by name with named
 * arguments and get its rows back. Every adapter can serve it (PostgREST's /rpc with the
 * cronwarden profile, or `select * from cronwarden.fn(a => $1)`).
 * Our SQL functions all `return table (...)` or `setof`, so the answer is always a row list.
 */
export interface Db {
  readonly driver: DbDriver;
  rpc<T = Row>(fn: string, args?: Record<string, unknown>): Promise<T[]>;
  close(): Promise<void>;
}

/** What the SQL-speaking adapters (PGlite, Postgres) add: used by the migrator, tests and scripts. */
export interface SqlDb extends Db {
  readonly driver: 'pglite' | 'postgres';
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements (no parameters). */
  exec(sql: string): Promise<void>;
  /** Runs `fn` inside one transaction on one connection. */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
}

export interface SqlTx {
  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
}

export function isSqlDb(db: Db): db is SqlDb {
  return db.driver === 'pglite' || db.driver === 'postgres';
}

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

/** The schema our functions live in; `rpc` names are looked up there unless qualified. */
export const RPC_SCHEMA = 'cronwarden';

/**
 * Splits `fn` or `schema.fn` into its schema (default: cronwarden) and name, both checked
 * identifiers (never quoted from input). `public.trigger_manual_cleanup` reaches a seed's
 * contract name in public.
 */
export function rpcTarget(fn: string): { schema: string; name: string } {
  const [schema, name] = fn.includes('.') ? fn.split('.', 2) : [RPC_SCHEMA, fn];
  if (!identifier.test(schema) || !identifier.test(name)) throw new Error(`Invalid SQL function name: ${fn}`);
  return { schema, name };
}

/** `select * from cronwarden.fn(p_a => $1, ...)` with the values in order; names are checked, never quoted from input. */
export function rpcStatement(fn: string, args: Record<string, unknown> = {}): { sql: string; params: unknown[] } {
  const { schema, name } = rpcTarget(fn);
  const names = Object.keys(args).filter((k) => args[k] !== undefined);
  for (const n of names) if (!identifier.test(n)) throw new Error(`Invalid argument name for ${fn}: ${n}`);
  const params = names.map((n) => toSqlParam(args[n]));
  const list = names.map((n, i) => `${n} => $${i + 1}`).join(', ');
  return { sql: `select * from ${schema}.${name}(${list})`, params };
}

/**
 * Values are passed as JS values: both drivers ask the server for the function's parameter
 * types and serialize by type (objects and arrays to jsonb as JSON, arrays to Postgres arrays,
 * Dates to timestamptz), so the same call works on PGlite and Postgres. Measured: a string
 * 'true' for a boolean parameter reads as false on postgres.js, so never pre-stringify.
 */
export function toSqlParam(v: unknown): unknown {
  return v === undefined ? null : v;
}
