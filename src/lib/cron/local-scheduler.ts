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
  /**
   * The jobs the app does not run (their feature switched off or not bound, their rule not
   * bound), asked before a firing: those are not fired. Null when unknown (the app did not say):
   * the job is fired and its 503 answer said once. Default: every job is fired.
   */
  notRun?: () => Promise<ReadonlySet<string> | null>;
  /** How long an answer of `notRun` is used before it is asked again, in ms (default 60 000). */
  notRunMaxAgeMs?: number;
}

/**
 * The jobs the app at `baseUrl` does not run, from its /api/health (`jobs_not_run`: job names
 * only); null when the app cannot be reached or does not say.
 */
export async function notRunFromHealth(baseUrl: string, doFetch: typeof fetch = fetch): Promise<ReadonlySet<string> | null> {
  try {
    const res = await doFetch(`${baseUrl.replace(/\/$/, '')}/api/health`, { signal: AbortSignal.timeout(10_000) });
    const body = (await res.json()) as { jobs_not_run?: unknown };
    return Array.isArray(body.jobs_not_run) ? new Set(body.jobs_not_run.filter((j): j is string => typeof j === 'string')) : null;
  } catch {
    return null;
  }
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
 * A job the app does not run (`notRun`) is not fired, and said once until it runs again.
 * Each firing is one `scheduler_fired` line: info when the run succeeded, warn when it was
 * partial or skipped, error when it failed or the app answered an error.
 */
export function startLocalScheduler(options: LocalSchedulerOptions): { stop(): void; timers: Cron[] } {
  const doFetch = options.fetch ?? fetch;
  const base = options.baseUrl.replace(/\/$/, '');
  // A job whose feature is off or unbound is reported once, not at every firing.
  const off = new Set<string>();
  let notRun: { at: number; jobs: ReadonlySet<string> | null } | undefined;
  const notRunNow = async (): Promise<ReadonlySet<string> | null> => {
    if (!options.notRun) return null;
    if (!notRun || Date.now() - notRun.at >= (options.notRunMaxAgeMs ?? 60_000)) notRun = { at: Date.now(), jobs: await options.notRun() };
    return notRun.jobs;
  };
  const fire = async (path: string) => {
    const job = jobNameOfPath(path);
    const t0 = performance.now();
    try {
      if (job && (await notRunNow())?.has(job)) {
        if (!off.has(path)) {
          options.log.warn({ type: 'scheduler_not_fired', job }, 'scheduled job not fired: its feature is switched off or not bound, or its rule did not bind (see /api/health)');
        }
        off.add(path);
        return;
      }
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
