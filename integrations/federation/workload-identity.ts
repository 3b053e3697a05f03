/**
 * Federated bot identity: instead of (or besides) its API key, a bot may present a short-lived
 * OpenID Connect token from a workload identity issuer — a CI system's job token, a Kubernetes
 * service-account token — and Elevate maps it to the bot by claims configured in the policy.
 * Nothing long-lived has to be stored in the CI system or the cluster.
 *
 * {@link WorkloadIdentityVerifier.verify} checks the token's signature against the issuer's
 * published keys (JWKS), and its issuer, audience, expiry (`exp` is required) and not-before,
 * then finds the one bot whose rule matches. Every refusal is a {@link FederationError} whose
 * `code` says why, in words an operator can act on.
 *
 * The token's unverified `iss` is read only to choose which issuer's keys to verify with; an
 * issuer that is not configured is refused before anything is fetched, so a token cannot make
 * Elevate connect anywhere. Each issuer has an explicit list of asymmetric algorithms, so
 * `alg: none` and HMAC tokens "signed" with an issuer's public key are refused outright.
 *
 * A token may be presented many times while it is valid: CI systems hand one token to every
 * step of a job. Its `jti`, when present, is recorded with each elevation instead, so the audit
 * trail shows which elevations came from the same token.
 */
import {
  createRemoteJWKSet,
  customFetch,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyOptions,
  type RemoteJWKSetOptions,
} from 'jose';
import type { Logger } from 'pino';
import { CONFIGURABLE_ALGORITHMS, RESERVED_CLAIMS, issuerUrlProblem } from '../../core/rules/federation.js';

/** One bot's permission to authenticate with tokens from a workload identity issuer. */
export interface FederationRule {
  /** The bot a matching token authenticates as. */
  botId: string;
  /** The issuer, exactly as the token's `iss` says it, e.g. `https://token.actions.githubusercontent.com`. */
  issuer: string;
  /** The audience the token must be issued for: its `aud`, or one of the values in its `aud` array. */
  audience: string;
  /**
   * Claims the token must carry, each equal to this string exactly, e.g.
   * `{ sub: 'repo:acme/app:ref:refs/heads/main' }`. At least one: the issuer and audience alone
   * do not say which workload is calling (a CI system lets every job choose its audience).
   */
  claims: Record<string, string>;
  /** Claims recorded with each elevation, when present (default {@link DEFAULT_RECORD_CLAIMS}). */
  recordClaims?: string[];
}

/** How to verify the tokens of one issuer. */
export interface IssuerSettings {
  /** The issuer, exactly as tokens name it in `iss`. Must be `https://` (see {@link allowInsecureHttp}). */
  issuer: string;
  /**
   * Where the issuer publishes its keys. Default: the `jwks_uri` of the issuer's discovery
   * document (`<issuer>/.well-known/openid-configuration`), or `<issuer>/.well-known/jwks.json`
   * when it has none.
   */
  jwksUri?: string;
  /** Signature algorithms accepted (default {@link DEFAULT_ALGORITHMS}); only asymmetric ones may be listed. */
  algorithms?: string[];
  /** Clock difference tolerated for `exp` and `nbf`, in seconds (default {@link CLOCK_TOLERANCE_SECONDS}). */
  clockToleranceSeconds?: number;
  /** Allow an `http://` issuer and key set on a loopback address (tests, local development). */
  allowInsecureHttp?: boolean;
}

/** Why a token was refused. */
export type FederationFailure =
  | 'malformed'
  | 'unknown_issuer'
  | 'bad_signature'
  | 'unknown_key'
  | 'algorithm_not_allowed'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'no_matching_bot'
  | 'ambiguous_bot'
  | 'jwks_unavailable';

/**
 * A refused token. The message names the reason and at most the token's issuer and audience:
 * the rest of a token is the caller's business, and messages end up in responses and logs.
 */
export class FederationError extends Error {
  override readonly name = 'FederationError';

  constructor(
    /** Why the token was refused. */
    readonly code: FederationFailure,
    message: string,
    /** The configured issuer the token claimed to come from, once it is known to be one. */
    readonly issuer?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Who a verified token says is calling. */
export interface WorkloadIdentity {
  /** The bot the token maps to. */
  botId: string;
  /** The issuer that signed it. */
  issuer: string;
  /** Its `sub`, e.g. `repo:acme/app:ref:refs/heads/main` or `system:serviceaccount:ci:deployer`. */
  subject: string;
  /** The recorded claims that were present, e.g. the CI run's id and commit. */
  claims: Record<string, unknown>;
  /** Its `jti`, when it has one: the same value on two elevations means the same token. */
  tokenId?: string;
  /** When it expires (ISO-8601). */
  expiresAt: string;
}

/** Options of {@link WorkloadIdentityVerifier}; everything has a default. */
export interface VerifierOptions {
  logger?: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** Used for discovery and key sets (default: the global `fetch`). */
  fetch?: typeof fetch;
  /** The current time (default: the system clock). */
  clock?: () => Date;
  /** Key-set caching; see {@link DEFAULT_JWKS_CACHE}. */
  jwks?: Partial<JwksCacheSettings>;
}

/** How key sets are fetched and cached, per issuer. */
export interface JwksCacheSettings {
  /** Keys are fetched again after this long, in milliseconds. */
  cacheMaxAgeMs: number;
  /**
   * After a fetch, a token with an unknown `kid` triggers another fetch only once this many
   * milliseconds have passed: a stream of tokens with made-up key ids cannot hammer the issuer.
   */
  cooldownMs: number;
  /** Time limit for each discovery or key-set request, in milliseconds. */
  timeoutMs: number;
}

/** Keys are kept 10 minutes; an unknown key id refetches at most every 30 s; requests time out after 5 s. */
export const DEFAULT_JWKS_CACHE: Readonly<JwksCacheSettings> = {
  cacheMaxAgeMs: 10 * 60_000,
  cooldownMs: 30_000,
  timeoutMs: 5_000,
};

/** Algorithms an issuer accepts unless configured otherwise. */
export const DEFAULT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'PS256', 'EdDSA'];

/** Clock difference tolerated for `exp` and `nbf`, in seconds, unless configured otherwise. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/**
 * Claims recorded with each elevation unless a rule lists its own: the token's id, the
 * workload's subject, and what identifies a CI run (GitHub Actions names) or a Kubernetes pod.
 */
export const DEFAULT_RECORD_CLAIMS: readonly string[] = [
  'jti',
  'sub',
  'run_id',
  'run_attempt',
  'job_workflow_ref',
  'repository',
  'ref',
  'sha',
  'workflow',
  'runner_environment',
  'kubernetes.io',
];

/** Longest token accepted, in characters; real workload tokens are 1-3 KB. */
const MAX_TOKEN_LENGTH = 16 * 1024;

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Issuer settings with every default filled in, and its key set once known. */
interface Issuer {
  issuer: string;
  jwksUri?: string;
  algorithms: string[];
  clockToleranceSeconds: number;
  allowInsecureHttp: boolean;
  /** Audiences any rule accepts from this issuer. */
  audiences: string[];
  rules: FederationRule[];
  /** Resolving (discovery) or resolved key set; dropped on failure so the next token retries. */
  keys?: Promise<ReturnType<typeof createRemoteJWKSet>>;
}

/** Checks workload identity tokens and maps them to bots; see the module description. */
export class WorkloadIdentityVerifier {
  private readonly issuers = new Map<string, Issuer>();
  private readonly logger: Pick<Logger, 'debug' | 'info' | 'warn'> | undefined;
  private readonly fetchImpl: typeof fetch;
  private readonly customFetch: boolean;
  private readonly clock: () => Date;
  private readonly cache: JwksCacheSettings;

  /**
   * @throws Error naming the setting at fault when a rule or issuer is unusable (an unknown or
   *   insecure issuer, a symmetric algorithm, a rule without claims): configuration mistakes are
   *   found at start, not at the first token.
   */
  constructor(rules: FederationRule[], issuers: IssuerSettings[], opts: VerifierOptions = {}) {
    this.logger = opts.logger;
    this.fetchImpl = opts.fetch ?? fetch;
    this.customFetch = opts.fetch !== undefined;
    this.clock = opts.clock ?? (() => new Date());
    this.cache = { ...DEFAULT_JWKS_CACHE, ...opts.jwks };

    for (const s of issuers) {
      const where = `federation issuer ${JSON.stringify(s.issuer)}`;
      if (this.issuers.has(s.issuer)) throw new Error(`${where} is configured twice`);
      const insecure = s.allowInsecureHttp ?? false;
      const problem = issuerUrlProblem(s.issuer, insecure);
      if (problem) throw new Error(`${where}: issuer ${problem}`);
      if (s.jwksUri !== undefined) {
        const jwksProblem = issuerUrlProblem(s.jwksUri, insecure);
        if (jwksProblem) throw new Error(`${where}: jwksUri ${jwksProblem}`);
      }
      const algorithms = [...(s.algorithms ?? DEFAULT_ALGORITHMS)];
      if (algorithms.length === 0) throw new Error(`${where}: algorithms must list at least one algorithm`);
      for (const alg of algorithms) {
        if (!CONFIGURABLE_ALGORITHMS.includes(alg)) {
          throw new Error(
            `${where}: algorithm ${JSON.stringify(alg)} is not allowed (use ${CONFIGURABLE_ALGORITHMS.join(', ')})`,
          );
        }
      }
      const tolerance = s.clockToleranceSeconds ?? CLOCK_TOLERANCE_SECONDS;
      if (!Number.isInteger(tolerance) || tolerance < 0 || tolerance > 300) {
        throw new Error(`${where}: clockToleranceSeconds must be a whole number from 0 to 300`);
      }
      this.issuers.set(s.issuer, {
        issuer: s.issuer,
        ...(s.jwksUri !== undefined ? { jwksUri: s.jwksUri } : {}),
        algorithms,
        clockToleranceSeconds: tolerance,
        allowInsecureHttp: insecure,
        audiences: [],
        rules: [],
      });
    }

    for (const rule of rules) {
      const where = `federation rule of bot ${rule.botId}`;
      const issuer = this.issuers.get(rule.issuer);
      if (!issuer) throw new Error(`${where}: issuer ${JSON.stringify(rule.issuer)} is not configured`);
      if (!rule.audience) throw new Error(`${where}: audience must not be empty`);
      const names = Object.keys(rule.claims);
      if (names.length === 0) throw new Error(`${where}: claims must name at least one claim, e.g. sub`);
      for (const name of names) {
        if (RESERVED_CLAIMS.includes(name)) {
          throw new Error(`${where}: claims may not name ${name}; it is checked by the verifier itself`);
        }
      }
      issuer.rules.push(rule);
      if (!issuer.audiences.includes(rule.audience)) issuer.audiences.push(rule.audience);
    }
  }

  /**
   * Whether a bearer value has the shape of a JWT (three base64url segments), so it should be
   * verified here rather than looked up as an API key. API keys (`elv_bot_…`) never do.
   */
  static looksLikeJwt(bearer: string): boolean {
    return !bearer.startsWith('elv_') && bearer.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(bearer);
  }

  /**
   * Verify the token and return the bot it maps to, with the recorded claims.
   *
   * @throws FederationError with the reason it was refused.
   */
  async verify(token: string): Promise<WorkloadIdentity> {
    if (!WorkloadIdentityVerifier.looksLikeJwt(token)) {
      throw new FederationError('malformed', 'the token is not a JSON Web Token (three base64url segments)');
    }
    let claimedIssuer: unknown;
    let alg: unknown;
    try {
      alg = decodeProtectedHeader(token).alg;
      claimedIssuer = decodeJwt(token).iss;
    } catch (err) {
      throw new FederationError('malformed', 'the token is not a well-formed JSON Web Token', undefined, {
        cause: err,
      });
    }
    if (typeof claimedIssuer !== 'string' || claimedIssuer === '') {
      throw new FederationError('malformed', 'the token has no issuer (iss claim)');
    }
    const issuer = this.issuers.get(claimedIssuer);
    if (!issuer) {
      throw new FederationError(
        'unknown_issuer',
        `the token's issuer ${quote(claimedIssuer)} is not a configured workload identity issuer`,
      );
    }
    const iss = issuer.issuer;
    // jose refuses these too; checking first makes the reason certain whatever the key set holds.
    if (typeof alg !== 'string' || !issuer.algorithms.includes(alg)) {
      throw new FederationError(
        'algorithm_not_allowed',
        `the token's signature algorithm is not accepted from issuer ${quote(iss)} (accepted: ${issuer.algorithms.join(', ')})`,
        iss,
      );
    }
    if (issuer.rules.length === 0) {
      throw new FederationError('no_matching_bot', `no bot accepts tokens from issuer ${quote(iss)}`, iss);
    }

    const keys = await this.keysOf(issuer);
    const options: JWTVerifyOptions = {
      issuer: iss,
      audience: issuer.audiences,
      algorithms: issuer.algorithms,
      clockTolerance: issuer.clockToleranceSeconds,
      requiredClaims: ['exp', 'sub'],
      currentDate: this.clock(),
    };
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, options));
    } catch (err) {
      if (!(err instanceof errors.JWKSMultipleMatchingKeys)) throw this.refusal(err, issuer);
      // A token without `kid` while the issuer publishes several keys of its kind (during a
      // rotation): each candidate is tried, as jose recommends.
      payload = await this.verifyWithCandidates(token, err, options, issuer);
    }

    if (typeof payload.sub !== 'string') {
      throw new FederationError(
        'malformed',
        `the token from issuer ${quote(iss)} has an invalid sub claim`,
        iss,
      );
    }
    const subject = payload.sub;
    // Own properties only: a claim named like an Object.prototype member is just absent.
    const claim = (name: string): unknown => (Object.hasOwn(payload, name) ? payload[name] : undefined);
    const audiences = typeof payload.aud === 'string' ? [payload.aud] : (payload.aud ?? []);
    const matched = issuer.rules.filter(
      (rule) =>
        audiences.includes(rule.audience) &&
        Object.entries(rule.claims).every(([name, value]) => claim(name) === value),
    );
    const bots = [...new Set(matched.map((r) => r.botId))];
    if (bots.length > 1) {
      this.logger?.warn(
        { issuer: iss, bots },
        'a workload identity token matches the federation rules of several bots; refused',
      );
      throw new FederationError(
        'ambiguous_bot',
        `the token from issuer ${quote(iss)} matches the federation rules of more than one bot; the policy must map each workload to one bot`,
        iss,
      );
    }
    const rule = matched[0];
    if (!rule) {
      throw new FederationError(
        'no_matching_bot',
        `no bot's federation rule matches the token's claims (issuer ${quote(iss)}, audience ${quote(audiences.join(' '))})`,
        iss,
      );
    }

    const claims: Record<string, unknown> = {};
    for (const name of rule.recordClaims ?? DEFAULT_RECORD_CLAIMS) {
      const value = claim(name);
      if (value !== undefined) claims[name] = value;
    }
    return {
      botId: rule.botId,
      issuer: iss,
      subject,
      claims,
      ...(typeof payload.jti === 'string' ? { tokenId: payload.jti } : {}),
      expiresAt: new Date(payload.exp! * 1000).toISOString(),
    };
  }

  private async verifyWithCandidates(
    token: string,
    candidates: errors.JWKSMultipleMatchingKeys,
    options: JWTVerifyOptions,
    issuer: Issuer,
  ): Promise<JWTPayload> {
    for await (const key of candidates) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (err) {
        if (!(err instanceof errors.JWSSignatureVerificationFailed)) throw this.refusal(err, issuer);
      }
    }
    throw this.refusal(new errors.JWSSignatureVerificationFailed(), issuer);
  }

  /** The issuer's key set, resolving its URL by discovery the first time. */
  private keysOf(issuer: Issuer): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (!issuer.keys) {
      const pending = this.jwksUriOf(issuer).then((uri) => {
        const options: RemoteJWKSetOptions = {
          cacheMaxAge: this.cache.cacheMaxAgeMs,
          cooldownDuration: this.cache.cooldownMs,
          timeoutDuration: this.cache.timeoutMs,
          ...(this.customFetch ? { [customFetch]: this.fetchImpl } : {}),
        };
        this.logger?.info(
          { issuer: issuer.issuer, jwksUri: uri.href },
          'workload identity issuer keys located',
        );
        return createRemoteJWKSet(uri, options);
      });
      issuer.keys = pending;
      pending.catch(() => {
        if (issuer.keys === pending) delete issuer.keys;
      });
    }
    return issuer.keys.catch((err: unknown) => {
      throw this.unavailable(issuer, err);
    });
  }

  /** The configured key-set URL, else the discovery document's `jwks_uri`, else the well-known path. */
  private async jwksUriOf(issuer: Issuer): Promise<URL> {
    if (issuer.jwksUri) return new URL(issuer.jwksUri);
    const base = issuer.issuer.replace(/\/+$/, '');
    const response = await this.fetchImpl(`${base}/.well-known/openid-configuration`, {
      headers: { accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(this.cache.timeoutMs),
    });
    if (response.status === 404) {
      await response.body?.cancel();
      return new URL(`${base}/.well-known/jwks.json`);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`the discovery document answered HTTP ${response.status}`);
    }
    const doc: unknown = await response.json();
    if (!doc || typeof doc !== 'object') throw new Error('the discovery document is not a JSON object');
    const { issuer: named, jwks_uri: jwksUri } = doc as Record<string, unknown>;
    // OpenID Connect Discovery 1.0 §4.3: the document must name the issuer it was fetched for.
    if (named !== issuer.issuer) {
      throw new Error(`the discovery document names issuer ${quote(String(named))}`);
    }
    if (jwksUri === undefined) return new URL(`${base}/.well-known/jwks.json`);
    if (typeof jwksUri !== 'string')
      throw new Error('the discovery document has a jwks_uri that is not text');
    const problem = issuerUrlProblem(jwksUri, issuer.allowInsecureHttp);
    if (problem) throw new Error(`the discovery document's jwks_uri ${problem}`);
    return new URL(jwksUri);
  }

  private unavailable(issuer: Issuer, err: unknown): FederationError {
    this.logger?.warn(
      { issuer: issuer.issuer, err: err instanceof Error ? err.message : String(err) },
      'workload identity issuer keys unavailable',
    );
    return new FederationError(
      'jwks_unavailable',
      `the signing keys of issuer ${quote(issuer.issuer)} could not be fetched; try again later`,
      issuer.issuer,
      { cause: err },
    );
  }

  /** What a jose error means for the caller. */
  private refusal(err: unknown, issuer: Issuer): FederationError {
    const iss = issuer.issuer;
    const refuse = (code: FederationFailure, message: string) =>
      new FederationError(code, message, iss, { cause: err });
    if (err instanceof errors.JWTExpired)
      return refuse('expired', `the token from issuer ${quote(iss)} has expired`);
    if (err instanceof errors.JWTClaimValidationFailed) {
      if (err.claim === 'nbf' && err.reason === 'check_failed') {
        return refuse('not_yet_valid', `the token from issuer ${quote(iss)} is not valid yet (nbf)`);
      }
      if (err.claim === 'aud') {
        const aud = err.payload.aud;
        return refuse(
          'wrong_audience',
          `the token's audience ${quote(Array.isArray(aud) ? aud.join(' ') : String(aud ?? ''))} is not one a bot accepts from issuer ${quote(iss)}`,
        );
      }
      if (err.reason === 'missing') {
        return refuse('malformed', `the token from issuer ${quote(iss)} has no ${err.claim} claim`);
      }
      return refuse('malformed', `the token from issuer ${quote(iss)} has an invalid ${err.claim} claim`);
    }
    if (err instanceof errors.JWKSNoMatchingKey) {
      return refuse(
        'unknown_key',
        `the token is signed with a key that issuer ${quote(iss)} does not publish`,
      );
    }
    if (err instanceof errors.JWSSignatureVerificationFailed) {
      return refuse(
        'bad_signature',
        `the token's signature does not verify with the keys of issuer ${quote(iss)}`,
      );
    }
    if (err instanceof errors.JOSEAlgNotAllowed) {
      return refuse(
        'algorithm_not_allowed',
        `the token's signature algorithm is not accepted from issuer ${quote(iss)} (accepted: ${issuer.algorithms.join(', ')})`,
      );
    }
    if (
      err instanceof errors.JWSInvalid ||
      err instanceof errors.JWTInvalid ||
      err instanceof errors.JOSENotSupported
    ) {
      return refuse('malformed', `the token from issuer ${quote(iss)} is not a well-formed signed JWT`);
    }
    // Anything else happened while fetching the key set: timeout, refused connection, non-200, bad JSON.
    return this.unavailable(issuer, err);
  }
}

/** A value from a token, quoted and shortened for a message (control characters escaped). */
function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}
