import { PostgrestClient } from '@supabase/postgrest-js';
import type { Agent } from 'undici';
import type { Db, Row } from './types';
import { rpcTarget, toSqlParam } from './types';

export class SupabaseRpcError extends Error {
  constructor(
    readonly fn: string,
    message: string,
    readonly code?: string,
    /** The HTTP status; 0 when no answer came (refused, timed out, DNS). */
    readonly status?: number,
    /** For status 0: the socket error's code (ECONNREFUSED, UND_ERR_CONNECT_TIMEOUT, ...). */
    readonly networkCode?: string,
  ) {
    super(`${fn}: ${message}`);
    this.name = 'SupabaseRpcError';
  }
}

/** Seconds to open a connection to the API before giving up (fetch's own default is 10). */
export const SUPABASE_CONNECT_TIMEOUT_SECONDS = 3;

// One pool for the process: a connect timeout of a few seconds, the request itself unbounded
// (an rpc may run as long as its batch needs). undici is loaded on first use: only Supabase
// installs pay for it.
let dispatcher: Agent | undefined;
const fetchWithConnectTimeout = (async (input: string, init?: Record<string, unknown>) => {
  const undici = await import('undici');
  dispatcher ??= new undici.Agent({ connect: { timeout: SUPABASE_CONNECT_TIMEOUT_SECONDS * 1000 } });
  return undici.fetch(input, { ...init, dispatcher } as Parameters<typeof undici.fetch>[1]);
}) as unknown as typeof fetch;

/**
 * The Db port over PostgREST: `db.rpc(fn, args)` is `POST /rest/v1/rpc/fn` with the args as JSON
 * and `Content-Profile: cronwarden` (the schema must be exposed; see the README).
 * postgrest-js is the part of supabase-js that does this; the full client also starts realtime
 * (WebSocket), which Node 20 lacks and jobs do not need.
 */
export class SupabaseDb implements Db {
  readonly driver = 'supabase' as const;
  constructor(readonly client: PostgrestClient) {}

  static connect(url: string, serviceRoleKey: string, fetchImpl?: typeof fetch): SupabaseDb {
    const client = new PostgrestClient(`${url.replace(/\/$/, '')}/rest/v1`, {
      headers: { apikey: serviceRoleKey, Authorization: `Bearer ${serviceRoleKey}` },
      fetch: fetchImpl ?? fetchWithConnectTimeout,
    });
    return new SupabaseDb(client);
  }

  async rpc<T = Row>(fn: string, args: Record<string, unknown> = {}): Promise<T[]> {
    const body: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(args)) {
      if (v === undefined) continue;
      // Dates as ISO text; arrays and objects stay JSON for PostgREST to map onto the parameter types.
      body[k] = v instanceof Date ? toSqlParam(v) : v;
    }
    const { schema, name } = rpcTarget(fn);
    // PostgREST serves a schema only when it is listed as exposed (Supabase: API settings ->
    // Exposed schemas); the profile header picks it.
    const { data, error, status } = await this.client.schema(schema).rpc(name, body);
    if (error) {
      // postgrest-js turns a failed fetch into status 0 with the cause in `details`: "... (ECONNREFUSED)".
      const networkCode = status === 0 ? /\(([A-Z][A-Z0-9_]+)\)/.exec(error.details ?? '')?.[1] : undefined;
      throw new SupabaseRpcError(fn, error.message, error.code, status, networkCode);
    }
    if (data === null || data === undefined) return [];
    return (Array.isArray(data) ? data : [data]) as T[];
  }

  async close(): Promise<void> {}
}
