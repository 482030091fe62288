import { spawn } from 'node:child_process';

/**
 * The inspector's WebSocket address of a process started with `--inspect=127.0.0.1:0`, read from
 * its output ("Debugger listening on ws://..."). Throws when the output has none.
 */
export function inspectorUrl(output: string): string {
  const m = /Debugger listening on (ws:\/\/\S+)/.exec(output);
  if (!m) throw new Error('the process prints no inspector address: start it with --inspect=127.0.0.1:0');
  return m[1];
}

// Runs in a separate Node with the WebSocket client (Node 20 has it behind a flag; the test runner
// does not): a full garbage collection, then the heap in use, printed in bytes.
const client = `
const ws = new WebSocket(process.argv[1]);
let id = 0;
const pending = new Map();
const call = (method, params = {}) => new Promise((resolve, reject) => {
  pending.set(++id, { resolve, reject });
  ws.send(JSON.stringify({ id, method, params }));
});
ws.onmessage = (e) => {
  const m = JSON.parse(e.data);
  const p = pending.get(m.id);
  if (!p) return;
  pending.delete(m.id);
  m.error ? p.reject(new Error(m.error.message)) : p.resolve(m.result);
};
ws.onerror = () => { console.error('inspector unreachable'); process.exit(1); };
ws.onopen = async () => {
  await call('HeapProfiler.collectGarbage');
  await call('HeapProfiler.collectGarbage');
  const r = await call('Runtime.evaluate', { expression: 'process.memoryUsage().heapUsed', returnByValue: true });
  console.log(r.result.value);
  ws.close();
  process.exit(0);
};
`;

/**
 * Bytes of JavaScript heap the inspected process still uses after two full garbage collections:
 * what it retains, without the garbage a lazy collector has not reclaimed yet (which makes RSS
 * grow and shrink with the machine's load). Throws when the inspector does not answer.
 */
export function heapUsedAfterGc(wsUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--experimental-websocket', '--no-warnings', '-e', client, wsUrl], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const bytes = Number(out.trim());
      if (code === 0 && Number.isFinite(bytes) && bytes > 0) resolve(bytes);
      else reject(new Error(`heap measurement failed (exit ${code}): ${err.trim() || out.trim()}`));
    });
  });
}
