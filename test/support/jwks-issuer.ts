/**
 * A workload identity issuer on a loopback port, for tests: it serves an OpenID Connect
 * discovery document and a JSON Web Key Set the way a CI system's token service or a Kubernetes
 * API server does, and signs tokens with its keys (or with any key a test hands it, to forge).
 *
 * Keys come from jose's `generateKeyPair`. {@link JwksIssuer.rotate} makes a new generation of
 * keys current; the previous generation stays published (as real issuers keep old keys while
 * tokens signed with them are alive), older ones are dropped.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';

/** Algorithms the test issuer can sign with. */
export type IssuerAlgorithm = 'RS256' | 'ES256';

/** Options of {@link startJwksIssuer}. */
export interface JwksIssuerOptions {
  /** One signing key per algorithm; the first is the default for {@link JwksIssuer.sign} (default `['RS256']`). */
  algorithms?: IssuerAlgorithm[];
  /** Serve the discovery document (default true); without it, `/.well-known/openid-configuration` is 404. */
  discovery?: boolean;
}

/** How {@link JwksIssuer.sign} signs; each option overrides what the issuer would do. */
export interface SignOptions {
  /** The `alg` header (default: the issuer's first algorithm). `HS256` needs `key` as bytes. */
  alg?: string;
  /** The `kid` header (default: the current key's); `null` leaves it out. */
  kid?: string | null;
  /** Sign with this key instead of the issuer's: a private key, or bytes for HMAC. */
  key?: CryptoKey | Uint8Array;
}

/** A running test issuer. */
export interface JwksIssuer {
  /** Its issuer identifier, `http://127.0.0.1:<port>`. */
  issuer: string;
  /**
   * A signed JWT. `iss`, `iat` and `exp` (5 minutes ahead) are filled in unless `claims` has
   * them; a claim given as `undefined` is left out.
   */
  sign(claims: JWTPayload, opts?: SignOptions): Promise<string>;
  /** Make a new generation of keys (new `kid`s) current; the JWKS serves it from now on. */
  rotate(): void;
  /** The current public key for `alg` (default the first) as SPKI PEM. */
  publicKeyPem(alg?: IssuerAlgorithm): Promise<string>;
  /** How many times the key set was fetched. */
  jwksRequests(): number;
  /** How many times the discovery document was fetched. */
  discoveryRequests(): number;
  stop(): Promise<void>;
}

interface SigningKey {
  alg: IssuerAlgorithm;
  kid: string;
  privateKey: CryptoKey;
  jwk: JWK;
  publicKey: CryptoKey;
}

/** Start a test issuer on `127.0.0.1` and an OS-chosen port. */
export async function startJwksIssuer(options: JwksIssuerOptions = {}): Promise<JwksIssuer> {
  const algorithms = options.algorithms ?? ['RS256'];
  const discovery = options.discovery ?? true;
  let generation = 0;
  let jwksCount = 0;
  let discoveryCount = 0;

  const makeGeneration = async (): Promise<SigningKey[]> => {
    const n = ++generation;
    return Promise.all(
      algorithms.map(async (alg) => {
        const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
        const kid = `${alg.toLowerCase()}-${n}`;
        return {
          alg,
          kid,
          privateKey,
          publicKey,
          jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' },
        };
      }),
    );
  };
  let current = makeGeneration();
  let previous: Promise<SigningKey[]> | undefined;

  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method === 'GET' && path === '/.well-known/openid-configuration' && discovery) {
      discoveryCount++;
      send(200, {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: algorithms,
      });
      return;
    }
    if (req.method === 'GET' && path === '/.well-known/jwks.json') {
      jwksCount++;
      Promise.all([current, previous ?? []])
        .then(([now, before]) => send(200, { keys: [...now, ...before].map((k) => k.jwk) }))
        .catch(() => send(500, { error: 'no keys' }));
      return;
    }
    send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const keyFor = async (alg: string | undefined): Promise<SigningKey> => {
    const keys = await current;
    const key = alg === undefined ? keys[0] : keys.find((k) => k.alg === alg);
    return key ?? keys[0]!;
  };

  return {
    issuer,
    async sign(claims, opts = {}) {
      const own = await keyFor(opts.alg);
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = { iss: issuer, iat: now, exp: now + 300, ...claims };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      const kid = opts.kid === undefined ? own.kid : opts.kid;
      return new SignJWT(payload)
        .setProtectedHeader({ alg: opts.alg ?? own.alg, typ: 'JWT', ...(kid === null ? {} : { kid }) })
        .sign(opts.key ?? own.privateKey);
    },
    rotate() {
      previous = current;
      current = makeGeneration();
    },
    async publicKeyPem(alg) {
      return exportSPKI((await keyFor(alg)).publicKey);
    },
    jwksRequests: () => jwksCount,
    discoveryRequests: () => discoveryCount,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
