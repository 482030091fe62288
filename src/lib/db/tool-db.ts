import type { DbSettings } from '../config';
import { openDb } from './index';
import { DataDirLockedError } from './pglite';
import { connectServedPglite } from './pglite-socket-client';
import type { Db } from './types';

/**
 * For command-line tools (monitors, run-job, test scripts): the configured database, as openDb
 * opens it. On the embedded default, when a running app holds the data dir, the app's own
 * database over its loopback socket instead (already migrated by the app, so not migrated here).
 * Throws DataDirLockedError when the holder serves nothing within `waitMs` (another tool, or an
 * app still opening the database).
 */
export async function openToolDb(settings: DbSettings, options: { waitMs?: number } = {}): Promise<Db> {
  try {
    return await openDb(settings);
  } catch (err) {
    if (!(err instanceof DataDirLockedError) || settings.driver !== 'pglite' || err.holderPid === process.pid) throw err;
    const served = await connectServedPglite(settings.dataDir, { holderPid: err.holderPid, waitMs: options.waitMs });
    if (!served) throw err;
    return served;
  }
}
