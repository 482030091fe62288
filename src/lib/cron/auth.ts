import { createHash, timingSafeEqual } from 'node:crypto';
import { AppError } from '../http/errors';

/** Longer than any secret we issue; a bigger header is refused before any comparison. */
export const MAX_AUTH_HEADER_LENGTH = 1024;

/**
 * Constant-time equality for secrets of any length: both sides are hashed first, so neither the
 * content nor the length of the configured secret leaks through timing.
 */
export function secretsEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given, 'utf8').digest();
  const b = createHash('sha256').update(expected, 'utf8').digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/**
 * The token of an `Authorization: Bearer <token>` header, or null for any other shape. The scheme
 * is case-insensitive (RFC 9110 11.1: `bearer x` and `BEARER x` are the same credentials).
 */
export function bearerTokenOf(header: string | null): string | null {
  if (header === null) return null;
  const match = /^bearer +([\x21-\x7e]+)$/i.exec(header.trim());
  return match ? match[1] : null;
}

/**
 * The one guard for every cron route: `Authorization: Bearer <CRON_SECRET>`.
 * Throws AppError 500 when the server has no secret (never "open when misconfigured"),
 * 400 for a malformed or oversized header, 401 for a missing or wrong secret.
 * Never echoes what the caller sent.
 */
export function checkBearer(headers: Headers, configuredSecret: string | undefined, variable = 'CRON_SECRET'): void {
  if (!configuredSecret) {
    throw new AppError(500, 'SERVER_MISCONFIGURED', `${variable} is not set on the server; every request is refused until it is.`);
  }
  const header = headers.get('authorization');
  if (header === null || header.trim() === '') {
    throw new AppError(401, 'UNAUTHORIZED', 'Missing Authorization header: send "Authorization: Bearer <secret>".');
  }
  if (header.length > MAX_AUTH_HEADER_LENGTH) {
    throw new AppError(400, 'AUTH_HEADER_TOO_LONG', `Authorization header longer than ${MAX_AUTH_HEADER_LENGTH} characters.`);
  }
  const token = bearerTokenOf(header);
  if (token === null) {
    throw new AppError(400, 'MALFORMED_AUTHORIZATION', 'Malformed Authorization header: expected "Bearer <secret>".');
  }
  if (!secretsEqual(token, configuredSecret)) {
    throw new AppError(401, 'UNAUTHORIZED', 'Invalid credentials.');
  }
}
