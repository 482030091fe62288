import type { z } from 'zod';
import { getApp, getJobDeps } from '../app';
import type { JobDeps } from '../cron/types';
import { failureResponse } from '../cron/route';
import { requireAdmin } from './admin-auth';
import { jsonResponse } from './errors';
import { parseOrThrow, queryObject } from './query';

export interface AdminRequest<Q> {
  request: Request;
  deps: JobDeps;
  query: Q;
}

/**
 * An /api/admin/* GET handler: admin guard, strict query parsing (zod), the handler's value as
 * JSON (or its own Response), and the shared error shape. Keeps the route files to a few lines.
 */
export function adminGet<Q>(
  querySchema: z.ZodType<Q, Record<string, string>>,
  handler: (req: AdminRequest<Q>) => Promise<unknown>,
): (request: Request) => Promise<Response> {
  return async (request) => {
    try {
      requireAdmin(request.headers, getApp().config);
      const query = parseOrThrow(querySchema, queryObject(new URL(request.url)));
      const deps = await getJobDeps();
      const out = await handler({ request, deps, query });
      return out instanceof Response ? out : jsonResponse(out);
    } catch (err) {
      return failureResponse(err);
    }
  };
}
