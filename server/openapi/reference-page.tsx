/**
 * The reference as one HTML page: no scripts, nothing loaded from elsewhere; its one stylesheet
 * is inline and allowed by hash in the Content-Security-Policy. Rendered from components, so
 * every text taken from the document is escaped by the renderer.
 */
import { createHash } from 'node:crypto';
import type { ComponentChildren } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type {
  HttpMethod,
  JsonSchema,
  OpenApiDocument,
  OpenApiHeader,
  OpenApiOperation,
  OpenApiParameter,
  OpenApiRef,
} from './document-types.js';

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.6rem;margin-bottom:0}h2{margin-top:2.5rem;border-bottom:2px solid #ddd}h3{margin:2rem 0 .3rem;font-size:1.1rem}
h4{margin:1rem 0 .3rem;font-size:.95rem;color:#444}
table{border-collapse:collapse;width:100%;margin:.3rem 0}td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e4e4e4;vertical-align:top;overflow-wrap:anywhere}
th{color:#555;font-weight:600}td table{margin:.3rem 0 0;font-size:.95em}
code{background:#f3f3f3;padding:0 .2rem;border-radius:3px}.method{display:inline-block;min-width:3.5rem;font:700 .8rem monospace;text-transform:uppercase;color:#fff;background:#555;border-radius:3px;padding:.1rem .4rem;margin-right:.4rem;text-align:center}
.get{background:#0b6bcb}.post{background:#116329}.req{color:#a40e26;font-size:.8rem}.muted{color:#666;font-size:.9rem}
article{border-top:1px solid #eee}details{margin:.3rem 0}pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.85rem}
nav>ul{columns:2 18rem;column-gap:2.5rem}nav ul{padding-left:1.2rem}nav>ul>li{break-inside:avoid}nav li{overflow-wrap:anywhere}
@media (max-width:40rem){body{padding:0 .6rem}td,th{padding:.2rem .25rem}}`;

/** Plain text with `backticks` as code: the parts between backticks become `<code>`. */
function inline(text: string): ComponentChildren {
  return text.split(/`([^`]+)`/).map((part, i) => (i % 2 === 1 ? <code>{part}</code> : part));
}

/** {@link inline} text with blank lines as paragraphs. */
function Prose({ text }: { text: string | undefined }) {
  if (!text) return null;
  return (
    <>
      {text.split(/\n\s*\n/).map((p) => (
        <p>{inline(p)}</p>
      ))}
    </>
  );
}

function anchor(kind: string, name: string): string {
  return `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** The component name a `$ref` points to. */
function refName(ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return last.replace(/~1/g, '/').replace(/~0/g, '~');
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Items with `separator` between them. */
function joined(items: ComponentChildren[], separator: ComponentChildren): ComponentChildren {
  return items.flatMap((item, i) => (i === 0 ? [item] : [separator, item]));
}

/** A short description of a schema's type: `string`, `array of Elevation`, `"auto"`... */
function typeOf(s: JsonSchema): ComponentChildren {
  if (typeof s.$ref === 'string') {
    const name = refName(s.$ref);
    return <a href={`#${anchor('schema', name)}`}>{name}</a>;
  }
  if ('const' in s) return <code>{JSON.stringify(s.const)}</code>;
  if (Array.isArray(s.enum)) {
    return [
      'one of ',
      joined(
        s.enum.map((v) => <code>{JSON.stringify(v)}</code>),
        ', ',
      ),
    ];
  }
  const branches = s.anyOf ?? s.oneOf;
  if (Array.isArray(branches)) return 'one of the forms below';
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (types.includes('array') && isSchema(s.items)) return ['array of ', typeOf(s.items)];
  if (types.includes('object') && !isSchema(s.properties) && isSchema(s.additionalProperties)) {
    const values = s.additionalProperties;
    return Object.keys(values).length === 0 ? 'object' : ['object of ', typeOf(values)];
  }
  return types.length > 0 ? types.join(' or ') : 'any';
}

/** Constraints and description of a schema, as one line of text. */
function notesOf(s: JsonSchema): ComponentChildren {
  const notes: ComponentChildren[] = [];
  if (typeof s.format === 'string') notes.push(['format ', <code>{s.format}</code>]);
  if (typeof s.pattern === 'string') notes.push(['pattern ', <code>{s.pattern}</code>]);
  const min = typeof s.minLength === 'number' ? s.minLength : undefined;
  const max = typeof s.maxLength === 'number' ? s.maxLength : undefined;
  if (min !== undefined || max !== undefined) notes.push(`${min ?? 0}–${max ?? '…'} characters`);
  if (typeof s.minimum === 'number') notes.push(`≥ ${s.minimum}`);
  if (typeof s.maximum === 'number') notes.push(`≤ ${s.maximum}`);
  if ('default' in s) notes.push(['default ', <code>{JSON.stringify(s.default)}</code>]);
  if (s.additionalProperties === false) notes.push('no other fields');
  const text = typeof s.description === 'string' && s.description !== '' ? inline(s.description) : undefined;
  const muted = notes.length > 0 ? <span class="muted">{joined(notes, '; ')}</span> : undefined;
  return joined(
    [text, muted].filter((part) => part !== undefined),
    ' ',
  );
}

/** Nested detail of a schema: its properties, its array items' properties, its forms. */
function Detail({ schema: s }: { schema: JsonSchema }) {
  if (isSchema(s.properties)) return <Properties schema={s} />;
  if (isSchema(s.items) && !s.items.$ref) return <Detail schema={s.items} />;
  const branches = s.anyOf ?? s.oneOf;
  if (Array.isArray(branches)) {
    return (
      <ul>
        {branches.filter(isSchema).map((b) => (
          <li>
            {typeOf(b)} {notesOf(b)}
            <Detail schema={b} />
          </li>
        ))}
      </ul>
    );
  }
  return null;
}

function Required({ when }: { when: boolean | undefined }) {
  return when ? (
    <>
      {' '}
      <span class="req">required</span>
    </>
  ) : null;
}

function Properties({ schema: s }: { schema: JsonSchema }) {
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const properties = Object.entries(s.properties as Record<string, unknown>).filter(
    (entry): entry is [string, JsonSchema] => isSchema(entry[1]),
  );
  return (
    <table>
      <tr>
        <th>Field</th>
        <th>Type</th>
        <th>About</th>
      </tr>
      {properties.map(([name, p]) => (
        <tr>
          <td>
            <code>{name}</code>
            <Required when={required.has(name)} />
          </td>
          <td>{typeOf(p)}</td>
          <td>
            {notesOf(p)}
            <Detail schema={p} />
          </td>
        </tr>
      ))}
    </table>
  );
}

function Schema({ schema: s }: { schema: JsonSchema }) {
  return (
    <>
      <p>
        {typeOf(s)} {notesOf(s)}
      </p>
      <Detail schema={s} />
    </>
  );
}

function resolveParameter(
  doc: OpenApiDocument,
  p: OpenApiParameter | OpenApiRef,
): OpenApiParameter | undefined {
  if (!('$ref' in p)) return p;
  return doc.components.parameters[refName(p.$ref)];
}

function RequestBody({ doc, op }: { doc: OpenApiDocument; op: OpenApiOperation }) {
  const body = op.requestBody;
  if (!body) return null;
  return (
    <>
      <h4>Request body{body.required ? '' : ' (optional)'}</h4>
      <Prose text={body.description} />
      {Object.entries(body.content).map(([type, media]) => {
        // The body's fields are shown here too, not only behind the link to its schema.
        const ref = media.schema.$ref;
        const component = typeof ref === 'string' ? doc.components.schemas[refName(ref)] : undefined;
        return (
          <>
            <p class="muted">
              <code>{type}</code>
            </p>
            <Schema schema={media.schema} />
            {component ? <Detail schema={component} /> : null}
          </>
        );
      })}
    </>
  );
}

function Operation(props: { doc: OpenApiDocument; path: string; method: HttpMethod; op: OpenApiOperation }) {
  const { doc, path, method, op } = props;
  const who = op.security.map((req) =>
    joined(
      Object.keys(req).map((k) => <code>{k}</code>),
      ' + ',
    ),
  );
  const params = op.parameters.map((p) => resolveParameter(doc, p)).filter((p) => p !== undefined);
  return (
    <article id={anchor('op', op.operationId)}>
      <h3>
        <span class={`method ${method}`}>{method}</span>
        <code>{path}</code>
      </h3>
      <p>
        <strong>{inline(op.summary)}</strong>
      </p>
      <Prose text={op.description} />
      <p class="muted">Authentication: {who.length > 0 ? joined(who, ' or ') : 'none'}</p>
      {params.length > 0 ? (
        <>
          <h4>Parameters</h4>
          <table>
            <tr>
              <th>Name</th>
              <th>In</th>
              <th>Type</th>
              <th>About</th>
            </tr>
            {params.map((p) => (
              <tr>
                <td>
                  <code>{p.name}</code>
                  <Required when={p.required} />
                </td>
                <td>{p.in}</td>
                <td>{typeOf(p.schema)}</td>
                <td>
                  {inline(p.description ?? '')} {notesOf(p.schema)}
                </td>
              </tr>
            ))}
          </table>
        </>
      ) : null}
      <RequestBody doc={doc} op={op} />
      <h4>Responses</h4>
      <table>
        <tr>
          <th>Status</th>
          <th>About</th>
          <th>Body</th>
        </tr>
        {Object.entries(op.responses).map(([status, res]) => (
          <tr>
            <td>
              <code>{status}</code>
            </td>
            <td>
              {inline(res.description)}
              {Object.entries(res.headers ?? {})
                .filter((entry): entry is [string, OpenApiHeader] => !('$ref' in entry[1]))
                .map(([name, h]) => (
                  <>
                    <br />
                    <span class="muted">
                      Header <code>{name}</code>: {inline(h.description)}
                    </span>
                  </>
                ))}
            </td>
            <td>
              {joined(
                Object.entries(res.content ?? {}).map(([type, media]) => [
                  <code>{type}</code>,
                  ' ',
                  type === 'text/html' ? '' : typeOf(media.schema),
                ]),
                <br />,
              )}
            </td>
          </tr>
        ))}
      </table>
    </article>
  );
}

/** A path that may wrap after each slash in a narrow column (`<wbr>`), not mid-word. */
function wrappable(path: string): ComponentChildren {
  return path.split('/').map((part, i) => (i === 0 ? part : ['/', <wbr />, part]));
}

function Reference({ doc }: { doc: OpenApiDocument }) {
  const operations: { tag: string; path: string; method: HttpMethod; op: OpenApiOperation }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'post'] as const) {
      const op = item[method];
      if (op) operations.push({ tag: op.tags[0] ?? '', path, method, op });
    }
  }
  const ofTag = (name: string) => operations.filter((o) => o.tag === name);
  const title = `${doc.info.title} API ${doc.info.version}`;
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>{title}</title>
        {/* A constant of this file, allowed by its hash in the Content-Security-Policy. */}
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <header>
          <h1>{title}</h1>
          <p class="muted">
            OpenAPI {doc.openapi} · <a href="/openapi.json">openapi.json</a>
          </p>
          <Prose text={doc.info.summary} />
          <Prose text={doc.info.description} />
        </header>
        <nav>
          <h2>Contents</h2>
          <ul>
            {doc.tags.map((t) => (
              <li>
                <a href={`#${anchor('tag', t.name)}`}>{t.name}</a>
                <ul>
                  {ofTag(t.name).map((o) => (
                    <li>
                      <a href={`#${anchor('op', o.op.operationId)}`}>
                        <code>
                          {o.method.toUpperCase()} {wrappable(o.path)}
                        </code>
                      </a>
                    </li>
                  ))}
                </ul>
              </li>
            ))}
            <li>
              <a href="#authentication">Authentication</a>
            </li>
            <li>
              <a href="#schemas">Schemas</a>
            </li>
          </ul>
        </nav>
        <main>
          {doc.tags.map((t) => (
            <section>
              <h2 id={anchor('tag', t.name)}>{t.name}</h2>
              <Prose text={t.description} />
              {ofTag(t.name).map((o) => (
                <Operation doc={doc} path={o.path} method={o.method} op={o.op} />
              ))}
            </section>
          ))}
          <section>
            <h2 id="authentication">Authentication</h2>
            <table>
              <tr>
                <th>Scheme</th>
                <th>About</th>
              </tr>
              {Object.entries(doc.components.securitySchemes).map(([name, s]) => (
                <tr>
                  <td>
                    <code>{name}</code>
                  </td>
                  <td>{inline(s.description)}</td>
                </tr>
              ))}
            </table>
          </section>
          <section>
            <h2 id="schemas">Schemas</h2>
            {Object.entries(doc.components.schemas).map(([name, s]) => (
              <article id={anchor('schema', name)}>
                <h3>{name}</h3>
                <Schema schema={s} />
              </article>
            ))}
          </section>
        </main>
      </body>
    </html>
  );
}

/**
 * The document as one HTML page, and the Content-Security-Policy to serve it with: no scripts
 * at all, and only this page's own stylesheet (allowed by its hash, not by `unsafe-inline`).
 */
export function renderApiReference(doc: OpenApiDocument): { html: string; contentSecurityPolicy: string } {
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  return {
    html: `<!doctype html>${renderToString(<Reference doc={doc} />)}`,
    contentSecurityPolicy: `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  };
}
