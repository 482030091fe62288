import { getApp, getJobDeps } from '../app';
import { requireFeature } from '../bindings/features';
import { checkBearer } from '../cron/auth';
import { failureResponse } from '../cron/route';
import { AppError, errorResponse, jsonResponse } from '../http/errors';
import { queryObject } from '../http/query';
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
    checkBearer(request.headers, getApp().config.admin.apiToken, 'ADMIN_API_TOKEN');
    if (Object.keys(queryObject(new URL(request.url))).length > 0) {
      throw new AppError(400, 'UNKNOWN_PARAMETER', 'This endpoint takes no query parameters.');
    }
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
