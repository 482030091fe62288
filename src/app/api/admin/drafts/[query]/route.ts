import { z } from 'zod';
import { requireFeature } from '@/lib/bindings/features';
import { adminGet } from '@/lib/http/admin-route';
import { AppError } from '@/lib/http/errors';
import { DRAFTS_FEATURE, draftQueries, draftQueryName, draftQueryNames, type DraftQuery, type DraftQueryName } from '@/lib/monitoring/drafts';

export const dynamic = 'force-dynamic';

/**
 * One handler per monitoring query: admin guard, the query's own parameters, 503
 * FEATURE_NOT_BOUND / FEATURE_DISABLED unless the drafts feature is bound, its rows as JSON.
 */
const handlers = Object.fromEntries(
  draftQueryNames.map((name) => {
    const def = draftQueries[name] as unknown as DraftQuery<unknown>;
    return [
      name,
      adminGet(def.query, async ({ deps, query }) => {
        requireFeature(deps.features, DRAFTS_FEATURE);
        const now = deps.now();
        const out = await def.run({ db: deps.db, config: deps.config, now }, query);
        return { success: true, query: name, description: def.description, ...out, timestamp: now.toISOString() };
      }, { feature: 'drafts' }),
    ];
  }),
) as Record<DraftQueryName, (request: Request) => Promise<Response>>;

const unknownQuery = adminGet(z.record(z.string(), z.string()), async () => {
  throw new AppError(404, 'UNKNOWN_QUERY', `No such draft query; one of: ${draftQueryNames.join(', ')}.`);
});

/** GET /api/admin/drafts/<name>: one of the draft monitoring queries (see src/lib/monitoring/drafts.ts). */
export async function GET(request: Request, { params }: { params: Promise<{ query: string }> }): Promise<Response> {
  const parsed = draftQueryName.safeParse((await params).query);
  return parsed.success ? handlers[parsed.data](request) : unknownQuery(request);
}
