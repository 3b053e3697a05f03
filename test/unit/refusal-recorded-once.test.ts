/**
 * A refusal is recorded in the audit trail exactly once. The domain records its own refusals
 * through `AuditService.recordRefusal` and throws an `AuditedRefusal` made from the receipt it
 * got; the HTTP error handler (`server/http/errors.ts`) records every other 4xx of a known caller
 * as `request.refused`, and never an `AuditedRefusal` again. The real service and the real error
 * handler, over an audit log kept in memory.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TypedNewAuditEvent } from '../../core/model/audit-record.js';
import type { EventType } from '../../core/model/events.js';
import { AuditService } from '../../domain/audit/audit-service.js';
import { ApiError, AuditedRefusal, RefusalError } from '../../domain/errors.js';
import { answerErrors } from '../../server/http/errors.js';
import type { CallerLocals } from '../../server/http/request-context.js';

const unused = () => Promise.reject(new Error('not read in this test'));
const appended: { type: string; elevationId: string | null; data: Record<string, unknown> }[] = [];

const audit = new AuditService({
  auditLog: {
    append<T extends EventType>(event: TypedNewAuditEvent<T>) {
      appended.push({ type: event.type, elevationId: event.elevationId, data: event.data });
      const n = appended.length;
      return Promise.resolve({ ...event, seq: n, position: n, prevHash: '', hash: '' });
    },
    listEvents: unused,
    verify: unused,
    readEvents: unused,
  },
  elevations: { listElevations: unused },
  reader: { get: unused },
  logger: pino({ level: 'silent' }),
});

const BOT = { kind: 'bot', id: 'ci-bot' } as const;

let server: Server;
let base: string;

beforeAll(async () => {
  const app = express();
  // What a bot's guard leaves for the error handler: the caller is known.
  app.use((_req, res, next) => {
    (res.locals as CallerLocals).bot = { id: BOT.id } as CallerLocals['bot'];
    next();
  });
  // The domain refuses, records it, and throws what the receipt makes.
  app.post('/recorded', async () => {
    const receipt = await audit.recordRefusal('revoke.refused', 'el-1', BOT, {
      code: 'already_ended',
      status: 'revoked',
    });
    throw new AuditedRefusal(receipt, 'already_ended', 'elevation el-1 has already ended (revoked)');
  });
  app.post('/recorded-with-reason', async () => {
    const receipt = await audit.recordRefusal('deny.refused', 'el-2', BOT, { code: 'not_pending' });
    throw new RefusalError(receipt, 'not_pending', 'not_pending', 'elevation el-2 is not pending');
  });
  // Refused before any domain code ran: nobody recorded it yet.
  app.post('/unrecorded', () => {
    throw new ApiError('invalid_request', 'reason: is required', 'reason');
  });
  answerErrors(app, { audit });
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function post(path: string): Promise<{ status: number; code: string }> {
  const res = await fetch(base + path, { method: 'POST' });
  const body = (await res.json()) as { error: { code: string } };
  return { status: res.status, code: body.error.code };
}

describe('a refusal in the audit trail', () => {
  it('when the domain recorded a refusal, then the error handler answers it and records nothing more', async () => {
    appended.length = 0;
    expect(await post('/recorded')).toEqual({ status: 409, code: 'already_ended' });
    expect(await post('/recorded-with-reason')).toMatchObject({ code: 'not_pending' });
    expect(appended.map((e) => [e.type, e.elevationId])).toEqual([
      ['revoke.refused', 'el-1'],
      ['deny.refused', 'el-2'],
    ]);
  });

  it('when a refusal was not recorded before, then the error handler records it once as request.refused', async () => {
    appended.length = 0;
    expect(await post('/unrecorded')).toEqual({ status: 400, code: 'invalid_request' });
    expect(appended).toHaveLength(1);
    expect(appended[0]).toMatchObject({
      type: 'request.refused',
      data: { code: 'invalid_request', field: 'reason', method: 'POST' },
    });
  });

  it('when something that is not a receipt is offered, then no AuditedRefusal can be made of it', () => {
    // @ts-expect-error only AuditService.recordRefusal issues a receipt; a look-alike does not type-check
    const forged = new AuditedRefusal({ type: 'revoke.refused' }, 'already_ended', 'forged');
    // (At run time it is still an error to answer; the compiler is what refuses it.)
    expect(forged).toBeInstanceOf(ApiError);
  });
});
