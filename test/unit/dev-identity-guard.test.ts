/**
 * The development identity provider is opt-in and local only: `elevate start` runs it only when
 * asked (`--dev`, ELEVATE_DEV_IDENTITY_PROVIDER=1), never with NODE_ENV=production, a HOST beyond
 * loopback or a public URL that others reach; and the provider itself listens on loopback only.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors/config-error.js';
import { DevProviderRefusedError, startDevIdentityProvider } from '../../dev/dev-identity-provider.js';
import {
  devIdentityProviderAsked,
  isLoopbackHost,
  refuseUnsafeDevIdentityProvider,
} from '../../runtime/dev-identity-guard.js';

const local = { host: '127.0.0.1', publicUrl: 'http://127.0.0.1:8080' };

function refusal(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('devIdentityProviderAsked', () => {
  it('when the variable is unset, then the development provider is not asked for (no longer the default)', () => {
    expect(devIdentityProviderAsked({})).toBe(false);
    expect(devIdentityProviderAsked({ NODE_ENV: 'development' })).toBe(false);
  });

  it('when the variable is 1 or true, then it is asked for; 0, false or empty, not', () => {
    for (const on of ['1', 'true', 'TRUE']) {
      expect(devIdentityProviderAsked({ ELEVATE_DEV_IDENTITY_PROVIDER: on })).toBe(true);
    }
    for (const off of ['0', 'false', '']) {
      expect(devIdentityProviderAsked({ ELEVATE_DEV_IDENTITY_PROVIDER: off })).toBe(false);
    }
  });

  it('when the variable has another value, then start is refused naming it', () => {
    expect(
      refusal(() => devIdentityProviderAsked({ ELEVATE_DEV_IDENTITY_PROVIDER: 'yes please' })),
    ).toMatchObject({ field: 'ELEVATE_DEV_IDENTITY_PROVIDER' });
  });
});

describe('refuseUnsafeDevIdentityProvider', () => {
  it('when everything is on loopback over http, then it is allowed', () => {
    expect(() => refuseUnsafeDevIdentityProvider(local, {})).not.toThrow();
    expect(() =>
      refuseUnsafeDevIdentityProvider({ host: '::1', publicUrl: 'http://localhost:8080' }, {}),
    ).not.toThrow();
  });

  it('when NODE_ENV=production, then it is refused naming NODE_ENV', () => {
    expect(refusal(() => refuseUnsafeDevIdentityProvider(local, { NODE_ENV: 'production' })).field).toBe(
      'NODE_ENV',
    );
  });

  it('when HOST listens beyond loopback (a VM, a container), then it is refused naming HOST', () => {
    const error = refusal(() =>
      refuseUnsafeDevIdentityProvider({ host: '0.0.0.0', publicUrl: 'http://127.0.0.1:8080' }, {}),
    );
    expect(error.field).toBe('HOST');
    expect(error.message).toContain('OIDC_ISSUER');
  });

  it('when the public URL is https or another machine, then it is refused naming ELEVATE_PUBLIC_URL', () => {
    for (const publicUrl of ['https://127.0.0.1:8443', 'http://elevate.example.org']) {
      expect(refusal(() => refuseUnsafeDevIdentityProvider({ host: '127.0.0.1', publicUrl }, {})).field).toBe(
        'ELEVATE_PUBLIC_URL',
      );
    }
  });

  it('recognises loopback addresses only', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost'].every(isLoopbackHost)).toBe(true);
    expect(
      ['0.0.0.0', '::', '10.0.0.5', 'elevate.example.org', '127.0.0.1.nip.io'].some(isLoopbackHost),
    ).toBe(false);
  });
});

describe('the development identity provider itself', () => {
  it('when asked to listen beyond loopback, then it refuses to start', async () => {
    await expect(
      startDevIdentityProvider({
        host: '0.0.0.0',
        clients: [],
        accounts: [],
        logger: pino({ level: 'silent' }),
        env: {},
      }),
    ).rejects.toBeInstanceOf(DevProviderRefusedError);
  });
});
