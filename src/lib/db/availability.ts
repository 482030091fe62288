import type { DbSettings } from '../config';
import type { Logger } from '../logger';
import type { Db, DbDriver } from './types';

/**
 * Whether the database answers, told once per change: one `database_unavailable` error line
 * when it goes away, one `database_available` line when it is back, however many requests fail
 * in between. Calls that fail because the database cannot be reached throw a
 * DatabaseUnavailableError, which every route answers as `503 DATABASE_UNAVAILABLE` naming the
 * host and port (never the URL, user or password).
 */

/** Where the database is, as far as an operator needs to know: no user, password or path. */
export interface DatabaseEndpoint {
  driver: DbDriver;
  host: string;
  /** TCP port; null for the embedded database. */
  port: number | null;
}

export function databaseEndpoint(settings: DbSettings): DatabaseEndpoint {
  switch (settings.driver) {
    case 'pglite':
      return { driver: 'pglite', host: 'embedded', port: null };
    case 'postgres':
      return { driver: 'postgres', ...hostAndPort(settings.url, 5432) };
    case 'supabase':
      return { driver: 'supabase', ...hostAndPort(settings.url, settings.url.startsWith('http:') ? 80 : 443) };
  }
}

/** The first host of a URL (postgres URLs may list several: `h1:5432,h2:5433`), without credentials. */
function hostAndPort(url: string, defaultPort: number): { host: string; port: number } {
  const authority = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?([^/?#]*)/i.exec(url)?.[1] ?? '';
  const first = authority.split(',')[0] ?? '';
  const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(first);
  const host = decodeURIComponent(m?.[1] || '') || 'localhost';
  return { host, port: m?.[2] ? Number(m[2]) : defaultPort };
}

export const endpointLabel = (e: DatabaseEndpoint) => (e.port === null ? 'the embedded database' : `${e.host}:${e.port}`);

export class DatabaseUnavailableError extends Error {
  readonly code = 'DATABASE_UNAVAILABLE';
  readonly status = 503;
  constructor(
    readonly endpoint: DatabaseEndpoint,
    /** Why, in a word: ECONNREFUSED, CONNECT_TIMEOUT, 57P01, HTTP 503, ... */
    readonly reason: string,
  ) {
    super(`The database at ${endpointLabel(endpoint)} is unreachable (${reason}); try again when it is back.`);
    this.name = 'DatabaseUnavailableError';
  }
}

/**
 * By shape, not `instanceof`: Next loads our modules more than once in one process, and the
 * error may come from the other copy's class.
 */
export function isDatabaseUnavailable(err: unknown): err is DatabaseUnavailableError {
  return (
    typeof err === 'object' &&
    err !== null &&
    (err as { name?: unknown }).name === 'DatabaseUnavailableError' &&
    (err as { code?: unknown }).code === 'DATABASE_UNAVAILABLE'
  );
}

/** Socket-level failures (Node, postgres.js, undici): the server cannot be reached at all. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/**
 * SQLSTATEs meaning "not serving": class 08 (connection exception), 57P01-57P03 (shutting down,
 * crashed, starting up), 53300 (too many connections).
 */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[123]|53300)$/;

/** PostgREST's "cannot reach its database" codes; 502-504 come from the gateway in front of it. */
const POSTGREST_UNAVAILABLE = new Set(['PGRST000', 'PGRST001', 'PGRST002']);

/**
 * Why `err` means the database cannot be reached (a short reason code), or null when it is any
 * other error (a SQL error, a bug): those keep their own handling.
 */
export function unreachableReason(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    const { code, status, name } = e as { code?: unknown; status?: unknown; name?: unknown };
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    if (typeof code === 'string' && UNAVAILABLE_SQLSTATE.test(code) && name === 'PostgresError') return code;
    if (name === 'SupabaseRpcError') {
      if (typeof code === 'string' && POSTGREST_UNAVAILABLE.has(code)) return code;
      if (status === 0) return (e as { networkCode?: string }).networkCode || 'no answer';
      if (status === 502 || status === 503 || status === 504) return `HTTP ${status}`;
    }
  }
  return null;
}

export type AvailabilityState = 'unknown' | 'up' | 'down';

export interface DatabaseAvailability {
  readonly endpoint: DatabaseEndpoint;
  state(): AvailabilityState;
  /** Since when the database is down (null while it is not). */
  downSince(): Date | null;
  /** A call succeeded: the database answers. */
  succeeded(): void;
  /**
   * A call failed: returns what to throw. A DatabaseUnavailableError when `err` means the
   * database cannot be reached (logging the outage the first time), else `err` itself.
   */
  failed(err: unknown): unknown;
}

export function createAvailability(endpoint: DatabaseEndpoint, log: Logger, now: () => Date = () => new Date()): DatabaseAvailability {
  let state: AvailabilityState = 'unknown';
  let since: Date | null = null;
  const where = { driver: endpoint.driver, host: endpoint.host, port: endpoint.port };
  return {
    endpoint,
    state: () => state,
    downSince: () => since,
    succeeded() {
      if (state === 'down' && since) {
        log.info(
          { type: 'database_available', ...where, down_ms: now().getTime() - since.getTime() },
          `database at ${endpointLabel(endpoint)} reachable again`,
        );
      }
      state = 'up';
      since = null;
    },
    failed(err) {
      const reason = unreachableReason(err);
      if (!reason) return err;
      if (state !== 'down') {
        state = 'down';
        since = now();
        log.error(
          { type: 'database_unavailable', ...where, reason },
          `database at ${endpointLabel(endpoint)} unreachable (${reason}); requests answer 503 until it is back`,
        );
      }
      return new DatabaseUnavailableError(endpoint, reason);
    },
  };
}

const WATCHED = new Set<PropertyKey>(['rpc', 'query', 'exec', 'transaction']);

/**
 * The same Db (any adapter, SqlDb methods included) with every call reported to `availability`:
 * successes mark it up, unreachable-database failures become DatabaseUnavailableError.
 */
export function watchAvailability<T extends Db>(db: T, availability: DatabaseAvailability): T {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (typeof value !== 'function') return value;
      if (!WATCHED.has(prop)) return value.bind(target);
      return async (...args: unknown[]) => {
        try {
          const out = await value.apply(target, args);
          availability.succeeded();
          return out;
        } catch (err) {
          throw availability.failed(err);
        }
      };
    },
  });
}
