import net from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of a real server, to take that server away without
 * stopping it (others share it): `cut()` drops every connection and stops listening (new
 * connections are refused, as when the server is stopped), `blackhole()` accepts connections
 * and never answers (as a host whose packets are dropped), `restore()` forwards again on the
 * same port.
 */
export async function startTcpProxy(targetPort: number, targetHost = '127.0.0.1') {
  const sockets = new Set<net.Socket>();
  let mode: 'forward' | 'blackhole' = 'forward';
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const server = net.createServer((client) => {
    track(client);
    if (mode === 'blackhole') return; // hold it open, say nothing
    const upstream = net.connect(targetPort, targetHost);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
    sockets.clear();
  };
  // close() waits for open connections: stop accepting first, then drop what is open.
  const stopListening = async () => {
    if (!server.listening) return dropAll();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    dropAll();
    await closed;
  };
  return {
    port,
    /** Connections held open right now (both sides counted). */
    connections: () => sockets.size,
    async cut() {
      await stopListening();
    },
    async blackhole() {
      dropAll();
      mode = 'blackhole';
      if (!server.listening) await listen(port);
    },
    async restore() {
      dropAll();
      mode = 'forward';
      if (!server.listening) await listen(port);
    },
    async close() {
      await stopListening();
    },
  };
}

export type TcpProxy = Awaited<ReturnType<typeof startTcpProxy>>;

/** A loopback port with nothing listening on it (connections are refused). */
export async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}
