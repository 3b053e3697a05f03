/**
 * Logs in at the development identity provider the way a browser would — following redirects,
 * keeping cookies, filling in the login and code forms — so that tests and the benchmark can
 * complete step-up logins without a browser. It stops at the redirect back to the relying
 * party and returns that URL without requesting it, so the caller decides what to do with the
 * code (and may, for instance, present it twice).
 *
 * It understands only the pages of {@link startDevIdentityProvider}.
 */
import { TOTP, Secret } from 'otpauth';

/** Credentials for {@link automatedLogin}. */
export interface AutomatedLoginCredentials {
  email: string;
  password: string;
  /** Base32 TOTP secret; the current code is computed from it when the provider asks for one. */
  totpSecret?: string;
}

/** Options of {@link automatedLogin}. */
export interface AutomatedLoginOptions {
  /** Press Cancel on the login page instead of logging in (the provider then answers `access_denied`). */
  cancel?: boolean;
}

/** The login did not reach the relying party; `page` says where it stopped and `html` what it showed. */
export class AutomatedLoginError extends Error {
  override readonly name = 'AutomatedLoginError';
  constructor(
    message: string,
    /** `login` or `code`: the form came back (with `shownError`); `error`: an error page or an unexpected answer. */
    readonly page: 'login' | 'code' | 'error',
    readonly status: number,
    readonly html: string,
    /** The error message the page showed, if any. */
    readonly shownError?: string,
  ) {
    super(message);
  }
}

const MAX_STEPS = 20;

interface StoredCookie {
  name: string;
  value: string;
  path: string;
  origin: string;
}

/** Just enough of a cookie jar for one login on one provider: name, value, path, origin. */
class CookieJar {
  private readonly cookies = new Map<string, StoredCookie>();

  store(url: URL, response: Response): void {
    for (const header of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = header.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = value === '';
      for (const attribute of attributes) {
        const [key = '', attrValue = ''] = attribute.split('=').map((s) => s.trim());
        const lower = key.toLowerCase();
        if (lower === 'path' && attrValue.startsWith('/')) path = attrValue;
        if (lower === 'max-age' && Number(attrValue) <= 0) expired = true;
        if (lower === 'expires' && Date.parse(attrValue) <= Date.now()) expired = true;
      }
      const key = `${url.origin} ${path} ${name}`;
      if (expired) this.cookies.delete(key);
      else this.cookies.set(key, { name, value, path, origin: url.origin });
    }
  }

  header(url: URL): string | undefined {
    const matching = [...this.cookies.values()].filter(
      (c) =>
        c.origin === url.origin &&
        (url.pathname === c.path ||
          url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) ||
          c.path === '/'),
    );
    return matching.length ? matching.map((c) => `${c.name}=${c.value}`).join('; ') : undefined;
  }
}

interface ParsedForm {
  action: string;
  fields: Set<string>;
}

/** The character references the provider's pages use (the renderer writes `&quot;`, `&lt;`, `&amp;`). */
function unescapeHtml(text: string): string {
  return text
    .replace(/&#(\d+);/g, (_m, code: string) => String.fromCharCode(Number(code)))
    .replace(
      /&(quot|lt|gt|amp);/g,
      (_m, name: string) => ({ quot: '"', lt: '<', gt: '>', amp: '&' })[name] ?? '',
    );
}

function parseForms(html: string): ParsedForm[] {
  const forms: ParsedForm[] = [];
  for (const match of html.matchAll(/<form\b[^>]*\baction="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)) {
    const fields = new Set(
      [...(match[2] ?? '').matchAll(/<input\b[^>]*\bname="([^"]*)"/g)].map((m) => m[1] ?? ''),
    );
    forms.push({ action: unescapeHtml(match[1] ?? ''), fields });
  }
  return forms;
}

function shownError(html: string): string | undefined {
  const match = /<p class="error"[^>]*>([\s\S]*?)<\/p>/.exec(html);
  return match?.[1] === undefined ? undefined : unescapeHtml(match[1]);
}

/**
 * Drives a login at the development identity provider from the authorization URL and returns
 * the final redirect to the relying party's `redirect_uri` (with `code` and `state`, or `error`),
 * without requesting it. Throws {@link AutomatedLoginError} when the provider shows its form again
 * (wrong password or code) or an error page.
 */
export async function automatedLogin(
  authUrl: string,
  credentials: AutomatedLoginCredentials,
  options: AutomatedLoginOptions = {},
): Promise<URL> {
  const start = new URL(authUrl);
  const redirectUri = start.searchParams.get('redirect_uri');
  if (redirectUri === null) throw new Error('the authorization URL has no redirect_uri');
  const target = new URL(redirectUri);
  const isCallback = (url: URL): boolean => url.origin === target.origin && url.pathname === target.pathname;

  const jar = new CookieJar();
  let url = start;
  let init: RequestInit = { method: 'GET' };
  const submitted = new Set<string>();

  for (let step = 0; step < MAX_STEPS; step += 1) {
    const headers = new Headers(init.headers);
    const cookie = jar.header(url);
    if (cookie !== undefined) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    jar.store(url, response);

    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location !== null) {
      await response.body?.cancel();
      const next = new URL(location, url);
      if (isCallback(next)) return next;
      url = next;
      init = { method: 'GET' };
      continue;
    }

    const html = await response.text();
    const forms = parseForms(html);
    const login = forms.find((f) => f.fields.has('password'));
    const code = forms.find((f) => f.fields.has('otp'));
    const cancel = forms.find((f) => f.action.endsWith('/cancel'));
    const error = shownError(html);

    let form: ParsedForm | undefined;
    let body: URLSearchParams;
    if (options.cancel && cancel !== undefined) {
      form = cancel;
      body = new URLSearchParams();
    } else if (login !== undefined) {
      if (submitted.has('login')) {
        throw new AutomatedLoginError(
          `login refused: ${error ?? 'the login form came back'}`,
          'login',
          response.status,
          html,
          error,
        );
      }
      submitted.add('login');
      form = login;
      body = new URLSearchParams({ email: credentials.email, password: credentials.password });
    } else if (code !== undefined) {
      if (submitted.has('code')) {
        throw new AutomatedLoginError(
          `code refused: ${error ?? 'the code form came back'}`,
          'code',
          response.status,
          html,
          error,
        );
      }
      if (credentials.totpSecret === undefined) {
        throw new AutomatedLoginError(
          'the provider asks for a TOTP code but no secret was given',
          'code',
          response.status,
          html,
        );
      }
      submitted.add('code');
      form = code;
      const totp = new TOTP({
        secret: Secret.fromBase32(credentials.totpSecret),
        algorithm: 'SHA1',
        digits: 6,
        period: 30,
      });
      body = new URLSearchParams({ otp: totp.generate() });
    } else {
      throw new AutomatedLoginError(
        `the provider answered ${response.status} without a redirect or a known form${error ? `: ${error}` : ''}`,
        'error',
        response.status,
        html,
        error,
      );
    }
    url = new URL(form.action, url);
    init = {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    };
  }
  throw new Error(`the login did not reach ${target.href} within ${MAX_STEPS} steps`);
}
