import { configuredChannels, NO_ALERT_CHANNEL_WARNING } from './alerts/channels';
import { getApp } from './app';
import { ConfigError, type Config } from './config';
import { jobNames } from './cron/registry';
import type { Logger } from './logger';
import { METRICS_REFUSED_MESSAGE, metricsAccess } from './monitoring/metrics-access';

/**
 * What the app says once when its server starts: settings that are valid but leave an operator
 * uninformed. One warning line each: `alert_channels_missing` (alerts would be sent nowhere),
 * `metrics_token_missing` (a server deployment without METRICS_TOKEN: /api/metrics answers 503),
 * `ping_url_unknown_job` (a PING_URL_<JOB> naming no job, so it would never be pinged).
 */
export function announceStartup(config: Config, log: Logger, jobNames: readonly string[]): void {
  if (configuredChannels(config).length === 0) {
    log.warn({ type: 'alert_channels_missing', alert_channels: [] }, NO_ALERT_CHANNEL_WARNING);
  }
  if (metricsAccess(config) === 'refused') log.warn({ type: 'metrics_token_missing' }, METRICS_REFUSED_MESSAGE);
  for (const job of Object.keys(config.pings)) {
    if (jobNames.includes(job)) continue;
    const variable = `PING_URL_${job.toUpperCase().replace(/-/g, '_')}`;
    log.warn(
      { type: 'ping_url_unknown_job', variable, jobs: jobNames },
      `${variable} names no job, so nothing will ping it; jobs: ${jobNames.join(', ')}`,
    );
  }
}

/** The server's start: the app's own configuration and jobs. */
export function announceAppStart(): void {
  try {
    const app = getApp();
    announceStartup(app.config, app.log, jobNames);
  } catch (err) {
    // An invalid environment is reported by the routes (SERVER_MISCONFIGURED) and by `npm start`.
    if (!(err instanceof ConfigError)) throw err;
  }
}
