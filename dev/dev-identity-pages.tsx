/**
 * The development identity provider's own pages: log in, enter the TOTP code, and what went
 * wrong. Components: every value is interpolated as JSX and so escaped by the renderer. Each
 * page says "not for production use" in its title and in a banner.
 */
import type { ComponentChildren } from 'preact';
import { renderToString } from 'preact-render-to-string';

const BANNER = 'DEVELOPMENT IDENTITY PROVIDER — not for production use';

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f6f6; }
.banner { background: #b00020; color: #fff; font-size: 1.5rem; font-weight: bold; padding: 1rem; text-align: center; }
main { max-width: 26rem; margin: 2rem auto; background: #fff; padding: 1.5rem; border-radius: 6px; }
label { display: block; margin-top: 1rem; }
input { width: 100%; box-sizing: border-box; padding: .5rem; font-size: 1rem; }
button { margin-top: 1.25rem; padding: .5rem 1rem; font-size: 1rem; }
.error { color: #b00020; font-weight: bold; }
.cancel button { background: none; border: none; color: #555; text-decoration: underline; padding: 0; }
`;

/** A page with the development banner. */
function page(title: string, body: ComponentChildren): string {
  return `<!doctype html>${renderToString(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} — ${BANNER}`}</title>
        {/* A constant of this file, no value from outside: set as is, since escaping would alter CSS. */}
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <div class="banner" role="banner">
          {BANNER}
        </div>
        <main>
          <h1>{title}</h1>
          {body}
        </main>
      </body>
    </html>,
  )}`;
}

function ErrorLine({ error }: { error: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

function CancelForm({ uid }: { uid: string }) {
  return (
    <form class="cancel" method="post" action={`/interaction/${uid}/cancel`}>
      <button type="submit">Cancel</button>
    </form>
  );
}

/** The login form of interaction `uid`, for relying party `clientId`. */
export function devLoginPage(uid: string, clientId: string, error?: string, email = ''): string {
  return page(
    'Log in',
    <>
      <p>
        Log in to continue to <strong>{clientId}</strong>.
      </p>
      <ErrorLine error={error} />
      <form method="post" action={`/interaction/${uid}/login`}>
        <label>
          Email <input type="email" name="email" autocomplete="username" required autofocus value={email} />
        </label>
        <label>
          Password <input type="password" name="password" autocomplete="current-password" required />
        </label>
        <button type="submit">Log in</button>
      </form>
      <CancelForm uid={uid} />
    </>,
  );
}

/** The TOTP code form of interaction `uid`. */
export function devCodePage(uid: string, error?: string): string {
  return page(
    'Enter your code',
    <>
      <p>Enter the 6-digit code from your authenticator app.</p>
      <ErrorLine error={error} />
      <form method="post" action={`/interaction/${uid}/code`}>
        <label>
          Code{' '}
          <input
            type="text"
            name="otp"
            inputmode="numeric"
            pattern="[0-9]{6}"
            maxlength={6}
            autocomplete="one-time-code"
            required
            autofocus
          />
        </label>
        <button type="submit">Continue</button>
      </form>
      <CancelForm uid={uid} />
    </>,
  );
}

/** A page that says one thing (a login that expired, a step this provider does not support). */
export function devMessagePage(title: string, message: string): string {
  return page(title, <p>{message}</p>);
}

/** An OAuth error as oidc-provider reports it (`error`, and its description if any). */
export function devErrorPage(error: string, description?: string): string {
  return page(
    'Login error',
    <>
      <p class="error" role="alert">
        {description ? `${error}: ${description}` : error}
      </p>
      <p>Start again from the link you were given.</p>
    </>,
  );
}
