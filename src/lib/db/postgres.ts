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
