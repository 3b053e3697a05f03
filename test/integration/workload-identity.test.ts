/**
 * Federated bot identity: workload identity tokens from test issuers on loopback (discovery,
 * JWKS, real signatures), verified and mapped to bots. Every refusal is checked by its code.
 */
import { generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FederationError,
  WorkloadIdentityVerifier,
  type FederationFailure,
  type FederationRule,
  type IssuerSettings,
} from '../../integrations/federation/workload-identity.js';
import { startJwksIssuer, type JwksIssuer } from '../support/jwks-issuer.js';

const MAIN = 'repo:acme/app:ref:refs/heads/main';
const SHARED = 'repo:acme/shared:ref:refs/heads/main';
const SERVICE_ACCOUNT = 'system:serviceaccount:ci:deployer';

let ci: JwksIssuer;
let cluster: JwksIssuer;
let stranger: JwksIssuer;
let verifier: WorkloadIdentityVerifier;

const now = () => Math.floor(Date.now() / 1000);
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function rules(): FederationRule[] {
  return [
    {
      botId: 'deploy-bot',
      issuer: ci.issuer,
      audience: 'elevate',
      claims: { sub: MAIN, repository: 'acme/app' },
    },
    {
      botId: 'k8s-bot',
      issuer: cluster.issuer,
      audience: 'elevate-k8s',
      claims: { sub: SERVICE_ACCOUNT },
      recordClaims: ['sub', 'kubernetes.io'],
    },
    { botId: 'shared-a', issuer: ci.issuer, audience: 'elevate', claims: { sub: SHARED } },
    {
      botId: 'shared-b',
      issuer: ci.issuer,
      audience: 'elevate',
      claims: { sub: SHARED, repository: 'acme/shared' },
    },
  ];
}

function issuerSettings(...issuers: JwksIssuer[]): IssuerSettings[] {
  return issuers.map((i) => ({ issuer: i.issuer, allowInsecureHttp: true }));
}

/** Claims a CI job token carries (GitHub Actions names). */
function ciClaims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    aud: 'elevate',
    sub: MAIN,
    jti: `jti-${Math.random().toString(36).slice(2)}`,
    repository: 'acme/app',
    run_id: '4711',
    run_attempt: '1',
    sha: 'a'.repeat(40),
    ref: 'refs/heads/main',
    workflow: 'deploy',
    actor: 'someone',
    ...overrides,
  };
}

async function refusal(promise: Promise<unknown>): Promise<FederationError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the token was accepted').toBeInstanceOf(FederationError);
  return err as FederationError;
}

async function expectRefused(
  token: string,
  code: FederationFailure,
  using: WorkloadIdentityVerifier = verifier,
): Promise<FederationError> {
  const err = await refusal(using.verify(token));
  expect(err.code, err.message).toBe(code);
  expect(err.message.length).toBeGreaterThan(10);
  return err;
}

beforeAll(async () => {
  ci = await startJwksIssuer({ algorithms: ['RS256', 'ES256'] });
  cluster = await startJwksIssuer({ algorithms: ['ES256'] });
  stranger = await startJwksIssuer();
  verifier = new WorkloadIdentityVerifier(rules(), issuerSettings(ci, cluster));
});

afterAll(async () => {
  await Promise.all([ci?.stop(), cluster?.stop(), stranger?.stop()]);
});

describe('a good token', () => {
  it('maps to its bot and returns the recorded claims', async () => {
    const claims = ciClaims();
    const token = await ci.sign(claims);
    const identity = await verifier.verify(token);
    const exp = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { exp: number };
    expect(identity).toEqual({
      botId: 'deploy-bot',
      issuer: ci.issuer,
      subject: MAIN,
      tokenId: claims.jti,
      expiresAt: new Date(exp.exp * 1000).toISOString(),
      claims: {
        jti: claims.jti,
        sub: MAIN,
        run_id: '4711',
        run_attempt: '1',
        repository: 'acme/app',
        ref: 'refs/heads/main',
        sha: 'a'.repeat(40),
        workflow: 'deploy',
      },
    });
  });

  it('is accepted again while it is valid (CI steps share one token)', async () => {
    const token = await ci.sign(ciClaims());
    const first = await verifier.verify(token);
    await expect(verifier.verify(token)).resolves.toEqual(first);
  });

  it('may be ES256 and have an audience array containing the configured audience', async () => {
    const token = await ci.sign(ciClaims({ aud: ['other', 'elevate'], jti: undefined }), { alg: 'ES256' });
    const identity = await verifier.verify(token);
    expect(identity.botId).toBe('deploy-bot');
    expect(identity.tokenId).toBeUndefined();
    expect(identity.claims).not.toHaveProperty('jti');
  });

  it("records only the rule's recordClaims (a Kubernetes service-account token)", async () => {
    const pod = {
      namespace: 'ci',
      serviceaccount: { name: 'deployer', uid: 'u-1' },
      pod: { name: 'p-1', uid: 'u-2' },
    };
    const token = await cluster.sign({
      aud: ['elevate-k8s'],
      sub: SERVICE_ACCOUNT,
      'kubernetes.io': pod,
      run_id: '1',
    });
    await expect(verifier.verify(token)).resolves.toMatchObject({
      botId: 'k8s-bot',
      subject: SERVICE_ACCOUNT,
      claims: { sub: SERVICE_ACCOUNT, 'kubernetes.io': pod },
    });
    expect((await verifier.verify(token)).claims).not.toHaveProperty('run_id');
  });

  it('is accepted within the clock tolerance of exp and nbf', async () => {
    const token = await ci.sign(ciClaims({ exp: now() - 10, nbf: now() + 10 }));
    await expect(verifier.verify(token)).resolves.toMatchObject({ botId: 'deploy-bot' });
  });
});

describe('refused tokens', () => {
  it('from an issuer that is not configured, without contacting it', async () => {
    const err = await expectRefused(await stranger.sign(ciClaims()), 'unknown_issuer');
    expect(err.message).toContain(stranger.issuer);
    expect(stranger.discoveryRequests() + stranger.jwksRequests()).toBe(0);
  });

  it('for another audience', async () => {
    const err = await expectRefused(await ci.sign(ciClaims({ aud: 'someone-else' })), 'wrong_audience');
    expect(err.message).toContain('someone-else');
    expect(err.issuer).toBe(ci.issuer);
    // The k8s bot's audience is valid for its issuer only.
    await expectRefused(await ci.sign(ciClaims({ aud: 'elevate-k8s' })), 'wrong_audience');
  });

  it('that have expired', async () => {
    await expectRefused(await ci.sign(ciClaims({ exp: now() - 120 })), 'expired');
  });

  it('that are expired by the configured clock', async () => {
    const later = new WorkloadIdentityVerifier(rules(), issuerSettings(ci, cluster), {
      clock: () => new Date(Date.now() + 10 * 60_000),
    });
    await expectRefused(await ci.sign(ciClaims()), 'expired', later);
  });

  it('that are not valid yet', async () => {
    await expectRefused(await ci.sign(ciClaims({ nbf: now() + 120 })), 'not_yet_valid');
  });

  it('without exp (tokens that never expire) or sub', async () => {
    const noExp = await expectRefused(await ci.sign(ciClaims({ exp: undefined })), 'malformed');
    expect(noExp.message).toContain('exp');
    await expectRefused(await ci.sign(ciClaims({ sub: undefined })), 'malformed');
    await expectRefused(await ci.sign(ciClaims({ sub: 42 })), 'malformed');
  });

  it('signed with a key the issuer does not publish', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    await expectRefused(await ci.sign(ciClaims(), { key: privateKey, kid: 'not-published' }), 'unknown_key');
  });

  it('signed with another key under a published kid', async () => {
    const { privateKey } = await generateKeyPair('RS256');
    await expectRefused(await ci.sign(ciClaims(), { key: privateKey }), 'bad_signature');
  });

  it('whose payload was changed after signing', async () => {
    const [header, , signature] = (
      await ci.sign(ciClaims({ sub: 'repo:acme/app:ref:refs/heads/feature' }))
    ).split('.');
    const forged = `${header}.${b64({ ...ciClaims(), iss: ci.issuer, exp: now() + 300 })}.${signature}`;
    await expectRefused(forged, 'bad_signature');
  });

  it('with alg "none"', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ ...ciClaims(), iss: ci.issuer, exp: now() + 300 })}.`;
    expect(WorkloadIdentityVerifier.looksLikeJwt(unsigned)).toBe(true);
    const err = await expectRefused(unsigned, 'algorithm_not_allowed');
    expect(err.message).toContain('RS256');
  });

  it('HMAC-signed with the issuer public key as the secret (HS/RS confusion)', async () => {
    const secret = new TextEncoder().encode(await ci.publicKeyPem('RS256'));
    const token = await ci.sign(ciClaims(), { alg: 'HS256', key: secret });
    await expectRefused(token, 'algorithm_not_allowed');
  });

  it('with an algorithm outside the issuer list', async () => {
    const rsOnly = new WorkloadIdentityVerifier(rules(), [
      { issuer: ci.issuer, allowInsecureHttp: true, algorithms: ['RS256'] },
      { issuer: cluster.issuer, allowInsecureHttp: true },
    ]);
    await expect(rsOnly.verify(await ci.sign(ciClaims()))).resolves.toMatchObject({ botId: 'deploy-bot' });
    await expectRefused(await ci.sign(ciClaims(), { alg: 'ES256' }), 'algorithm_not_allowed', rsOnly);
  });

  it("whose claims match no bot's rule", async () => {
    const err = await expectRefused(
      await ci.sign(ciClaims({ sub: 'repo:evil/app:ref:refs/heads/main' })),
      'no_matching_bot',
    );
    expect(err.message).not.toContain('evil');
    // Every configured claim must match, not just some.
    await expectRefused(await ci.sign(ciClaims({ repository: 'acme/other' })), 'no_matching_bot');
    // Exact string equality: no prefixes, no type coercion.
    await expectRefused(await ci.sign(ciClaims({ sub: `${MAIN}x` })), 'no_matching_bot');
    await expectRefused(await ci.sign(ciClaims({ repository: ['acme/app'] })), 'no_matching_bot');
  });

  it('that match the rules of two bots', async () => {
    const err = await expectRefused(
      await ci.sign(ciClaims({ sub: SHARED, repository: 'acme/shared' })),
      'ambiguous_bot',
    );
    expect(err.message).toMatch(/more than one bot/);
    // With only one of the two rules matching, the token maps to that bot.
    await expect(
      verifier.verify(await ci.sign(ciClaims({ sub: SHARED, repository: 'acme/x' }))),
    ).resolves.toMatchObject({ botId: 'shared-a' });
  });

  it('that are not JWTs at all', async () => {
    const noIss = `${b64({ alg: 'RS256' })}.${b64({ sub: MAIN, exp: now() + 60 })}.c2ln`;
    for (const bad of [
      '',
      'abc',
      'a.b',
      'a.b.c',
      'a.b.c.d',
      'e30.e30.',
      '!!.??.xx',
      'elv_bot_abc.def.ghi',
      noIss,
    ]) {
      await expectRefused(bad, 'malformed');
    }
    const huge = `${b64({ alg: 'RS256' })}.${'A'.repeat(20_000)}.c2ln`;
    await expectRefused(huge, 'malformed');
  });
});

describe('issuer keys', () => {
  it('are unavailable when the issuer is down', async () => {
    const down = await startJwksIssuer();
    const token = await down.sign(ciClaims());
    await down.stop();
    const v = new WorkloadIdentityVerifier(
      [{ botId: 'deploy-bot', issuer: down.issuer, audience: 'elevate', claims: { sub: MAIN } }],
      issuerSettings(down),
      { jwks: { timeoutMs: 2000 } },
    );
    const err = await expectRefused(token, 'jwks_unavailable', v);
    expect(err.message).toContain(down.issuer);
  });

  it('are fetched again after a failure (a failure is not cached)', async () => {
    let failing = true;
    const flaky: typeof fetch = (input, init) =>
      failing ? Promise.reject(new TypeError('fetch failed')) : fetch(input, init);
    const v = new WorkloadIdentityVerifier(rules(), issuerSettings(ci, cluster), { fetch: flaky });
    const token = await ci.sign(ciClaims());
    await expectRefused(token, 'jwks_unavailable', v);
    failing = false;
    await expect(v.verify(token)).resolves.toMatchObject({ botId: 'deploy-bot' });
  });

  it('are unavailable when the key set answers an error', async () => {
    const v = new WorkloadIdentityVerifier(rules(), issuerSettings(ci, cluster), {
      fetch: (input, init) =>
        String(input instanceof Request ? input.url : input).endsWith('/jwks.json')
          ? Promise.resolve(new Response('oops', { status: 503 }))
          : fetch(input, init),
    });
    await expectRefused(await ci.sign(ciClaims()), 'jwks_unavailable', v);
  });

  it('are refused when the discovery document names another issuer', async () => {
    const v = new WorkloadIdentityVerifier(rules(), issuerSettings(ci, cluster), {
      fetch: (input, init) =>
        String(input instanceof Request ? input.url : input).endsWith('/openid-configuration')
          ? Promise.resolve(
              Response.json({
                issuer: stranger.issuer,
                jwks_uri: `${stranger.issuer}/.well-known/jwks.json`,
              }),
            )
          : fetch(input, init),
    });
    await expectRefused(await ci.sign(ciClaims()), 'jwks_unavailable', v);
    expect(stranger.jwksRequests()).toBe(0);
  });

  it('are found at /.well-known/jwks.json without discovery, or at a configured jwksUri', async () => {
    const plain = await startJwksIssuer({ discovery: false });
    try {
      const rule = { botId: 'deploy-bot', issuer: plain.issuer, audience: 'elevate', claims: { sub: MAIN } };
      const token = await plain.sign(ciClaims());
      const byFallback = new WorkloadIdentityVerifier([rule], issuerSettings(plain));
      await expect(byFallback.verify(token)).resolves.toMatchObject({ botId: 'deploy-bot' });
      expect(plain.jwksRequests()).toBe(1);
      const configured = new WorkloadIdentityVerifier(
        [rule],
        [{ issuer: plain.issuer, jwksUri: `${plain.issuer}/.well-known/jwks.json`, allowInsecureHttp: true }],
      );
      await expect(configured.verify(token)).resolves.toMatchObject({ botId: 'deploy-bot' });
      expect(plain.jwksRequests()).toBe(2);
    } finally {
      await plain.stop();
    }
  });

  it('are cached, and an unknown kid does not refetch within the cooldown', async () => {
    const issuer = await startJwksIssuer();
    try {
      const v = new WorkloadIdentityVerifier(
        [{ botId: 'deploy-bot', issuer: issuer.issuer, audience: 'elevate', claims: { sub: MAIN } }],
        issuerSettings(issuer),
      );
      for (let i = 0; i < 3; i++) await v.verify(await issuer.sign(ciClaims()));
      expect(issuer.jwksRequests()).toBe(1);
      expect(issuer.discoveryRequests()).toBe(1);
      const { privateKey } = await generateKeyPair('RS256');
      for (let i = 0; i < 3; i++) {
        await expectRefused(
          await issuer.sign(ciClaims(), { key: privateKey, kid: `made-up-${i}` }),
          'unknown_key',
          v,
        );
      }
      expect(issuer.jwksRequests()).toBe(1);
    } finally {
      await issuer.stop();
    }
  });

  it('are fetched again when the issuer rotates to a new kid', async () => {
    const issuer = await startJwksIssuer();
    try {
      const v = new WorkloadIdentityVerifier(
        [{ botId: 'deploy-bot', issuer: issuer.issuer, audience: 'elevate', claims: { sub: MAIN } }],
        issuerSettings(issuer),
        { jwks: { cooldownMs: 0 } },
      );
      const before = await issuer.sign(ciClaims());
      await v.verify(before);
      expect(issuer.jwksRequests()).toBe(1);

      issuer.rotate();
      const after = await issuer.sign(ciClaims());
      const kid = (t: string) =>
        (JSON.parse(Buffer.from(t.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid;
      expect(kid(after)).not.toBe(kid(before));
      await expect(v.verify(after)).resolves.toMatchObject({ botId: 'deploy-bot' });
      expect(issuer.jwksRequests()).toBe(2);
      // Tokens signed before the rotation stay valid while the old key is published.
      await expect(v.verify(before)).resolves.toMatchObject({ botId: 'deploy-bot' });
      // Without a kid, each published key of the kind is tried.
      await expect(v.verify(await issuer.sign(ciClaims(), { kid: null }))).resolves.toMatchObject({
        botId: 'deploy-bot',
      });
      const { privateKey } = await generateKeyPair('RS256');
      await expectRefused(await issuer.sign(ciClaims(), { kid: null, key: privateKey }), 'bad_signature', v);
      expect(issuer.jwksRequests()).toBe(2);
    } finally {
      await issuer.stop();
    }
  });
});

describe('configuration', () => {
  const rule = (issuer: string): FederationRule => ({
    botId: 'b',
    issuer,
    audience: 'a',
    claims: { sub: 's' },
  });

  it('refuses symmetric algorithms and none', () => {
    for (const alg of ['HS256', 'none', 'HS512']) {
      expect(
        () => new WorkloadIdentityVerifier([], [{ issuer: 'https://ci.example.org', algorithms: [alg] }]),
      ).toThrow(/is not allowed/);
    }
  });

  it('refuses insecure and malformed issuers', () => {
    expect(() => new WorkloadIdentityVerifier([], [{ issuer: 'http://ci.example.org' }])).toThrow(/https/);
    expect(
      () => new WorkloadIdentityVerifier([], [{ issuer: 'http://ci.example.org', allowInsecureHttp: true }]),
    ).toThrow(/loopback/);
    expect(() => new WorkloadIdentityVerifier([], [{ issuer: 'ci.example.org' }])).toThrow(/absolute URL/);
    expect(
      () =>
        new WorkloadIdentityVerifier(
          [],
          [{ issuer: 'https://ci.example.org', jwksUri: 'http://keys.example.org' }],
        ),
    ).toThrow(/jwksUri/);
  });

  it('refuses rules that are unbound or name an unknown issuer', () => {
    const issuers = [{ issuer: 'https://ci.example.org' }];
    expect(() => new WorkloadIdentityVerifier([rule('https://other.example.org')], issuers)).toThrow(
      /not configured/,
    );
    expect(
      () => new WorkloadIdentityVerifier([{ ...rule('https://ci.example.org'), claims: {} }], issuers),
    ).toThrow(/at least one claim/);
    expect(
      () =>
        new WorkloadIdentityVerifier([{ ...rule('https://ci.example.org'), claims: { aud: 'x' } }], issuers),
    ).toThrow(/may not name aud/);
    expect(() => new WorkloadIdentityVerifier([rule('https://ci.example.org')], issuers)).not.toThrow();
  });
});

describe('looksLikeJwt', () => {
  it('tells API keys from JWTs', async () => {
    expect(WorkloadIdentityVerifier.looksLikeJwt(`elv_bot_${'A'.repeat(43)}`)).toBe(false);
    expect(WorkloadIdentityVerifier.looksLikeJwt(`elv_adm_${'A'.repeat(43)}`)).toBe(false);
    expect(WorkloadIdentityVerifier.looksLikeJwt(await ci.sign(ciClaims()))).toBe(true);
    expect(WorkloadIdentityVerifier.looksLikeJwt('a.b')).toBe(false);
    expect(WorkloadIdentityVerifier.looksLikeJwt('a.b.c.d')).toBe(false);
    expect(WorkloadIdentityVerifier.looksLikeJwt('a+b.c/d.e=')).toBe(false);
  });
});
