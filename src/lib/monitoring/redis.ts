import { Redis } from 'ioredis';

/** Keys of in-progress draft sessions (one key per open create-course form). */
export const DRAFT_SESSION_PATTERN = 'draft:session:*';

export type RedisHealth =
  | { status: 'not_configured' }
  | {
      status: 'ok';
      latency_ms: number;
      pattern: string;
      /** Keys matching the pattern that the scan saw. */
      draft_session_keys: number;
      /** False when the scan stopped at its bound: then draft_session_keys is a lower bound. */
      complete: boolean;
    }
  | { status: 'unreachable'; error: string };

export interface RedisCheckOptions {
  pattern?: string;
  /** Stop scanning after this many keys examined (SCAN visits the keyspace in steps). */
  maxScannedKeys?: number;
  /** Keys per SCAN step (the COUNT hint). */
  scanCount?: number;
  connectTimeoutMs?: number;
  /** The whole check, connect and scan included, ends by this time. */
  totalTimeoutMs?: number;
}

function redact(message: string, url: string): string {
  let out = message;
  try {
    const u = new URL(url);
    for (const s of [u.password, decodeURIComponent(u.password)]) if (s && s.length >= 2) out = out.split(s).join('***');
  } catch {
    // not a URL: nothing to redact
  }
  return out.slice(0, 300);
}

/**
 * Pings Redis and counts draft-session keys with SCAN (never KEYS), bounded in keys and time.
 * No URL → `not_configured`; any failure (refused, timeout, auth) → `unreachable` with a short
 * message; never throws.
 */
export async function checkRedis(url: string | undefined, options: RedisCheckOptions = {}): Promise<RedisHealth> {
  if (!url) return { status: 'not_configured' };
  const pattern = options.pattern ?? DRAFT_SESSION_PATTERN;
  const maxScanned = options.maxScannedKeys ?? 100_000;
  const scanCount = options.scanCount ?? 1000;
  const totalTimeoutMs = options.totalTimeoutMs ?? 5_000;
  let client: Redis | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: options.connectTimeoutMs ?? 1_500,
      commandTimeout: totalTimeoutMs,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      reconnectOnError: () => false,
    });
    client.on('error', () => {
      // reported through the failed command below; without a listener ioredis prints it
    });
    const c = client;
    const work = (async (): Promise<RedisHealth> => {
      const t0 = performance.now();
      await c.connect();
      await c.ping();
      const latency = Math.round((performance.now() - t0) * 100) / 100;
      let cursor = '0';
      let found = 0;
      let scanned = 0;
      let complete = false;
      for (;;) {
        const [next, keys] = await c.scan(cursor, 'MATCH', pattern, 'COUNT', scanCount);
        // SCAN examines about COUNT keys per step whether or not they match.
        scanned += scanCount;
        found += keys.length;
        cursor = next;
        if (cursor === '0') {
          complete = true;
          break;
        }
        if (scanned >= maxScanned) break;
      }
      return { status: 'ok', latency_ms: latency, pattern, draft_session_keys: found, complete };
    })();
    work.catch(() => {}); // a late failure after the timeout won must not go unhandled
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis check timed out after ${totalTimeoutMs} ms`)), totalTimeoutMs);
    });
    return await Promise.race([work, timeout]);
  } catch (err) {
    return { status: 'unreachable', error: redact(err instanceof Error ? err.message : String(err), url) };
  } finally {
    if (timer) clearTimeout(timer);
    client?.disconnect();
  }
}
