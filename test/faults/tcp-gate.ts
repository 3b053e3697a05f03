/**
 * A loopback TCP forwarder in front of a target, that can be shut: while shut, its port refuses
 * connections and the connections through it are cut, which is what Elevate sees of a target
 * that is down, while the target keeps its state (moto keeps IAM in memory only, and the
 * throwaway PostgreSQL has no restart of its own).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export interface TcpGate {
  /** `127.0.0.1:<port>`, stable across shut and open. */
  readonly host: string;
  readonly port: number;
  /** Refuse new connections and cut the open ones. */
  shut(): Promise<void>;
  /** Accept again on the same port. */
  open(): Promise<void>;
  close(): Promise<void>;
}

/** Forward `127.0.0.1:<port>` (a free one) to `target`. */
export async function startTcpGate(target: { host: string; port: number }): Promise<TcpGate> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;

  const listen = () =>
    new Promise<void>((resolve, reject) => {
      const s = createServer((client) => {
        const upstream = connect(target.port, target.host);
        for (const sock of [client, upstream]) {
          sockets.add(sock);
          sock.once('close', () => sockets.delete(sock));
          sock.on('error', () => {
            client.destroy();
            upstream.destroy();
          });
        }
        client.pipe(upstream).pipe(client);
      });
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        const address = s.address();
        if (typeof address === 'object' && address) port = address.port;
        server = s;
        resolve();
      });
    });

  const shut = async () => {
    const s = server;
    server = undefined;
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await listen();
  return {
    host: '127.0.0.1',
    get port() {
      return port;
    },
    shut,
    open: () => (server ? Promise.resolve() : listen()),
    close: shut,
  };
}
