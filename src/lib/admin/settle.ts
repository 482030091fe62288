import { getApp } from '../app';
import { isDatabaseUnavailable } from '../db/availability';
import { scrubSecrets } from '../logger';

export type Settled<T> = { ok: true; value: T } | { ok: false; message: string };

/**
 * Loads one admin panel's data without taking the whole page down: a failure is logged
 * (`admin_panel_failed`) and the panel shows the message instead of its charts.
 */
export async function settle<T>(panel: string, load: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await load() };
  } catch (err) {
    const { log, config } = getApp();
    // An unreachable database is logged once by the app, not once per panel.
    if (!isDatabaseUnavailable(err)) log.error({ type: 'admin_panel_failed', panel, err }, 'admin panel data could not be loaded');
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, message: scrubSecrets(message, config.secrets).slice(0, 300) };
  }
}
