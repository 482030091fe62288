import { PostgrestClient } from '@supabase/postgrest-js';
import type { Db, Row } from './types';
import { rpcTarget, toSqlParam } from './types';

export class SupabaseRpcError extends Error {
  constructor(
    readonly fn: string,
    message: string,
    readonly code?: string,
  ) {
    super(`${fn}: ${message}`);
    this.name = 'SupabaseRpcError';
  }
}

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
      fetch: fetchImpl,
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
    const { data, error } = await this.client.schema(schema).rpc(name, body);
    if (error) throw new SupabaseRpcError(fn, error.message, error.code);
    if (data === null || data === undefined) return [];
    return (Array.isArray(data) ? data : [data]) as T[];
  }

  async close(): Promise<void> {}
}
