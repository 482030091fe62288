/**
 * A process that deletes one user and stops for good at a chosen point after the commit, so
 * that a test can kill it there (tests/integration/user-deletion-crash.test.ts). Environment:
 *   CW_DB_URL or CW_PGLITE_DIR   the database (migrated and bound by the test)
 *   CW_STORAGE_ROOT              the local storage folder
 *   CW_USER_ID, CW_NOW           who to delete, and the clock
 *   CW_STOP                      after-commit: at the first storage call (nothing removed yet);
 *                                mid-removal: the first page removed and settled, then half of
 *                                the second page removed and the process stops before it settles
 * Prints one line `stopped <mode>` when it has stopped; the test kills it with SIGKILL.
 */
import { PgliteDb } from '../../src/lib/db/pglite';
import { PostgresDb } from '../../src/lib/db/postgres';
import type { Db } from '../../src/lib/db/types';
import { createLogger } from '../../src/lib/logger';
import { LocalStorage } from '../../src/lib/storage/local';
import type { RemoveResult, Storage } from '../../src/lib/storage/types';
import { deleteUser } from '../../src/lib/users/delete-user';

const env = process.env;

async function main() {
  const db: Db = env.CW_DB_URL ? PostgresDb.connect(env.CW_DB_URL, 2) : await PgliteDb.open(env.CW_PGLITE_DIR as string);
  const local = new LocalStorage(env.CW_STORAGE_ROOT as string);
  const mode = env.CW_STOP;
  const stopForGood = (): Promise<never> => {
    process.stdout.write(`stopped ${mode}\n`);
    setInterval(() => {}, 60_000);
    return new Promise<never>(() => {});
  };
  let calls = 0;
  const storage: Storage = {
    driver: 'local',
    put: (p, b) => local.put(p, b),
    get: (p) => local.get(p),
    exists: (p) => local.exists(p),
    list: (p, o) => local.list(p, o),
    async remove(paths): Promise<RemoveResult> {
      calls++;
      if (mode === 'after-commit') return stopForGood();
      if (calls === 1) return local.remove(paths);
      await local.remove(paths.slice(0, Math.floor(paths.length / 2)));
      return stopForGood();
    },
  };
  const now = new Date(env.CW_NOW as string);
  await deleteUser(
    { db, storage, log: createLogger({ level: 'silent' }), now: () => now, archivePrefix: 'archive/export-logs' },
    env.CW_USER_ID as string,
    { actor: 'crash-test' },
  );
  process.stdout.write('finished\n');
  await db.close();
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
