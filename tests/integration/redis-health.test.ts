import net from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { draftRedisUnreachableRule } from '../../src/lib/alerts/rules/drafts';
import { breaches } from '../../src/lib/alerts/types';
import { draftQueries } from '../../src/lib/monitoring/drafts';
import { checkRedis, DRAFT_SESSION_PATTERN } from '../../src/lib/monitoring/redis';
import { engines } from '../support/db';
import { captureLogs, testConfig } from '../support/deps';
import { HOUR, insertCourse, insertOrg } from '../support/drafts';
import { freePort, redisServerPath, startRedis, type RunningRedis } from '../support/redis';

const NOW = new Date('2026-03-11T12:30:00Z');
const [pglite] = engines();

describe('Redis health without a server', () => {
  it('no REDIS_URL: not_configured, never an error', async () => {
    expect(await checkRedis(undefined)).toEqual({ status: 'not_configured' });
    expect(await checkRedis('')).toEqual({ status: 'not_configured' });
    expect(draftRedisUnreachableRule.enabled!(testConfig())).toBe(false);
    const { log } = captureLogs();
    expect(await draftRedisUnreachableRule.observe({ db: undefined as never, config: testConfig(), now: NOW, log })).toEqual([]);
  });

  it('a refused port: unreachable with the error, quickly, and without the password', async () => {
    const port = await freePort();
    const t0 = Date.now();
    const r = await checkRedis(`redis://:s3cret-pass@127.0.0.1:${port}`);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.status).toBe('unreachable');
    if (r.status !== 'unreachable') return;
    expect(r.error).toMatch(/ECONNREFUSED|connect/i);
    expect(r.error).not.toContain('s3cret-pass');
  });

  it('a server that accepts but never answers: unreachable after the time limit', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const t0 = Date.now();
      const r = await checkRedis(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 300, totalTimeoutMs: 600 });
      const took = Date.now() - t0;
      expect(r.status).toBe('unreachable');
      expect(took).toBeGreaterThanOrEqual(250);
      expect(took).toBeLessThan(2000);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(() => r(undefined)));
    }
  });

  it('the unreachable rule observes 1 (breach) when REDIS_URL points at nothing', async () => {
    const config = testConfig({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    expect(draftRedisUnreachableRule.enabled!(config)).toBe(true);
    const { log } = captureLogs();
    const [obs] = await draftRedisUnreachableRule.observe({ db: undefined as never, config, now: NOW, log });
    expect(obs.value).toBe(1);
    expect(breaches(draftRedisUnreachableRule, obs.value)).toBe(true);
    expect(obs.details).toMatchObject({ status: 'unreachable' });
  });
});

const bin = redisServerPath();
if (!bin) {
  console.warn('redis-server is not installed: skipping the tests against a real Redis (apt-get install -y redis-server)');
}

describe.skipIf(!bin)('Redis health against a real redis-server', () => {
  let server: RunningRedis;
  let client: Redis;
  beforeAll(async () => {
    server = await startRedis(bin!);
    client = new Redis(server.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await client.connect();
  });
  afterAll(async () => {
    client?.disconnect();
    await server?.stop();
  });

  it('pings and counts draft-session keys with SCAN, never KEYS', async () => {
    await client.flushall();
    await client.mset('draft:session:a', '1', 'draft:session:b', '1', 'draft:session:c', '1', 'draft:other', '1', 'user:1', '1');
    await client.config('RESETSTAT');
    const r = await checkRedis(server.url);
    expect(r).toMatchObject({ status: 'ok', pattern: DRAFT_SESSION_PATTERN, draft_session_keys: 3, complete: true });
    if (r.status === 'ok') expect(r.latency_ms).toBeGreaterThanOrEqual(0);
    const stats = await client.info('commandstats');
    expect(stats).toMatch(/cmdstat_scan:/);
    expect(stats).not.toMatch(/cmdstat_keys:/);
  });

  it('bounds the scan and says when the count is incomplete', async () => {
    await client.flushall();
    const args: string[] = [];
    for (let i = 0; i < 2500; i++) args.push(`draft:session:${i}`, '1');
    await client.mset(...args);
    const bounded = await checkRedis(server.url, { scanCount: 100, maxScannedKeys: 500 });
    expect(bounded.status).toBe('ok');
    if (bounded.status !== 'ok') return;
    expect(bounded.complete).toBe(false);
    expect(bounded.draft_session_keys).toBeGreaterThan(0);
    expect(bounded.draft_session_keys).toBeLessThan(2500);
    expect(await checkRedis(server.url)).toMatchObject({ status: 'ok', draft_session_keys: 2500, complete: true });
  });

  it('feeds the key count into the consistency query; the rule clears while Redis answers', async () => {
    await client.flushall();
    await client.mset('draft:session:x', '1', 'draft:session:y', '1', 'draft:session:z', '1');
    const db = await pglite.fresh();
    const org = await insertOrg(db, 'Org');
    await insertCourse(db, { org, created_at: new Date(NOW.getTime() - 2 * HOUR) }); // unused, in the window
    const config = testConfig({ REDIS_URL: server.url });
    const out = await draftQueries['redis-consistency'].run({ db, config, now: NOW }, {});
    expect(out.redis).toMatchObject({ status: 'ok', draft_session_keys: 3 });
    expect(out.rows).toEqual([
      { source: 'database', draft_count: 1, unused_count: 1, share_percentage: 25 },
      { source: 'redis', draft_count: 3, unused_count: 3, share_percentage: 75 },
    ]);
    const { log } = captureLogs();
    const [obs] = await draftRedisUnreachableRule.observe({ db, config, now: NOW, log });
    expect(obs.value).toBe(0);
    expect(breaches(draftRedisUnreachableRule, obs.value)).toBe(false);
  });
});
