/** The HTTP server's limits (`ELEVATE_HTTP_*`): their shape and defaults, read by the settings. */

/** The limits, in the units the settings use (`ELEVATE_HTTP_*`). */
export interface HttpServerLimits {
  /** A client must have sent all its headers within this (`ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS`). */
  headersTimeoutSeconds: number;
  /** …and its whole request, body included, within this (`ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS`). */
  requestTimeoutSeconds: number;
  /** An idle keep-alive connection is closed after this (`ELEVATE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS`). */
  keepAliveTimeoutSeconds: number;
  /** Connections beyond this are refused at once (`ELEVATE_HTTP_MAX_CONNECTIONS`). */
  maxConnections: number;
}

/** The defaults, also those of `config/settings.ts`. */
export const DEFAULT_HTTP_LIMITS: HttpServerLimits = {
  headersTimeoutSeconds: 20,
  requestTimeoutSeconds: 60,
  keepAliveTimeoutSeconds: 5,
  maxConnections: 4096,
};
