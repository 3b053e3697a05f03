/**
 * When `elevate start` may run the development identity provider (password + TOTP demo
 * approvers, no rate limit, the demo admin console): only when asked for explicitly
 * (`elevate start --dev`, or `ELEVATE_DEV_IDENTITY_PROVIDER=1`), and never where someone other
 * than the local user could reach it. It is an allow-list, not a block-list on `NODE_ENV`: a
 * systemd unit or a VM that forgot `NODE_ENV=production` gets no development logins.
 */
import { ConfigError } from '../core/errors/config-error.js';

/** The variable that asks for the development identity provider (`elevate start --dev` sets it). */
export const DEV_IDENTITY_PROVIDER_VARIABLE = 'ELEVATE_DEV_IDENTITY_PROVIDER';

/**
 * Whether the environment asks for the development identity provider.
 *
 * @throws ConfigError naming the variable when it is neither on (`1`, `true`) nor off (`0`,
 *   `false`, empty)
 */
export function devIdentityProviderAsked(env: NodeJS.ProcessEnv): boolean {
  const value = (env[DEV_IDENTITY_PROVIDER_VARIABLE] ?? '').trim().toLowerCase();
  if (value === '1' || value === 'true') return true;
  if (value === '' || value === '0' || value === 'false') return false;
  throw new ConfigError(
    `${DEV_IDENTITY_PROVIDER_VARIABLE}: must be 1 or 0 (true or false)`,
    DEV_IDENTITY_PROVIDER_VARIABLE,
  );
}

/** Whether `host` (a name, an IPv4 or an IPv6 address, bracketed or not) is this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h);
}

/**
 * Refuse the development identity provider where it would not be a local demo: `NODE_ENV` is
 * `production`, the API listens beyond loopback (`HOST`), or browsers reach it at an https or
 * non-loopback public URL (`ELEVATE_PUBLIC_URL`), which means other people can.
 *
 * @throws ConfigError naming the setting that rules it out
 */
export function refuseUnsafeDevIdentityProvider(
  settings: { host: string; publicUrl: string },
  env: NodeJS.ProcessEnv,
): void {
  const refuse = (field: string, why: string): never => {
    throw new ConfigError(
      `${field}: ${why}, so the development identity provider (${DEV_IDENTITY_PROVIDER_VARIABLE}=1 or \`elevate start --dev\`) is refused: it lets anyone who reaches it log in as a demo approver; configure your OpenID Connect provider (OIDC_ISSUER) instead`,
      field,
    );
  };
  if (env.NODE_ENV === 'production') refuse('NODE_ENV', 'is production');
  if (!isLoopbackHost(settings.host)) refuse('HOST', `is ${settings.host}, not a loopback address`);
  const url = new URL(settings.publicUrl);
  if (url.protocol === 'https:') {
    refuse('ELEVATE_PUBLIC_URL', `is https (${settings.publicUrl}), a deployment rather than a local demo`);
  }
  if (!isLoopbackHost(url.hostname)) {
    refuse('ELEVATE_PUBLIC_URL', `is ${settings.publicUrl}, not a loopback address`);
  }
}
