/**
 * Runs once when the server starts (Node runtime; NEXT_RUNTIME is Next's own build-time constant,
 * so the Edge build drops the Node-only imports below):
 * - stamps each incoming request with its socket address and its request target as sent, which
 *   Next does not pass to route handlers in a way a client cannot forge (src/lib/http/request-stamp.ts);
 * - reads the environment once, so an invalid one (a secret with a trailing space, ...) is reported
 *   at start with each variable's name, not only as 500s later;
 * - says what a valid configuration leaves unsaid (no alert channel, ...).
 */
export async function register(): Promise<void> {
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { installRequestStamp } = await import('./lib/http/request-stamp');
  installRequestStamp();
  const { ConfigError, getConfig } = await import('./lib/config');
  try {
    getConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const { createLogger } = await import('./lib/logger');
    // Every request that needs the configuration is refused (500 SERVER_MISCONFIGURED) until it is fixed.
    createLogger().fatal({ type: 'config_invalid', problems: err.issues }, err.message);
    return;
  }
  const { announceAppStart } = await import('./lib/startup');
  announceAppStart();
}
