/**
 * An HTTP server with limits on how long and how many clients may hold it: Node's defaults
 * give a client 60 s to send its headers and 300 s to send its body, and take any number of
 * connections, so a few slow clients (slowloris) hold sockets and memory for minutes.
 *
 * `requestTimeout` bounds only the *receiving* of a request (headers and body); the answer may
 * take longer, so a long-poll (`waitSeconds`, up to 60 s) is not cut by it. The socket idle
 * timeout (`server.timeout`) stays off for the same reason.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { HttpServerLimits } from '../config/http-limits.js';

/** A server for `handler` with `limits` applied, not yet listening. */
export function createLimitedServer(handler: RequestListener, limits: HttpServerLimits): Server {
  const headersTimeout = limits.headersTimeoutSeconds * 1000;
  const server = createServer(
    {
      headersTimeout,
      requestTimeout: limits.requestTimeoutSeconds * 1000,
      keepAliveTimeout: limits.keepAliveTimeoutSeconds * 1000,
      // Node checks the two timeouts on this interval (30 s by default): check often enough
      // that a short timeout is enforced close to when it expires.
      connectionsCheckingInterval: Math.min(1000, Math.max(100, headersTimeout / 4)),
    },
    handler,
  );
  server.maxConnections = limits.maxConnections;
  return server;
}

/** Create a server for `handler` with `limits` and listen on `port` and `host`. */
export async function listenWithLimits(
  handler: RequestListener,
  limits: HttpServerLimits,
  port: number,
  host: string,
): Promise<Server> {
  const server = createLimitedServer(handler, limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
