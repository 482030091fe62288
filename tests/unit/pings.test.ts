import { describe, expect, it } from 'vitest';
import { MAX_PING_BODY_BYTES, pingBody, pingUrl } from '../../src/lib/cron/pings';
import { jobNames } from '../../src/lib/cron/registry';
import { ConfigError, loadConfig } from '../../src/lib/config';
import { scrubSecrets } from '../../src/lib/logger';
import { announceStartup } from '../../src/lib/startup';
import { captureLogs } from '../support/deps';

const UUID = '5f0c7d1e-9a3b-4c2d-8e1f-0a1b2c3d4e5f';
const RID = '0b9d5c4e-1111-4222-8333-944455556666';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('no ConfigError');
}

describe('PING_URL_<JOB> configuration', () => {
  it('maps each variable to its job and keeps the URLs among the secrets', () => {
    const config = loadConfig({
      PING_URL_DRAFT_CLEANUP: `https://hc-ping.com/${UUID}`,
      PING_URL_RUN_HISTORY_PRUNE: ' https://hc-ping.com/0123456789abcdef0123456789abcdef/run-history-prune ',
      PING_URL_MAINTENANCE: '',
    });
    expect(config.pings).toEqual({
      'draft-cleanup': `https://hc-ping.com/${UUID}`,
      'run-history-prune': 'https://hc-ping.com/0123456789abcdef0123456789abcdef/run-history-prune',
    });
    const line = `start ping https://hc-ping.com/${UUID}/start failed; key ${UUID}; ping key 0123456789abcdef0123456789abcdef`;
    const scrubbed = scrubSecrets(line, config.secrets);
    expect(scrubbed).not.toContain(UUID);
    expect(scrubbed).not.toContain('0123456789abcdef0123456789abcdef');
  });

  it('refuses a value that is not an http(s) URL, naming the variable but not the value', () => {
    const err = configError({ PING_URL_DRAFT_CLEANUP: `hc-ping.com/${UUID}` });
    expect(err.issues).toEqual(['PING_URL_DRAFT_CLEANUP: must be an http:// or https:// URL such as https://hc-ping.com/<uuid>']);
    expect(err.message).not.toContain(UUID);
    expect(configError({ PING_URL_DRAFT_CLEANUP: `ftp://hc-ping.com/${UUID}` }).issues[0]).toMatch(/^PING_URL_DRAFT_CLEANUP: must be an http/);
    expect(configError({ PING_URL_draft_cleanup: 'https://hc-ping.com/x' }).issues[0]).toMatch(/^PING_URL_draft_cleanup: name the job in capitals/);
  });

  it('a variable naming no job is said at start, once, with the jobs there are', () => {
    const config = loadConfig({ PING_URL_DRAFT_CLEANUPS: `https://hc-ping.com/${UUID}`, PING_URL_DRAFT_CLEANUP: `https://hc-ping.com/${UUID}` });
    const { log, logs } = captureLogs(config.secrets);
    announceStartup(config, log, jobNames);
    expect(logs.ofType('ping_url_unknown_job')).toHaveLength(1);
    expect(logs.ofType('ping_url_unknown_job')[0]).toMatchObject({ level: 'warn', variable: 'PING_URL_DRAFT_CLEANUPS' });
    expect(String(logs.ofType('ping_url_unknown_job')[0].msg)).toContain('draft-cleanup');
    expect(logs.raw.join('')).not.toContain(UUID);
  });
});

describe('ping URLs and bodies', () => {
  it('Healthchecks suffixes /start and /fail, with the run id for pairing', () => {
    expect(pingUrl(`https://hc-ping.com/${UUID}`, 'start', RID)).toBe(`https://hc-ping.com/${UUID}/start?rid=${RID}`);
    expect(pingUrl(`https://hc-ping.com/${UUID}/`, 'fail', RID)).toBe(`https://hc-ping.com/${UUID}/fail?rid=${RID}`);
    expect(pingUrl(`https://hc-ping.com/${UUID}`, 'success', RID)).toBe(`https://hc-ping.com/${UUID}?rid=${RID}`);
    expect(pingUrl('https://hc.example.com/ping/key/draft-cleanup?create=1', 'start', RID)).toBe(
      `https://hc.example.com/ping/key/draft-cleanup/start?create=1&rid=${RID}`,
    );
  });

  it('the summary stays under the size limit however many errors the run had', () => {
    const errors = Array.from({ length: 5000 }, (_, i) => ({ subject: `exports/file-${i}.csv`, message: 'x'.repeat(3000) }));
    const body = pingBody('export-file-cleanup', RID, { status: 'failed', duration_ms: 12, result: { errors, rows_affected: 3 } }, []);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_PING_BODY_BYTES);
    expect(JSON.parse(body)).toMatchObject({ status: 'failed', error_count: 5000, counts: { rows_affected: 3 } });
  });
});
