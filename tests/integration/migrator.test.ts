import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { appliedMigrations, migrate, MIGRATIONS_DIR, pendingMigrations, readMigrations } from '../../src/lib/db/migrator';
import { renderSupabaseCronMigration } from '../../src/lib/schedules/supabase-cron';
import { describeEngines } from '../support/db';

function tempMigrations(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-mig-'));
  for (const [name, sql] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), sql);
  return dir;
}

it('every migration file is named <timestamp>_<name>.sql and they sort uniquely', () => {
  const files = readMigrations(MIGRATIONS_DIR);
  expect(files.length).toBeGreaterThan(0);
  expect(new Set(files.map((f) => f.name.slice(0, 14))).size).toBe(files.length);
});

it('refuses a badly named migration file', () => {
  const dir = tempMigrations({ 'add_table.sql': 'select 1' });
  expect(() => readMigrations(dir)).toThrow(/14-digit timestamp/);
});

describeEngines('migrator', (engine) => {
  it('the fixture database has every migration recorded, nothing pending', async () => {
    const db = await engine.fresh();
    expect(await pendingMigrations(db)).toEqual([]);
    const done = await appliedMigrations(db);
    // A Supabase Cron schedules file a team generated is applied only where pg_cron is installed.
    for (const f of readMigrations().filter((m) => !m.schedules)) expect(done.get(f.name)).toBe(f.checksum);
  });

  it('applies each file once, in order, and records it', async () => {
    const db = await engine.fresh();
    const dir = tempMigrations({
      '20990101000000_first.sql': 'create table mig_probe (n integer); insert into mig_probe values (1);',
      '20990101000001_second.sql': 'insert into mig_probe select max(n) + 1 from mig_probe;',
    });
    expect((await migrate(db, { dir })).applied).toEqual(['20990101000000_first.sql', '20990101000001_second.sql']);
    expect((await migrate(db, { dir })).applied).toEqual([]);
    const rows = await db.query<{ n: number }>('select n from mig_probe order by n');
    expect(rows.map((r) => r.n)).toEqual([1, 2]);
  });

  it('a Supabase Cron schedules file beside the migrations is left out where pg_cron is not installed, and not pending there', async () => {
    const db = await engine.fresh();
    const schedules = renderSupabaseCronMigration({
      appUrl: 'https://app.example.test',
      jobs: [{ job: 'draft-cleanup', schedule: '0 * * * *', maxDurationSeconds: 60 }],
      generatedAt: new Date('2026-12-01T00:00:00Z'),
    });
    const dir = tempMigrations({
      '20990101000000_first.sql': 'create table mig_cron_probe (n integer);',
      '20990101000001_cronwarden_schedules.sql': schedules,
      '20990101000002_after.sql': 'insert into mig_cron_probe values (1);',
    });
    // Applied as is, the file refuses: this database has no pg_cron.
    await expect(db.exec(schedules)).rejects.toThrow(/need pg_cron/);
    expect(await migrate(db, { dir })).toMatchObject({
      applied: ['20990101000000_first.sql', '20990101000002_after.sql'],
      skipped: ['20990101000001_cronwarden_schedules.sql'],
    });
    expect(await pendingMigrations(db, dir)).toEqual([]);
    expect((await appliedMigrations(db)).has('20990101000001_cronwarden_schedules.sql')).toBe(false);
  });

  it('rolls back a failing migration whole and does not record it', async () => {
    const db = await engine.fresh();
    const dir = tempMigrations({
      '20990101000000_broken.sql': 'create table half_done (n integer); select no_such_function();',
    });
    await expect(migrate(db, { dir })).rejects.toThrow();
    const [{ exists }] = await db.query<{ exists: boolean }>(`select to_regclass('half_done') is not null as exists`);
    expect(exists).toBe(false);
    expect((await appliedMigrations(db)).has('20990101000000_broken.sql')).toBe(false);
  });

  it('applies the demo app only when asked, and again only when its file changes', async () => {
    const db = await engine.fresh({ bare: true });
    const dir = tempMigrations({ '20990101000000_t.sql': 'create table seed_probe (n integer primary key);' });
    const demoDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-demo-'));
    const demoSchemaFile = path.join(demoDir, 'schema.sql');
    const demoSeedFile = path.join(demoDir, 'seed.sql');
    fs.writeFileSync(demoSchemaFile, 'create table if not exists demo_probe (n integer primary key);');
    fs.writeFileSync(demoSeedFile, 'insert into demo_probe values (1) on conflict do nothing;');
    const files = { dir, demoSchemaFile, demoSeedFile };
    expect((await migrate(db, { ...files })).demo).toEqual([]);
    const [{ absent }] = await db.query<{ absent: boolean }>(`select to_regclass('demo_probe') is null as absent`);
    expect(absent).toBe(true);
    expect((await migrate(db, { ...files, demo: 'tables' })).demo).toEqual(['demo/schema.sql']);
    expect(await db.query('select n from demo_probe')).toEqual([]);
    expect((await migrate(db, { ...files, demo: 'data' })).demo).toEqual(['demo/seed.sql']);
    expect((await migrate(db, { ...files, demo: 'data' })).demo).toEqual([]);
    fs.writeFileSync(demoSeedFile, 'insert into demo_probe values (1), (2) on conflict do nothing;');
    expect((await migrate(db, { ...files, demo: 'data' })).demo).toEqual(['demo/seed.sql']);
    expect(await db.query('select n from demo_probe order by n')).toEqual([{ n: 1 }, { n: 2 }]);
  });
});
