import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { PgliteDb } from '../../src/lib/db/pglite';

const tsx = path.resolve('node_modules', 'tsx', 'dist', 'cli.mjs');
const openElsewhere = (dir: string) =>
  spawnSync(process.execPath, [tsx, 'tests/support/open-pglite.ts', dir], { encoding: 'utf8' }).stdout.trim();

it('a second process is refused while the data dir is open, with what to do; allowed after close', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cw-lock-')), 'pglite');
  const db = await PgliteDb.open(dir);
  await db.query('create table keep (n integer)');
  await db.query('insert into keep values (42)');
  const refused = openElsewhere(dir);
  expect(refused).toMatch(/^REFUSED .*another process \(pid \d+\)/);
  expect(refused).toMatch(/DATABASE_URL|Stop that process/);
  await db.close();
  expect(openElsewhere(dir)).toBe('OPENED');
  const again = await PgliteDb.open(dir);
  expect(await again.query('select n from keep')).toEqual([{ n: 42 }]);
  await again.close();
}, 60_000);

it('a lock left by a dead process is taken over', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cw-lock-')), 'pglite');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(`${dir}.lock`, '999999'); // no such pid
  expect(openElsewhere(dir)).toBe('OPENED');
}, 60_000);

it('a second open of the same data dir inside one process is refused too', async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cw-lock-')), 'pglite');
  const db = await PgliteDb.open(dir);
  await expect(PgliteDb.open(dir)).rejects.toThrow(/another process|open in/);
  await db.close();
  const again = await PgliteDb.open(dir);
  await again.close();
}, 60_000);
