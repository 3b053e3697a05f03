/**
 * The keys that make decisions unforgeable through Temporal: the API signs every request it
 * starts and every human decision it forwards with an Ed25519 private key; workers hold only
 * the public keys and check them (see `core/rules/signed-decision.ts`, `domain/decision-signer.ts`).
 *
 * Keys are PEM: the private key PKCS#8 (`-----BEGIN PRIVATE KEY-----`), public keys SPKI
 * (`-----BEGIN PUBLIC KEY-----`), as `openssl genpkey -algorithm ed25519` and `openssl pkey
 * -pubout` make them. A key's id is its RFC 7638 JWK thumbprint, so nobody has to name keys
 * and two processes agree on the id of the same key.
 */
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import type { TrustedDecisionKey } from '../model/elevation.js';

/** The API's signing key, with the id workers know its public half by. */
export interface DecisionSigningKey {
  kid: string;
  privateKey: KeyObject;
  /** The public half, as a worker would configure it. */
  publicKey: PublicDecisionKey;
}

/** One public key a worker trusts. */
export interface PublicDecisionKey extends TrustedDecisionKey {
  key: KeyObject;
  /** SPKI PEM, for `elevate keygen` and the docs. */
  pem: string;
}

/** A key that cannot be used; the message never contains key material. */
export class DecisionKeyError extends Error {
  override readonly name = 'DecisionKeyError';
}

/**
 * RFC 7638 thumbprint of an Ed25519 public key: SHA-256 over the canonical JWK
 * `{"crv":"Ed25519","kty":"OKP","x":…}`, base64url.
 */
function thumbprint(x: string): string {
  return createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${x}"}`).digest('base64url');
}

function toPublic(key: KeyObject): PublicDecisionKey {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new DecisionKeyError(`must be an Ed25519 key, not ${key.asymmetricKeyType ?? 'a symmetric key'}`);
  }
  const jwk = key.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new DecisionKeyError('is not an Ed25519 public key');
  return {
    kid: thumbprint(jwk.x),
    x: jwk.x,
    key,
    pem: key.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** Parse the API's private key (PKCS#8 PEM). */
export function parseSigningKey(pem: string): DecisionSigningKey {
  if (!/-----BEGIN PRIVATE KEY-----/.test(pem)) {
    throw new DecisionKeyError(
      'must be an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----; make one with: openssl genpkey -algorithm ed25519)',
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    throw new DecisionKeyError('is not a readable PEM private key');
  }
  const publicKey = toPublic(createPublicKey(privateKey));
  return { kid: publicKey.kid, privateKey, publicKey };
}

/**
 * Parse one or more public keys (SPKI PEM blocks, concatenated), in order. Duplicates are
 * dropped; a private key given by mistake is refused rather than silently reduced.
 */
export function parsePublicKeys(text: string): PublicDecisionKey[] {
  if (/PRIVATE KEY-----/.test(text)) {
    throw new DecisionKeyError(
      'must hold public keys only (a private key was given: workers need only the public half)',
    );
  }
  const blocks = text.match(/-----BEGIN PUBLIC KEY-----[\s\S]*?-----END PUBLIC KEY-----/g) ?? [];
  if (blocks.length === 0) {
    throw new DecisionKeyError(
      'must hold at least one Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----; make one with: openssl pkey -in <private key> -pubout)',
    );
  }
  const keys: PublicDecisionKey[] = [];
  blocks.forEach((block, i) => {
    let key: KeyObject;
    try {
      key = createPublicKey({ key: block, format: 'pem' });
    } catch {
      throw new DecisionKeyError(`key ${i + 1} is not a readable PEM public key`);
    }
    let parsed: PublicDecisionKey;
    try {
      parsed = toPublic(key);
    } catch (err) {
      throw new DecisionKeyError(`key ${i + 1} ${(err as Error).message}`);
    }
    if (!keys.some((k) => k.kid === parsed.kid)) keys.push(parsed);
  });
  return keys;
}

/** A new key pair (the embedded default and tests make their own; production uses openssl). */
export function newDecisionKeyPair(): { privatePem: string; publicPem: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privatePem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}
