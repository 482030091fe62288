import fs from 'node:fs';
import path from 'node:path';
import { bindFeatures } from '../../src/lib/bindings/apply';
import type { FeatureStates } from '../../src/lib/bindings/features';
import { parseCronwardenConfig, type Bindings } from '../../src/lib/bindings/spec';
import type { SqlDb } from '../../src/lib/db/types';
import fixtureConfig from '../fixtures/existing-app.config';
import type { Engine } from './db';

export const EXISTING_APP_SQL = fs.readFileSync(path.join(import.meta.dirname, '..', 'fixtures', 'existing-app.sql'), 'utf8');

export interface ExistingApp {
  db: SqlDb;
  bindings: Bindings;
  features: FeatureStates;
}

/**
 * A database with only Cronwarden's schema and an existing app's own tables
 * (tests/fixtures/existing-app.sql), bound by tests/fixtures/existing-app.config.ts, or by
 * `bindings` (the demo defaults, to see what an unconfigured install reports).
 */
export async function existingApp(engine: Engine, bindings: Bindings = parseCronwardenConfig(fixtureConfig).bindings): Promise<ExistingApp> {
  const db = await engine.fresh({ bare: true });
  await db.exec(EXISTING_APP_SQL);
  const { features } = await bindFeatures(db, bindings);
  return { db, bindings, features };
}

/** The fixture's binding file, parsed. */
export function existingAppBindings(): Bindings {
  return parseCronwardenConfig(fixtureConfig).bindings;
}
