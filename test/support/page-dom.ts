/**
 * The few DOM types the browser tests use inside `page.evaluate` (the project's TypeScript has
 * no DOM library: it is Node code). Playwright sends a page function's source to the browser,
 * so it must be self-contained: it starts with `const w = globalThis as unknown as PageWindow;`
 * (in the page the global object is the window) and uses `w.document`, `w.innerWidth` and
 * `w.getComputedStyle` as in the browser.
 */

/** A box, as `getBoundingClientRect` and `getClientRects` give it. */
export interface PageRect {
  left: number;
  right: number;
  top: number;
  bottom: number;
  width: number;
  height: number;
}

/** An element, as far as the tests look at one. */
export interface PageElement {
  textContent: string | null;
  parentElement: PageElement | null;
  getBoundingClientRect(): PageRect;
  getClientRects(): ArrayLike<PageRect> & Iterable<PageRect>;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): Iterable<PageElement>;
}

/** The page's window: its document, its width and computed styles. */
export interface PageWindow {
  document: {
    documentElement: PageElement & { scrollWidth: number };
    querySelector(selector: string): PageElement | null;
    querySelectorAll(selector: string): Iterable<PageElement>;
  };
  innerWidth: number;
  getComputedStyle(element: PageElement, pseudo?: string): { display: string; content: string };
}
