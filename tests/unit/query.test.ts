import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AppError } from '../../src/lib/http/errors';
import { parseOrThrow, q, queryObject } from '../../src/lib/http/query';

const schema = z.strictObject({ batchSize: q.int(1, 10_000).optional(), hours: q.int(1, 720).optional() });

function err(fn: () => unknown): AppError {
  try {
    fn();
  } catch (e) {
    return e as AppError;
  }
  throw new Error('expected a throw');
}

describe('query parsing', () => {
  it('parses whole numbers within bounds', () => {
    expect(parseOrThrow(schema, { batchSize: '500', hours: '24' })).toEqual({ batchSize: 500, hours: 24 });
  });
  it.each([
    [{ hours: '-1' }, 'hours'],
    [{ hours: 'abc' }, 'hours'],
    [{ hours: '1.5' }, 'hours'],
    [{ hours: '1e3' }, 'hours'],
    [{ batchSize: '1000000000' }, 'batchSize'],
    [{ batchSize: '' }, 'batchSize'],
  ])('400 naming the parameter for %o', (raw, name) => {
    const e = err(() => parseOrThrow(schema, raw));
    expect(e.status).toBe(400);
    expect(e.message).toContain(name);
  });
  it('400 on unknown and repeated parameters', () => {
    expect(err(() => parseOrThrow(schema, { nope: '1' })).message).toContain("'nope'");
    expect(err(() => queryObject(new URL('http://x/?hours=1&hours=2'))).code).toBe('DUPLICATE_PARAMETER');
  });
  it.each(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'])(
    '?%s=1 is refused like any other unknown parameter',
    (name) => {
      const e = err(() => parseOrThrow(schema, queryObject(new URL(`http://x/?${name}=1`))));
      expect(e).toBeInstanceOf(AppError);
      expect(e).toMatchObject({ status: 400, code: 'UNKNOWN_PARAMETER' });
      expect(e.message).toContain(`'${name}'`);
      // Repeated, it is a duplicate like any other name; alone, it is an own key of the query.
      expect(err(() => queryObject(new URL(`http://x/?${name}=1&${name}=2`))).code).toBe('DUPLICATE_PARAMETER');
      expect(Object.keys(queryObject(new URL(`http://x/?${name}=1`)))).toEqual([name]);
    },
  );
  it('414 on an oversized query string', () => {
    expect(err(() => queryObject(new URL(`http://x/?a=${'x'.repeat(5000)}`))).status).toBe(414);
  });
  it('reads booleans strictly', () => {
    const b = z.object({ v: q.bool() });
    expect(parseOrThrow(b, { v: '1' })).toEqual({ v: true });
    expect(parseOrThrow(b, { v: 'false' })).toEqual({ v: false });
    expect(err(() => parseOrThrow(b, { v: 'yes please' })).status).toBe(400);
  });
});
