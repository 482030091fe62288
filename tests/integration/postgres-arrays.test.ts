import { expect, it } from 'vitest';
import { describeEngines } from '../support/db';

// Array values read back from each engine: NULL elements are null, never the string 'NULL'
// (postgres.js 3.4 read them as 'NULL'; a NULL storage path became an object named "NULL").
describeEngines('array values', (engine) => {
  it('NULL elements are null and a quoted "NULL" is a string, in text, uuid, integer, bigint, boolean and nested arrays', async () => {
    const db = await engine.fresh();
    const [row] = await db.query(
      `select array['a', null, 'NULL', 'x,y', 'q"r', '']::text[] as texts,
              array[null, '00000000-0000-4000-8000-000000000001']::uuid[] as uuids,
              array[1, null]::integer[] as ints,
              array[2, null]::bigint[] as bigints,
              array[true, null]::boolean[] as bools,
              array[array['a', null], array['NULL', 'd']]::text[] as nested,
              array[]::text[] as empty`,
    );
    expect(row).toEqual({
      texts: ['a', null, 'NULL', 'x,y', 'q"r', ''],
      uuids: [null, '00000000-0000-4000-8000-000000000001'],
      ints: [1, null],
      bigints: [2, null],
      bools: [true, null],
      nested: [['a', null], ['NULL', 'd']],
      empty: [],
    });
    // And as parameters: null stays null on the way in.
    const [back] = await db.query<{ n: number }>(`select count(*)::int as n from unnest($1::text[]) x where x is null`, [['a', null, 'NULL']]);
    expect(back.n).toBe(1);
  });
});
