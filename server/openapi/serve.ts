/** Serving the reference: `GET /openapi.json` and `GET /docs/api`. */
import type express from 'express';
import { serveRoutes, type RouteHandlers } from '../http/routes.js';
import { buildOpenApi, elevateVersion } from './build-document.js';
import type { OpenApiDocument } from './document-types.js';
import { renderApiReference } from './reference-page.js';
import { REFERENCE_ROUTES } from './routes/operations.js';

/** How the reference is built: see {@link apiReferenceHandlers}. */
export interface ApiReferenceOptions {
  version?: string;
  serverUrl?: string;
  roles?: readonly string[];
  document?: OpenApiDocument;
}

/**
 * The handlers of `GET /openapi.json` and `GET /docs/api`, without authentication. Both are
 * built on first request and then kept (the policy is read once, at start). `version` defaults
 * to Elevate's own; `roles` lists the running policy's role ids; `document` serves a document
 * the caller built (and perhaps extended) instead.
 */
export function apiReferenceHandlers(opts: ApiReferenceOptions = {}): RouteHandlers<typeof REFERENCE_ROUTES> {
  let built: { json: string; html: string; csp: string } | undefined;
  const reference = () => {
    if (!built) {
      const doc =
        opts.document ??
        buildOpenApi({
          version: opts.version ?? elevateVersion(),
          ...(opts.serverUrl ? { serverUrl: opts.serverUrl } : {}),
          ...(opts.roles ? { roles: opts.roles } : {}),
        });
      const page = renderApiReference(doc);
      built = { json: JSON.stringify(doc), html: page.html, csp: page.contentSecurityPolicy };
    }
    return built;
  };

  return {
    getOpenApiDocument: (_input, _req, res) => {
      const { json } = reference();
      // Public and the same for everyone: caches may keep it, but must check it is current.
      res.setHeader('cache-control', 'no-cache');
      res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
      res.type('application/json').send(json);
    },
    getApiReferencePage: (_input, _req, res) => {
      const { html, csp } = reference();
      res.setHeader('cache-control', 'no-cache');
      res.setHeader('content-security-policy', csp);
      res.setHeader('referrer-policy', 'no-referrer');
      res.type('html').send(html);
    },
  };
}

/** Serve the reference alone on `app` (the API serves it with its operations routes). */
export function mountApiReference(app: express.Express, opts: ApiReferenceOptions = {}): void {
  serveRoutes(app, REFERENCE_ROUTES, apiReferenceHandlers(opts), { guards: { none: [] } });
}
