/** Child process for tests: `tsx tests/support/tool-db-query.ts <dataDir> <sql>` prints the rows as JSON, or `REFUSED <message>`. */
import { openToolDb } from '../../src/lib/db/tool-db';
import { isSqlDb } from '../../src/lib/db/types';

const [dataDir, sql] = process.argv.slice(2);
try {
  const db = await openToolDb({ driver: 'pglite', dataDir }, { waitMs: 2000 });
  if (!isSqlDb(db)) throw new Error('not a SQL database');
  console.log(JSON.stringify({ driver: db.driver, rows: await db.query(sql) }));
  await db.close();
} catch (err) {
  console.log(`REFUSED ${err instanceof Error ? err.message : String(err)}`);
}
