/**
 * Human decisions (approve, deny, revoke) reach an elevation workflow only as tokens signed by
 * Elevate's API: a compact JWS (RFC 7515) with an Ed25519 signature (`alg: EdDSA`) over the
 * decision, the elevation it is for, the moment it was made and a nonce. The API holds the
 * private key; workers know only public keys. So whoever can reach the Temporal frontend but
 * not the API's key cannot make a decision count: the update's validator refuses it before it
 * enters history (see {@link verifyDecision}).
 *
 * Pure and synchronous, because update validators are: it runs inside the workflow sandbox,
 * with `@noble/curves` (pure JavaScript, no I/O) doing the signature check.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import { base64urlnopad } from '@scure/base';
import type {
  ApproveInput,
  DecisionKind,
  DecisionRefusalCode,
  DenyInput,
  ExtendInput,
  RevokeInput,
  SignedDecision,
} from '../model/decisions.js';
import type { TrustedDecisionKey } from '../model/elevation.js';

// The workflow sandbox evaluates this module afresh for every workflow it starts or replays
// (module state is kept per workflow), so the table that noble builds on first use to speed up
// multiplications by the base point (window 6) was built again for each elevation's first
// decision: about 25 ms of the single workflow thread, for a workflow that checks a handful of
// tokens. Without the table the first check costs about as much as any later one (docs/benchmarks.md).
ed25519.Point.BASE.precompute(1);

/** What a decision token's payload says. `iat` is epoch milliseconds. */
export interface DecisionClaims<K extends DecisionKind = DecisionKind> {
  typ: typeof DECISION_TOKEN_TYPE;
  elevationId: string;
  decision: K;
  input: DecisionInputs[K];
  iat: number;
  nonce: string;
}

/** The input each kind of decision carries. */
export interface DecisionInputs {
  approve: ApproveInput;
  deny: DenyInput;
  revoke: RevokeInput;
  extend: ExtendInput;
}

/** `typ` of a decision token's payload (and, with `+jws`, of its header). */
export const DECISION_TOKEN_TYPE = 'elevate-decision';

/** How old a decision may be when the workflow sees it (clock skew and queueing included). */
export const DECISION_MAX_AGE_MS = 5 * 60_000;
/** How far in the future a decision's `iat` may be (the API's clock ahead of the worker's). */
export const DECISION_MAX_SKEW_MS = 60_000;

/** Why a decision token does not count; `code` is recorded with the refused attempt. */
export class DecisionRefusal extends Error {
  override readonly name = 'DecisionRefusal';
  constructor(
    readonly code: DecisionRefusalCode,
    message: string,
    /** The key id the token named, when it could be read. */
    readonly kid?: string,
  ) {
    super(message);
  }
}

interface DecodedToken {
  header: { alg?: unknown; kid?: unknown; typ?: unknown };
  claims: Record<string, unknown>;
  signingInput: Uint8Array;
  signature: Uint8Array;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const ascii = new TextEncoder();

function decodeJson(part: string, what: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8.decode(base64urlnopad.decode(part)));
  } catch {
    throw new DecisionRefusal('malformed', `the decision token's ${what} is not base64url-encoded JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new DecisionRefusal('malformed', `the decision token's ${what} is not a JSON object`);
  }
  return value as Record<string, unknown>;
}

/** Split and decode a compact JWS without trusting anything in it yet. */
function decodeToken(token: unknown): DecodedToken {
  if (typeof token !== 'string' || token.length === 0) {
    throw new DecisionRefusal('unsigned', 'the decision is not signed by Elevate (no decision token)');
  }
  if (token.length > 16_384) throw new DecisionRefusal('malformed', 'the decision token is too long');
  const parts = token.split('.');
  if (parts.length !== 3) throw new DecisionRefusal('malformed', 'the decision token is not a compact JWS');
  const [h, p, s] = parts as [string, string, string];
  const header = decodeJson(h, 'header');
  const claims = decodeJson(p, 'payload');
  let signature: Uint8Array;
  try {
    signature = base64urlnopad.decode(s);
  } catch {
    throw new DecisionRefusal('malformed', "the decision token's signature is not base64url");
  }
  return { header, claims, signingInput: ascii.encode(`${h}.${p}`), signature };
}

/**
 * The claims of a token, without checking its signature. Only for a token that was verified
 * when it arrived: an update handler replaying history reads what its validator accepted.
 */
export function decisionClaimsOf<K extends DecisionKind>(token: string): DecisionClaims<K> {
  return decodeToken(token).claims as unknown as DecisionClaims<K>;
}

/**
 * The payload of a compact JWS signed with Ed25519 by one of `keys`, and the key id it named:
 * the signature part of {@link verifyDecision}, shared with the owners' attestation answers
 * (`signed-attestation.ts`). Checks nothing in the payload; throws {@link DecisionRefusal}.
 */
export function verifiedTokenClaims(
  token: unknown,
  keys: readonly TrustedDecisionKey[],
): { claims: Record<string, unknown>; kid: string | undefined } {
  const { header, claims, signingInput, signature } = decodeToken(token);
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  if (header.alg !== 'EdDSA' && header.alg !== 'Ed25519') {
    throw new DecisionRefusal('bad_signature', `the decision token's algorithm must be EdDSA (Ed25519)`, kid);
  }
  const key = kid === undefined ? undefined : keys.find((k) => k.kid === kid);
  if (!key) {
    throw new DecisionRefusal(
      'unknown_key',
      `the decision is signed with key ${kid ?? '(none named)'}, which this elevation does not trust`,
      kid,
    );
  }
  let valid = false;
  try {
    valid = ed25519.verify(signature, signingInput, base64urlnopad.decode(key.x));
  } catch {
    valid = false;
  }
  if (!valid) throw new DecisionRefusal('bad_signature', 'the decision token has a bad signature', kid);
  return { claims, kid };
}

export interface VerifyDecisionOptions<K extends DecisionKind> {
  /** The public keys this elevation trusts (the worker's, loaded by an activity). */
  keys: readonly TrustedDecisionKey[];
  elevationId: string;
  decision: K;
  /** The workflow's clock, epoch milliseconds. */
  now: number;
  /** Nonces of decisions this elevation has already accepted. */
  used: ReadonlySet<string>;
}

/**
 * Check a decision update's token: an Ed25519 signature by a trusted key over a payload for
 * this elevation and this kind of decision, made within the last {@link DECISION_MAX_AGE_MS},
 * whose nonce has not been used. Returns the claims; throws {@link DecisionRefusal} otherwise.
 */
export function verifyDecision<K extends DecisionKind>(
  arg: SignedDecision | undefined,
  opts: VerifyDecisionOptions<K>,
): DecisionClaims<K> {
  const { claims, kid } = verifiedTokenClaims(arg?.token, opts.keys);
  if (claims.typ !== DECISION_TOKEN_TYPE) {
    throw new DecisionRefusal(
      'malformed',
      `the token is not an Elevate decision (typ ${String(claims.typ)})`,
      kid,
    );
  }
  if (claims.elevationId !== opts.elevationId) {
    throw new DecisionRefusal(
      'wrong_elevation',
      `the decision was made for elevation ${String(claims.elevationId)}, not this one`,
      kid,
    );
  }
  if (claims.decision !== opts.decision) {
    throw new DecisionRefusal(
      'wrong_decision',
      `the token carries a ${String(claims.decision)} decision, not ${opts.decision}`,
      kid,
    );
  }
  const iat = claims.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw new DecisionRefusal('malformed', 'the decision token has no time (iat)', kid);
  }
  if (iat < opts.now - DECISION_MAX_AGE_MS) {
    throw new DecisionRefusal(
      'stale',
      `the decision was made at ${new Date(iat).toISOString()}, more than ${DECISION_MAX_AGE_MS / 60_000} minutes ago`,
      kid,
    );
  }
  if (iat > opts.now + DECISION_MAX_SKEW_MS) {
    throw new DecisionRefusal(
      'stale',
      `the decision is dated in the future (${new Date(iat).toISOString()})`,
      kid,
    );
  }
  if (typeof claims.nonce !== 'string' || claims.nonce.length < 16 || claims.nonce.length > 128) {
    throw new DecisionRefusal('malformed', 'the decision token has no usable nonce', kid);
  }
  if (opts.used.has(claims.nonce)) {
    throw new DecisionRefusal('replayed', 'this decision has already been used once', kid);
  }
  if (typeof claims.input !== 'object' || claims.input === null) {
    throw new DecisionRefusal('malformed', 'the decision token carries no input', kid);
  }
  return claims as unknown as DecisionClaims<K>;
}
