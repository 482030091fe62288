/**
 * Next calls `register` once when a server instance starts: the moment to say what the
 * configuration leaves unsaid (no alert channel, ...). Next compiles this file for the Edge
 * runtime too; `process.env.NEXT_RUNTIME` is a constant it inlines per runtime (not
 * configuration), so the Edge build drops the Node-only imports below.
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { announceAppStart } = await import('./lib/startup');
  announceAppStart();
}
