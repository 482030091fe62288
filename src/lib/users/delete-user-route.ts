import { z } from 'zod';
import { getApp, getJobDeps } from '../app';
import { requireFeature } from '../bindings/features';
import { checkBearer } from '../cron/auth';
import { failureResponse } from '../cron/route';
import { errorResponse, jsonResponse } from '../http/errors';
import { parseOrThrow, queryObject } from '../http/query';
import { assertSameOrigin } from '../http/same-origin';
import { DEFAULT_DELETION_TIMEOUT_MS, deleteUser } from './delete-user';

/** The actor recorded in the audit trail for calls authenticated with ADMIN_API_TOKEN. */
export const ADMIN_TOKEN_ACTOR = 'admin_api_token';

/**
 * DELETE /api/users/[userId]: Bearer ADMIN_API_TOKEN (constant-time; 500 when the server has
 * none), no query parameters, 503 while user deletion is not bound, then deleteUser. Answers `{ success, result, timestamp }` or the
 * shared error shape.
 */
export async function handleDeleteUser(request: Request, userId: string): Promise<Response> {
  try {
    const { config } = getApp();
    assertSameOrigin(request, config);
    checkBearer(request.headers, config.admin.apiToken, 'ADMIN_API_TOKEN');
    // No query parameters: the first one given is named in the 400.
    parseOrThrow(z.strictObject({}), queryObject(request));
    const deps = await getJobDeps();
    requireFeature(deps.features, 'userDeletion');
    const result = await deleteUser(
      { ...deps, secrets: deps.config.secrets, archivePrefix: deps.config.exports.archivePrefix },
      userId,
      { actor: ADMIN_TOKEN_ACTOR, statementTimeoutMs: DEFAULT_DELETION_TIMEOUT_MS },
    );
    return jsonResponse({ success: true, result, timestamp: result.timestamp });
  } catch (err) {
    return failureResponse(err);
  }
}

export async function userMethodNotAllowed(request: Request): Promise<Response> {
  return errorResponse(405, 'METHOD_NOT_ALLOWED', `${request.method} is not allowed here; this endpoint takes DELETE.`, {}, { allow: 'DELETE' });
}
