import { waitUntil } from '@vercel/functions';
import type { Config } from '../config';
import { scrubSecrets, type Logger } from '../logger';
import type { JobError, JobResult } from './types';

/**
 * The outside dead-man's switch: per job, an optional ping URL (`PING_URL_<JOB>`) in the
 * Healthchecks.io style, so a service outside this app notices when runs stop or fail, even when
 * the app, its scheduler or its own alerting is down. Per real (non-dry) run:
 *   POST <url>/start?rid=<run id>   when the run begins
 *   POST <url>?rid=<run id>         when it ends succeeded or partial
 *   POST <url>/fail?rid=<run id>    when it ends failed; the body is the run's summary (JSON)
 * (Cronitor's telemetry format, `?state=run|complete|fail`, is a different one.) A ping never
 * holds the run up and never throws.
 */

export type PingKind = 'start' | 'success' | 'fail';

/** A ping not answered within this is given up (it runs beside the job, never in its way). */
export const PING_TIMEOUT_MS = 5_000;

/** Largest summary sent with a ping, in bytes (Healthchecks keeps the first 100 kB). */
export const MAX_PING_BODY_BYTES = 10_000;

/** What a finished run reports to the switch. */
export interface PingSummary {
  status: 'succeeded' | 'partial' | 'failed';
  duration_ms: number;
  /** The job's result when it returned one (counts, rows_affected, errors). */
  result?: JobResult;
  /** The error that ended the run when the job threw. */
  error?: string;
}

export interface PingOptions {
  fetch?: typeof fetch;
  timeoutMs?: number;
}

/** `<base>/start`, `<base>`, `<base>/fail`, each with `rid=<runId>` (Healthchecks pairs start and end by it). */
export function pingUrl(base: string, kind: PingKind, runId: string): string {
  const url = new URL(base);
  if (kind !== 'success') url.pathname = `${url.pathname.replace(/\/+$/, '')}/${kind}`;
  url.searchParams.set('rid', runId);
  return url.toString();
}

/** The run's summary as the JSON body of the end ping, cut to MAX_PING_BODY_BYTES. */
export function pingBody(job: string, runId: string, summary: PingSummary, secrets: readonly string[]): string {
  const r = summary.result;
  const counts: Record<string, number> = {};
  if (r) for (const [k, v] of Object.entries(r)) if (typeof v === 'number' && Number.isFinite(v)) counts[k] = v;
  const errors: JobError[] = r?.errors ?? [];
  const body = (keptErrors: number, errorChars: number) =>
    JSON.stringify(
      scrubSecrets(
        {
          job,
          run_id: runId,
          status: summary.status,
          partial: Boolean(r?.partial),
          duration_ms: summary.duration_ms,
          counts,
          error_count: errors.length,
          errors: errors.slice(0, keptErrors).map((e) => ({ subject: e.subject.slice(0, 200), message: e.message.slice(0, errorChars) })),
          error: summary.error?.slice(0, errorChars) ?? null,
        },
        secrets,
      ),
    );
  let text = body(20, 2000);
  if (Buffer.byteLength(text) > MAX_PING_BODY_BYTES) text = body(3, 500);
  return Buffer.byteLength(text) > MAX_PING_BODY_BYTES ? text.slice(0, MAX_PING_BODY_BYTES / 4) : text;
}

// Ping URLs whose last ping failed, so a receiver that is down is logged once, not once per ping.
// On globalThis: Next may load this module more than once in one process.
const failing = ((globalThis as { __cronwardenPingFailures?: Set<string> }).__cronwardenPingFailures ??= new Set<string>());
const inFlight = new Set<Promise<void>>();

async function sendPing(job: string, base: string, kind: PingKind, runId: string, body: string | undefined, log: Logger, options: PingOptions): Promise<void> {
  const url = pingUrl(base, kind, runId);
  const host = new URL(url).host;
  const signal = AbortSignal.timeout(options.timeoutMs ?? PING_TIMEOUT_MS);
  const post = () =>
    (options.fetch ?? fetch)(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'cronwarden-ping/1' },
      body: body ?? '',
      signal,
    });
  try {
    // One more try when no answer came at all: a kept-alive connection the receiver closed
    // meanwhile fails the first request (pings are minutes apart). A repeated ping is harmless.
    const res = await post().catch((err: unknown) => {
      if (signal.aborted) throw err;
      return post();
    });
    await res.body?.cancel().catch(() => undefined);
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    if (failing.delete(base)) log.info({ type: 'cron_ping_recovered', job, kind, host }, 'ping delivered again');
  } catch (err) {
    const reason = failureReason(err);
    if (failing.has(base)) {
      log.debug({ type: 'cron_ping_failed', job, kind, host, reason, repeated: true }, 'ping failed again');
      return;
    }
    failing.add(base);
    // The URL is a secret: the line names its host only.
    log.warn({ type: 'cron_ping_failed', job, kind, host, reason }, `${kind} ping to ${host} failed; further failures of this job's pings are not logged until one succeeds`);
  }
}

/** A short reason for a log line: `HTTP 500`, `no answer in time`, `fetch failed (ECONNREFUSED)`. */
function failureReason(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
  const code = (err.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? `${err.message} (${code})` : err.message;
}

/** Sends a ping beside the current work: kept alive on Vercel (waitUntil), awaited by `settlePings`. */
function fireAndForget(send: () => Promise<void>, after?: Promise<void>): Promise<void> {
  const p = (after ?? Promise.resolve()).then(send);
  inFlight.add(p);
  void p.finally(() => inFlight.delete(p));
  waitUntil(p);
  return p;
}

export interface RunPings {
  /** Sends the start ping; resolves when it has been answered or given up (tests await it). */
  started(): Promise<void>;
  /** Sends the success or fail ping after the start ping; resolves likewise. */
  finished(summary: PingSummary): Promise<void>;
}

const noPings: RunPings = { started: async () => {}, finished: async () => {} };

/** The pings of one run: none for dry runs (they change nothing) or jobs without a PING_URL_<JOB>. */
export function runPings(
  job: string,
  runId: string,
  dryRun: boolean,
  deps: { config: Pick<Config, 'pings' | 'secrets'>; log: Logger },
  options: PingOptions = {},
): RunPings {
  const base = deps.config.pings[job];
  if (dryRun || !base) return noPings;
  let start: Promise<void> | undefined;
  return {
    started() {
      start = fireAndForget(() => sendPing(job, base, 'start', runId, undefined, deps.log, options));
      return start;
    },
    finished(summary) {
      const kind: PingKind = summary.status === 'failed' ? 'fail' : 'success';
      const body = pingBody(job, runId, summary, deps.config.secrets);
      // After the start ping, so a receiver never sees a run end before it began.
      return fireAndForget(() => sendPing(job, base, kind, runId, body, deps.log, options), start);
    },
  };
}

/** Waits for the pings still in flight (each gives up after its timeout): for scripts about to exit. */
export async function settlePings(): Promise<void> {
  await Promise.allSettled([...inFlight]);
}
