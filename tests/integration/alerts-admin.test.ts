import { expect, it } from 'vitest';
import { alertsOverview, silenceDelete, silencesPost } from '../../src/lib/alerts/admin';
import { observeAlert } from '../../src/lib/alerts/store';
import type { SqlDb } from '../../src/lib/db/types';
import { MAX_ADMIN_BODY_BYTES } from '../../src/lib/http/admin-route';
import { describeEngines } from '../support/db';
import { testDeps } from '../support/deps';

const NOW = new Date('2026-11-20T12:00:00.000Z');
const TOKEN = 'admin-api-token-0123456789';
const URL_ = 'http://local/api/admin/alerts/silences';

function world(db: SqlDb) {
  const { deps } = testDeps(db, { now: () => NOW, env: { ADMIN_API_TOKEN: TOKEN } });
  return () => ({ config: deps.config, deps: async () => deps });
}

const post = (body: string, headers: Record<string, string> = {}, url = URL_) =>
  new Request(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers },
    body,
  });

const del = (id: string) => new Request(`${URL_}/${id}`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
const params = (id: string) => ({ params: Promise.resolve({ id }) });

describeEngines('admin alert endpoints', (engine) => {
  it('POST /api/admin/alerts/silences validates the JSON body and creates the silence', async () => {
    const db = await engine.fresh();
    const POST = silencesPost(world(db));
    const valid = { rule_id: 'jobs.stalled', subject: 'draft-cleanup', minutes: 90, reason: 'cron provider outage' };

    const res = await POST(post(JSON.stringify(valid)));
    expect(res.status).toBe(201);
    const body = await res.json();
    expect(body.silence).toMatchObject({
      rule_id: 'jobs.stalled',
      subject: 'draft-cleanup',
      reason: 'cron provider outage',
      created_by: 'api-token',
      created_at: NOW.toISOString(),
      until: new Date(NOW.getTime() + 90 * 60_000).toISOString(),
    });
    const everySubject = await POST(post(JSON.stringify({ rule_id: 'jobs.failing', minutes: 10_080, reason: 'x' })));
    expect(everySubject.status).toBe(201);
    expect((await everySubject.json()).silence.subject).toBeNull();

    const refused: [string, Request, number, string, string?][] = [
      ['no credentials', new Request(URL_, { method: 'POST', body: '{}' }), 401, 'UNAUTHORIZED'],
      ['minutes 0', post(JSON.stringify({ ...valid, minutes: 0 })), 400, 'INVALID_FIELD', 'minutes'],
      ['minutes 10081', post(JSON.stringify({ ...valid, minutes: 10_081 })), 400, 'INVALID_FIELD', 'minutes'],
      ['minutes 1.5', post(JSON.stringify({ ...valid, minutes: 1.5 })), 400, 'INVALID_FIELD', 'minutes'],
      ['minutes as text', post(JSON.stringify({ ...valid, minutes: '60' })), 400, 'INVALID_FIELD', 'minutes'],
      ['no reason', post(JSON.stringify({ rule_id: 'jobs.stalled', minutes: 5 })), 400, 'INVALID_FIELD', 'reason'],
      ['empty subject', post(JSON.stringify({ ...valid, subject: ' ' })), 400, 'INVALID_FIELD', 'subject'],
      ['unknown field', post(JSON.stringify({ ...valid, until: 'tomorrow' })), 400, 'UNKNOWN_FIELD', 'until'],
      ['unknown rule', post(JSON.stringify({ ...valid, rule_id: 'jobs.stalld' })), 400, 'UNKNOWN_RULE', 'rule_id'],
      ['an array', post('[]'), 400, 'INVALID_FIELD', 'body'],
      ['not JSON', post('{rule_id:'), 400, 'INVALID_JSON'],
      ['form body', post('rule_id=x', { 'content-type': 'application/x-www-form-urlencoded' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      ['query string', post(JSON.stringify(valid), {}, `${URL_}?force=1`), 400, 'UNKNOWN_PARAMETER'],
      ['body over the 8 KB cap', post(JSON.stringify({ ...valid, reason: 'r'.repeat(MAX_ADMIN_BODY_BYTES) })), 413, 'BODY_TOO_LARGE'],
      ['a cookie from another site', post(JSON.stringify(valid), { cookie: 'cw_admin=x', origin: 'https://evil.example' }), 403, 'CROSS_SITE_REQUEST'],
    ];
    for (const [what, request, status, code, field] of refused) {
      const r = await POST(request);
      expect(r.status, what).toBe(status);
      const b = await r.json();
      expect(b.error.code, what).toBe(code);
      if (field) expect(b.error.message, what).toContain(`'${field}'`);
    }

    // A streamed body without Content-Length is cut off at the limit too.
    const chunk = new TextEncoder().encode(' '.repeat(4096));
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent++ < 8) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const streamed = await POST(
      new Request(URL_, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: stream,
        duplex: 'half',
      } as RequestInit & { duplex: 'half' }),
    );
    expect(streamed.status).toBe(413);
    expect(sent).toBeLessThan(8);

    const rows = await db.query<{ rule_id: string }>(`select rule_id from cronwarden.alert_silences order by rule_id`);
    expect(rows.map((r) => r.rule_id)).toEqual(['jobs.failing', 'jobs.stalled']);
  });

  it('DELETE /api/admin/alerts/silences/<id> ends a silence; GET data lists alerts and silences', async () => {
    const db = await engine.fresh();
    const w = world(db);
    const created = await (await silencesPost(w)(post(JSON.stringify({ rule_id: 'jobs.stalled', minutes: 30, reason: 'deploy' })))).json();
    const id = created.silence.id as string;

    await observeAlert(db, { ruleId: 'jobs.stalled', subject: 'draft-cleanup', breached: true, value: 4, threshold: 3, severity: 'HIGH', title: 'Job stalled', forSeconds: 0, now: NOW });
    await observeAlert(db, { ruleId: 'jobs.failing', subject: 'maintenance', breached: true, value: 3, threshold: 3, severity: 'HIGH', title: 'Job failing', forSeconds: 0, now: new Date(NOW.getTime() - 3_600_000) });
    await observeAlert(db, { ruleId: 'jobs.failing', subject: 'maintenance', breached: false, value: 0, threshold: 3, severity: 'HIGH', title: 'Job failing', forSeconds: 0, now: NOW });
    const overview = await alertsOverview(db, NOW, 10);
    expect(overview.open).toHaveLength(1);
    expect(overview.open[0]).toMatchObject({ rule_id: 'jobs.stalled', subject: 'draft-cleanup', state: 'open', silenced: true, response_sla: '30 minutes', comparison: 'gt' });
    expect(overview.open[0].runbook).toContain('CRON_SECRET');
    expect(overview.recent.map((a) => `${a.rule_id}:${a.state}`)).toEqual(['jobs.failing:resolved']);
    expect(overview.silences.map((s) => s.id)).toEqual([id]);
    expect(overview.counts.find((c) => c.severity === 'HIGH')).toEqual({ severity: 'HIGH', open_alerts: 1, pending_alerts: 0, silenced_alerts: 1 });

    const DELETE = silenceDelete(w);
    const bad = await DELETE(del('not-a-uuid'), params('not-a-uuid'));
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.message).toContain("'id'");
    const missing = await DELETE(del('00000000-0000-4000-8000-00000000abcd'), params('00000000-0000-4000-8000-00000000abcd'));
    expect(missing.status).toBe(404);
    const ok = await DELETE(del(id), params(id));
    expect(ok.status).toBe(200);
    expect((await ok.json()).deleted.id).toBe(id);
    expect((await DELETE(del(id), params(id))).status).toBe(404);
    expect((await alertsOverview(db, NOW)).open[0].silenced).toBe(false);
  });
});
