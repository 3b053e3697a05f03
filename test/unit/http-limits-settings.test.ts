/**
 * The HTTP servers' limits and the health cache, as settings: sane defaults, and a bad value
 * stops start-up naming the setting.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors/config-error.js';
import { loadSettings } from '../../config/settings.js';
import { DEFAULT_HTTP_LIMITS } from '../../config/http-limits.js';

function refusal(env: Record<string, string>): ConfigError {
  try {
    loadSettings(env);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('the settings were accepted');
}

describe('HTTP server limits', () => {
  it('when nothing is set, then the limits are the defaults, shorter than Node’s, and probes are cached for 1 s', () => {
    const s = loadSettings({});
    expect(s.http).toEqual(DEFAULT_HTTP_LIMITS);
    expect(s.http).toEqual({
      headersTimeoutSeconds: 20,
      requestTimeoutSeconds: 60,
      keepAliveTimeoutSeconds: 5,
      maxConnections: 4096,
    });
    expect(s.healthCacheMs).toBe(1000);
  });

  it('when each is set, then it is used', () => {
    const s = loadSettings({
      ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS: '5',
      ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS: '30',
      ELEVATE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '65',
      ELEVATE_HTTP_MAX_CONNECTIONS: '100',
      ELEVATE_HEALTH_CACHE_MS: '0',
    });
    expect(s.http).toEqual({
      headersTimeoutSeconds: 5,
      requestTimeoutSeconds: 30,
      keepAliveTimeoutSeconds: 65,
      maxConnections: 100,
    });
    expect(s.healthCacheMs).toBe(0);
  });

  it.each([
    ['ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS', '0'],
    ['ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS', 'soon'],
    ['ELEVATE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS', '-1'],
    ['ELEVATE_HTTP_MAX_CONNECTIONS', '0'],
    ['ELEVATE_HEALTH_CACHE_MS', '600001'],
  ])('when %s is %s, then start-up stops naming it', (name, value) => {
    const err = refusal({ [name]: value });
    expect(err.message).toMatch(new RegExp(`^${name}: `));
  });

  it('when the headers are due after the whole request, then start-up stops naming the headers timeout', () => {
    const err = refusal({
      ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS: '90',
      ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS: '60',
    });
    expect(err.message).toBe(
      'ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS: must be at most ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS (60)',
    );
  });
});
