/**
 * Both halves of "Temporal access is not approval":
 *
 * - {@link DecisionSigner}, in the API: signs each workflow start input and each human
 *   decision (approve, deny, revoke) it forwards, as a compact JWS with Ed25519.
 * - {@link RequestVerifier}, in the worker: checks the start input's signature before the
 *   workflow does anything, and gives the workflow the public keys its update validators check
 *   decisions with (`core/rules/signed-decision.ts`).
 */
import { createHash, randomBytes } from 'node:crypto';
import canonicalize from 'canonicalize';
import { CompactSign, compactVerify, decodeProtectedHeader } from 'jose';
import type { DecisionKind, RequestCheck, SignedDecision } from '../core/model/decisions.js';
import type { DecisionTrust, ElevationInput } from '../core/model/elevation.js';
import { workflowIdFor } from '../core/model/elevation.js';
import {
  DECISION_TOKEN_TYPE,
  type DecisionClaims,
  type DecisionInputs,
} from '../core/rules/signed-decision.js';
import type { DecisionSigningKey, PublicDecisionKey } from '../core/crypto/decision-keys.js';
import {
  ATTESTATION_TOKEN_TYPE,
  type AttestationAnswer,
  type SignedAttestation,
} from '../core/model/attestation.js';
import type { AttestationClaims } from '../core/rules/signed-attestation.js';
import {
  BREAK_GLASS_REVIEW_TOKEN_TYPE,
  type BreakGlassReviewAnswer,
  type SignedBreakGlassReview,
} from '../core/model/break-glass.js';
import type { BreakGlassReviewClaims } from '../core/rules/break-glass.js';

/** `typ` of a request signature's payload. */
export const REQUEST_TOKEN_TYPE = 'elevate-request';

/** How long after its signature a request's workflow may start. */
export const REQUEST_MAX_AGE_MS = 5 * 60_000;

/** What a request signature's payload says. `iat` is epoch milliseconds. */
interface RequestClaims {
  typ: typeof REQUEST_TOKEN_TYPE;
  elevationId: string;
  workflowId: string;
  /** SHA-256 (base64url) of the RFC 8785 canonical JSON of the input without `signature` and `carried`. */
  digest: string;
  iat: number;
}

/** The digest a request signature covers: everything the workflow is started with. */
export function requestDigest(input: ElevationInput): string {
  const { signature: _signature, carried: _carried, ...signed } = input;
  const text = canonicalize(signed);
  if (text === undefined) throw new Error('the elevation input cannot be canonicalised');
  return createHash('sha256').update(text).digest('base64url');
}

const encoder = new TextEncoder();

export class DecisionSigner {
  constructor(
    private readonly key: DecisionSigningKey,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The id workers know this signer's public key by. */
  get kid(): string {
    return this.key.kid;
  }

  /** Sign a decision for one elevation: the token is good once, for a few minutes. */
  async decision<K extends DecisionKind>(
    elevationId: string,
    decision: K,
    input: DecisionInputs[K],
  ): Promise<SignedDecision> {
    const claims: DecisionClaims<K> = {
      typ: DECISION_TOKEN_TYPE,
      elevationId,
      decision,
      input,
      iat: this.clock().getTime(),
      nonce: randomBytes(18).toString('base64url'),
    };
    return { token: await this.sign(claims, `${DECISION_TOKEN_TYPE}+jws`) };
  }

  /**
   * Sign an owner's attestation answer for one attestation workflow (`core/rules/signed-attestation.ts`):
   * good once, for a few minutes, and never as a decision of an elevation (another `typ`).
   */
  async attestation(attestationId: string, input: AttestationAnswer): Promise<SignedAttestation> {
    const claims: AttestationClaims = {
      typ: ATTESTATION_TOKEN_TYPE,
      attestationId,
      input,
      iat: this.clock().getTime(),
      nonce: randomBytes(18).toString('base64url'),
    };
    return { token: await this.sign(claims, `${ATTESTATION_TOKEN_TYPE}+jws`) };
  }

  /**
   * Sign a reviewer's answer to a break-glass review (`core/rules/break-glass.ts`): good once,
   * for a few minutes, for that review workflow only (its own `typ`).
   */
  async breakGlassReview(reviewId: string, input: BreakGlassReviewAnswer): Promise<SignedBreakGlassReview> {
    const claims: BreakGlassReviewClaims = {
      typ: BREAK_GLASS_REVIEW_TOKEN_TYPE,
      reviewId,
      input,
      iat: this.clock().getTime(),
      nonce: randomBytes(18).toString('base64url'),
    };
    return { token: await this.sign(claims, `${BREAK_GLASS_REVIEW_TOKEN_TYPE}+jws`) };
  }

  /** The input with its signature, ready to start the workflow with. */
  async request(input: ElevationInput): Promise<ElevationInput> {
    const claims: RequestClaims = {
      typ: REQUEST_TOKEN_TYPE,
      elevationId: input.elevationId,
      workflowId: workflowIdFor(input.elevationId),
      digest: requestDigest(input),
      iat: this.clock().getTime(),
    };
    return { ...input, signature: await this.sign(claims, `${REQUEST_TOKEN_TYPE}+jws`) };
  }

  private sign(claims: object, typ: string): Promise<string> {
    return new CompactSign(encoder.encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'EdDSA', kid: this.key.kid, typ })
      .sign(this.key.privateKey);
  }
}

/** Where the workflow runs, as the worker's activity sees it (never from the input). */
export interface RequestContext {
  workflowId: string;
  runId: string;
  /** When Temporal started the workflow (epoch milliseconds): set by the server, not the caller. */
  startedAt: number;
  /**
   * Claim the request for this run: true when no other run has claimed it (a retry of the
   * same run is true again). A start input copied into a second run is refused with it.
   */
  claim(elevationId: string, runId: string): Promise<boolean>;
}

export class RequestVerifier {
  constructor(
    private readonly keys: readonly PublicDecisionKey[],
    private readonly clock: () => Date = () => new Date(),
  ) {
    if (keys.length === 0) throw new Error('at least one public decision key is needed');
  }

  /** The keys the workflow checks decisions with (public halves only). */
  trust(): DecisionTrust {
    return { keys: this.keys.map(({ kid, x }) => ({ kid, x })), loadedAt: this.clock().toISOString() };
  }

  /** Check that the API signed exactly this input, for this workflow, shortly before it started. */
  async check(input: ElevationInput, ctx: RequestContext): Promise<RequestCheck> {
    const trust = this.trust();
    const refuse = (outcome: RequestCheck['outcome'], message: string, kid?: string): RequestCheck => ({
      outcome,
      message,
      ...(kid ? { kid } : {}),
      trust,
    });
    if (typeof input.signature !== 'string' || input.signature === '') {
      return refuse('unsigned', 'the workflow was started without the API signature (not through Elevate)');
    }
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(input.signature);
      kid = typeof header.kid === 'string' ? header.kid : undefined;
    } catch {
      return refuse('bad_signature', 'the request signature is not a compact JWS');
    }
    const key = this.keys.find((k) => k.kid === kid);
    if (!key)
      return refuse(
        'unknown_key',
        `the request is signed with key ${kid ?? '(none named)'}, which the workers do not trust`,
        kid,
      );
    let claims: Partial<RequestClaims>;
    try {
      const { payload } = await compactVerify(input.signature, key.key, { algorithms: ['EdDSA', 'Ed25519'] });
      claims = JSON.parse(new TextDecoder().decode(payload)) as Partial<RequestClaims>;
    } catch {
      return refuse('bad_signature', 'the request signature does not verify', kid);
    }
    if (claims.typ !== REQUEST_TOKEN_TYPE || claims.elevationId !== input.elevationId) {
      return refuse('bad_signature', 'the request signature is for another elevation', kid);
    }
    if (claims.digest !== requestDigest(input)) {
      return refuse('bad_signature', 'the input differs from what the API signed', kid);
    }
    const expected = workflowIdFor(input.elevationId);
    if (claims.workflowId !== expected || ctx.workflowId !== expected) {
      return refuse(
        'wrong_workflow',
        `the request belongs to workflow ${expected}, not ${ctx.workflowId}`,
        kid,
      );
    }
    const iat = typeof claims.iat === 'number' ? claims.iat : Number.NaN;
    if (!(ctx.startedAt - iat <= REQUEST_MAX_AGE_MS && iat - ctx.startedAt <= 60_000)) {
      const started = new Date(ctx.startedAt).toISOString();
      return refuse(
        'stale',
        Number.isNaN(iat)
          ? 'the request carries no signing time'
          : iat > ctx.startedAt
            ? `the API signed the request at ${new Date(iat).toISOString()}, ${Math.round((iat - ctx.startedAt) / 1000)} s after Temporal started its workflow (${started}): the API's clock is ahead of Temporal's by more than 60 s; check the API host's time synchronisation`
            : `the API signed the request at ${new Date(iat).toISOString()}, ${Math.round((ctx.startedAt - iat) / 1000)} s before Temporal started its workflow (${started}), more than ${REQUEST_MAX_AGE_MS / 60_000} minutes: the API's clock is behind Temporal's, or the start was held that long`,
        kid,
      );
    }
    if (!(await ctx.claim(input.elevationId, ctx.runId))) {
      return refuse(
        'replayed',
        `elevation ${input.elevationId} was already requested by another workflow run`,
        kid,
      );
    }
    return { outcome: 'verified', message: 'signed by the API', ...(kid ? { kid } : {}), trust };
  }
}
