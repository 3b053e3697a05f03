/**
 * An approver's browser, as far as the approval pages need one: it keeps the approval cookie,
 * does not follow redirects by itself (so tests see each hop), logs in at the development
 * identity provider, and submits the confirmation form.
 */
import { automatedLogin } from './automated-login.js';

export interface Credentials {
  email: string;
  password: string;
  totpSecret?: string;
}

export interface Browser {
  cookie?: string;
  /** GET a URL with the cookie, without following redirects. */
  get(url: string, headers?: Record<string, string>): Promise<Response>;
  /** POST a form with the cookie. */
  post(url: string, form: Record<string, string>, headers?: Record<string, string>): Promise<Response>;
  /**
   * From an approval link, through the provider's login, to the callback's answer (`headers`
   * go with the callback request, e.g. `accept`).
   */
  login(link: string, who: Credentials, headers?: Record<string, string>): Promise<Response>;
  /** Submit the confirmation form found in a confirmation page. */
  confirm(page: string, headers?: Record<string, string>): Promise<Response>;
}

/** A browser for the Elevate server at `baseUrl`. */
export function createBrowser(baseUrl: string): Browser {
  const b: Browser = {
    async get(target, headers = {}) {
      const res = await fetch(target, {
        redirect: 'manual',
        headers: { ...headers, ...(b.cookie ? { cookie: b.cookie } : {}) },
      });
      const set = res.headers.get('set-cookie');
      if (set) b.cookie = set.split(';')[0];
      return res;
    },
    post(target, form, headers = {}) {
      return fetch(target, {
        method: 'POST',
        redirect: 'manual',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...headers,
          ...(b.cookie ? { cookie: b.cookie } : {}),
        },
        body: new URLSearchParams(form).toString(),
      });
    },
    async login(link, who, headers) {
      const start = await b.get(link);
      if (start.status !== 303) return start;
      const callback = await automatedLogin(start.headers.get('location')!, who);
      return b.get(callback.toString(), headers);
    },
    async confirm(page, headers) {
      const confirmation = /name="confirmation" value="([^"]+)"/.exec(page)?.[1];
      if (!confirmation) throw new Error(`no confirmation form in the page:\n${page.slice(0, 500)}`);
      return b.post(`${baseUrl}/approvals/confirm`, { confirmation }, headers);
    },
  };
  return b;
}
