import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketHandler } from '@electric-sql/pglite-socket';

/**
 * Serves the app's embedded database to local tools (monitors, run-job, test scripts) while the
 * app holds it: PGlite allows one process per data directory. The Postgres wire protocol is
 * handled by @electric-sql/pglite-socket's connection handler; this module adds what its own
 * server lacks (measured on 0.2.17):
 * - a password: its server accepts any client. Ours listens on 127.0.0.1 only, on a random port,
 *   and asks for an MD5 password generated per start, kept in `<dataDir>.socket.json` (0600);
 * - transaction isolation from the app: its queue takes only PGlite's query lock per protocol
 *   message, so a tool's statement ran inside the app's open transaction and the app's inside the
 *   tool's (a rollback on either side lost the other's write). Ours takes PGlite's transaction
 *   lock for a client's whole batch and keeps it while that client is inside a transaction;
 *   a client idle inside a transaction longer than `idleInTransactionMs` is rolled back and cut.
 * All clients share PGlite's single backend: session settings are shared and advisory locks do
 * not exclude anyone; lease rows still work.
 */

/** What a tool needs to connect: written beside the data dir (`<dataDir>.socket.json`, mode 0600). */
export interface SocketInfo {
  host: '127.0.0.1';
  port: number;
  /** The serving process; the file is stale once it is gone. */
  pid: number;
  user: string;
  password: string;
  database: string;
  started_at: string;
}

export interface ServedPglite {
  info: SocketInfo;
  file: string;
  stop(): Promise<void>;
}

/** `/x/.data/pglite` -> `/x/.data/pglite.socket.json` (beside the data dir, like its lock file). */
export function socketInfoPath(dataDir: string): string {
  return path.join(path.dirname(path.resolve(dataDir)), `${path.basename(dataDir)}.socket.json`);
}

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const PROTOCOL_3 = 196608;
const AUTH_TIMEOUT_MS = 10_000;

/** A backend ErrorResponse (severity FATAL) with a SQLSTATE and message. */
function fatal(code: string, message: string): Buffer {
  const fields = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`, 'utf8');
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(4 + fields.length, 1);
  return Buffer.concat([head, fields]);
}

function md5hex(s: Buffer | string): string {
  return createHash('md5').update(s).digest('hex');
}

/** A simple-protocol Query message. */
function queryMessage(sql: string): Uint8Array {
  const body = Buffer.from(`${sql}\0`, 'utf8');
  const m = Buffer.alloc(5 + body.length);
  m.write('Q', 0);
  m.writeInt32BE(4 + body.length, 1);
  body.copy(m, 5);
  return m;
}
const SYNC = Uint8Array.from([0x53, 0, 0, 0, 4]);

/** The transaction status of a trailing ReadyForQuery ('I' idle, 'T' in a block, 'E' failed block), or null. */
function readyStatus(tail: Buffer): string | null {
  if (tail.length < 6) return null;
  const z = tail.subarray(tail.length - 6);
  return z[0] === 0x5a && z.readInt32BE(1) === 5 ? String.fromCharCode(z[5]) : null;
}

/**
 * Serializes clients against each other and against the app: a client runs only while holding
 * PGlite's transaction lock (the one `query`, `exec` and `transaction` take), from its first
 * message until the backend answers ReadyForQuery outside a transaction block.
 * Implements the queue contract PGLiteSocketHandler calls.
 */
class TransactionGate {
  private owner: number | null = null;
  private release: (() => void) | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly gone = new Set<number>();

  constructor(
    private readonly pg: PGlite,
    private readonly idleInTransactionMs: number,
    private readonly onIdleTimeout: (handlerId: number) => void,
  ) {}

  private acquire(handlerId: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.pg
        ._runExclusiveTransaction(
          () =>
            new Promise<void>((release) => {
              this.owner = handlerId;
              this.release = release;
              resolve();
            }),
        )
        .catch(reject);
    });
  }

  private releaseGate(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const release = this.release;
    this.owner = null;
    this.release = null;
    release?.();
  }

  private async run(message: Uint8Array, onData?: (d: Uint8Array) => void): Promise<{ bytes: number; status: string | null }> {
    let bytes = 0;
    let tail = Buffer.alloc(0);
    await this.pg.runExclusive(() =>
      this.pg.execProtocolRawStream(message, {
        onRawData: (d) => {
          bytes += d.length;
          const joined = Buffer.concat([tail, Buffer.from(d)]);
          tail = joined.subarray(Math.max(0, joined.length - 6));
          onData?.(d);
        },
      }),
    );
    return { bytes, status: readyStatus(tail) };
  }

  async enqueue(handlerId: number, message: Uint8Array, onData: (d: Uint8Array) => void): Promise<number> {
    // Terminate ends the client's connection, not the shared backend.
    if (message[0] === 0x58) return 0;
    if (this.owner !== handlerId) {
      await this.acquire(handlerId);
      if (this.gone.has(handlerId)) {
        this.releaseGate();
        throw new Error('Handler disconnected');
      }
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    let status: string | null;
    let bytes: number;
    try {
      ({ status, bytes } = await this.run(message, onData));
    } catch (err) {
      await this.abandon();
      throw err;
    }
    if (status === 'I') this.releaseGate();
    else this.idleTimer = setTimeout(() => this.onIdleTimeout(handlerId), this.idleInTransactionMs).unref();
    return bytes;
  }

  /** Rolls back whatever the owner left open (a transaction block or half an extended batch), then lets others in. */
  private async abandon(): Promise<void> {
    if (this.owner === null) return;
    try {
      let { status } = await this.run(queryMessage('ROLLBACK'));
      // After an error in an extended batch the backend ignores everything until Sync.
      if (status === null) ({ status } = await this.run(SYNC));
      if (this.pg.isInTransaction()) await this.run(queryMessage('ROLLBACK'));
    } catch {
      /* the backend is closing */
    } finally {
      this.releaseGate();
    }
  }

  clearQueueForHandler(handlerId: number): void {
    if (this.owner !== handlerId) this.gone.add(handlerId);
  }

  async clearTransactionIfNeeded(handlerId: number): Promise<void> {
    if (this.owner === handlerId) await this.abandon();
    this.gone.delete(handlerId);
  }

  getQueueLength(): number {
    return 0;
  }
}

/**
 * Starts serving `pg` (opened on `dataDir`) on 127.0.0.1 at a random port and writes the
 * connection file; removes it on stop or process exit. Errors: listen failures (rare: port 0).
 */
export async function servePglite(
  pg: PGlite,
  dataDir: string,
  options: { idleInTransactionMs?: number; maxConnections?: number; onWarning?: (message: string) => void } = {},
): Promise<ServedPglite> {
  const idleInTransactionMs = options.idleInTransactionMs ?? 10_000;
  const maxConnections = options.maxConnections ?? 8;
  const password = randomBytes(24).toString('base64url');
  const user = 'postgres';
  const sockets = new Map<number, net.Socket>();
  const gate = new TransactionGate(pg, idleInTransactionMs, (handlerId) => {
    options.onWarning?.(`A local tool stayed idle inside a transaction for over ${idleInTransactionMs} ms: rolled back and disconnected.`);
    sockets.get(handlerId)?.destroy();
  });
  const open = new Set<net.Socket>();

  const server = net.createServer((socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
    socket.on('error', () => socket.destroy());
    if (open.size > maxConnections) {
      socket.end(fatal('53300', `too many local connections (at most ${maxConnections})`));
      return;
    }
    let buf = Buffer.alloc(0);
    let startup: Buffer | null = null;
    let startupUser = '';
    const salt = randomBytes(4);
    const timer = setTimeout(() => socket.destroy(), AUTH_TIMEOUT_MS).unref();

    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (!startup) {
        if (buf.length < 8) return;
        const len = buf.readInt32BE(0);
        const code = buf.readInt32BE(4);
        if (len < 8 || len > 10_000) return socket.destroy();
        if (buf.length < len) return;
        const packet = buf.subarray(0, len);
        buf = buf.subarray(len);
        if (code === SSL_REQUEST || code === GSS_REQUEST) {
          socket.write('N');
        } else if (code === PROTOCOL_3) {
          startup = Buffer.from(packet);
          const params = packet.subarray(8).toString('utf8').split('\0');
          for (let i = 0; i + 1 < params.length; i += 2) if (params[i] === 'user') startupUser = params[i + 1];
          const req = Buffer.alloc(13);
          req.write('R', 0);
          req.writeInt32BE(12, 1);
          req.writeInt32BE(5, 5); // AuthenticationMD5Password
          salt.copy(req, 9);
          socket.write(req);
        } else {
          // CancelRequest (not supported by PGlite) or an unknown protocol.
          return socket.destroy();
        }
      }
      if (buf.length < 5) return;
      const len = buf.readInt32BE(1);
      if (buf[0] !== 0x70 || len < 5 || len > 1000) return socket.destroy();
      if (buf.length < 1 + len) return;
      const given = buf.subarray(5, 1 + len).toString('utf8').replace(/\0$/, '');
      const rest = buf.subarray(1 + len);
      const expected = `md5${md5hex(Buffer.concat([Buffer.from(md5hex(password + startupUser)), salt]))}`;
      const ok = startupUser === user && given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected));
      clearTimeout(timer);
      socket.off('data', onData);
      if (!ok) {
        socket.end(fatal('28P01', `password authentication failed for user "${startupUser.slice(0, 63)}"`));
        return;
      }
      // Authenticated: the handler speaks to PGlite from the startup packet on (PGlite answers AuthenticationOk).
      socket.pause();
      const handler = new PGLiteSocketHandler({
        queryQueue: gate as unknown as ConstructorParameters<typeof PGLiteSocketHandler>[0]['queryQueue'],
        closeOnDetach: true,
      });
      sockets.set(handler.handlerId, socket);
      socket.once('close', () => sockets.delete(handler.handlerId));
      socket.unshift(Buffer.concat([startup as Buffer, rest]));
      handler
        .attach(socket)
        .then(() => socket.resume())
        .catch(() => socket.destroy());
    };
    socket.on('data', onData);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as net.AddressInfo;
  const info: SocketInfo = {
    host: '127.0.0.1',
    port,
    pid: process.pid,
    user,
    password,
    database: 'postgres',
    started_at: new Date().toISOString(),
  };
  const file = socketInfoPath(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
  const removeFile = () => {
    try {
      const current = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<SocketInfo>;
      if (current.pid === process.pid && current.port === port) fs.unlinkSync(file);
    } catch {
      /* already gone */
    }
  };
  process.once('exit', removeFile);

  return {
    info,
    file,
    async stop() {
      removeFile();
      process.off('exit', removeFile);
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
