import type { Db } from '../db/types';

/** A column of a team's table as the catalog describes it. */
export interface CatalogColumn {
  name: string;
  /** format_type(): 'text', 'bigint', 'timestamp with time zone', 'export_state', ... */
  type: string;
  /** pg_type.typcategory: S string, N numeric, B boolean, D date/time, E enum, U user (uuid), A array. */
  category: string;
  enumLabels: string[] | null;
  notNull: boolean;
}

export interface CatalogTable {
  name: string;
  found: boolean;
  /** r table, p partitioned table, v view, m materialized view, f foreign table. */
  kind: string | null;
  partitioned: boolean;
  columns: Map<string, CatalogColumn>;
}

export type Catalog = Map<string, CatalogTable>;

interface ColumnRow {
  table_name: string;
  found: boolean;
  relkind: string | null;
  column_name: string | null;
  data_type: string | null;
  type_category: string | null;
  enum_labels: string[] | null;
  not_null: boolean | null;
  is_partitioned: boolean | null;
}

/** Reads the catalog entries of the given tables ('schema.table') through the Db port. */
export async function readCatalog(db: Db, tables: string[]): Promise<Catalog> {
  const rows = await db.rpc<ColumnRow>('catalog_columns', { p_tables: [...new Set(tables)] });
  const catalog: Catalog = new Map();
  for (const r of rows) {
    let t = catalog.get(r.table_name);
    if (!t) {
      t = { name: r.table_name, found: r.found, kind: r.relkind, partitioned: Boolean(r.is_partitioned), columns: new Map() };
      catalog.set(r.table_name, t);
    }
    if (r.column_name) {
      t.columns.set(r.column_name, {
        name: r.column_name,
        type: r.data_type ?? 'unknown',
        category: r.type_category ?? 'X',
        enumLabels: r.enum_labels,
        notNull: Boolean(r.not_null),
      });
    }
  }
  for (const name of tables) if (!catalog.has(name)) catalog.set(name, { name, found: false, kind: null, partitioned: false, columns: new Map() });
  return catalog;
}

export interface ForeignKeyChild {
  table: string;
  column: string;
  onDelete: 'cascade' | 'set null' | 'set default' | 'restrict' | 'no action';
  validated: boolean;
  constraint: string;
}

/** Single-column foreign keys referencing `table`.`column` (the user-owned tables). */
export async function readForeignKeyChildren(db: Db, table: string, column: string): Promise<ForeignKeyChild[]> {
  const rows = await db.rpc<{ child_table: string; child_column: string; on_delete: ForeignKeyChild['onDelete']; validated: boolean; constraint_name: string }>(
    'catalog_foreign_keys',
    { p_table: table, p_column: column },
  );
  return rows.map((r) => ({ table: r.child_table, column: r.child_column, onDelete: r.on_delete, validated: r.validated, constraint: r.constraint_name }));
}

export interface CatalogIndex {
  table: string;
  name: string;
  keyColumns: string[];
  predicate: string | null;
  definition: string;
}

export async function readIndexes(db: Db, tables: string[]): Promise<CatalogIndex[]> {
  const rows = await db.rpc<{ table_name: string; index_name: string; key_columns: string[]; predicate: string | null; definition: string }>(
    'catalog_indexes',
    { p_tables: [...new Set(tables)] },
  );
  return rows.map((r) => ({ table: r.table_name, name: r.index_name, keyColumns: r.key_columns, predicate: r.predicate, definition: r.definition }));
}
