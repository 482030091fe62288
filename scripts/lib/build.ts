import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export const nextBin = path.resolve('node_modules', 'next', 'dist', 'bin', 'next');

function newestMtime(entry: string): number {
  if (!fs.existsSync(entry)) return 0;
  const stat = fs.statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...fs.readdirSync(entry).map((e) => newestMtime(path.join(entry, e))));
}

/** True when there is no production build or a source it depends on is newer than it. */
export function buildIsStale(): boolean {
  const id = path.join('.next', 'BUILD_ID');
  if (!fs.existsSync(id)) return true;
  const built = fs.statSync(id).mtimeMs;
  return ['src', 'next.config.ts', 'cronwarden.config.ts', 'package-lock.json', 'vercel.json', 'scheduler.json', 'tsconfig.json'].some((p) => newestMtime(p) > built);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** One build at a time in this folder: concurrent `next build`s would corrupt .next. */
function withBuildLock<T>(fn: () => T): T {
  const lock = path.resolve('.next-build.lock');
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch {
      const holder = Number(fs.readFileSync(lock, 'utf8') || 0);
      if (!holder || !pidAlive(holder)) fs.rmSync(lock, { force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    }
  }
  try {
    return fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** Runs `next build` when stale; returns false if the build failed. */
export function buildIfStale(stdio: 'inherit' | 'pipe' = 'inherit'): boolean {
  if (!buildIsStale()) return true;
  return withBuildLock(() => {
    if (!buildIsStale()) return true; // built by whoever held the lock
    const r = spawnSync(process.execPath, [nextBin, 'build'], { stdio, encoding: 'utf8' });
    if (r.status !== 0 && stdio === 'pipe') process.stderr.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
    return r.status === 0;
  });
}
