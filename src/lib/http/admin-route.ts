import { z } from 'zod';
import { getApp, getJobDeps } from '../app';
import { requireFeature } from '../bindings/features';
import type { FeatureName } from '../bindings/spec';
import type { Config } from '../config';
import { bearerTokenOf, secretsEqual } from '../cron/auth';
import type { JobDeps } from '../cron/types';
import { failureResponse } from '../cron/route';
import { requireAdmin } from './admin-auth';
import { MAX_BODY_BYTES, readBodyText } from './body';
import { AppError, jsonResponse } from './errors';
import { parseOrThrow, queryObject } from './query';
import { assertSameOrigin } from './same-origin';

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
  options: { feature?: FeatureName } = {},
): (request: Request) => Promise<Response> {
  return async (request) => {
    try {
      requireAdmin(request.headers, getApp().config);
      const query = parseOrThrow(querySchema, queryObject(request));
      const deps = await getJobDeps();
      // 503 FEATURE_NOT_BOUND / FEATURE_DISABLED when the feature cannot serve here.
      if (options.feature) requireFeature(deps.features, options.feature);
      const out = await handler({ request, deps, query });
      return out instanceof Response ? out : jsonResponse(out);
    } catch (err) {
      return failureResponse(err);
    }
  };
}

/** Largest JSON body an admin endpoint reads (the one cap every route shares). */
export const MAX_ADMIN_BODY_BYTES = MAX_BODY_BYTES;

export interface AdminWorld {
  config: Config;
  deps(): Promise<JobDeps>;
}

export interface AdminBodyRequest<B, P> {
  request: Request;
  deps: JobDeps;
  body: B;
  params: P;
  /** Who called: the API token, or a signed-in admin session. */
  actor: 'api-token' | 'admin-session';
}

type RouteContext = { params?: Promise<Record<string, string | string[] | undefined>> };

/** Parses a JSON body with zod; the first problem becomes a 400 that names the field. */
export async function parseJsonBody<B>(request: Request, schema: z.ZodType<B>): Promise<B> {
  const type = (request.headers.get('content-type') ?? '').toLowerCase();
  if (!type.startsWith('application/json')) {
    throw new AppError(415, 'UNSUPPORTED_MEDIA_TYPE', 'Send the body as JSON with Content-Type: application/json.');
  }
  const text = await readBodyText(request, MAX_ADMIN_BODY_BYTES);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new AppError(400, 'INVALID_JSON', 'The request body is not valid JSON.');
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `'${k.slice(0, 64)}'`).join(', ');
    throw new AppError(400, 'UNKNOWN_FIELD', `Unknown field${issue.keys.length > 1 ? 's' : ''} ${keys}.`, { field: issue.keys[0] });
  }
  const field = issue.path.join('.') || 'body';
  const message = issue.path.length === 0 && issue.code === 'invalid_type' ? 'expected a JSON object' : issue.message;
  throw new AppError(400, 'INVALID_FIELD', `Invalid field '${field}': ${message}.`, { field });
}

const appWorld = (): AdminWorld => ({ config: getApp().config, deps: getJobDeps });

/**
 * An /api/admin/* handler for POST, PUT, PATCH and DELETE: only from this app's own pages or with
 * a bearer token (403 otherwise, see same-origin.ts), the admin guard, no query string,
 * route params and the JSON body (at most 8 KB, whatever the transfer encoding) parsed with zod (400 naming the field, 413 for
 * a larger body, 415 for a body that is not JSON), the handler's value as JSON (or its own
 * Response), and the shared error shape. `world` is the app's unless a test passes its own.
 */
export function adminHandler<B = undefined, P = Record<string, never>>(
  spec: { body?: z.ZodType<B>; params?: z.ZodType<P, Record<string, string>> },
  handler: (req: AdminBodyRequest<B, P>) => Promise<unknown>,
  world: () => AdminWorld = appWorld,
): (request: Request, context?: RouteContext) => Promise<Response> {
  return async (request, context) => {
    try {
      const w = world();
      assertSameOrigin(request, w.config);
      requireAdmin(request.headers, w.config);
      const bearer = bearerTokenOf(request.headers.get('authorization'));
      const actor = bearer !== null && w.config.admin.apiToken && secretsEqual(bearer, w.config.admin.apiToken) ? 'api-token' : 'admin-session';
      parseOrThrow(z.strictObject({}), queryObject(request));
      const rawParams: Record<string, string> = {};
      for (const [k, v] of Object.entries((await context?.params) ?? {})) if (typeof v === 'string') rawParams[k] = v;
      const params = spec.params ? parseOrThrow(spec.params, rawParams, 'path parameter') : ({} as P);
      const body = spec.body ? await parseJsonBody(request, spec.body) : (undefined as B);
      const deps = await w.deps();
      const out = await handler({ request, deps, body, params, actor });
      return out instanceof Response ? out : jsonResponse(out);
    } catch (err) {
      return failureResponse(err);
    }
  };
}
