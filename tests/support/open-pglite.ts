// Opens the embedded database at argv[2] in a separate process and reports what happened.
import { PgliteDb } from '../../src/lib/db/pglite';

try {
  const db = await PgliteDb.open(process.argv[2]);
  await db.close();
  console.log('OPENED');
} catch (err) {
  console.log(`REFUSED ${(err as Error).message}`);
}
