import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

/** Where Debian's `prometheus` package puts Prometheus's own linter. */
export const PROMTOOL = '/usr/bin/promtool';

export const hasPromtool = () => fs.existsSync(PROMTOOL);

/**
 * `promtool check metrics` on a text exposition: its complaints, one per line (empty when it
 * accepts the text). A parse error counts as a complaint too.
 */
export function promtoolProblems(exposition: string): string[] {
  const res = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 30_000 });
  if (res.error) throw res.error;
  const lines = `${res.stdout}\n${res.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
  if (res.status !== 0 && lines.length === 0) return [`promtool exited ${res.status} without a message`];
  return lines;
}
