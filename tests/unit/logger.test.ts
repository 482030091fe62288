import { expect, it } from 'vitest';
import { captureLogs } from '../support/deps';

it('redacts authorization headers and configured secret values anywhere in a line', () => {
  const secret = 'super-secret-value-123456';
  const { log, logs } = captureLogs([secret]);
  log.info({ type: 'probe', headers: { authorization: `Bearer ${secret}` }, note: `contains ${secret} inside` }, `msg ${secret}`);
  log.error({ type: 'probe_err', err: new Error(`failed with ${secret}`) }, 'boom');
  const text = logs.raw.join('');
  expect(text).not.toContain(secret);
  expect(logs.lines[0]).toMatchObject({ type: 'probe', headers: { authorization: '[redacted]' } });
  expect(logs.lines[0].note).toBe('contains [redacted] inside');
  expect(logs.lines[1].type).toBe('probe_err');
});
