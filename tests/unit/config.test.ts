import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/lib/config';

describe('configuration', () => {
  it('defaults to the embedded database and local storage under .data', () => {
    const c = loadConfig({});
    expect(c.db.driver).toBe('pglite');
    expect(c.storage.driver).toBe('local');
    expect(c.runHistoryDays).toBe(90);
    expect(c.cron.secret).toBeUndefined();
  });
  it('DATABASE_URL selects postgres, SUPABASE_* selects supabase', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@localhost/db' }).db.driver).toBe('postgres');
    expect(loadConfig({ SUPABASE_URL: 'https://x.supabase.co', SUPABASE_SERVICE_ROLE_KEY: 'k'.repeat(20) }).db.driver).toBe('supabase');
  });
  it.each([
    [{ PORT: 'abc' }, 'PORT'],
    [{ RUN_HISTORY_DAYS: '0' }, 'RUN_HISTORY_DAYS'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ SUPABASE_URL: 'https://x.supabase.co' }, 'SUPABASE_SERVICE_ROLE_KEY'],
    [{ STORAGE_DRIVER: 'ftp' }, 'STORAGE_DRIVER'],
    [{ CRON_SECRET: 'short' }, 'CRON_SECRET'],
    [{ SLACK_WEBHOOK_URL: 'not a url' }, 'SLACK_WEBHOOK_URL'],
    [{ REPORTS_DIR: '/etc' }, 'REPORTS_DIR'],
  ])('rejects %o with a message naming %s', (env, variable) => {
    expect(() => loadConfig(env as Record<string, string>)).toThrow(ConfigError);
    try {
      loadConfig(env as Record<string, string>);
    } catch (err) {
      expect((err as Error).message).toContain(variable);
    }
  });
  it.each([
    ['CRON_SECRET', 16],
    ['MAINTENANCE_CRON_SECRET', 1],
    ['ADMIN_PASSWORD', 8],
    ['ADMIN_API_TOKEN', 16],
    ['METRICS_TOKEN', 16],
    ['SUPABASE_SERVICE_ROLE_KEY', 1],
    ['S3_ACCESS_KEY_ID', 1],
    ['S3_SECRET_ACCESS_KEY', 1],
  ])('refuses %s with leading or trailing whitespace at start, naming it', (variable, min) => {
    const value = 's'.repeat(Math.max(min, 40));
    const extra: Record<string, string> = variable === 'SUPABASE_SERVICE_ROLE_KEY' ? { SUPABASE_URL: 'https://x.supabase.co' } : {};
    expect(() => loadConfig({ ...extra, [variable]: value })).not.toThrow();
    for (const bad of [`${value} `, ` ${value}`, `${value}\n`, `\t${value}`, '   ']) {
      let message = '';
      try {
        loadConfig({ ...extra, [variable]: bad });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message, JSON.stringify(bad)).toContain(`${variable}: has leading or trailing whitespace`);
      expect(message).not.toContain(value);
    }
  });
  it.each(['CRON_SECRET', 'ADMIN_API_TOKEN', 'METRICS_TOKEN'])(
    'refuses %s at start, naming it, when a space or a non-ASCII letter inside could never arrive as a Bearer token',
    (variable) => {
      for (const bad of ['0123456789abcdef 0123456789', '0123456789abcdéf0123456789', '0123456789abcdef\t0123456789']) {
        let message = '';
        try {
          loadConfig({ [variable]: bad });
        } catch (err) {
          expect(err).toBeInstanceOf(ConfigError);
          message = (err as Error).message;
        }
        expect(message, JSON.stringify(bad)).toContain(`${variable}: may hold only visible ASCII characters`);
        expect(message).not.toContain(bad);
      }
      expect(() => loadConfig({ [variable]: '0123456789abcdef-._~+/=0123456789' })).not.toThrow();
    },
  );

  it('a password typed in the sign-in form may hold spaces and any letter', () => {
    expect(loadConfig({ ADMIN_PASSWORD: 'correct horse battery staplé' }).admin.password).toBe('correct horse battery staplé');
  });

  it('collects configured secrets for scrubbing, including the database password', () => {
    const c = loadConfig({ CRON_SECRET: 'c'.repeat(20), DATABASE_URL: 'postgres://u:s3cretpw@h/db' });
    expect(c.secrets).toContain('c'.repeat(20));
    expect(c.secrets).toContain('s3cretpw');
  });
});

describe('demo data', () => {
  it('is loaded by default on the embedded database only', () => {
    expect(loadConfig({}).demoApp).toBe('data');
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@h/db' }).demoApp).toBe('off');
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@h/db', SEED_DEMO_DATA: 'true' }).demoApp).toBe('data');
    expect(loadConfig({ DATABASE_URL: 'postgres://u:p@h/db', DEMO_APP: 'tables' }).demoApp).toBe('tables');
    expect(() => loadConfig({ DEMO_APP: 'yes' })).toThrow(/DEMO_APP: must be off, tables or data/);
    expect(loadConfig({ SEED_DEMO_DATA: 'false' }).demoApp).toBe('off');
  });
  it('HOST: loopback by default; the app URL calls loopback when bound to every interface; bad values named', () => {
    expect(loadConfig({})).toMatchObject({ host: '127.0.0.1', port: 3000, appUrl: 'http://127.0.0.1:3000' });
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '4100' })).toMatchObject({ host: '0.0.0.0', appUrl: 'http://127.0.0.1:4100' });
    expect(loadConfig({ HOST: '::1', PORT: '4100' }).appUrl).toBe('http://[::1]:4100');
    expect(loadConfig({ HOST: 'localhost', APP_URL: 'https://ops.example.com' }).appUrl).toBe('https://ops.example.com');
    expect(() => loadConfig({ HOST: 'a b' })).toThrow(/HOST: must be a host name or IP address/);
    // Refused at start, not by Next's listen() with a stack trace.
    expect(() => loadConfig({ HOST: '999.1.1.1' })).toThrow(/HOST: is not a valid IP address/);
    expect(() => loadConfig({ HOST: 'fe80::zz' })).toThrow(/HOST: is not a valid IP address/);
  });
  it('a blank DATA_DIR means the default .data, as the scripts read it, not the project folder', () => {
    expect(loadConfig({ DATA_DIR: '' }).dataDir).toBe(path.resolve('.data'));
    expect(loadConfig({ DATA_DIR: '' }).db).toEqual({ driver: 'pglite', dataDir: path.resolve('.data', 'pglite') });
  });
});
