import { runNow } from '@/lib/admin/run-now';

export const dynamic = 'force-dynamic';
// The runner stops each job inside its own maxDuration; this is the ceiling for the longest job.
export const maxDuration = 300;

/** Body `{ "dryRun": true|false }`; answers like the job's cron route (200 result, 500 with the result of a failed run, 409 already running). */
export async function POST(request: Request, { params }: { params: Promise<{ job: string }> }): Promise<Response> {
  const { job } = await params;
  // A rule's job name holds a '/' (`policies/<name>`): the page sends it encoded as one segment.
  let name = job;
  try {
    name = decodeURIComponent(job);
  } catch {
    /* malformed: looked up as sent, and not found */
  }
  return runNow(request, name);
}
