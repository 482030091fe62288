import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isSqlDb, type Db } from '../db/types';
import { LocalStorage } from '../storage/local';
import type { Storage } from '../storage/types';

/** Orphaned uploads the demo ships (no row references them), and how old each one is (ms). */
export const DEMO_ORPHANS: readonly { path: string; ageMs: number }[] = [
  { path: 'uploads/abandoned/scan-2026-q3.pdf', ageMs: 3 * 86_400_000 },
  { path: 'uploads/abandoned/avatar-unused.png', ageMs: 5 * 86_400_000 },
  // Younger than the example sweep's one-day grace: an upload whose row is not written yet.
  { path: 'uploads/abandoned/in-flight.pdf', ageMs: 10 * 60_000 },
];

/**
 * Writes the demo app's stored objects into local-folder storage, right after the demo rows
 * were applied: one small file per `file_uploads` row under `uploads/`, dated as its row (so user
 * deletion has files to remove, and the sweep meets old objects that rows reference), and
 * DEMO_ORPHANS, dated back by their age (mtime), for the example orphan sweep to find.
 * Objects that exist are left as they are. Does nothing on other storage drivers (a team's
 * bucket is never written by the demo) or without SQL access. Returns how many it wrote.
 */
export async function placeDemoObjects(db: Db, storage: Storage, now: Date = new Date()): Promise<number> {
  if (!(storage instanceof LocalStorage) || !isSqlDb(db)) return 0;
  const rows = await db.query<{ storage_path: string; created_at: Date }>(
    `select storage_path, created_at from file_uploads where storage_path like 'uploads/%' order by storage_path`,
  );
  let written = 0;
  const place = async (objectPath: string, body: string, mtime?: Date) => {
    if (await storage.exists(objectPath)) return;
    await storage.put(objectPath, body);
    if (mtime) await fs.utimes(path.join(storage.root, objectPath), mtime, mtime);
    written++;
  };
  for (const r of rows) await place(r.storage_path, `demo upload ${r.storage_path}\n`, new Date(r.created_at));
  for (const o of DEMO_ORPHANS) await place(o.path, `demo orphan ${o.path}\n`, new Date(now.getTime() - o.ageMs));
  return written;
}
