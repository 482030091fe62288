import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { allRules } from '../../src/lib/alerts/rules';

const doc = fs.readFileSync('docs/alerting.md', 'utf8');

describe('docs/alerting.md documents every rule', () => {
  for (const rule of allRules) {
    it(rule.id, () => {
      // its own section, with threshold, why and what to do
      const start = doc.indexOf(`\n### ${rule.id}\n`);
      expect(start, `no "### ${rule.id}" section`).toBeGreaterThan(0);
      const next = doc.indexOf('\n### ', start + 1);
      const section = doc.slice(start, next < 0 ? undefined : next);
      expect(section).toMatch(/\*\*Threshold:\*\*/);
      expect(section).toMatch(/\*\*Why:\*\*/);
      expect(section).toMatch(/\*\*What to do:\*\*/);
      // and a row in the summary table with its severity and response time
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${rule.id}\` |`));
      expect(row, `no table row for ${rule.id}`).toBeDefined();
      expect(row).toContain(`| ${rule.severity} |`);
      expect(row).toContain(`| ${rule.responseSla} |`);
    });
  }

  it('lists no rule that does not exist', () => {
    const ids = new Set(allRules.map((r) => r.id));
    const documented = [...doc.matchAll(/^### ([a-z_]+\.[a-z_0-9]+)$/gm)].map((m) => m[1]);
    expect(documented.filter((id) => !ids.has(id))).toEqual([]);
  });
});
