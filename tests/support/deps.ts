import { Writable } from 'node:stream';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig, type Config } from '../../src/lib/config';
import type { Db } from '../../src/lib/db/types';
import { createLogger } from '../../src/lib/logger';
import { LocalStorage } from '../../src/lib/storage/local';
import type { Storage } from '../../src/lib/storage/types';
import type { JobDeps } from '../../src/lib/cron/types';
import { allFeaturesBound } from '../../src/lib/bindings/features';
import { demoBindings } from '../../src/lib/bindings/spec';

export interface CapturedLogs {
  lines: Record<string, unknown>[];
  raw: string[];
  ofType(type: string): Record<string, unknown>[];
}

export function captureLogs(secrets: string[] = []) {
  const logs: CapturedLogs = {
    lines: [],
    raw: [],
    ofType: (type) => logs.lines.filter((l) => l.type === type),
  };
  const destination = new Writable({
    write(chunk, _enc, cb) {
      const text = chunk.toString();
      logs.raw.push(text);
      for (const line of text.split('\n')) if (line.trim()) logs.lines.push(JSON.parse(line));
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', secrets, destination }), logs };
}

export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ CRON_SECRET: 'test-cron-secret-0123456789', LOG_LEVEL: 'silent', ...env });
}

const tempDirs: string[] = [];
process.once('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** Local storage in a temp folder, removed when the test process exits. */
export function tempStorage(): LocalStorage {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cw-storage-'));
  tempDirs.push(dir);
  return new LocalStorage(dir);
}

/** JobDeps for a test: a fixed clock, captured logs, local storage in a temp folder. */
export function testDeps(db: Db, overrides: Partial<JobDeps> & { env?: Record<string, string> } = {}) {
  const config = overrides.config ?? testConfig(overrides.env);
  const { log, logs } = captureLogs(config.secrets);
  const storage: Storage = overrides.storage ?? tempStorage();
  const deps: JobDeps = {
    db,
    storage,
    config,
    log: overrides.log ?? log,
    now: overrides.now ?? (() => new Date()),
    features: overrides.features ?? allFeaturesBound(),
    bindings: overrides.bindings ?? demoBindings(),
    rules: overrides.rules,
  };
  return { deps, logs };
}
