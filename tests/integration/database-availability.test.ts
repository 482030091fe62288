import { afterAll, describe, expect, inject, it } from 'vitest';
import { createAvailability, isDatabaseUnavailable, watchAvailability } from '../../src/lib/db/availability';
import { CONNECT_TIMEOUT_SECONDS, PostgresDb } from '../../src/lib/db/postgres';
import { SupabaseDb } from '../../src/lib/db/supabase';
import { freshPostgresUrl, hasPostgres } from '../support/db';
import { captureLogs } from '../support/deps';
import { startFakePostgrest } from '../support/postgrest';
import { closedPort, startTcpProxy, type TcpProxy } from '../support/tcp-proxy';

const SERVICE_KEY = 'service-role-key-for-availability-0123';
const endpointOf = (port: number) => ({ driver: 'postgres' as const, host: '127.0.0.1', port });

async function failureOf(call: Promise<unknown>): Promise<unknown> {
  try {
    await call;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

describe.skipIf(!hasPostgres())('a real PostgreSQL that goes away (through a TCP proxy we cut)', () => {
  const open: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const o of open.reverse()) await o.close().catch(() => undefined);
  });

  async function proxied(): Promise<{ proxy: TcpProxy; url: string }> {
    const real = new URL(await freshPostgresUrl());
    const proxy = await startTcpProxy(Number(real.port || 5432), real.hostname);
    open.push(proxy);
    real.port = String(proxy.port);
    return { proxy, url: real.toString() };
  }

  it('postgres adapter: refused while cut, one line down and one line up, answers again on restore', async () => {
    const { proxy, url } = await proxied();
    const { log, logs } = captureLogs();
    const availability = createAvailability(endpointOf(proxy.port), log);
    const raw = PostgresDb.connect(url, 2);
    open.push(raw);
    const db = watchAvailability(raw, availability);
    expect(await db.query('select 1 as one')).toEqual([{ one: 1 }]);

    // Within 5 s each, failing and recovering: the driver's own reconnect backoff grows to 20 s.
    const timed = async <T>(call: () => Promise<T>) => {
      const t0 = performance.now();
      const out = await call();
      expect(performance.now() - t0).toBeLessThan(5_000);
      return out;
    };
    await proxy.cut();
    for (let i = 0; i < 12; i++) {
      const err = await timed(() => failureOf(db.rpc('cronwarden_ping')));
      expect(isDatabaseUnavailable(err), String(err)).toBe(true);
      expect(err).toMatchObject({ status: 503, endpoint: { host: '127.0.0.1', port: proxy.port } });
      expect(['ECONNREFUSED', 'CONNECTION_CLOSED', 'ECONNRESET']).toContain((err as { reason: string }).reason);
    }
    expect(logs.ofType('database_unavailable')).toHaveLength(1);

    await proxy.restore();
    expect(await timed(() => db.query('select 2 as two'))).toEqual([{ two: 2 }]);
    expect(logs.lines.map((l) => l.type)).toEqual(['database_unavailable', 'database_available']);
  });

  it(`postgres adapter: a host that never answers fails after the ${CONNECT_TIMEOUT_SECONDS} s connect timeout, not the TCP timeout`, async () => {
    const { proxy, url } = await proxied();
    await proxy.blackhole();
    const availability = createAvailability(endpointOf(proxy.port), captureLogs().log);
    const raw = PostgresDb.connect(url, 1);
    open.push(raw);
    const t0 = performance.now();
    const err = await failureOf(watchAvailability(raw, availability).rpc('cronwarden_ping'));
    expect(err).toMatchObject({ code: 'DATABASE_UNAVAILABLE', reason: 'CONNECT_TIMEOUT' });
    // The driver's default connect timeout is 30 s; the answer must come within 5 s.
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it('postgres adapter: nothing listening on the port', async () => {
    const port = await closedPort();
    const raw = PostgresDb.connect(`postgres://app:pw-never-shown@127.0.0.1:${port}/nowhere`, 1);
    open.push(raw);
    const err = await failureOf(watchAvailability(raw, createAvailability(endpointOf(port), captureLogs().log)).rpc('cronwarden_ping'));
    expect(err).toMatchObject({ code: 'DATABASE_UNAVAILABLE', reason: 'ECONNREFUSED' });
    expect((err as Error).message).toBe(`The database at 127.0.0.1:${port} is unreachable (ECONNREFUSED); try again when it is back.`);
  });

  it('supabase adapter: PostgREST answering 503 PGRST000 for its lost database, and no PostgREST at all', async () => {
    const { proxy, url } = await proxied();
    const behind = PostgresDb.connect(url, 1);
    open.push(behind);
    const postgrest = await startFakePostgrest(behind, SERVICE_KEY);
    open.push(postgrest);
    const { log, logs } = captureLogs();
    const apiPort = Number(new URL(postgrest.url).port);
    const availability = createAvailability({ driver: 'supabase', host: '127.0.0.1', port: apiPort }, log);
    const db = watchAvailability(SupabaseDb.connect(postgrest.url, SERVICE_KEY), availability);
    expect(await db.rpc('cronwarden_ping')).toHaveLength(1);

    await proxy.cut();
    expect(await failureOf(db.rpc('cronwarden_ping'))).toMatchObject({ code: 'DATABASE_UNAVAILABLE', reason: 'PGRST000' });
    await proxy.restore();
    expect(await db.rpc('cronwarden_ping')).toHaveLength(1);

    const port = await closedPort();
    const gone = watchAvailability(
      SupabaseDb.connect(`http://127.0.0.1:${port}`, SERVICE_KEY),
      createAvailability({ driver: 'supabase', host: '127.0.0.1', port }, captureLogs().log),
    );
    expect(await failureOf(gone.rpc('cronwarden_ping'))).toMatchObject({ code: 'DATABASE_UNAVAILABLE', reason: 'ECONNREFUSED' });
    expect(logs.lines.map((l) => l.type)).toEqual(['database_unavailable', 'database_available']);
    expect(inject('pgAdminUrl')).not.toBe('');
  });
});
