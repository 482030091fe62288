/**
 * Writing identifiers and literals into generated SQL. Everything a binding puts into SQL goes
 * through these: identifiers double-quoted (names are taken as stored, case and all), literals
 * single-quoted with quotes doubled (standard_conforming_strings, on since PostgreSQL 9.1).
 */

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** 'schema.table' -> "schema"."table". */
export function quoteTable(qualified: string): string {
  const dot = qualified.indexOf('.');
  return `${quoteIdent(qualified.slice(0, dot))}.${quoteIdent(qualified.slice(dot + 1))}`;
}

export function quoteLiteral(value: string | number | boolean): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('not a finite number');
    return String(value);
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (value.includes('\0')) throw new Error('a value may not contain a NUL character');
  return `'${value.replace(/'/g, "''")}'`;
}
