/**
 * The Python client's generated module follows the OpenAPI document: a schema or operation
 * changed on the server changes the emitted types and methods. (That the committed file equals
 * what the generator makes now is `clients-in-sync.test.ts`.)
 */
import { describe, expect, it } from 'vitest';
import { botApi, botApiOf, clientDocument } from '../../scripts/clients/bot-api.js';
import { emitPython } from '../../scripts/clients/python-emitter.js';

describe('the Python emitter', () => {
  it('when the document changes a schema, then the emitted TypedDicts and Literals change with it', () => {
    const doc = clientDocument();
    const status = doc.components.schemas.ElevationStatus as { enum: string[] };
    status.enum = [...status.enum, 'hibernating'];
    const request = doc.components.schemas.ElevationRequest as {
      properties: Record<string, unknown>;
      required: string[];
    };
    request.properties.window = { type: 'string', description: 'A new field.' };
    request.required = [...request.required, 'window'];

    const before = emitPython(botApi());
    const text = emitPython(botApiOf(doc));
    expect(before).not.toContain('"hibernating"');
    expect(text).toMatch(/ElevationStatus = Literal\[[^\]]*"hibernating"/);
    // A required field goes to the class of required fields, with its description as a comment.
    expect(text).toMatch(
      /class _ElevationRequestRequired\(TypedDict\):[^]*?#: A new field\.\n {4}window: str\n/,
    );
  });

  it('when it emits the operations, then each has its method, path, success statuses and a typed method', () => {
    const text = emitPython(botApi());
    expect(text).toContain('"requestElevation": Operation("POST", "/v1/elevations", (202,)),');
    expect(text).toContain('"revokeElevation": Operation("POST", "/v1/elevations/{id}/revoke", (200, 202)),');
    expect(text).toMatch(
      /def request_elevation\(\n\s+self,\n\s+body: ElevationRequest,\n\s+\*\*options: Any,\n\s+\) -> BotElevation:/,
    );
    // Query parameters are keyword-only and optional; the path parameter is quoted into the path.
    expect(text).toMatch(
      /def get_elevation\(\n\s+self,\n\s+id: str,\n\s+\*,\n\s+wait_seconds: Optional\[int\] = None,/,
    );
    expect(text).toContain(`f"/v1/elevations/{quote(str(id), safe='')}/credentials"`);
  });

  it('when the document adds a bot operation, then the module gains its method', () => {
    const doc = clientDocument();
    const get = doc.paths['/v1/elevations/{id}']!.get!;
    doc.paths['/v1/elevations/{id}/snooze'] = {
      post: { ...get, operationId: 'snoozeElevation', parameters: get.parameters.slice(0, 1) },
    };
    const text = emitPython(botApiOf(doc));
    expect(text).toContain('"snoozeElevation": Operation("POST", "/v1/elevations/{id}/snooze", (200,)),');
    expect(text).toMatch(
      /def snooze_elevation\(\n\s+self,\n\s+id: str,\n\s+\*\*options: Any,\n\s+\) -> BotElevation:/,
    );
  });
});
