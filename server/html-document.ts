/**
 * A page as the browser gets it: `<!doctype html>` and the component rendered to a string.
 * Every value a component interpolates is escaped by the renderer; nothing else is added (no
 * scripts: the pages' Content-Security-Policies allow none).
 */
import type { VNode } from 'preact';
import { renderToString } from 'preact-render-to-string';

/** `node` (an `<html>` element) as a whole HTML document. */
export function renderDocument(node: VNode): string {
  return `<!doctype html>${renderToString(node)}`;
}
