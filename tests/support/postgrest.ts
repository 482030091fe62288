import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { unreachableReason } from '../../src/lib/db/availability';
import type { SqlDb } from '../../src/lib/db/types';

export interface FakePostgrest {
  url: string;
  calls: { fn: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

export interface FakePostgrestOptions {
  /**
   * PostgREST's `db-schemas`, as a Supabase project has it once `cronwarden` is added to its
   * exposed schemas: the first one is the default when a request names no profile.
   */
  exposedSchemas?: string[];
  /** PostgREST's `max-rows` (Supabase's default: 1000): longer results are cut, silently. */
  maxRows?: number;
}

/** The only schema whose functions the stand-in calls: ours. */
const SERVED_SCHEMA = 'cronwarden';

/**
 * Speaks the slice of PostgREST that supabase-js `rpc` uses: `POST /rest/v1/rpc/<fn>` with
 * named arguments as JSON (or `GET` with them as query parameters), answered by calling the
 * function on a real database. As strict as PostgREST on Supabase:
 * - the schema comes from the profile header (`Content-Profile` on POST, `Accept-Profile` on
 *   GET/HEAD), else the first exposed schema (public); a schema that is not exposed answers
 *   406 PGRST106; a function not found in the chosen schema answers 404 PGRST202. Only schema
 *   cronwarden's functions are served: a call that names no profile, or another exposed
 *   schema, finds nothing (404), as for a function of ours looked up in public;
 * - a set-returning result is cut at `maxRows` (1000), without an error, as `max-rows` does.
 * Errors come back as PostgREST does: 4xx with `{ code, message, details, hint }`, and 503
 * PGRST000 when the database cannot be reached.
 */
export async function startFakePostgrest(db: SqlDb, serviceKey: string, options: FakePostgrestOptions = {}): Promise<FakePostgrest> {
  const exposed = options.exposedSchemas ?? ['public', SERVED_SCHEMA];
  const maxRows = options.maxRows ?? 1000;
  const calls: FakePostgrest['calls'] = [];
  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    };
    const error = (status: number, code: string, message: string, hint: string | null = null) =>
      send(status, { code, message, details: null, hint });
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const m = /^\/rest\/v1\/rpc\/([a-z_][a-z0-9_]*)$/.exec(url.pathname);
    const method = req.method ?? 'GET';
    if (!m || !['POST', 'GET', 'HEAD'].includes(method)) return error(404, 'PGRST202', 'not found');
    if (req.headers.apikey !== serviceKey || req.headers.authorization !== `Bearer ${serviceKey}`) {
      return error(401, 'PGRST301', 'JWT invalid');
    }
    const profileHeader = method === 'POST' ? req.headers['content-profile'] : req.headers['accept-profile'];
    const schema = typeof profileHeader === 'string' ? profileHeader : exposed[0];
    if (!exposed.includes(schema)) {
      return error(406, 'PGRST106', `The schema must be one of the following: ${exposed.join(', ')}`);
    }
    let body: Record<string, unknown> = {};
    if (method === 'POST') {
      let raw = '';
      for await (const chunk of req) raw += chunk;
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } else {
      body = Object.fromEntries(url.searchParams.entries());
    }
    if (schema !== SERVED_SCHEMA) {
      return error(
        404,
        'PGRST202',
        `Could not find the function ${schema}.${m[1]}(${Object.keys(body).sort().join(', ')}) in the schema cache`,
        'If a new function was created in the database with this name and parameters, try reloading the schema cache.',
      );
    }
    calls.push({ fn: m[1], body });
    try {
      const rows = await db.rpc(m[1], body);
      const shown = rows.slice(0, maxRows);
      const range = shown.length ? `0-${shown.length - 1}/*` : '*/*';
      send(200, shown, { 'content-range': range });
    } catch (err) {
      // As PostgREST does when its database is down: 503 PGRST000, not a SQL error.
      if (unreachableReason(err)) {
        return send(503, { code: 'PGRST000', message: 'Could not connect with the database. Retrying the connection.', details: null, hint: null });
      }
      const e = err as { code?: string; message: string };
      if (e.code === '42883') {
        return error(404, 'PGRST202', `Could not find the function ${schema}.${m[1]}(${Object.keys(body).sort().join(', ')}) in the schema cache`);
      }
      error(400, e.code ?? 'P0001', e.message);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
