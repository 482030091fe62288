import fs from 'node:fs';
import postgres from 'postgres';
import { z } from 'zod';
import { PostgresDb } from './postgres';
import { socketInfoPath, type SocketInfo } from './pglite-socket-server';

const socketInfoSchema = z.object({
  host: z.literal('127.0.0.1'),
  port: z.number().int().min(1).max(65535),
  pid: z.number().int().positive(),
  user: z.string().min(1),
  password: z.string().min(16),
  database: z.string().min(1),
  started_at: z.string(),
});

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Where the process holding the embedded database at `dataDir` serves it (see servePglite), or
 * null when no live process does (no file, an unreadable one, or one left by a dead process).
 */
export function readSocketInfo(dataDir: string): SocketInfo | null {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(socketInfoPath(dataDir), 'utf8'));
  } catch {
    return null;
  }
  const parsed = socketInfoSchema.safeParse(raw);
  if (!parsed.success || !pidAlive(parsed.data.pid)) return null;
  return parsed.data;
}

/**
 * Connects to the embedded database served by the process `holderPid` (the app), waiting up to
 * `waitMs` for it to publish its connection file (it does right after opening the database).
 * Returns null when nothing is served in time. One connection, no prepared statements: every
 * client shares PGlite's one backend, where named statements would pile up.
 */
export async function connectServedPglite(
  dataDir: string,
  options: { holderPid?: number; waitMs?: number } = {},
): Promise<PostgresDb | null> {
  const until = Date.now() + (options.waitMs ?? 10_000);
  for (;;) {
    const info = readSocketInfo(dataDir);
    if (info && (options.holderPid === undefined || info.pid === options.holderPid)) {
      const sql = postgres({
        host: info.host,
        port: info.port,
        user: info.user,
        password: info.password,
        database: info.database,
        max: 1,
        prepare: false,
        onnotice: () => {},
        connect_timeout: 10,
        idle_timeout: 30,
      });
      const db = new PostgresDb(sql);
      await db.query('select 1');
      return db;
    }
    if (Date.now() >= until) return null;
    await new Promise((r) => setTimeout(r, 200));
  }
}
