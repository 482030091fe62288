/**
 * An error the caller caused (or must know about), with a stable code and HTTP status.
 * Anything that is not an AppError is an internal failure: logged with its run id,
 * answered as a 500 without internals.
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new AppError(400, code, message, details);

export interface ErrorBody {
  success: false;
  error: { code: string; message: string } & Record<string, unknown>;
  timestamp: string;
}

export function errorBody(code: string, message: string, extra: Record<string, unknown> = {}): ErrorBody {
  return { success: false, error: { code, message, ...extra }, timestamp: new Date().toISOString() };
}

const noStore = { 'cache-control': 'no-store' };

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return Response.json(body, { status, headers: { ...noStore, ...headers } });
}

export function errorResponse(
  status: number,
  code: string,
  message: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Response {
  return jsonResponse(errorBody(code, message, extra), status, headers);
}

export function appErrorResponse(err: AppError): Response {
  return errorResponse(err.status, err.code, err.message, err.details ?? {});
}
