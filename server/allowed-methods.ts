/**
 * The methods a path is served with, read from the Express app's own router: the one source of
 * what is served (the API reference is checked against it by a test). A request that matched
 * no route is then answered 405 with `Allow` when its path has routes for other methods, and
 * 404 only when it has none.
 */
import type express from 'express';

/** What this module reads of Express 5's router layers (`router/lib/layer.js`). */
interface RouterLayer {
  matchers?: ((path: string) => false | { path: string })[];
  /** Mounted at `/`: matches every path, consuming nothing (Express skips its matcher too). */
  slash?: boolean;
  route?: { _methods(): string[] };
  handle: unknown;
}

function collect(stack: RouterLayer[], path: string, into: Set<string>): void {
  for (const layer of stack) {
    const matchers = layer.matchers ?? [];
    if (layer.route) {
      if (matchers.some((match) => match(path) !== false))
        for (const method of layer.route._methods()) into.add(method);
      continue;
    }
    // A mounted router: its routes see the path without the mount point.
    const inner = (layer.handle as { stack?: unknown } | null)?.stack;
    if (!Array.isArray(inner)) continue;
    if (layer.slash) {
      collect(inner as RouterLayer[], path, into);
      continue;
    }
    for (const match of matchers) {
      const matched = match(path);
      if (matched === false) continue;
      const rest = path.slice(matched.path.length);
      collect(inner as RouterLayer[], rest.startsWith('/') ? rest : `/${rest}`, into);
    }
  }
}

/**
 * The methods `app` serves `path` with, upper-case and sorted (`GET` brings `HEAD`, as Express
 * answers it); empty when no route has that path.
 */
export function allowedMethods(app: express.Express, path: string): string[] {
  const router = (app as unknown as { router?: { stack?: unknown } }).router;
  const stack = Array.isArray(router?.stack) ? (router.stack as RouterLayer[]) : [];
  const methods = new Set<string>();
  collect(stack, path, methods);
  return [...methods].sort();
}
