import fs from 'node:fs';
import path from 'node:path';
import type { DispatchReport } from '../../src/lib/cron/dispatcher';
import { dispatchResponse } from '../../src/lib/http/dispatch-route';
import { describe, expect, it } from 'vitest';
import { outcomeResponse } from '../../src/lib/cron/route';
import type { RunOutcome, RunStatus } from '../../src/lib/cron/runner';
import { MAX_BODY_BYTES, readBodyText, readForm } from '../../src/lib/http/body';
import { AppError } from '../../src/lib/http/errors';
import { assertSameOrigin } from '../../src/lib/http/same-origin';

function finished(status: RunStatus): RunOutcome {
  const timestamp = '2026-11-20T10:00:00.000Z';
  return {
    kind: 'finished',
    runId: 'r1',
    status,
    result: { errors: [], rows_affected: 1, run_id: 'r1', job: 'j', status, dry_run: false, partial: status === 'partial', duration_ms: 5, timestamp },
  };
}

describe('run outcome answers', () => {
  it('a failed run answers 500 with its result body; succeeded and partial runs answer 200', async () => {
    for (const [status, http] of [['failed', 500], ['partial', 200], ['succeeded', 200]] as const) {
      const res = outcomeResponse(finished(status));
      expect(res.status, status).toBe(http);
      const body = await res.json();
      expect(Object.keys(body).sort()).toEqual(['result', 'success', 'timestamp']);
      expect(body).toMatchObject({ success: status !== 'failed', result: { status, run_id: 'r1' } });
    }
  });
});

describe('the dispatch route (Vercel Hobby)', () => {
  it('answers 500 with its whole report when a job it ran failed, 200 otherwise', async () => {
    const report = (failed: number): DispatchReport => ({
      jobs: [{ job: 'export-file-cleanup', action: 'ran', status: failed ? 'failed' : 'succeeded', last_run_at: null, due_since: null }],
      ran: 1,
      failed,
      skipped_running: 0,
      deferred: 0,
      not_due: 0,
      dry_run: false,
      duration_ms: 12,
      timestamp: '2026-12-01T05:00:00.000Z',
    });
    for (const failed of [1, 0]) {
      const res = dispatchResponse(report(failed));
      expect(res.status).toBe(failed ? 500 : 200);
      expect(await res.json()).toMatchObject({ success: !failed, result: { failed, jobs: [{ job: 'export-file-cleanup' }] } });
    }
  });
});

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

describe('request bodies', () => {
  it('are read only through the capped reader (src/lib/http/body.ts), nowhere else', () => {
    const readers = /\b(request|req)\.(json|text|formData|arrayBuffer|blob|body)\b/;
    const offenders = walk('src')
      .filter((f) => f !== path.join('src', 'lib', 'http', 'body.ts'))
      .filter((f) => !f.includes(`${path.sep}(console)${path.sep}`)) // client components read their fetch responses
      .filter((f) => readers.test(fs.readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('are refused past the cap when they arrive chunked, and the rest is never pulled', async () => {
    let pulled = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulled++;
        controller.enqueue(new Uint8Array(1024).fill(97));
      },
    });
    const request = new Request('http://x/', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    const err = await readBodyText(request).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 413, code: 'BODY_TOO_LARGE' });
    expect(pulled).toBeLessThanOrEqual(MAX_BODY_BYTES / 1024 + 2);
  });

  it('parse forms from the bytes read under the cap', async () => {
    const form = await readForm(new Request('http://x/', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'password=a%20b&next=%2Fadmin' }));
    expect(form.get('password')).toBe('a b');
    expect(form.get('next')).toBe('/admin');
  });
});

describe('state-changing requests from another site', () => {
  const config = { appUrl: 'https://cron.example.com', clientAddress: { trustProxyHops: 0, vercel: false } };
  const req = (method: string, headers: Record<string, string>) => new Request('http://127.0.0.1:3000/api/admin/session', { method, headers });
  const refused = (r: Request) => {
    try {
      assertSameOrigin(r, config);
      return false;
    } catch (err) {
      expect(err).toMatchObject({ status: 403, code: 'CROSS_SITE_REQUEST' });
      return true;
    }
  };
  it.each([
    ['another origin', { cookie: 'cw_admin=x', origin: 'https://evil.example', host: '127.0.0.1:3000' }],
    ['origin null', { cookie: 'cw_admin=x', origin: 'null', host: '127.0.0.1:3000' }],
    ['another port on this host', { cookie: 'cw_admin=x', origin: 'http://127.0.0.1:4000', host: '127.0.0.1:3000' }],
    ['Sec-Fetch-Site cross-site', { cookie: 'cw_admin=x', 'sec-fetch-site': 'cross-site' }],
    ['Sec-Fetch-Site same-site', { cookie: 'cw_admin=x', 'sec-fetch-site': 'same-site' }],
    ['a cookie and no Origin or Sec-Fetch-Site', { cookie: 'cw_admin=x' }],
    ['a bearer token next to a cookie, from another site', { cookie: 'cw_admin=x', authorization: 'Bearer t', origin: 'https://evil.example' }],
    ['no cookie, from another site (sign-in from elsewhere)', { origin: 'https://evil.example', host: '127.0.0.1:3000' }],
  ])('are refused: %s', (_label, headers) => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) expect(refused(req(method, headers)), method).toBe(true);
  });
  it.each([
    ['this host', { cookie: 'cw_admin=x', origin: 'http://127.0.0.1:3000', host: '127.0.0.1:3000', 'sec-fetch-site': 'same-origin' }],
    ['APP_URL (behind a proxy that rewrites Host)', { cookie: 'cw_admin=x', origin: 'https://cron.example.com', host: '127.0.0.1:3000' }],
    ['a bearer token without cookies, from anywhere', { authorization: 'bearer t', origin: 'https://evil.example' }],
    ['a script: no cookie, no browser headers', {}],
    ['typed by the user (Sec-Fetch-Site none)', { cookie: 'cw_admin=x', 'sec-fetch-site': 'none' }],
  ])('are accepted from %s', (_label, headers) => {
    expect(refused(req('POST', headers))).toBe(false);
  });
  it('reads (GET, HEAD) are never refused', () => {
    expect(refused(req('GET', { cookie: 'cw_admin=x', origin: 'https://evil.example' }))).toBe(false);
    expect(refused(req('HEAD', { cookie: 'cw_admin=x', 'sec-fetch-site': 'cross-site' }))).toBe(false);
  });
});
