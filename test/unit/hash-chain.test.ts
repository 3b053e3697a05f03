import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import {
  ChainVerifier,
  GENESIS_HASH,
  canonicalJson,
  hashEvent,
  hashStoredEvent,
  type StoredEventText,
} from '../../core/crypto/hash-chain.js';

/** Builds a valid chain of `count` events, positions 1..count. */
function chain(count: number): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prevHash = GENESIS_HASH;
  for (let position = 1; position <= count; position += 1) {
    const unhashed: Omit<AuditEvent, 'hash'> = {
      id: `evt-${position}`,
      elevationId: position % 2 === 0 ? 'elv-b' : 'elv-a',
      seq: Math.ceil(position / 2),
      type: 'elevation.requested',
      at: `2026-11-22T10:00:0${position}.000Z`,
      actor: { kind: 'bot', id: 'bot-1' },
      data: { n: position },
      position,
      prevHash,
    };
    const event = { ...unhashed, hash: hashEvent(unhashed) };
    events.push(event);
    prevHash = event.hash;
  }
  return events;
}

/** Re-hashes an event after an edit, as a careful forger would. */
function rehashed(event: AuditEvent): AuditEvent {
  const { hash: _old, ...unhashed } = event;
  return { ...unhashed, hash: hashEvent(unhashed) };
}

function verifyAll(events: AuditEvent[]): ReturnType<ChainVerifier['result']> {
  const verifier = new ChainVerifier();
  for (const event of events) if (!verifier.next(event)) break;
  return verifier.result();
}

describe('canonicalJson', () => {
  it('when two objects hold the same members in a different key order, then both give the same text', () => {
    const a = { b: 1, a: { y: [1, 'x', { q: true, p: null }], x: 'é' } };
    const b = { a: { x: 'é', y: [1, 'x', { p: null, q: true }] }, b: 1 };

    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":"é","y":[1,"x",{"p":null,"q":true}]},"b":1}');
  });

  it('when array order differs, then the text differs (arrays are ordered)', () => {
    expect(canonicalJson({ a: [1, 2] })).not.toBe(canonicalJson({ a: [2, 1] }));
  });

  it('when the value cannot be represented as JSON, then it throws a TypeError', () => {
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });
});

describe('hashEvent', () => {
  it('when data keys are reordered, then the hash is unchanged', () => {
    const [event] = chain(1);
    if (!event) throw new Error('no event');
    const { hash: _hash, ...unhashed } = event;

    const reordered = { ...unhashed, data: { z: 1, a: { d: 2, c: 3 } } };
    const original = { ...unhashed, data: { a: { c: 3, d: 2 }, z: 1 } };

    expect(hashEvent(reordered)).toBe(hashEvent(original));
  });

  it('when any hashed field changes, then the hash changes', () => {
    const [event] = chain(1);
    if (!event) throw new Error('no event');
    const { hash: _hash, ...unhashed } = event;
    const base = hashEvent(unhashed);

    expect(hashEvent({ ...unhashed, position: 2 })).not.toBe(base);
    expect(hashEvent({ ...unhashed, seq: 2 })).not.toBe(base);
    expect(hashEvent({ ...unhashed, at: '2026-11-22T10:00:01.001Z' })).not.toBe(base);
    expect(hashEvent({ ...unhashed, actor: { kind: 'admin', id: 'bot-1' } })).not.toBe(base);
    expect(hashEvent({ ...unhashed, data: { n: 2 } })).not.toBe(base);
    expect(hashEvent({ ...unhashed, prevHash: 'f'.repeat(64) })).not.toBe(base);
    expect(hashEvent({ ...unhashed, elevationId: null })).not.toBe(base);
  });
});

describe('ChainVerifier', () => {
  it('when the chain is intact, then it is ok with every event checked and the last as head', () => {
    const events = chain(5);

    const result = verifyAll(events);

    expect(result).toEqual({ ok: true, checked: 5, head: { position: 5, hash: events[4]?.hash } });
  });

  it('when nothing is fed, then it is ok with nothing checked and no head', () => {
    expect(new ChainVerifier().result()).toEqual({ ok: true, checked: 0 });
  });

  it("when an event's data was edited, then it reports hash_mismatch at that position", () => {
    const events = chain(5);
    events[2] = { ...events[2]!, data: { n: 999 } };

    const result = verifyAll(events);

    expect(result).toMatchObject({
      ok: false,
      checked: 2,
      head: { position: 2 },
      firstBroken: { position: 3, eventId: 'evt-3', elevationId: 'elv-a', reason: 'hash_mismatch' },
    });
  });

  it('when an event is missing, then it reports position_gap at the missing position', () => {
    const events = chain(5);
    events.splice(1, 1);

    const result = verifyAll(events);

    expect(result).toMatchObject({
      ok: false,
      checked: 1,
      firstBroken: { position: 2, reason: 'position_gap' },
    });
  });

  it('when an edited event was re-hashed, then it reports prev_hash_mismatch at the next position', () => {
    const events = chain(5);
    events[1] = rehashed({ ...events[1]!, data: { n: 999 } });

    const result = verifyAll(events);

    expect(result).toMatchObject({
      ok: false,
      checked: 2,
      firstBroken: { position: 3, eventId: 'evt-3', reason: 'prev_hash_mismatch' },
    });
  });

  it('when two events swap places, then it reports the first of them', () => {
    const events = chain(5);
    const second = events[1]!;
    const fourth = events[3]!;
    events[1] = { ...fourth, position: 2 };
    events[3] = { ...second, position: 4 };

    const result = verifyAll(events);

    expect(result).toMatchObject({
      ok: false,
      firstBroken: { position: 2, eventId: 'evt-4', reason: 'hash_mismatch' },
    });
  });

  it('when a forged first event does not start from the genesis hash, then it reports prev_hash_mismatch at 1', () => {
    const [first] = chain(1);
    const forged = rehashed({ ...first!, prevHash: 'a'.repeat(64) });

    const result = verifyAll([forged]);

    expect(result).toEqual({
      ok: false,
      checked: 0,
      firstBroken: expect.objectContaining({ position: 1, reason: 'prev_hash_mismatch' }) as unknown,
    });
  });

  it('when the chain is already broken, then later events are refused and the first break is kept', () => {
    const events = chain(4);
    const verifier = new ChainVerifier();
    verifier.next(events[0]!);
    expect(verifier.next({ ...events[1]!, data: { n: -1 } })).toBe(false);

    const accepted = verifier.next(events[2]!);

    expect(accepted).toBe(false);
    expect(verifier.result()).toMatchObject({
      checked: 1,
      firstBroken: { position: 2, reason: 'hash_mismatch' },
    });
  });
});

describe('ChainVerifier anchors', () => {
  const run = (events: AuditEvent[], anchors: { position: number; hash: string }[]) => {
    const verifier = new ChainVerifier(anchors);
    for (const event of events) if (!verifier.next(event)) break;
    return verifier.result();
  };

  it('when two anchors name the same position and one disagrees, then the disagreement is reported', () => {
    const events = chain(3);
    const result = run(events, [
      { position: 2, hash: events[1]!.hash },
      { position: 2, hash: 'f'.repeat(64) },
    ]);
    expect(result.firstBroken).toMatchObject({ position: 2, reason: 'anchor_mismatch' });
  });

  it('when an anchor lies past the end of the chain, then the chain is reported truncated after its last event', () => {
    expect(run(chain(3), [{ position: 5, hash: 'a'.repeat(64) }]).firstBroken).toEqual({
      position: 4,
      reason: 'truncated',
    });
  });

  it('when anchors match and the genesis anchor is given, then the chain is ok', () => {
    const events = chain(3);
    expect(
      run(events, [
        { position: 0, hash: GENESIS_HASH },
        { position: 3, hash: events[2]!.hash },
      ]).ok,
    ).toBe(true);
  });
});

describe('hashStoredEvent (verifying from the stored text)', () => {
  const stored = (e: AuditEvent, dataText = canonicalJson(e.data)): StoredEventText => ({
    position: e.position,
    id: e.id,
    elevationId: e.elevationId,
    seq: e.seq,
    type: e.type,
    at: e.at,
    actorKind: e.actor.kind,
    actorId: e.actor.id,
    dataText,
    prevHash: e.prevHash,
    hash: e.hash,
  });
  const tricky: Record<string, unknown>[] = [
    {},
    { b: 1, a: [3, 2, 1], c: { z: null, y: true, x: false } },
    { text: 'quote " backslash \\ slash / newline \n tab \t nul \u0000 del \u007f', emoji: '👩‍💻', e: 'é' },
    { n: [0, -0, 1e21, 1e-7, 123.456, -42, 2 ** 53, 0.1 + 0.2] },
    { '\u00e9': 1, e: 2, E: 3, '10': 4, '9': 5, '': 6, '\ud83d\ude00': 7 },
    { deep: { deeper: { deepest: [{ k: 'v' }, [], {}] } } },
  ];

  it('when the data is stored canonical, then it equals hashEvent of the parsed event', () => {
    const [first] = chain(1);
    for (const data of tricky) {
      for (const elevationId of [null, 'el_0123456789abcdef01234567', 'hostile "id" \\ ']) {
        const unhashed = {
          ...first!,
          data,
          elevationId,
          actor: { kind: 'human' as const, id: 'a"b@example.org' },
        };
        const event = rehashed({ ...unhashed, hash: '' });
        expect(hashStoredEvent(stored(event))).toBe(event.hash);
      }
    }
  });

  it('when the stored text is not canonical, then it does not match, and the verifier falls back to parsing', () => {
    const events = chain(3);
    const e = { ...events[1]!, data: { b: 2, a: 1 } };
    const event = rehashed(e);
    const fixed = [events[0]!, event, rehashed({ ...events[2]!, prevHash: event.hash })];
    const loose = '{ "b": 2, "a": 1 }';
    expect(hashStoredEvent(stored(event, loose))).not.toBe(event.hash);
    const verifier = new ChainVerifier();
    for (const ev of fixed) {
      const text = ev === event ? loose : canonicalJson(ev.data);
      expect(
        verifier.nextStored(stored(ev, text), () => ({
          ...ev,
          data: JSON.parse(text) as Record<string, unknown>,
        })),
      ).toBe(true);
    }
    expect(verifier.result()).toMatchObject({ ok: true, checked: 3 });
  });

  it('when the stored text was edited, then neither path accepts it', () => {
    const events = chain(2);
    const verifier = new ChainVerifier();
    expect(verifier.nextStored(stored(events[0]!), () => events[0]!)).toBe(true);
    const edited = '{"n":3}';
    expect(verifier.nextStored(stored(events[1]!, edited), () => ({ ...events[1]!, data: { n: 3 } }))).toBe(
      false,
    );
    expect(verifier.result().firstBroken).toMatchObject({ position: 2, reason: 'hash_mismatch' });
  });
});
