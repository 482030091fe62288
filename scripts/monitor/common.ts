import fs from 'node:fs';
import path from 'node:path';
import { openToolDb } from '../../src/lib/db/tool-db';
import { DataDirLockedError } from '../../src/lib/db/pglite';
import type { Db } from '../../src/lib/db/types';
import type { MonitorConfig } from './config';

/** The folder every user deletion monitor writes into: REPORTS_DIR/user-deletion. */
export function reportDir(cfg: MonitorConfig): string {
  const dir = path.join(cfg.app.reportsDir, 'user-deletion');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** A file-name-safe UTC timestamp: 2026-11-23T18-35-08Z. */
export function fileStamp(d = new Date()): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '-');
}

/** Written beside the target and renamed, so a reader (or a kill) never sees half a report. */
export function writeJsonAtomic(file: string, data: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(data, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/**
 * The configured database, migrated (not seeded). On the embedded default while the app runs,
 * the app's own database over its loopback socket; if nothing serves it, say what to do.
 */
export async function openMonitorDb(cfg: MonitorConfig): Promise<Db> {
  try {
    return await openToolDb(cfg.app.db);
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      throw new Error(
        `${err.message}\nFor the immediate monitor, set APP_URL (or PROD_APP_URL) and ADMIN_API_TOKEN to read the figures from the running app.`,
      );
    }
    throw err;
  }
}

export { progressBar, type Progress } from '../lib/terminal';

/** Runs a script's main and turns a thrown error into a message and exit code 2. */
export function runMain(main: () => Promise<number | void>): void {
  main().then(
    (code) => process.exit(code ?? 0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
