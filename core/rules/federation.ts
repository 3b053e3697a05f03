/**
 * The rules a workload identity federation entry of the policy must follow, shared by the
 * policy's schema and the token verifier: which signature algorithms may be configured, which
 * claims a rule may not name, and what an issuer URL must look like. Pure.
 */

/**
 * The algorithms that may be configured: asymmetric signatures only. `none` and the HMAC family
 * (`HS256`…) are never accepted — with HMAC, anyone who knows the issuer's public key could sign.
 */
export const CONFIGURABLE_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** Claims checked by the verifier itself, which a rule's `claims` may therefore not name. */
export const RESERVED_CLAIMS: readonly string[] = ['iss', 'aud', 'exp', 'nbf', 'iat'];

/**
 * What is wrong with an issuer or key-set URL, or undefined if it is acceptable: it must be
 * `https://`, or `http://` on a loopback address when `allowInsecureHttp` is set, without
 * credentials, query or fragment. For the policy schema and the verifier alike.
 */
export function issuerUrlProblem(value: string, allowInsecureHttp = false): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (url.search || url.hash) return 'must not have a query or fragment';
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    if (!allowInsecureHttp) return 'must be https:// (http:// only with allowInsecureHttp, on loopback)';
    if (!isLoopback(url.hostname)) return 'may be http:// only on a loopback address';
    return undefined;
  }
  return 'must be an https:// URL';
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(hostname);
}
