import fs from 'node:fs';
import path from 'node:path';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import { rpcStatement, type Row, type SqlDb, type SqlTx } from './types';

export class DataDirLockedError extends Error {
  readonly code = 'DATA_DIR_LOCKED';
  constructor(
    dir: string,
    /** The process holding the data dir. */
    readonly holderPid: number,
  ) {
    super(
      `The embedded database at ${dir} is ${holderPid === process.pid ? 'already open in this process' : `open in another process (pid ${holderPid})`}. ` +
        'PGlite allows one process per data directory. Stop that process (for example the app started ' +
        'by `npm start`) or call the running app over HTTP (curl /api/cron/...), or point this command ' +
        'at a PostgreSQL server with DATABASE_URL.',
    );
    this.name = 'DataDirLockedError';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// Data dirs this process has open. On globalThis: Next can load our modules more than once in
// one process, and a lock file holding our own pid cannot tell those copies apart.
const openHere = ((globalThis as { __cronwardenPgliteDirs?: Set<string> }).__cronwardenPgliteDirs ??= new Set<string>());

/**
 * An exclusive, crash-safe claim on a data directory: a lock file created with O_EXCL holding our
 * pid. A file left by a dead process is taken over; a live holder makes us refuse, and so does a
 * second open inside this process.
 */
function lockDataDir(dir: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const resolved = path.resolve(dir);
  if (openHere.has(resolved)) throw new DataDirLockedError(dir, process.pid);
  const lockPath = path.join(dir, '..', `${path.basename(dir)}.lock`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = fs.openSync(lockPath, 'wx');
      fs.writeSync(fd, String(process.pid));
      fs.closeSync(fd);
      openHere.add(resolved);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        openHere.delete(resolved);
        try {
          if (fs.readFileSync(lockPath, 'utf8') === String(process.pid)) fs.unlinkSync(lockPath);
        } catch {
          /* already gone */
        }
      };
      process.once('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(fs.readFileSync(lockPath, 'utf8') || '0', 10);
      if (holder && holder !== process.pid && pidAlive(holder)) throw new DataDirLockedError(dir, holder);
      fs.rmSync(lockPath, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`Could not lock ${dir}`);
}

async function rows<T>(pg: Pick<PGlite, 'query'>, sql: string, params?: unknown[]): Promise<T[]> {
  const res = await pg.query<T>(sql, params as unknown[] | undefined);
  return res.rows;
}

export class PgliteDb implements SqlDb {
  readonly driver = 'pglite' as const;
  private constructor(
    readonly pg: PGlite,
    private readonly releaseLock: () => void,
  ) {}

  /** Opens (creating if needed) a database in `dataDir`, or in memory when `dataDir` is undefined. */
  static async open(dataDir?: string, options: PGliteOptions = {}): Promise<PgliteDb> {
    const release = dataDir ? lockDataDir(dataDir) : () => {};
    try {
      const pg = await PGlite.create({ ...options, dataDir });
      return new PgliteDb(pg, release);
    } catch (err) {
      release();
      throw err;
    }
  }

  /** A new in-memory database from a dumped data dir (tests: migrate once, copy per test). */
  static async fromDump(dump: Blob | File): Promise<PgliteDb> {
    const pg = await PGlite.create({ loadDataDir: dump });
    return new PgliteDb(pg, () => {});
  }

  async rpc<T = Row>(fn: string, args?: Record<string, unknown>): Promise<T[]> {
    const { sql, params } = rpcStatement(fn, args);
    return rows<T>(this.pg, sql, params);
  }

  query<T = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return rows<T>(this.pg, sql, params);
  }

  async exec(sql: string): Promise<void> {
    await this.pg.exec(sql);
  }

  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.pg.transaction((tx) =>
      fn({
        query: <R = Row>(sql: string, params?: unknown[]) => rows<R>(tx, sql, params),
        exec: async (sql: string) => {
          await tx.exec(sql);
        },
      }),
    );
  }

  async close(): Promise<void> {
    try {
      if (!this.pg.closed) await this.pg.close();
    } finally {
      this.releaseLock();
    }
  }
}
