import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { exportLogCleanup } from '../../src/lib/jobs/export-log-cleanup';
import { createStorage } from '../../src/lib/storage';
import { describeEngines } from '../support/db';
import { testConfig, testDeps } from '../support/deps';

// The archive goes through the Storage port: here the S3 adapter against s3rver.
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
let child: ChildProcess | undefined;
let url = '';
let dir = '';
let buckets = 0;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'cw-export-s3-'));
  const s3rverPath = createRequire(import.meta.url).resolve('s3rver');
  const script = `
    const S3rver = require(${JSON.stringify(s3rverPath)});
    new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: ${JSON.stringify(dir)} })
      .run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + '\\n'));
    process.stdin.on('end', () => process.exit(0)).resume();
  `;
  child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (c: Buffer) => {
      out += c.toString('utf8');
      if (out.includes('\n')) resolve((JSON.parse(out.split('\n')[0]) as { port: number }).port);
    });
    child!.once('exit', (code) => reject(new Error(`s3rver exited early with code ${code}`)));
  });
  url = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  if (child && child.exitCode === null) {
    const exited = new Promise((r) => child!.once('exit', r));
    child.stdin?.end();
    await Promise.race([exited, new Promise((r) => setTimeout(r, 2000))]);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const NOW = new Date('2026-12-01T03:00:00Z');
const DAY = 86_400_000;

describeEngines('export log archive on S3', (engine) => {
  it('writes, verifies and reads back gzipped NDJSON batches through the S3 adapter', async () => {
    const db = await engine.fresh();
    const bucket = `exports-${++buckets}`;
    const admin = new S3Client({ region: 'us-east-1', endpoint: url, forcePathStyle: true, credentials });
    await admin.send(new CreateBucketCommand({ Bucket: bucket }));
    admin.destroy();
    const config = testConfig({
      STORAGE_DRIVER: 's3',
      STORAGE_BUCKET: bucket,
      S3_ENDPOINT: url,
      S3_FORCE_PATH_STYLE: 'true',
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      EXPORT_ARCHIVE_ENABLED: 'true',
    });
    const storage = createStorage(config.storage);
    const ids: string[] = [];
    for (let i = 1; i <= 7; i++) {
      const id = `1c000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      ids.push(id);
      await db.rpc('export_record', {
        p_export_id: id,
        p_user_id: '1d000000-0000-4000-8000-000000000001',
        p_format: 'csv',
        p_status: 'expired',
        p_error_message: i === 3 ? 'multi-byte: é ✓ 日本' : null,
        p_created_at: new Date(NOW.getTime() - (40 + i) * DAY),
      });
    }
    const { deps } = testDeps(db, { storage, config, now: () => NOW });
    const out = await exportLogCleanup(deps, { batchSize: 3 });
    expect(out).toMatchObject({ deleted_count: 7, archived_count: 7, archive_objects: 3, failed: false });

    const objects = await storage.list('archive/export-logs/');
    const gz = objects.filter((o) => o.path.endsWith('.ndjson.gz'));
    expect(gz).toHaveLength(3);
    const archived: Record<string, unknown>[] = [];
    for (const o of gz) {
      const bytes = (await storage.get(o.path))!;
      const manifest = JSON.parse(Buffer.from((await storage.get(o.path.replace('.ndjson.gz', '.manifest.json')))!).toString());
      expect(manifest.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      archived.push(...gunzipSync(bytes).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)));
    }
    expect(archived.map((r) => r.export_id).sort()).toEqual(ids);
    expect(archived.find((r) => r.export_id === ids[2])!.error_message).toBe('multi-byte: é ✓ 日本');
    expect(await db.query(`select export_id from export_logs`)).toEqual([]);
  });
});
