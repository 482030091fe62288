import { Cron } from 'croner';
import type { Logger } from '../logger';
import { jobNameOfPath, type CronEntry } from './schedule';

export interface LocalSchedulerOptions {
  entries: CronEntry[];
  baseUrl: string;
  secret: string;
  log: Logger;
  fetch?: typeof fetch;
  /** Per-call time limit; Vercel's longest function limit is 15 minutes. */
  timeoutMs?: number;
}

/**
 * Fires each cron entry at its time (UTC) against the app with the bearer secret, as Vercel
 * Cron does. `protect` skips a firing while the previous one of the same entry is still out.
 */
export function startLocalScheduler(options: LocalSchedulerOptions): { stop(): void; timers: Cron[] } {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/$/, '');
  const fire = async (path: string) => {
    const job = jobNameOfPath(path);
    const t0 = performance.now();
    try {
      const res = await doFetch(base + path, {
        headers: {
          authorization: `Bearer ${options.secret}`,
          'x-cron-trigger': 'scheduler',
          'user-agent': 'cronwarden-scheduler/1',
        },
        signal: AbortSignal.timeout(options.timeoutMs ?? 15 * 60_000),
      });
      const body = (await res.json().catch(() => null)) as { result?: { run_id?: string; status?: string } } | null;
      options.log.info(
        {
          type: 'scheduler_fired',
          job,
          http_status: res.status,
          run_id: body?.result?.run_id,
          status: body?.result?.status,
          ms: Math.round(performance.now() - t0),
        },
        'scheduled job fired',
      );
    } catch (err) {
      options.log.error({ type: 'scheduler_fire_failed', job, err }, 'scheduled job could not be reached');
    }
  };
  const timers = options.entries.map(
    (entry) => new Cron(entry.schedule, { timezone: 'UTC', protect: true, name: entry.path }, () => fire(entry.path)),
  );
  for (const t of timers) {
    options.log.info({ type: 'scheduler_registered', path: t.name, next_run: t.nextRun()?.toISOString() }, 'cron registered');
  }
  return {
    timers,
    stop: () => {
      for (const t of timers) t.stop();
    },
  };
}
