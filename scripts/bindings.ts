/**
 * `npm run bindings`: the SQL through which each feature reaches your tables (the views in schema
 * cronwarden), and the views of your retention policies, compiled from cronwarden.config.ts
 * against your database's catalog.
 *   npm run bindings                        print it
 *   npm run bindings -- --write-migration   write it as supabase/migrations/<timestamp>_cronwarden_bindings.sql
 *                                           (for `supabase db push`; needs DATABASE_URL to read the catalog)
 * The app applies the same SQL itself on PGlite and PostgreSQL; on Supabase push the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { bindingMigration, boundReferenceSources } from '../src/lib/bindings/apply';
import { readCatalog } from '../src/lib/bindings/catalog';
import { bindingTables, compileBindings } from '../src/lib/bindings/compile';
import { loadConfigFile } from './lib/cronwarden-config';
import { ruleMigrationSql } from '../src/lib/policies/apply';
import { compileRules, ruleTables } from '../src/lib/policies/compile';
import { loadConfig } from '../src/lib/config';
import { openDb } from '../src/lib/db';
import { loadDotEnv } from './lib/env';

loadDotEnv();
const write = process.argv.includes('--write-migration');
const config = loadConfig(process.env);
const cronwarden = await loadConfigFile(process.argv);
const bindings = cronwarden.bindings;
const db = await openDb(config.db);
try {
  const compiled = compileBindings(bindings, await readCatalog(db, bindingTables(bindings)));
  // The retention policies and orphan sweeps: their views and references, after the bindings'.
  const rules = compileRules(cronwarden, await readCatalog(db, ruleTables(cronwarden)), config.exports.archivePrefix, boundReferenceSources(compiled));
  const now = new Date();
  const sql = bindingMigration(compiled, now) + ruleMigrationSql(rules);
  for (const c of compiled.values()) for (const p of c.problems) console.error(`! ${p}`);
  for (const c of rules) for (const p of c.problems) console.error(`! ${p}`);
  if (write) {
    const stamp = now.toISOString().replace(/\D/g, '').slice(0, 14);
    const file = path.join('supabase', 'migrations', `${stamp}_cronwarden_bindings.sql`);
    fs.writeFileSync(file, sql);
    console.log(`Wrote ${file}. Review it, then \`supabase db push\`.`);
  } else {
    process.stdout.write(sql);
  }
} finally {
  await db.close();
}
