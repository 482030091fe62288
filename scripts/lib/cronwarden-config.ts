import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { getCronwardenConfig } from '../../src/lib/bindings/load';
import { parseCronwardenConfig, type CronwardenConfig } from '../../src/lib/bindings/spec';

/**
 * The project's cronwarden.config.ts, or the file named by `--config <file>` (to check a candidate
 * before it is deployed). Throws BindingConfigError, one line per problem.
 */
export async function loadConfigFile(argv: string[]): Promise<CronwardenConfig> {
  const i = argv.indexOf('--config');
  if (i < 0) return getCronwardenConfig();
  const file = argv[i + 1];
  if (!file) throw new Error('--config needs a file');
  const mod = (await import(pathToFileURL(path.resolve(file)).href)) as { default?: unknown };
  const value = (mod.default as { default?: unknown } | undefined)?.default ?? mod.default;
  return parseCronwardenConfig(value);
}
