import { AppError } from './errors';

/** Largest request body any route reads, in bytes: every body we accept is a small form or JSON. */
export const MAX_BODY_BYTES = 8 * 1024;

const tooLarge = (maxBytes: number) => new AppError(413, 'BODY_TOO_LARGE', `Request body larger than ${maxBytes} bytes.`);

/**
 * The request body, at most `maxBytes` of it. A declared Content-Length above the cap is refused
 * before anything is read; a body without one (chunked) is read chunk by chunk and refused as
 * soon as it passes the cap, and the rest is never read (the stream is cancelled). The only way
 * routes read bodies, so no transfer encoding can make the server hold more than the cap.
 * Throws AppError 413 (BODY_TOO_LARGE) or 400 (INVALID_BODY for a malformed Content-Length).
 */
export async function readBody(request: Request, maxBytes = MAX_BODY_BYTES): Promise<Uint8Array<ArrayBuffer>> {
  const declared = request.headers.get('content-length');
  if (declared !== null) {
    if (!/^\d{1,15}$/.test(declared.trim())) throw new AppError(400, 'INVALID_BODY', 'Malformed Content-Length header.');
    if (Number(declared) > maxBytes) throw tooLarge(maxBytes);
  }
  if (!request.body) return new Uint8Array(new ArrayBuffer(0));
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  const out = new Uint8Array(new ArrayBuffer(size));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.byteLength;
  }
  return out;
}

/** The body as UTF-8 text (see readBody for the cap). */
export async function readBodyText(request: Request, maxBytes = MAX_BODY_BYTES): Promise<string> {
  return new TextDecoder().decode(await readBody(request, maxBytes));
}

/**
 * A form post (application/x-www-form-urlencoded or multipart/form-data), read under the cap.
 * Throws AppError 413 as readBody, 400 INVALID_BODY when the form cannot be parsed.
 */
export async function readForm(request: Request, maxBytes = MAX_BODY_BYTES): Promise<FormData> {
  const type = request.headers.get('content-type') ?? '';
  const bytes = await readBody(request, maxBytes);
  try {
    // Parsed from the bytes already read, never from the request's own stream.
    return await new Response(new Blob([bytes]), { headers: { 'content-type': type } }).formData();
  } catch {
    throw new AppError(400, 'INVALID_BODY', 'Could not read the form.');
  }
}
