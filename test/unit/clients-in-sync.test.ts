/**
 * The client libraries' generated files are what the generator makes of the OpenAPI document
 * the server builds now: a bot route or schema changed without `npm run clients:generate` fails
 * here, naming the file. And the generator follows the document rather than a copy of it.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { botApi, botApiOf, clientDocument, refName } from '../../scripts/clients/bot-api.js';
import { generatedClientFiles } from '../../scripts/clients/generate.js';
import { emitTypeScript, typeOf } from '../../scripts/clients/typescript-emitter.js';

const root = path.resolve(import.meta.dirname, '../..');

function committed(file: string): string | undefined {
  try {
    return readFileSync(path.join(root, file), 'utf8');
  } catch {
    return undefined;
  }
}

describe('the generated client files', () => {
  it('when regenerated in memory, then each equals the committed file', async () => {
    const files = await generatedClientFiles();
    expect(files.length).toBeGreaterThan(0);
    const stale = files.filter(({ file, text }) => committed(file) !== text).map((f) => f.file);
    expect(stale, `${stale.join(', ')} out of date: run npm run clients:generate`).toEqual([]);
  });
});

describe('the bot API the clients are generated from', () => {
  it('when read from the document, then it has the bot operations and every schema they reach', () => {
    const api = botApi();
    expect(api.operations.map((o) => `${o.method.toUpperCase()} ${o.path}`)).toEqual(
      expect.arrayContaining([
        'POST /v1/elevations',
        'GET /v1/elevations/{id}',
        'POST /v1/elevations/{id}/revoke',
        'POST /v1/elevations/{id}/credentials',
      ]),
    );
    expect(api.operations.every((o) => !o.path.startsWith('/v1/admin'))).toBe(true);
    // Reached through BotElevation and Error, not named by any operation directly.
    expect(Object.keys(api.schemas)).toEqual(expect.arrayContaining(['ElevationStatus', 'ErrorCode']));
    for (const schema of Object.values(api.schemas)) {
      JSON.stringify(schema, (_key, value: unknown) => {
        const name = refName(value as Record<string, unknown>);
        if (name !== undefined) expect(api.schemas, `${name} is referenced`).toHaveProperty(name);
        return value;
      });
    }
  });

  it('when the document changes a schema, then the emitted types change with it', () => {
    const doc = clientDocument();
    const status = doc.components.schemas.ElevationStatus as { enum: string[] };
    status.enum = [...status.enum, 'hibernating'];
    const request = doc.components.schemas.ElevationRequest as {
      properties: Record<string, unknown>;
      required: string[];
    };
    request.properties.window = { type: 'string', description: 'A new field.' };
    request.required = [...request.required, 'window'];
    const text = emitTypeScript(botApiOf(doc));
    expect(text).toContain('"hibernating"');
    expect(text).toMatch(/\/\*\* A new field\. \*\/\n\s+window: string;/);
  });

  it('when a schema uses nullable types, combinators and maps, then they become TypeScript unions and records', () => {
    expect(typeOf({ type: ['string', 'null'] })).toBe('string | null');
    expect(typeOf({ anyOf: [{ type: 'integer' }, { const: 'x' }] })).toBe(
      "number | 'x'".replaceAll("'", '"'),
    );
    expect(typeOf({ type: 'object', additionalProperties: { type: 'boolean' } })).toBe(
      'Record<string, boolean>',
    );
    expect(typeOf({ type: 'array', items: { enum: ['a', 'b'] } })).toBe('("a" | "b")[]');
    expect(typeOf({ $ref: '#/components/schemas/Error' })).toBe('ErrorBody');
    expect(typeOf({ not: {} })).toBe('unknown');
  });
});
