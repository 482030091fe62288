/**
 * Retries for remote storage calls: capped exponential backoff with full jitter
 * (a random delay in [0, min(cap, base * 2^attempt)]) so many workers hitting the same
 * rate limit do not retry in lockstep.
 */

export interface RetryOptions {
  /** Retries after the first attempt (so at most retries + 1 calls). */
  retries?: number;
  baseMs?: number;
  capMs?: number;
  isRetryable?: (err: unknown) => boolean;
  /** Injectable so tests do not wait for real. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable so tests can pin the jitter. Returns a number in [0, 1). */
  random?: () => number;
  onRetry?: (info: { err: unknown; attempt: number; delayMs: number }) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const {
    retries = 4,
    baseMs = 100,
    capMs = 2000,
    isRetryable = isTransientError,
    sleep = defaultSleep,
    random = Math.random,
    onRetry,
  } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || !isRetryable(err)) throw err;
      const ceiling = Math.min(capMs, baseMs * 2 ** attempt);
      const delayMs = Math.floor(random() * ceiling);
      onRetry?.({ err, attempt, delayMs });
      await sleep(delayMs);
    }
  }
}

/**
 * The HTTP status carried by an error, if any: AWS SDK v3 errors keep it in
 * `$metadata.httpStatusCode`; storage-js `StorageApiError` has a numeric `status` (and a
 * string `statusCode`, which on Supabase can be the body's code such as "404" or "InvalidKey").
 */
export function httpStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as {
    $metadata?: { httpStatusCode?: unknown };
    $response?: { statusCode?: unknown };
    status?: unknown;
    statusCode?: unknown;
  };
  const candidates = [e.$metadata?.httpStatusCode, e.$response?.statusCode, e.status, e.statusCode];
  for (const c of candidates) {
    const n = typeof c === 'string' && /^\d{3}$/.test(c) ? Number(c) : c;
    if (typeof n === 'number' && Number.isInteger(n) && n >= 100 && n <= 599) return n;
  }
  return undefined;
}

const NETWORK_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);
const NETWORK_ERROR_NAMES = new Set(['TimeoutError', 'RequestTimeout']);

/** Rate limits (429), server errors (5xx) and network failures; never other 4xx. */
export function isTransientError(err: unknown): boolean {
  const status = httpStatusOf(err);
  if (status !== undefined) return status === 429 || status >= 500;
  return isNetworkError(err);
}

function isNetworkError(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; originalError?: unknown };
  if (typeof e.code === 'string' && NETWORK_ERROR_CODES.has(e.code)) return true;
  if (typeof e.name === 'string' && NETWORK_ERROR_NAMES.has(e.name)) return true;
  // undici reports any connection failure as `TypeError: fetch failed` with the reason in `cause`.
  if (err instanceof TypeError && err.message === 'fetch failed') return true;
  // storage-js wraps fetch failures in StorageUnknownError.originalError.
  return isNetworkError(e.cause, depth + 1) || isNetworkError(e.originalError, depth + 1);
}

/** A short, log-safe description of an error for RemoveFailure.error. */
export function describeError(err: unknown): string {
  const status = httpStatusOf(err);
  const message = err instanceof Error ? err.message || err.name : String(err);
  return status !== undefined && !message.includes(String(status)) ? `HTTP ${status}: ${message}` : message;
}
