/**
 * The "Try it" lines of the banner `elevate start` prints: a request for the demo role that
 * works as pasted into a shell, whichever way the demo bot's key came about. The commands set
 * `KEY`, as the README's examples use it.
 */

/** Where the person reading the banner finds the demo bot's API key. */
export type DemoBotKey =
  /** Generated at this start and printed above (only its hash is kept). */
  | { kind: 'shown'; key: string }
  /** Given in ELEVATE_DEMO_BOT_KEY. */
  | { kind: 'environment' }
  /** Only its hash was given, in ELEVATE_DEMO_BOT_KEY_HASH: the key is the operator's. */
  | { kind: 'hash-environment' }
  /** Generated and printed at an earlier start; only its hash is kept, in `hashFile`. */
  | { kind: 'kept'; hashFile: string };

/** The "Try it" lines for the API at `apiUrl`, each indented command ready to paste. */
export function tryItLines(apiUrl: string, key: DemoBotKey): string[] {
  const request = [
    `  curl -s -X POST ${apiUrl}/v1/elevations -H "authorization: Bearer $KEY" \\`,
    `    -H 'content-type: application/json' -d '{"role":"demo-auto","durationSeconds":60,"justification":"try Elevate"}'`,
  ];
  switch (key.kind) {
    case 'shown':
      return ['Try it:', `  export KEY='${key.key}'`, ...request];
    case 'environment':
      return [
        'Try it, in a shell where ELEVATE_DEMO_BOT_KEY is set:',
        '  export KEY="$ELEVATE_DEMO_BOT_KEY"',
        ...request,
      ];
    case 'hash-environment':
      return [
        'Try it, with the demo-bot API key whose hash is in ELEVATE_DEMO_BOT_KEY_HASH:',
        "  export KEY='elv_bot_...'   # that key",
        ...request,
      ];
    case 'kept':
      return [
        'Try it, with the demo-bot API key printed at the first start (only its hash is kept;',
        `to get a new key, delete ${key.hashFile} and start again):`,
        "  export KEY='elv_bot_...'   # that key",
        ...request,
      ];
  }
}

/** Which identity provider approvers (and console admins) log in at, as `elevate start` runs. */
export type BannerIdentityProvider =
  /** The development one (`elevate start --dev`): demo approvers, loopback only. */
  | { kind: 'development'; issuer: string }
  /** The organisation's, at OIDC_ISSUER. */
  | { kind: 'oidc'; issuer: string }
  /** None: the policy has no role that needs approvers. */
  | { kind: 'none' };

/** The banner's `identity provider:` line; a development provider says so unmistakably. */
export function identityProviderLine(idp: BannerIdentityProvider): string {
  const label = '  identity provider: ';
  switch (idp.kind) {
    case 'development':
      return `${label}${idp.issuer} (development identity provider, DEVELOPMENT ONLY: demo approvers, loopback only, not for production)`;
    case 'oidc':
      return `${label}${idp.issuer}`;
    case 'none':
      return `${label}none (no role needs approvers; set OIDC_ISSUER for roles that do)`;
  }
}
