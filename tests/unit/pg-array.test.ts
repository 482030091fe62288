import { describe, expect, it } from 'vitest';
import { parsePgArray } from '../../src/lib/db/postgres';

describe('parsePgArray (arrays as PostgreSQL writes them)', () => {
  it('an unquoted NULL is null, a quoted "NULL" is the string', () => {
    expect(parsePgArray('{a,NULL,"NULL"}')).toEqual(['a', null, 'NULL']);
  });
  it('quoted elements keep delimiters, quotes, backslashes, braces and spaces', () => {
    expect(parsePgArray('{"x,y","q\\"r","b\\\\s",""," sp ","{}"}')).toEqual(['x,y', 'q"r', 'b\\s', '', ' sp ', '{}']);
  });
  it('nested, empty, with a lower bound, and through an element parser (nulls are not parsed)', () => {
    expect(parsePgArray('{{a,NULL},{NULL,d}}')).toEqual([['a', null], [null, 'd']]);
    expect(parsePgArray('{}')).toEqual([]);
    expect(parsePgArray('[2:3]={5,6}', Number)).toEqual([5, 6]);
    expect(parsePgArray('{1,NULL,3}', Number)).toEqual([1, null, 3]);
    expect(parsePgArray('{(0,0),(1,1);(2,2),(3,3)}', undefined, ';')).toEqual(['(0,0),(1,1)', '(2,2),(3,3)']);
  });
  it('refuses what is not an array literal', () => {
    expect(() => parsePgArray('a,b')).toThrow(/malformed array/);
    expect(() => parsePgArray('{"open')).toThrow(/malformed array/);
  });
});
