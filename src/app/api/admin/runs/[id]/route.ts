import { z } from 'zod';
import { getApp, getJobDeps } from '@/lib/app';
import { getRun } from '@/lib/admin/jobs';
import { failureResponse } from '@/lib/cron/route';
import { requireAdmin } from '@/lib/http/admin-auth';
import { AppError, jsonResponse } from '@/lib/http/errors';
import { parseOrThrow, queryObject } from '@/lib/http/query';

export const dynamic = 'force-dynamic';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One run with its input, result JSON and error text. */
export async function GET(request: Request, { params }: { params: Promise<{ id: string }> }): Promise<Response> {
  try {
    requireAdmin(request.headers, getApp().config);
    // No query parameters: the first one given is named in the 400.
    parseOrThrow(z.strictObject({}), queryObject(request));
    const { id } = await params;
    if (!UUID.test(id)) throw new AppError(400, 'INVALID_PARAMETER', "Invalid run id: must be a UUID.");
    const deps = await getJobDeps();
    const run = await getRun(deps.db, id);
    if (!run) throw new AppError(404, 'RUN_NOT_FOUND', 'No run with this id.');
    return jsonResponse({ success: true, run, timestamp: deps.now().toISOString() });
  } catch (err) {
    return failureResponse(err);
  }
}
