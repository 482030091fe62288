import { describe, expect, it } from 'vitest';
import { MAX_AUTH_HEADER_LENGTH } from '../../src/lib/cron/auth';
import { checkMaintenanceAuth, maintenanceAuthError } from '../../src/lib/cron/maintenance-auth';
import { AppError } from '../../src/lib/http/errors';
import { parseOrThrow } from '../../src/lib/http/query';
import { maintenanceJob } from '../../src/lib/jobs/maintenance';
import { testConfig } from '../support/deps';

const SECRET = 'maintenance-secret-0123456789';
const headers = (secret?: string) => new Headers(secret === undefined ? {} : { 'x-cron-secret': secret });
const outcome = (h: Headers, cron: { enabled: boolean; maintenanceSecret?: string }) => {
  const err = maintenanceAuthError(h, cron);
  return err && { status: err.status, code: err.code, message: err.message };
};

describe('maintenance route contract', () => {
  it('answers 503 when maintenance is disabled, before looking at anything else', () => {
    for (const secret of [undefined, SECRET]) {
      for (const h of [headers(), headers(SECRET), headers('wrong')]) {
        expect(outcome(h, { enabled: false, maintenanceSecret: secret })).toMatchObject({ status: 503, code: 'MAINTENANCE_DISABLED' });
      }
    }
  });

  it('answers 500 when MAINTENANCE_CRON_SECRET is not set, whatever the caller sends', () => {
    for (const h of [headers(), headers(''), headers('anything')]) {
      expect(outcome(h, { enabled: true, maintenanceSecret: undefined })).toEqual({
        status: 500,
        code: 'SERVER_MISCONFIGURED',
        message: 'MAINTENANCE_CRON_SECRET is not set on the server; every request is refused until it is.',
      });
    }
  });

  it('answers 401 for a missing, empty, wrong, near-miss or oversized x-cron-secret, without echoing it', () => {
    const cron = { enabled: true, maintenanceSecret: SECRET };
    const bad = ['', 'wrong', SECRET.slice(0, -1), `${SECRET}x`, SECRET.toUpperCase(), `${SECRET} ${SECRET}`, 'x'.repeat(MAX_AUTH_HEADER_LENGTH + 1)];
    expect(outcome(headers(), cron)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    for (const given of bad) {
      const o = outcome(headers(given), cron);
      expect(o, given.slice(0, 40)).toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
      if (given.length > 3) expect(o!.message).not.toContain(given);
    }
    // The Bearer header of the cron routes is not this route's credential.
    expect(outcome(new Headers({ authorization: `Bearer ${SECRET}` }), cron)).toMatchObject({ status: 401 });
  });

  it('lets the right secret through', () => {
    expect(maintenanceAuthError(headers(SECRET), { enabled: true, maintenanceSecret: SECRET })).toBeNull();
    expect(() => checkMaintenanceAuth(headers(SECRET), { enabled: true, maintenanceSecret: SECRET })).not.toThrow();
    expect(() => checkMaintenanceAuth(headers('no'), { enabled: true, maintenanceSecret: SECRET })).toThrow(AppError);
  });

  it('reads CRON_ENABLED strictly: only "true" enables it', () => {
    for (const [value, enabled] of [['true', true], ['TRUE', false], ['1', false], ['yes', false], ['false', false], ['', false]] as const) {
      const config = testConfig({ CRON_ENABLED: value, MAINTENANCE_CRON_SECRET: SECRET });
      expect(config.cron.enabled, value).toBe(enabled);
      expect(maintenanceAuthError(headers(SECRET), config.cron)?.status ?? 200, value).toBe(enabled ? 200 : 503);
    }
    expect(testConfig({ MAINTENANCE_CRON_SECRET: SECRET }).cron.enabled).toBe(false);
  });
});

describe('maintenance query parameters', () => {
  const parse = (raw: Record<string, string>) => parseOrThrow(maintenanceJob.input, raw);
  const failure = (raw: Record<string, string>) => {
    try {
      parse(raw);
    } catch (err) {
      return err instanceof AppError ? { status: err.status, code: err.code, message: err.message } : err;
    }
    return null;
  };

  it('accepts hours 1..720 and batchSize 1..10000', () => {
    expect(parse({})).toEqual({});
    expect(parse({ hours: '1', batchSize: '1' })).toEqual({ hours: 1, batchSize: 1 });
    expect(parse({ hours: '720', batchSize: '10000' })).toEqual({ hours: 720, batchSize: 10000 });
  });

  it('refuses bad values with a 400 naming the parameter', () => {
    expect(failure({ hours: '-1' })).toEqual({ status: 400, code: 'INVALID_PARAMETER', message: "Invalid query parameter 'hours': must be at least 1." });
    expect(failure({ hours: 'abc' })).toEqual({ status: 400, code: 'INVALID_PARAMETER', message: "Invalid query parameter 'hours': must be a whole number." });
    expect(failure({ hours: '721' })).toMatchObject({ status: 400, message: "Invalid query parameter 'hours': must be at most 720." });
    expect(failure({ hours: '0' })).toMatchObject({ status: 400, message: "Invalid query parameter 'hours': must be at least 1." });
    expect(failure({ hours: '1.5' })).toMatchObject({ status: 400, message: "Invalid query parameter 'hours': must be a whole number." });
    expect(failure({ batchSize: '1000000000' })).toEqual({
      status: 400,
      code: 'INVALID_PARAMETER',
      message: "Invalid query parameter 'batchSize': must be at most 10000.",
    });
    expect(failure({ days: '3' })).toMatchObject({ status: 400, code: 'UNKNOWN_PARAMETER', message: "Unknown query parameter 'days'." });
  });
});
