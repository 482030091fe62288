/**
 * POSTs JSON and throws unless the receiver answers 2xx before `limit.signal()` aborts
 * (after `limit.timeoutMs`, named in the error).
 */
export async function postJson(url: string, body: unknown, limit: { timeoutMs: number; signal: () => AbortSignal }, what: string): Promise<string> {
  const timeoutMs = limit.timeoutMs;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'cronwarden-alerts' },
      body: JSON.stringify(body),
      signal: limit.signal(),
      redirect: 'error',
    });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError' || e.name === 'AbortError') throw new Error(`${what}: no answer within ${timeoutMs} ms`);
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${what}: request failed (${cause?.code ?? cause?.message ?? e.message})`);
  }
  let text = '';
  try {
    text = await res.text();
  } catch {
    // the status decides; a body that cannot be read adds nothing
  }
  if (res.status < 200 || res.status >= 300) {
    throw new Error(`${what}: HTTP ${res.status}${text ? `: ${text.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`);
  }
  return text;
}
