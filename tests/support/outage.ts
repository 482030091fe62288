import net from 'node:net';
import type { Row, SqlDb, SqlTx } from '../../src/lib/db/types';

/**
 * A real database that goes away and comes back: every call fails while `down`, as calls to an
 * unreachable server do. For PGlite, which has no connection to cut.
 */
export function outageDb(inner: SqlDb) {
  let down = false;
  let refused = 0;
  const check = () => {
    if (down) {
      refused++;
      throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432 (database unreachable)'), { code: 'ECONNREFUSED' });
    }
  };
  const db: SqlDb = {
    driver: inner.driver,
    async rpc<T = Row>(fn: string, args?: Record<string, unknown>): Promise<T[]> {
      check();
      return inner.rpc<T>(fn, args);
    },
    async query<T = Row>(sql: string, params?: unknown[]): Promise<T[]> {
      check();
      return inner.query<T>(sql, params);
    },
    async exec(sql: string): Promise<void> {
      check();
      return inner.exec(sql);
    },
    async transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
      check();
      return inner.transaction(fn);
    },
    close: () => inner.close(),
  };
  return {
    db,
    cut: () => void (down = true),
    restore: () => void (down = false),
    /** Calls refused while down. */
    refused: () => refused,
  };
}

/**
 * A TCP proxy in front of a real server: `cut()` drops every open connection and stops listening,
 * so new connections are refused as by a server that is down; `restore()` listens again on the
 * same port.
 */
export async function tcpProxy(target: { host: string; port: number }) {
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('close', () => open.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream);
    upstream.pipe(client);
  });
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const stop = async () => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of open) s.destroy();
    await closed;
  };
  return {
    port,
    /** `url` with its host and port replaced by the proxy's. */
    through(url: string): string {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    /** Drops the connections at once; the port is closed when the returned promise settles. */
    cut: (): Promise<void> => (server.listening ? stop() : Promise.resolve()),
    restore: async () => {
      if (!server.listening) await listen(port);
    },
    close: async () => {
      if (server.listening) await stop();
    },
  };
}
