import postgres from 'postgres';
import { rpcStatement, type Row, type SqlDb, type SqlTx } from './types';

type Sql = postgres.Sql<Record<string, never>>;

/**
 * Seconds to establish a connection (TCP, TLS, authentication) before the call fails: a server
 * that is down or unreachable answers 503 within seconds instead of holding requests.
 */
export const CONNECT_TIMEOUT_SECONDS = 3;

/** Seconds before reconnecting after `retries` failed connections in a row: at most 1. */
export function reconnectDelaySeconds(retries: number): number {
  return Math.min(0.1 * retries, 1);
}

export class PostgresDb implements SqlDb {
  readonly driver = 'postgres' as const;
  constructor(readonly sql: Sql) {}

  static connect(url: string, poolMax = 5): PostgresDb {
    const sql = postgres(url, {
      max: poolMax,
      onnotice: () => {},
      // Dates and timestamps stay as the server's ISO text → Date parse, UTC throughout.
      connection: { TimeZone: 'UTC', application_name: 'cronwarden' },
      idle_timeout: 30,
      connect_timeout: CONNECT_TIMEOUT_SECONDS,
      // The driver's default waits up to 20 s (3^n/100) before reconnecting after failures, so
      // while the server is down each request hung that long and recovery was noticed as late.
      backoff: reconnectDelaySeconds,
      // bigint (counts, bytes, milliseconds) as a number while it is exact, as PGlite does; the
      // text otherwise (JSON has no bigint).
      types: {
        bigint: {
          to: 20,
          from: [20],
          serialize: (v: unknown) => String(v),
          parse: (v: string) => {
            const n = Number(v);
            return Number.isSafeInteger(n) ? n : v;
          },
        },
      },
    });
    parseArraysAsPostgresWritesThem(sql);
    return new PostgresDb(sql as unknown as Sql);
  }

  async rpc<T = Row>(fn: string, args?: Record<string, unknown>): Promise<T[]> {
    const { sql, params } = rpcStatement(fn, args);
    return this.query<T>(sql, params);
  }

  async query<T = Row>(text: string, params: unknown[] = []): Promise<T[]> {
    const res = await this.sql.unsafe(text, params as postgres.ParameterOrJSON<never>[]);
    return [...res] as T[];
  }

  async exec(text: string): Promise<void> {
    await this.sql.unsafe(text).simple();
  }

  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.sql.begin(async (tx) =>
      fn({
        query: async <R = Row>(text: string, params: unknown[] = []) =>
          [...(await tx.unsafe(text, params as postgres.ParameterOrJSON<never>[]))] as R[],
        exec: async (text: string) => {
          await tx.unsafe(text).simple();
        },
      }),
    ) as Promise<T>;
  }

  async close(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

type ElementParser = ((text: string) => unknown) | undefined;

/**
 * Parses an array value as PostgreSQL writes it (text format): `{a,NULL,"NULL","x,y",{1,2}}`
 * gives `['a', null, 'NULL', 'x,y', [1, 2]]`. An unquoted NULL is null; a quoted one is the
 * string. A lower-bound decoration (`[2:3]={5,6}`) is dropped: the elements come from index 0.
 * Elements go through `element` (the driver's parser for the element type), nulls do not.
 * Throws on text that is not an array literal.
 */
export function parsePgArray(text: string, element: ElementParser = undefined, delimiter = ','): unknown[] {
  let i = text.startsWith('[') ? text.indexOf('=') + 1 : 0;
  const fail = (): never => {
    throw new Error(`malformed array value at character ${i}`);
  };
  const parse = (): unknown[] => {
    if (text[i] !== '{') fail();
    i++;
    const out: unknown[] = [];
    if (text[i] === '}') {
      i++;
      return out;
    }
    for (;;) {
      if (text[i] === '{') {
        out.push(parse());
      } else if (text[i] === '"') {
        let value = '';
        for (i++; text[i] !== '"'; i++) {
          if (i >= text.length) fail();
          if (text[i] === '\\') i++;
          value += text[i];
        }
        i++;
        out.push(element ? element(value) : value);
      } else {
        const start = i;
        while (i < text.length && text[i] !== delimiter && text[i] !== '}') i++;
        const raw = text.slice(start, i);
        out.push(raw === 'NULL' ? null : element ? element(raw) : raw);
      }
      if (text[i] === delimiter) i++;
      else if (text[i] === '}') {
        i++;
        return out;
      } else fail();
    }
  };
  return parse();
}

/**
 * postgres.js 3.4 reads an unquoted NULL element as the string 'NULL' (NaN for numbers;
 * porsager/postgres#1124, #1049): a batch whose storage-path column was NULL for one row asked
 * storage to remove an object named "NULL". Every array parser the driver installs (when a
 * connection has read the server's array types) is replaced with parsePgArray over the same
 * element parser.
 */
function parseArraysAsPostgresWritesThem(sql: { options: unknown }): void {
  const options = sql.options as unknown as { parsers: Record<string, ElementParser>; shared: { typeArrayMap: Record<string, number> } };
  options.parsers = new Proxy(options.parsers, {
    set(target, property, value) {
      const typarray = Number(property);
      const elementOid = typeof property === 'string' ? Object.keys(options.shared.typeArrayMap).find((oid) => options.shared.typeArrayMap[oid] === typarray) : undefined;
      if (elementOid !== undefined && typeof value === 'function') {
        const element = target[elementOid];
        // Only box[] (1020) separates its elements with ';'.
        const delimiter = typarray === 1020 ? ';' : ',';
        const parser = (text: string) => parsePgArray(text, element, delimiter);
        // The driver marks its array parsers (and then passes them the text without its first
        // character); this one reads the whole value, so the mark is not taken.
        Object.defineProperty(parser, 'array', { get: () => false, set: () => {} });
        value = parser;
      }
      return Reflect.set(target, property, value);
    },
  });
}
