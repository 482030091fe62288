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

interface FiredBody {
  result?: { run_id?: string; status?: string };
  error?: { code?: string; message?: string; run_id?: string };
}

/**
 * What a firing came to: `ok` (succeeded), `partial` (stopped by its time budget), `skipped`
 * (409: the previous run still holds the lease), `feature_off` (503: its feature is switched
 * off or not bound, or its rule did not bind; said once, see startLocalScheduler), `failed`
 * (a failed run, or any other answer such as 503 DATABASE_UNAVAILABLE or 401).
 */
export function firingOutcome(httpStatus: number, body: FiredBody | null): 'ok' | 'partial' | 'skipped' | 'feature_off' | 'failed' {
  if (httpStatus === 409) return 'skipped';
  if (httpStatus === 503 && ['FEATURE_NOT_BOUND', 'FEATURE_DISABLED', 'POLICY_NOT_BOUND'].includes(body?.error?.code ?? '')) return 'feature_off';
  if (httpStatus !== 200) return 'failed';
  const status = body?.result?.status;
  if (status === 'succeeded') return 'ok';
  if (status === 'partial') return 'partial';
  return 'failed';
}

/**
 * Fires each cron entry at its time (UTC) against the app with the bearer secret, as Vercel
 * Cron does. `protect` skips a firing while the previous one of the same entry is still out.
 * Each firing is one `scheduler_fired` line: info when the run succeeded, warn when it was
 * partial or skipped, error when it failed or the app answered an error.
 */
export function startLocalScheduler(options: LocalSchedulerOptions): { stop(): void; timers: Cron[] } {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/$/, '');
  // A job whose feature is off or unbound is reported once, not at every firing.
  const off = new Set<string>();
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
      const body = (await res.json().catch(() => null)) as FiredBody | null;
      const outcome = firingOutcome(res.status, body);
      const fields = {
        type: 'scheduler_fired',
        job,
        outcome,
        http_status: res.status,
        run_id: body?.result?.run_id ?? body?.error?.run_id,
        status: body?.result?.status,
        error_code: body?.error?.code,
        error: body?.error?.message?.slice(0, 300),
        ms: Math.round(performance.now() - t0),
      };
      if (outcome === 'feature_off') {
        if (!off.has(path)) options.log.warn(fields, 'scheduled job not run: its feature is switched off or not bound');
        off.add(path);
        return;
      }
      off.delete(path);
      if (outcome === 'failed') options.log.error(fields, 'scheduled job failed');
      else if (outcome === 'ok') options.log.info(fields, 'scheduled job fired');
      else options.log.warn(fields, outcome === 'skipped' ? 'scheduled job skipped: already running' : 'scheduled job ran out of time (partial)');
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
