import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobs } from '../../src/lib/cron/registry';
import { cronEntries, describeSchedule, intervalMs, jobNameOfPath, nextRuns } from '../../src/lib/cron/schedule';

const routeFile = (name: string) => path.join('src', 'app', 'api', 'cron', name, 'route.ts');

describe('vercel.json, the registry and the route files agree', () => {
  const entries = cronEntries();

  it('every job has exactly one cron entry', () => {
    for (const job of jobs) {
      expect(entries.filter((e) => jobNameOfPath(e.path) === job.name), job.name).toHaveLength(1);
    }
  });

  it('every entry points at a registered job with a route file', () => {
    for (const e of entries) {
      const name = jobNameOfPath(e.path);
      expect(name, e.path).toBeDefined();
      expect(jobs.some((j) => j.name === name), e.path).toBe(true);
      expect(fs.existsSync(routeFile(name!)), routeFile(name!)).toBe(true);
    }
  });

  it('every schedule parses, fires within its period, and reads as text', () => {
    for (const e of entries) {
      expect(() => nextRuns(e.schedule, 2), e.schedule).not.toThrow();
      expect(intervalMs(e.schedule)).toBeGreaterThan(0);
      expect(describeSchedule(e.schedule)).toMatch(/UTC/);
    }
  });

  it("each route file declares maxDuration equal to its job's, and force-dynamic", () => {
    for (const job of jobs) {
      const src = fs.readFileSync(routeFile(job.name), 'utf8');
      expect(src, job.name).toMatch(/export const dynamic = 'force-dynamic'/);
      const m = /export const maxDuration = (\d+)/.exec(src);
      expect(m, job.name).not.toBeNull();
      expect(Number(m![1]), job.name).toBe(job.maxDurationSeconds);
    }
  });

  it('no cron route exists without a job', () => {
    const dirs = fs.readdirSync(path.join('src', 'app', 'api', 'cron'));
    for (const d of dirs) expect(jobs.some((j) => j.name === d), d).toBe(true);
  });
});
