import { errorResponse } from '@/lib/http/errors';

/**
 * /api itself and any /api/... path no route serves: a JSON 404 in the shared error shape instead of Next's HTML
 * page (routes with their own path always win over this catch-all).
 */
function notFound(request: Request): Response {
  const { pathname } = new URL(request.url);
  return errorResponse(404, 'NOT_FOUND', `No API endpoint at ${pathname.slice(0, 200)}. The README lists the endpoints.`);
}

export const GET = notFound;
export const HEAD = notFound;
export const POST = notFound;
export const PUT = notFound;
export const PATCH = notFound;
export const DELETE = notFound;
export const OPTIONS = notFound;
