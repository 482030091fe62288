import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApp, TEST_CRON_SECRET, type RunningApp } from '../support/app-server';
import { discoverApiRoutes, fill, type RouteInfo } from '../support/routes';

const SECRETS = {
  CRON_SECRET: TEST_CRON_SECRET,
  MAINTENANCE_CRON_SECRET: 'maintenance-secret-0123456789abcdef',
  ADMIN_PASSWORD: 'admin-password-0123456789',
  ADMIN_API_TOKEN: 'admin-api-token-0123456789abcdef',
  METRICS_TOKEN: 'metrics-token-0123456789abcdef',
};

let app: RunningApp;
beforeAll(async () => {
  app = await startApp({ ...SECRETS, CRON_ENABLED: 'true', SEED_DEMO_DATA: 'true' });
});
afterAll(async () => {
  await app?.stop();
});

interface Probe {
  label: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** The credential a route expects, so probes also reach the input parsing behind the guard. */
function rightCredentials(template: string): Record<string, string> {
  if (template.startsWith('/api/cron/')) return { authorization: `Bearer ${SECRETS.CRON_SECRET}` };
  if (template === '/api/admin/maintenance') return { 'x-cron-secret': SECRETS.MAINTENANCE_CRON_SECRET };
  if (template === '/api/metrics') return { authorization: `Bearer ${SECRETS.METRICS_TOKEN}` };
  return { authorization: `Bearer ${SECRETS.ADMIN_API_TOKEN}` };
}

const badIds = ['not-a-uuid', '../../etc/passwd', "1'; drop table users;--", 'x'.repeat(300), '%00', '00000000-0000-0000-0000-000000000000'];
const badQueries = ['?dryRun=maybe', '?batchSize=1000000000', '?hours=-1', '?hours=abc', '?retentionDays=1e3', '?a=1&a=2', `?q=${'z'.repeat(3000)}`, '?%ZZ=1'];
const badBodies = ['{', '[]', '"str"', JSON.stringify({ dryRun: 'yes', minutes: -5, rule_id: 42 }), 'x'.repeat(64 * 1024)];

function probesFor(route: RouteInfo): Probe[] {
  const probes: Probe[] = [];
  const p = fill(route.template, badIds[0]);
  const creds = rightCredentials(route.template);
  // headers
  probes.push({ label: 'no credentials', method: 'GET', path: p });
  probes.push({ label: 'wrong bearer', method: 'GET', path: p, headers: { authorization: 'Bearer wrong-wrong-wrong' } });
  probes.push({ label: 'basic auth', method: 'GET', path: p, headers: { authorization: 'Basic Zm9vOmJhcg==' } });
  probes.push({ label: 'huge auth', method: 'GET', path: p, headers: { authorization: `Bearer ${'h'.repeat(20_000)}` } });
  probes.push({ label: 'forged cookie', method: 'GET', path: p, headers: { cookie: 'cw_admin=9999999999.abc.def' } });
  probes.push({ label: 'wrong x-cron-secret', method: 'GET', path: p, headers: { 'x-cron-secret': 'nope' } });
  // methods
  for (const method of ['PUT', 'PATCH', 'OPTIONS']) probes.push({ label: `method ${method}`, method, path: p, headers: creds });
  // query values, with the right credentials so parsing is reached
  for (const q of badQueries) probes.push({ label: `query ${q.slice(0, 30)}`, method: route.methods.includes('GET') ? 'GET' : route.methods[0] ?? 'GET', path: p + q, headers: creds });
  // path ids
  if (route.template.includes('[')) {
    for (const id of badIds) {
      const method = route.methods.find((m) => m !== 'HEAD') ?? 'GET';
      probes.push({ label: `id ${id.slice(0, 20)}`, method, path: fill(route.template, id), headers: creds });
    }
  }
  // bodies
  for (const method of route.methods.filter((m) => m === 'POST' || m === 'DELETE' || m === 'PUT')) {
    for (const body of badBodies) {
      probes.push({ label: `${method} body ${body.slice(0, 15)}`, method, path: p, headers: { ...creds, 'content-type': 'application/json' }, body });
    }
  }
  return probes;
}

it('answers every malformed request with a 4xx (or a handled answer), never a 5xx, never a secret', async () => {
  const routes = discoverApiRoutes();
  const probes = routes.flatMap(probesFor);
  expect(probes.length).toBeGreaterThanOrEqual(200);
  const failures: string[] = [];
  const secretValues = Object.values(SECRETS);
  let next = 0;
  const worker = async () => {
    while (next < probes.length) {
      const probe = probes[next++];
      const res = await fetch(app.url + probe.path, { method: probe.method, headers: probe.headers, body: probe.body, redirect: 'manual' });
      const text = await res.text();
      if (res.status >= 500) failures.push(`${res.status} ${probe.method} ${probe.path.slice(0, 80)} (${probe.label}): ${text.slice(0, 200)}`);
      for (const s of secretValues) if (text.includes(s)) failures.push(`secret in response: ${probe.method} ${probe.path.slice(0, 80)}`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, worker));
  console.log(`bad-input: ${probes.length} requests across ${routes.length} routes`);
  expect(failures).toEqual([]);
  for (const s of secretValues) expect(app.output()).not.toContain(s);
});
