import userConfig from '../../../cronwarden.config';
import { parseCronwardenConfig, type CronwardenConfig } from './spec';

let cached: CronwardenConfig | undefined;

/**
 * The project's cronwarden.config.ts, parsed once (compiled into the build like next.config.ts;
 * scripts import it through tsx). Throws BindingConfigError, one line per problem.
 */
export function getCronwardenConfig(): CronwardenConfig {
  cached ??= parseCronwardenConfig(userConfig);
  return cached;
}
