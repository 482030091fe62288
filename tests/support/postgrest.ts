import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { unreachableReason } from '../../src/lib/db/availability';
import type { SqlDb } from '../../src/lib/db/types';

export interface FakePostgrest {
  url: string;
  calls: { fn: string; body: Record<string, unknown> }[];
  close(): Promise<void>;
}

/**
 * Speaks the slice of PostgREST that supabase-js `rpc` uses: `POST /rest/v1/rpc/<fn>` with
 * named arguments as JSON, answered by calling the function on a real database. Errors come
 * back as PostgREST does: 4xx with `{ code, message, details, hint }`, and 503 PGRST000 when
 * the database cannot be reached.
 */
export async function startFakePostgrest(db: SqlDb, serviceKey: string): Promise<FakePostgrest> {
  const calls: FakePostgrest['calls'] = [];
  const server = http.createServer(async (req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const m = /^\/rest\/v1\/rpc\/([a-z_][a-z0-9_]*)$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !m) return send(404, { code: 'PGRST202', message: 'not found' });
    if (req.headers.apikey !== serviceKey || req.headers.authorization !== `Bearer ${serviceKey}`) {
      return send(401, { code: 'PGRST301', message: 'JWT invalid' });
    }
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    calls.push({ fn: m[1], body });
    try {
      send(200, await db.rpc(m[1], body));
    } catch (err) {
      // As PostgREST does when its database is down: 503 PGRST000, not a SQL error.
      if (unreachableReason(err)) {
        return send(503, { code: 'PGRST000', message: 'Could not connect with the database. Retrying the connection.', details: null, hint: null });
      }
      const e = err as { code?: string; message: string };
      send(400, { code: e.code ?? 'P0001', message: e.message, details: null, hint: null });
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
