import { describe, expect, it } from 'vitest';
import { SupabaseRpcError } from '../../src/lib/db/supabase';
import {
  createAvailability,
  databaseEndpoint,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
  unreachableReason,
  watchAvailability,
} from '../../src/lib/db/availability';
import type { Db } from '../../src/lib/db/types';
import { loadConfig } from '../../src/lib/config';
import { captureLogs } from '../support/deps';

describe('databaseEndpoint names host and port, never credentials', () => {
  const cases: [string, Record<string, string>, { driver: string; host: string; port: number | null }][] = [
    ['postgres with password', { DATABASE_URL: 'postgres://app:S3cr3t-pw@db.internal:6543/prod?sslmode=require' }, { driver: 'postgres', host: 'db.internal', port: 6543 }],
    ['postgres default port', { DATABASE_URL: 'postgresql://app:pw@10.0.0.5/prod' }, { driver: 'postgres', host: '10.0.0.5', port: 5432 }],
    ['postgres several hosts', { DATABASE_URL: 'postgres://u:p@h1:5433,h2:5434/db' }, { driver: 'postgres', host: 'h1', port: 5433 }],
    ['postgres IPv6', { DATABASE_URL: 'postgres://u:p@[::1]:5439/db' }, { driver: 'postgres', host: '[::1]', port: 5439 }],
    ['postgres password with @ and :', { DATABASE_URL: 'postgres://u:p%40ss:w@host.example:5432/db' }, { driver: 'postgres', host: 'host.example', port: 5432 }],
    ['supabase', { SUPABASE_URL: 'https://abcd.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'service-role-key-0123456789' }, { driver: 'supabase', host: 'abcd.supabase.co', port: 443 }],
    ['supabase local', { SUPABASE_URL: 'http://127.0.0.1:54321', SUPABASE_SERVICE_ROLE_KEY: 'service-role-key-0123456789' }, { driver: 'supabase', host: '127.0.0.1', port: 54321 }],
    ['embedded', {}, { driver: 'pglite', host: 'embedded', port: null }],
  ];
  for (const [name, env, expected] of cases) {
    it(name, () => {
      const endpoint = databaseEndpoint(loadConfig(env).db);
      expect(endpoint).toEqual(expected);
      const message = new DatabaseUnavailableError(endpoint, 'ECONNREFUSED').message;
      for (const secret of ['S3cr3t-pw', 'p%40ss', 'service-role-key']) expect(message).not.toContain(secret);
    });
  }
});

describe('unreachableReason tells an unreachable database from other errors', () => {
  const withCode = (code: string, name = 'Error') => Object.assign(new Error(code), { code, name });
  it('socket and driver errors', () => {
    expect(unreachableReason(withCode('ECONNREFUSED'))).toBe('ECONNREFUSED');
    expect(unreachableReason(withCode('CONNECT_TIMEOUT'))).toBe('CONNECT_TIMEOUT');
    expect(unreachableReason(withCode('CONNECTION_CLOSED'))).toBe('CONNECTION_CLOSED');
    expect(unreachableReason(new TypeError('fetch failed', { cause: withCode('UND_ERR_CONNECT_TIMEOUT') }))).toBe('UND_ERR_CONNECT_TIMEOUT');
  });
  it('server states that mean "not serving", and nothing else from the server', () => {
    expect(unreachableReason(withCode('57P01', 'PostgresError'))).toBe('57P01');
    expect(unreachableReason(withCode('57P03', 'PostgresError'))).toBe('57P03');
    expect(unreachableReason(withCode('08006', 'PostgresError'))).toBe('08006');
    expect(unreachableReason(withCode('53300', 'PostgresError'))).toBe('53300');
    expect(unreachableReason(withCode('42883', 'PostgresError'))).toBeNull(); // undefined function: a bug, not an outage
    expect(unreachableReason(withCode('P0001', 'PostgresError'))).toBeNull();
    expect(unreachableReason(new Error('boom'))).toBeNull();
    expect(unreachableReason('text')).toBeNull();
  });
  it('PostgREST answers', () => {
    expect(unreachableReason(new SupabaseRpcError('f', 'TypeError: fetch failed', '', 0, 'ECONNREFUSED'))).toBe('ECONNREFUSED');
    expect(unreachableReason(new SupabaseRpcError('f', 'Could not connect with the database', 'PGRST000', 503))).toBe('PGRST000');
    expect(unreachableReason(new SupabaseRpcError('f', 'Bad gateway', '', 502))).toBe('HTTP 502');
    expect(unreachableReason(new SupabaseRpcError('f', 'JWT invalid', 'PGRST301', 401))).toBeNull();
    expect(unreachableReason(new SupabaseRpcError('f', 'raise', 'P0001', 400))).toBeNull();
  });
});

describe('availability: one line when the database goes away, one when it is back', () => {
  const endpoint = { driver: 'postgres' as const, host: 'db.internal', port: 5432 };

  it('logs the outage once however many calls fail, the recovery once, and passes other errors through', async () => {
    let clock = new Date('2026-12-01T10:00:00Z');
    const { log, logs } = captureLogs();
    const availability = createAvailability(endpoint, log, () => clock);
    let failWith: unknown = null;
    const calls: string[] = [];
    const inner: Db = {
      driver: 'postgres',
      async rpc<T>(fn: string) {
        calls.push(fn);
        if (failWith) throw failWith;
        return [{ ok: fn }] as T[];
      },
      async close() {},
    };
    const db = watchAvailability(inner, availability);
    expect(db.driver).toBe('postgres');
    expect(await db.rpc('a')).toEqual([{ ok: 'a' }]);
    expect(availability.state()).toBe('up');

    failWith = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 25; i++) {
      const err = await db.rpc('b').catch((e: unknown) => e);
      expect(isDatabaseUnavailable(err)).toBe(true);
      expect(err).toMatchObject({ code: 'DATABASE_UNAVAILABLE', status: 503, reason: 'ECONNREFUSED', endpoint });
    }
    expect(availability.state()).toBe('down');
    expect(availability.downSince()).toEqual(clock);

    // A bug is not an outage: thrown as it is, no state change, no extra line.
    const bug = new Error('column does not exist');
    failWith = bug;
    expect(await db.rpc('c').catch((e: unknown) => e)).toBe(bug);

    clock = new Date('2026-12-01T10:02:30Z');
    failWith = null;
    await db.rpc('d');
    await db.rpc('e');
    expect(availability.state()).toBe('up');

    expect(logs.ofType('database_unavailable')).toHaveLength(1);
    expect(logs.ofType('database_unavailable')[0]).toMatchObject({ level: 'error', host: 'db.internal', port: 5432, reason: 'ECONNREFUSED' });
    expect(logs.ofType('database_available')).toHaveLength(1);
    expect(logs.ofType('database_available')[0]).toMatchObject({ level: 'info', down_ms: 150_000 });
    expect(logs.lines).toHaveLength(2);
    expect(calls).toHaveLength(29);
  });

  it('a database unreachable from the start is logged once too, and its first answer ends it', () => {
    const { log, logs } = captureLogs();
    const availability = createAvailability(endpoint, log);
    const refused = Object.assign(new Error('x'), { code: 'ECONNREFUSED' });
    for (let i = 0; i < 5; i++) expect(isDatabaseUnavailable(availability.failed(refused))).toBe(true);
    availability.succeeded();
    expect(logs.lines.map((l) => l.type)).toEqual(['database_unavailable', 'database_available']);
  });
});
