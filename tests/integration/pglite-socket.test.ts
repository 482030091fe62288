import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgliteDb } from '../../src/lib/db/pglite';
import type { PostgresDb } from '../../src/lib/db/postgres';
import { connectServedPglite, readSocketInfo } from '../../src/lib/db/pglite-socket-client';
import { servePglite, socketInfoPath, type ServedPglite } from '../../src/lib/db/pglite-socket-server';

const tsx = path.resolve('node_modules', 'tsx', 'dist', 'cli.mjs');

/** Runs the tool-side opener in another process, as a monitor or run-job would. */
function queryFromAnotherProcess(dataDir: string, sql: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [tsx, 'tests/support/tool-db-query.ts', dataDir, sql], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('exit', () => resolve(out.trim()));
  });
}

/** Resolves when `promise` settles, or to 'pending' after the event loop has had `ms` to run it. */
const settledWithin = <T>(promise: Promise<T>, ms: number) =>
  Promise.race([promise, new Promise<'pending'>((r) => setTimeout(() => r('pending'), ms))]);

describe('the embedded database served to local tools', () => {
  let dir: string;
  let dataDir: string;
  let db: PgliteDb;
  let served: ServedPglite;
  let tool: PostgresDb;
  const ids = async () => (await db.query<{ id: number }>('select id from t order by id')).map((r) => r.id);

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-socket-'));
    dataDir = path.join(dir, 'pglite');
    db = await PgliteDb.open(dataDir);
    await db.exec('create table t (id int)');
    served = await servePglite(db.pg, dataDir, { idleInTransactionMs: 1500 });
    const client = await connectServedPglite(dataDir, { waitMs: 0 });
    if (!client) throw new Error('not served');
    tool = client;
  });
  afterAll(async () => {
    await tool?.close();
    await served?.stop();
    await db?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('listens on 127.0.0.1 only and publishes its address and password in a 0600 file beside the data dir', () => {
    expect(served.file).toBe(path.join(dir, 'pglite.socket.json'));
    expect(socketInfoPath(dataDir)).toBe(served.file);
    expect(fs.statSync(served.file).mode & 0o777).toBe(0o600);
    const info = readSocketInfo(dataDir);
    expect(info).toMatchObject({ host: '127.0.0.1', port: served.info.port, pid: process.pid, user: 'postgres' });
    expect(info?.password.length).toBeGreaterThanOrEqual(24);
  });

  it('refuses a client without the password', async () => {
    for (const password of ['not-the-password-0123456789', undefined]) {
      const sql = postgres({ host: '127.0.0.1', port: served.info.port, user: 'postgres', password, database: 'postgres', max: 1, onnotice: () => {} });
      const err = await sql`select 1`.then(() => null, (e: { code?: string; message: string }) => e);
      expect(err?.code).toBe('28P01');
      await sql.end({ timeout: 1 });
    }
  });

  it("a tool's write never lands inside the app's transaction (the app's rollback keeps it)", async () => {
    await db.exec('delete from t');
    let inside!: () => void;
    const appInTransaction = new Promise<void>((r) => (inside = r));
    let finishApp!: () => void;
    const appMayFinish = new Promise<void>((r) => (finishApp = r));
    const appTx = db
      .transaction(async (tx) => {
        await tx.query('insert into t values (1)');
        inside();
        await appMayFinish;
        throw new Error('app rolls back');
      })
      .catch((e: Error) => e.message);
    await appInTransaction;
    const toolWrite = tool.query('insert into t values (2)');
    expect(await settledWithin(toolWrite, 300)).toBe('pending'); // waits for the app's transaction
    finishApp();
    expect(await appTx).toBe('app rolls back');
    await toolWrite;
    expect(await ids()).toEqual([2]);
  });

  it("the app's write never lands inside a tool's transaction (the tool's rollback keeps it)", async () => {
    await db.exec('delete from t');
    let inside!: () => void;
    const toolInTransaction = new Promise<void>((r) => (inside = r));
    let finishTool!: () => void;
    const toolMayFinish = new Promise<void>((r) => (finishTool = r));
    const toolTx = tool
      .transaction(async (tx) => {
        await tx.query('insert into t values (3)');
        inside();
        await toolMayFinish;
        throw new Error('tool rolls back');
      })
      .catch((e: Error) => e.message);
    await toolInTransaction;
    const appWrite = db.query('insert into t values (4)');
    expect(await settledWithin(appWrite, 300)).toBe('pending');
    finishTool();
    expect(await toolTx).toBe('tool rolls back');
    await appWrite;
    expect(await ids()).toEqual([4]);
  });

  it('a tool idle inside a transaction is rolled back and cut off, and the app goes on', async () => {
    await db.exec('delete from t');
    const raw = postgres({ ...served.info, max: 1, prepare: false, onnotice: () => {} });
    let inside!: () => void;
    const toolInTransaction = new Promise<void>((r) => (inside = r));
    const stuck = raw
      .begin(async (s) => {
        await s`insert into t values (5)`;
        inside();
        await new Promise(() => {}); // never finishes by itself
      })
      .then(() => 'committed', () => 'cut off');
    await toolInTransaction;
    await db.query('insert into t values (6)'); // waits for the idle limit (1.5 s), then runs
    expect(await stuck).toBe('cut off');
    expect(await ids()).toEqual([6]);
    await raw.end({ timeout: 1 }).catch(() => {});
  });

  it('queries from the app and a tool at once each get their own answers', async () => {
    const errors: string[] = [];
    const wrong: number[] = [];
    await Promise.all([
      (async () => {
        for (let i = 0; i < 300; i++) {
          const [r] = await db.query<{ v: number }>('select $1::int + 1000000 as v', [i]);
          if (r.v !== i + 1_000_000) wrong.push(i);
        }
      })(),
      (async () => {
        for (let i = 0; i < 300; i++) {
          try {
            const [r] = await tool.query<{ v: number }>('select $1::int as v', [i]);
            if (r.v !== i) wrong.push(i);
          } catch (e) {
            errors.push((e as Error).message);
          }
        }
      })(),
    ]);
    expect(errors).toEqual([]);
    expect(wrong).toEqual([]);
  });

  it('a tool in another process reads the data through the socket while this process holds the data dir', async () => {
    await db.exec('delete from t; insert into t values (42)');
    const out = await queryFromAnotherProcess(dataDir, 'select id from t');
    expect(JSON.parse(out)).toEqual({ driver: 'postgres', rows: [{ id: 42 }] });
  }, 60_000);

  it('the file is removed on stop, and a tool is then refused with the reason', async () => {
    await tool.close();
    await served.stop();
    expect(fs.existsSync(served.file)).toBe(false);
    const out = await queryFromAnotherProcess(dataDir, 'select 1');
    expect(out).toMatch(/^REFUSED .*open in another process \(pid \d+\)/);
    served = await servePglite(db.pg, dataDir, { idleInTransactionMs: 1500 });
    tool = (await connectServedPglite(dataDir, { waitMs: 0 }))!;
  }, 60_000);
});
