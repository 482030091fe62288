import { rpcStatement, type SqlDb } from './types';

/** Carries `fn`'s value out of a transaction that must not commit. */
class RolledBack<T> extends Error {
  constructor(readonly value: T) {
    super('rolled back on purpose');
  }
}

/**
 * Runs `fn` with a SqlDb bound to one transaction of `db` that is always rolled back: whatever
 * `fn` writes (views replaced, rows) is seen by `fn` alone and never by anyone else, and is gone
 * afterwards. Other sessions wait on the locks `fn` takes until it returns. A nested
 * `transaction` runs inside the same one. Returns `fn`'s value; rethrows its errors.
 */
export async function inRolledBackTransaction<T>(db: SqlDb, fn: (tx: SqlDb) => Promise<T>): Promise<T> {
  try {
    await db.transaction(async (tx) => {
      const scoped: SqlDb = {
        driver: db.driver,
        query: (sql, params) => tx.query(sql, params),
        exec: (sql) => tx.exec(sql),
        rpc: (name, args) => {
          const s = rpcStatement(name, args);
          return tx.query(s.sql, s.params);
        },
        transaction: (inner) => inner(tx),
        close: async () => {},
      };
      throw new RolledBack(await fn(scoped));
    });
  } catch (err) {
    if (err instanceof RolledBack) return err.value as T;
    throw err;
  }
  throw new Error('inRolledBackTransaction: the transaction committed');
}
