import type { Config } from '../config';
import { AppError } from '../http/errors';
import { MAX_AUTH_HEADER_LENGTH, secretsEqual } from './auth';

export const MAINTENANCE_SECRET_HEADER = 'x-cron-secret';

/**
 * The maintenance route's own contract (GET /api/admin/maintenance), checked in this order:
 *   503 when CRON_ENABLED is not "true" (maintenance switched off),
 *   500 when MAINTENANCE_CRON_SECRET is not set (never open when misconfigured),
 *   401 when the x-cron-secret header is missing or wrong (constant-time comparison).
 * Returns the error to answer, or null when the request may run. Never echoes the header.
 */
export function maintenanceAuthError(headers: Headers, cron: Pick<Config['cron'], 'enabled' | 'maintenanceSecret'>): AppError | null {
  if (!cron.enabled) {
    return new AppError(503, 'MAINTENANCE_DISABLED', 'Maintenance is disabled: set CRON_ENABLED=true to enable it.');
  }
  if (!cron.maintenanceSecret) {
    return new AppError(500, 'SERVER_MISCONFIGURED', 'MAINTENANCE_CRON_SECRET is not set on the server; every request is refused until it is.');
  }
  const given = headers.get(MAINTENANCE_SECRET_HEADER);
  if (given === null || given === '') {
    return new AppError(401, 'UNAUTHORIZED', `Missing ${MAINTENANCE_SECRET_HEADER} header.`);
  }
  if (given.length > MAX_AUTH_HEADER_LENGTH || !secretsEqual(given, cron.maintenanceSecret)) {
    return new AppError(401, 'UNAUTHORIZED', 'Invalid credentials.');
  }
  return null;
}

/** Throws the contract's error, if any (for route handlers). */
export function checkMaintenanceAuth(headers: Headers, cron: Pick<Config['cron'], 'enabled' | 'maintenanceSecret'>): void {
  const err = maintenanceAuthError(headers, cron);
  if (err) throw err;
}
