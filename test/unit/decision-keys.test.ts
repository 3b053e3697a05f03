/**
 * The decision keys and tokens on their own: key parsing and ids, the API's signer against the
 * workflow's verifier (the same code the update validators run), and the settings that carry
 * the keys, with errors that name the variable and never the key.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { calculateJwkThumbprint, exportJWK } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { loadSettings } from '../../config/settings.js';
import { newDecisionKeyPair, parsePublicKeys, parseSigningKey } from '../../core/crypto/decision-keys.js';
import { DecisionSigner, RequestVerifier } from '../../domain/decision-signer.js';
import type { ElevationInput } from '../../core/model/elevation.js';
import { DECISION_MAX_AGE_MS, DecisionRefusal, verifyDecision } from '../../core/rules/signed-decision.js';

const dir = mkdtempSync(path.join(tmpdir(), 'elevate-keys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pair = newDecisionKeyPair();
const key = parseSigningKey(pair.privatePem);
const other = parseSigningKey(newDecisionKeyPair().privatePem);
const approve = { approver: { id: 'ann@example.org' }, groups: ['sre'], evidence: { amr: ['mfa'] } };

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof DecisionRefusal) return err.code;
    throw err;
  }
  return 'accepted';
}

describe('decision keys', () => {
  it('when a key is parsed, then its id is its RFC 7638 thumbprint, the same for the private key and its public half', async () => {
    expect(key.kid).toBe(await calculateJwkThumbprint(await exportJWK(key.publicKey.key)));
    expect(parsePublicKeys(pair.publicPem)[0]!.kid).toBe(key.kid);
  });

  it('when keys come from openssl, then they are read as the docs say', () => {
    const signing = path.join(dir, 'signing.pem');
    const pub = path.join(dir, 'public.pem');
    execFileSync('openssl', ['genpkey', '-algorithm', 'ed25519', '-out', signing]);
    execFileSync('openssl', ['pkey', '-in', signing, '-pubout', '-out', pub]);
    expect(parsePublicKeys(readFileSync(pub, 'utf8'))[0]!.kid).toBe(
      parseSigningKey(readFileSync(signing, 'utf8')).kid,
    );
  });

  it('when several public keys are given one after the other, then each is trusted once, in order', () => {
    const keys = parsePublicKeys(`${pair.publicPem}\n${other.publicKey.pem}${pair.publicPem}`);
    expect(keys.map((k) => k.kid)).toEqual([key.kid, other.kid]);
  });

  it('when a worker is given a private key, or an RSA key, or no PEM, then it is refused without echoing it', () => {
    expect(() => parsePublicKeys(pair.privatePem)).toThrow(/public keys only/);
    const rsa = execFileSync(
      'openssl',
      ['genpkey', '-algorithm', 'rsa', '-pkeyopt', 'rsa_keygen_bits:1024'],
      {
        encoding: 'utf8',
      },
    );
    const rsaPublic = execFileSync('openssl', ['pkey', '-pubout'], { input: rsa, encoding: 'utf8' });
    expect(() => parsePublicKeys(rsaPublic)).toThrow(/key 1 must be an Ed25519 key, not rsa/);
    expect(() => parseSigningKey(rsa)).toThrow(/must be an Ed25519 key/);
    expect(() => parsePublicKeys('not a key')).toThrow(/at least one Ed25519 public key/);
  });
});

describe('decision tokens: the API signs, the workflow verifies', () => {
  const now = Date.now();
  const verify = (token: string, opts: Partial<Parameters<typeof verifyDecision>[1]> = {}) =>
    verifyDecision(
      { token },
      { keys: [key.publicKey], elevationId: 'e1', decision: 'approve', now, used: new Set(), ...opts },
    );

  it('when a signed approval arrives for its elevation, then its input comes back as signed', async () => {
    const { token } = await new DecisionSigner(key, () => new Date(now)).decision('e1', 'approve', approve);
    expect(verify(token).input).toEqual(approve);
  });

  it('when anything about it is wrong, then it is refused with the reason', async () => {
    const signer = new DecisionSigner(key, () => new Date(now));
    const { token } = await signer.decision('e1', 'approve', approve);
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { nonce: string };
    expect(refusal(() => verify(token, { keys: [] }))).toBe('unknown_key');
    expect(refusal(() => verify(token, { elevationId: 'e2' }))).toBe('wrong_elevation');
    expect(refusal(() => verify(token, { decision: 'revoke' }))).toBe('wrong_decision');
    expect(refusal(() => verify(token, { now: now + DECISION_MAX_AGE_MS + 1 }))).toBe('stale');
    expect(refusal(() => verify(token, { now: now - 120_000 }))).toBe('stale');
    expect(refusal(() => verify(token, { used: new Set([claims.nonce]) }))).toBe('replayed');
    // Change one character well inside the signature (every bit of it counts there; the last character carries padding bits).
    const at = token.length - 10;
    const tampered = `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
    expect(refusal(() => verify(tampered))).toBe('bad_signature');
    expect(refusal(() => verify('a.b'))).toBe('malformed');
    expect(
      refusal(() =>
        verifyDecision(undefined, {
          keys: [key.publicKey],
          elevationId: 'e1',
          decision: 'approve',
          now,
          used: new Set(),
        }),
      ),
    ).toBe('unsigned');
    const byOther = await new DecisionSigner(other, () => new Date(now)).decision('e1', 'approve', approve);
    expect(refusal(() => verify(byOther.token))).toBe('unknown_key');
    expect(refusal(() => verify(byOther.token, { keys: [key.publicKey, other.publicKey] }))).toBe('accepted');
  });
});

describe('request signatures: the API signs the start input, the worker checks it', () => {
  const input = {
    elevationId: 'e1',
    bot: {
      id: 'b',
      owner: 'o@example.org',
      team: 't',
      purpose: 'p',
      environment: 'test',
      principal: 'uid=b',
    },
    role: {
      id: 'r',
      environment: 'test',
      target: { type: 'ldap', groupDn: 'cn=r' },
      maxDurationSeconds: 60,
      approval: { mode: 'auto' },
    },
    durationSeconds: 30,
    justification: 'j',
    requestedAt: new Date().toISOString(),
    timing: { grantTimeoutSeconds: 10, revokeRetryMaxSeconds: 1 },
  } satisfies ElevationInput;
  const ctx = (over: Partial<Parameters<RequestVerifier['check']>[1]> = {}) => ({
    workflowId: 'elevation-e1',
    runId: 'run-1',
    startedAt: Date.now(),
    claim: () => Promise.resolve(true),
    ...over,
  });
  const verifier = new RequestVerifier([key.publicKey]);

  it('when the input is the one signed, for its workflow, shortly before it started, then it is verified', async () => {
    const signed = await new DecisionSigner(key).request(input);
    expect((await verifier.check(signed, ctx())).outcome).toBe('verified');
    // Key order and JSON round trips through Temporal do not matter: the digest is canonical.
    const roundTripped = JSON.parse(JSON.stringify({ ...signed, bot: { ...signed.bot } })) as ElevationInput;
    expect((await verifier.check(roundTripped, ctx())).outcome).toBe('verified');
  });

  it('when it is unsigned, altered, signed by another key, elsewhere, late or claimed by another run, then it is refused', async () => {
    const signed = await new DecisionSigner(key).request(input);
    const { signature: _s, ...unsigned } = signed;
    expect((await verifier.check(unsigned, ctx())).outcome).toBe('unsigned');
    expect((await verifier.check({ ...signed, durationSeconds: 60 }, ctx())).outcome).toBe('bad_signature');
    expect(
      (
        await verifier.check(
          { ...signed, role: { ...signed.role, approval: { mode: 'auto' }, id: 'admin' } },
          ctx(),
        )
      ).outcome,
    ).toBe('bad_signature');
    expect((await verifier.check(await new DecisionSigner(other).request(input), ctx())).outcome).toBe(
      'unknown_key',
    );
    expect((await verifier.check(signed, ctx({ workflowId: 'elevation-other' }))).outcome).toBe(
      'wrong_workflow',
    );
    const late = await verifier.check(signed, ctx({ startedAt: Date.now() + 6 * 60_000 }));
    expect(late.outcome).toBe('stale');
    expect(late.message).toMatch(
      /s before Temporal started its workflow .* the API's clock is behind Temporal's/,
    );
    // Signed "in the future" by an API whose clock is ahead: said as such, not as a forgery.
    const early = await verifier.check(signed, ctx({ startedAt: Date.now() - 5 * 60_000 }));
    expect(early.outcome).toBe('stale');
    expect(early.message).toMatch(
      /s after Temporal started its workflow .* the API's clock is ahead of Temporal's/,
    );
    expect((await verifier.check(signed, ctx({ claim: () => Promise.resolve(false) }))).outcome).toBe(
      'replayed',
    );
  });
});

describe('the settings that carry the keys', () => {
  it('when the keys are given as files, then the API and the worker read them; errors name the variable, never the key', () => {
    const signing = path.join(dir, 'api.pem');
    const pub = path.join(dir, 'workers.pem');
    writeFileSync(signing, pair.privatePem);
    writeFileSync(pub, `${pair.publicPem}${other.publicKey.pem}`);
    const s = loadSettings({
      ELEVATE_DECISION_SIGNING_KEY_FILE: signing,
      ELEVATE_DECISION_PUBLIC_KEYS_FILE: pub,
    });
    expect(s.decisionSigningKey?.kid).toBe(key.kid);
    expect(s.decisionPublicKeys?.map((k) => k.kid)).toEqual([key.kid, other.kid]);
    expect(() => loadSettings({ ELEVATE_DECISION_PUBLIC_KEYS_FILE: signing })).toThrow(
      /^ELEVATE_DECISION_PUBLIC_KEYS_FILE: must hold public keys only/,
    );
    expect(() => loadSettings({ ELEVATE_DECISION_SIGNING_KEY: 'secret-not-a-key' })).toThrow(
      /^ELEVATE_DECISION_SIGNING_KEY: must be an Ed25519 private key/,
    );
    try {
      loadSettings({ ELEVATE_DECISION_SIGNING_KEY: 'secret-not-a-key' });
    } catch (err) {
      expect((err as Error).message).not.toContain('secret-not-a-key');
    }
    expect(() => loadSettings({ ELEVATE_DECISION_SIGNING_KEY_FILE: path.join(dir, 'missing.pem') })).toThrow(
      /^ELEVATE_DECISION_SIGNING_KEY_FILE: cannot read/,
    );
  });

  it('when DATABASE_URL comes from a file, then it is read from there and checked like the variable', () => {
    const file = path.join(dir, 'database-url');
    writeFileSync(file, 'postgres://elevate:s3cret@db:5432/elevate\n');
    expect(loadSettings({ DATABASE_URL_FILE: file }).audit.databaseUrl).toBe(
      'postgres://elevate:s3cret@db:5432/elevate',
    );
    expect(loadSettings({ DATABASE_URL_FILE: file }).auditExplicit).toBe(true);
    writeFileSync(file, 'mysql://elevate:s3cret@db/elevate');
    expect(() => loadSettings({ DATABASE_URL_FILE: file })).toThrow(
      /^DATABASE_URL_FILE: must start with postgres:\/\/ or postgresql:\/\/$/,
    );
    expect(() => loadSettings({ DATABASE_URL: 'mysql://x' })).toThrow(
      /^DATABASE_URL: must start with postgres/,
    );
  });
});
