import { z } from 'zod';
import { AppError } from './errors';
import { originalUrl } from './request-stamp';

const MAX_QUERY_LENGTH = 2048;

/**
 * Query parameters as an object without a prototype, so every name (`__proto__`, `constructor`,
 * `prototype` included) is an own key that strict schemas see and refuse like any other unknown
 * parameter. Given a Request, the query is read as the client sent it (Next's own parsing drops
 * `__proto__` before the handler sees the URL: see request-stamp.ts). A repeated or oversized
 * parameter is the caller's error.
 */
export function queryObject(source: Request | URL): Record<string, string> {
  const url = source instanceof URL ? source : originalUrl(source);
  if (url.search.length > MAX_QUERY_LENGTH) {
    throw new AppError(414, 'QUERY_TOO_LONG', `Query string longer than ${MAX_QUERY_LENGTH} characters.`);
  }
  const out = Object.create(null) as Record<string, string>;
  for (const [key, value] of url.searchParams) {
    if (Object.hasOwn(out, key)) {
      throw new AppError(400, 'DUPLICATE_PARAMETER', `Query parameter '${key}' is given more than once.`);
    }
    out[key] = value;
  }
  return out;
}

/** Parses with zod and turns the first problem into a 400 that names the parameter. */
export function parseOrThrow<T>(schema: z.ZodType<T, Record<string, string>>, raw: Record<string, string>, what = 'query parameter'): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `'${k.slice(0, 64)}'`).join(', ');
    throw new AppError(400, 'UNKNOWN_PARAMETER', `Unknown ${what}${issue.keys.length > 1 ? 's' : ''} ${keys}.`);
  }
  const name = issue.path.join('.') || 'input';
  throw new AppError(400, 'INVALID_PARAMETER', `Invalid ${what} '${name}': ${issue.message}.`, { parameter: name });
}

/** Query values are strings: these read them strictly (no silent NaN, no "1e9" surprises). */
export const q = {
  int: (min: number, max: number) =>
    z
      .string()
      .regex(/^-?\d{1,10}$/, { message: 'must be a whole number' })
      .transform(Number)
      .pipe(
        z
          .number()
          .min(min, { message: `must be at least ${min}` })
          .max(max, { message: `must be at most ${max}` }),
      ),
  bool: () =>
    z
      .enum(['1', '0', 'true', 'false'], { message: "must be one of 1, 0, true, false" })
      .transform((v) => v === '1' || v === 'true'),
  uuid: () => z.uuid({ message: 'must be a UUID' }),
  /** A key of a team's table (uuid, bigint, text, ...): its type is checked by the database. */
  key: () => z.string().regex(/^[A-Za-z0-9_.:@-]{1,128}$/, { message: 'must be an id (letters, digits, _ . : @ -; at most 128)' }),
};

export const dryRunParam = q.bool().optional();
