import pino, { type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

const REDACTED = '[redacted]';

/** Field paths that never reach a log line, whatever their value. */
const redactPaths = [
  'authorization',
  'headers.authorization',
  'req.headers.authorization',
  'headers["x-cron-secret"]',
  'req.headers["x-cron-secret"]',
  'cookie',
  'headers.cookie',
  'secret',
  'password',
  'token',
  'apiKey',
  'serviceRoleKey',
  '*.authorization',
  '*.secret',
  '*.password',
  '*.token',
  '*.serviceRoleKey',
];

/** Replaces every occurrence of a known secret value inside strings, at any depth. */
export function scrubSecrets<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0) return value;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === 'string') {
      let out = v;
      for (const s of secrets) if (out.includes(s)) out = out.split(s).join(REDACTED);
      return out;
    }
    if (depth > 8 || v === null || typeof v !== 'object') return v;
    if (v instanceof Error) return walk({ name: v.name, message: v.message, code: (v as { code?: unknown }).code }, depth);
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, depth + 1);
    return out;
  };
  return walk(value, 0) as T;
}

export interface LoggerOptions {
  level?: string;
  secrets?: readonly string[];
  destination?: DestinationStream;
}

/**
 * JSON lines with a `type` field (callers pass it: `log.info({ type: 'export_metric', ... })`),
 * secrets removed by field name and by value.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = options.secrets ?? [];
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'cronwarden' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: REDACTED },
      formatters: {
        level: (label) => ({ level: label }),
        log: (obj) => scrubSecrets(obj, secrets) as Record<string, unknown>,
      },
      hooks: {
        // Messages are strings outside `obj`; scrub them too.
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrubSecrets(a, secrets) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    options.destination,
  );
}
