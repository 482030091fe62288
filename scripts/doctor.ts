/**
 * `npm run doctor`: can Cronwarden run on this database? Per feature: bound or not and why, what
 * each job would touch now (its dry run, nothing changed), the indexes its predicates need that
 * your tables lack (with the `create index concurrently` statement), and notes; per retention
 * policy: bound or not and why, its dry run and the index its selection reads by. Exit 1 when an
 * enabled feature or a policy cannot run, 2 when the database cannot be opened. `--json` for machines.
 */
import { BindingConfigError } from '../src/lib/bindings/spec';
import { loadConfigFile } from './lib/cronwarden-config';
import { ConfigError, loadConfig } from '../src/lib/config';
import { runDoctorIsolated, type DoctorReport } from '../src/lib/doctor';
import { createLogger } from '../src/lib/logger';
import { openDb } from '../src/lib/db';
import { openJobDeps } from '../src/lib/world';
import { loadDotEnv } from './lib/env';

const json = process.argv.includes('--json');
loadDotEnv();

let report: DoctorReport;
try {
  const config = loadConfig(process.env);
  const cronwarden = await loadConfigFile(process.argv);
  const db = await openDb(config.db, { demo: 'off' });
  try {
    // The config's bindings are applied inside the rolled-back transaction too: a candidate
    // never reaches the views a running app reads.
    const log = createLogger({ level: 'silent', secrets: config.secrets });
    report = await runDoctorIsolated(db, (d) => openJobDeps(config, { db: d, bindings: cronwarden.bindings, cronwarden, log }), cronwarden);
  } finally {
    await db.close();
  }
} catch (err) {
  if (err instanceof ConfigError || err instanceof BindingConfigError) {
    console.error(err.message);
    process.exit(1);
  }
  console.error(`Cannot open the database: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}

if (json) {
  console.log(JSON.stringify(report, null, 2));
} else {
  const color = process.stdout.isTTY ? (code: number, s: string) => `\x1b[${code}m${s}\x1b[0m` : (_: number, s: string) => s;
  for (const f of report.features) {
    const state = !f.enabled ? color(90, 'switched off') : f.bound ? color(32, 'bound') : color(31, 'NOT BOUND');
    console.log(`\n${f.title} (${f.feature}): ${state}${f.tables.length ? ` — ${f.tables.join(', ')}` : ''}`);
    for (const p of f.problems) console.log(`  ✗ ${p}`);
    for (const d of f.dryRuns) {
      if (d.error) {
        console.log(`  ✗ ${d.job} dry run failed: ${d.error}`);
        continue;
      }
      const counts = Object.entries(d.result ?? {})
        .filter(([k, v]) => typeof v === 'number' && v !== 0 && /(count|found|would_|bytes|pending|due)/.test(k) && k !== 'rows_affected')
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      console.log(`  • ${d.job} would now: ${counts || 'nothing to do'}`);
    }
    for (const i of f.indexes.filter((x) => !x.present)) {
      console.log(`  ! missing index on ${i.table} (${i.column}): ${i.why}\n      ${i.statement}`);
    }
    for (const n of f.notes) console.log(`  i ${n}`);
  }
  for (const p of report.policies) {
    const kind = p.kind === 'policy' ? 'Retention policy' : 'Orphan sweep';
    console.log(`\n${kind} ${p.name} (${p.job}): ${p.bound ? color(32, 'bound') : color(31, 'NOT BOUND')}${p.index ? ` — ${p.index.table}` : ''}`);
    for (const line of p.problems) console.log(`  ✗ ${line}`);
    if (p.dryRun?.error) console.log(`  ✗ dry run failed: ${p.dryRun.error}`);
    else if (p.dryRun?.result) {
      const r = p.dryRun.result;
      if (p.kind === 'orphanSweep') {
        console.log(`  • would now remove ${r.would_remove_count} of ${r.objects_listed} objects under ${r.prefix} (${r.would_free_bytes} bytes), last modified before ${r.older_than}`);
      } else {
        const count = r.would_delete_count ?? r.would_update_count ?? 0;
        console.log(`  • would now ${r.action} ${count} rows (${r.would_affect_bytes ?? 0} bytes), older than ${r.cutoff_time}`);
      }
    }
    if (p.index && !p.index.present) console.log(`  ! no index on ${p.index.table} (${p.index.column}) for its selection:\n      ${p.index.statement}`);
  }
  console.log(report.ok ? `\n${color(32, 'Every enabled feature, retention policy and orphan sweep can run.')}` : `\n${color(31, 'An enabled feature, a retention policy or an orphan sweep cannot run: fix it in cronwarden.config.ts (or switch the feature off, enabled: false).')}`);
}
process.exit(report.ok ? 0 : 1);
