/**
 * A bot's allowed time windows (`core/rules/time-windows.ts`): wall-clock windows in IANA time
 * zones, crossing midnight, joined when they touch, across the two daylight saving nights (a
 * skipped and a repeated hour), with the next window that can hold a refused request.
 */
import { describe, expect, it } from 'vitest';
import {
  allowedTime,
  checkAllowedWindows,
  describeOccurrence,
  isTimeZone,
  occurrences,
  zonedInstant,
  type AllowedWindow,
} from '../../core/rules/time-windows.js';

const at = (iso: string) => Date.parse(iso);
const H = 3_600_000;
const BERLIN_NIGHTS: AllowedWindow = {
  days: ['mon', 'tue', 'wed', 'thu', 'fri'],
  from: '01:00',
  to: '04:00',
  timeZone: 'Europe/Berlin',
};

describe('zonedInstant', () => {
  it.each([
    ['Europe/Berlin in winter (UTC+1)', 'Europe/Berlin', 2026, 12, 8, 60, '2026-12-08T00:00:00.000Z'],
    ['Europe/Berlin in summer (UTC+2)', 'Europe/Berlin', 2026, 7, 1, 60, '2026-06-30T23:00:00.000Z'],
    ['Asia/Kolkata (UTC+5:30)', 'Asia/Kolkata', 2026, 12, 8, 0, '2026-12-07T18:30:00.000Z'],
    [
      'Pacific/Chatham (UTC+13:45 in its summer)',
      'Pacific/Chatham',
      2026,
      12,
      8,
      0,
      '2026-12-07T10:15:00.000Z',
    ],
    [
      'America/New_York on the day before its spring change',
      'America/New_York',
      2026,
      3,
      7,
      120,
      '2026-03-07T07:00:00.000Z',
    ],
    ['UTC, a day that overflows into the next month', 'UTC', 2026, 11, 31, 30, '2026-12-01T00:30:00.000Z'],
  ])('when the wall clock is in %s, then it maps to the right instant', (_l, tz, y, m, d, min, iso) => {
    expect(new Date(zonedInstant(y, m, d, min, tz)).toISOString()).toBe(iso);
  });

  it('when the zone skips the time (Berlin, 2026-03-29 02:30), then it is read as the time after the gap', () => {
    // Clocks go from 02:00 CET to 03:00 CEST: 02:30 does not exist; 03:30 CEST is 01:30 UTC.
    expect(new Date(zonedInstant(2026, 3, 29, 150, 'Europe/Berlin')).toISOString()).toBe(
      '2026-03-29T01:30:00.000Z',
    );
  });

  it('when the zone repeats the time (Berlin, 2026-10-25 02:30), then it is read as its first occurrence', () => {
    // 02:30 CEST (00:30 UTC) and 02:30 CET (01:30 UTC) both exist: the first is taken.
    expect(new Date(zonedInstant(2026, 10, 25, 150, 'Europe/Berlin')).toISOString()).toBe(
      '2026-10-25T00:30:00.000Z',
    );
  });
});

describe('checkAllowedWindows', () => {
  it('when the whole request lies inside a window, then it is allowed', () => {
    // Tue 2026-12-08 01:30–02:30 Berlin.
    const check = checkAllowedWindows(
      [BERLIN_NIGHTS],
      at('2026-12-08T00:30:00Z'),
      at('2026-12-08T01:30:00Z'),
    );
    expect(check.ok).toBe(true);
  });

  it('when the request ends exactly at the window end, then it is allowed', () => {
    expect(
      checkAllowedWindows([BERLIN_NIGHTS], at('2026-12-08T02:00:00Z'), at('2026-12-08T03:00:00Z')).ok,
    ).toBe(true);
  });

  it('when the request starts inside but runs past the end, then it ends outside and the next window is Wednesday', () => {
    const check = checkAllowedWindows(
      [BERLIN_NIGHTS],
      at('2026-12-08T02:30:00Z'),
      at('2026-12-08T03:30:00Z'),
    );
    expect(check).toMatchObject({ ok: false, reason: 'ends_outside' });
    if (check.ok) return;
    expect(new Date(check.current!.end).toISOString()).toBe('2026-12-08T03:00:00.000Z');
    expect(new Date(check.next!.start).toISOString()).toBe('2026-12-09T00:00:00.000Z');
    expect(describeOccurrence(check.next!)).toBe(
      'Wed 2026-12-09 01:00 to Wed 2026-12-09 04:00 Europe/Berlin (2026-12-09T00:00:00.000Z to 2026-12-09T03:00:00.000Z)',
    );
  });

  it('when the request starts on a day the window does not open (Saturday), then the next window is Monday', () => {
    const check = checkAllowedWindows(
      [BERLIN_NIGHTS],
      at('2026-12-12T00:30:00Z'),
      at('2026-12-12T01:00:00Z'),
    );
    expect(check).toMatchObject({ ok: false, reason: 'starts_outside' });
    if (check.ok) return;
    expect(check.current).toBeUndefined();
    expect(new Date(check.next!.start).toISOString()).toBe('2026-12-14T00:00:00.000Z');
  });

  it('when no window is long enough for the request, then no next window is named', () => {
    const check = checkAllowedWindows(
      [BERLIN_NIGHTS],
      at('2026-12-08T05:00:00Z'),
      at('2026-12-08T09:00:00Z'),
    );
    expect(check).toMatchObject({ ok: false, reason: 'starts_outside' });
    expect(check.ok ? undefined : check.next).toBeUndefined();
  });

  describe('a window crossing midnight (fri 22:00–02:00 UTC)', () => {
    const friday: AllowedWindow[] = [{ days: ['fri'], from: '22:00', to: '02:00', timeZone: 'UTC' }];

    it('when the request is after midnight on Saturday, then the window opened on Friday allows it', () => {
      expect(checkAllowedWindows(friday, at('2026-12-12T00:30:00Z'), at('2026-12-12T01:30:00Z')).ok).toBe(
        true,
      );
    });

    it('when the request spans midnight, then it is allowed', () => {
      expect(checkAllowedWindows(friday, at('2026-12-11T23:00:00Z'), at('2026-12-12T01:00:00Z')).ok).toBe(
        true,
      );
    });

    it('when the request starts before the window on Friday, then it starts outside', () => {
      expect(
        checkAllowedWindows(friday, at('2026-12-11T21:00:00Z'), at('2026-12-11T21:30:00Z')),
      ).toMatchObject({
        ok: false,
        reason: 'starts_outside',
      });
    });

    it('when the request is on Saturday night (a day the window does not open), then it starts outside', () => {
      expect(checkAllowedWindows(friday, at('2026-12-12T22:30:00Z'), at('2026-12-12T23:00:00Z')).ok).toBe(
        false,
      );
    });
  });

  it('when two windows touch at midnight, then a request across both is allowed', () => {
    const windows: AllowedWindow[] = [
      { days: ['mon'], from: '22:00', to: '24:00', timeZone: 'Europe/Berlin' },
      { days: ['tue'], from: '00:00', to: '02:00', timeZone: 'Europe/Berlin' },
    ];
    // Mon 2026-12-07 23:00 to Tue 01:00 Berlin.
    expect(checkAllowedWindows(windows, at('2026-12-07T22:00:00Z'), at('2026-12-08T00:00:00Z')).ok).toBe(
      true,
    );
    const joined = allowedTime(windows, at('2026-12-07T00:00:00Z'), at('2026-12-08T12:00:00Z'));
    expect(joined.map((o) => [new Date(o.start).toISOString(), new Date(o.end).toISOString()])).toEqual([
      ['2026-12-07T21:00:00.000Z', '2026-12-08T01:00:00.000Z'],
    ]);
  });

  describe('daylight saving time (Europe/Berlin, window sun 01:00–04:00)', () => {
    const sunday: AllowedWindow[] = [
      { days: ['sun'], from: '01:00', to: '04:00', timeZone: 'Europe/Berlin' },
    ];

    it('when clocks go forward (2026-03-29), then the window is two hours long', () => {
      const [o] = occurrences(sunday[0]!, at('2026-03-29T00:00:00Z'), at('2026-03-29T06:00:00Z'));
      expect([new Date(o!.start).toISOString(), new Date(o!.end).toISOString()]).toEqual([
        '2026-03-29T00:00:00.000Z',
        '2026-03-29T02:00:00.000Z',
      ]);
    });

    it('when clocks go forward, then a 2.5-hour request ends outside and the next window is the following Sunday', () => {
      const start = at('2026-03-29T00:00:00Z');
      const check = checkAllowedWindows(sunday, start, start + 2.5 * H);
      expect(check).toMatchObject({ ok: false, reason: 'ends_outside' });
      if (check.ok) return;
      // 2026-04-05 01:00 CEST is 2026-04-04 23:00 UTC.
      expect(new Date(check.next!.start).toISOString()).toBe('2026-04-04T23:00:00.000Z');
      expect(describeOccurrence(check.next!)).toContain(
        'Sun 2026-04-05 01:00 to Sun 2026-04-05 04:00 Europe/Berlin',
      );
    });

    it('when clocks go back (2026-10-25), then the window is four hours long and a 3.5-hour request fits', () => {
      const [o] = occurrences(sunday[0]!, at('2026-10-24T22:00:00Z'), at('2026-10-25T06:00:00Z'));
      expect([new Date(o!.start).toISOString(), new Date(o!.end).toISOString()]).toEqual([
        '2026-10-24T23:00:00.000Z',
        '2026-10-25T03:00:00.000Z',
      ]);
      expect(checkAllowedWindows(sunday, o!.start, o!.start + 3.5 * H).ok).toBe(true);
    });
  });

  it('when a window crosses midnight on the night New York skips an hour, then it closes at the local time', () => {
    // Sat 2026-03-07 23:00 EST (04:00 UTC) to Sun 03:00 EDT (07:00 UTC): three hours, not four.
    const w: AllowedWindow = { days: ['sat'], from: '23:00', to: '03:00', timeZone: 'America/New_York' };
    const [o] = occurrences(w, at('2026-03-08T00:00:00Z'), at('2026-03-08T12:00:00Z'));
    expect([new Date(o!.start).toISOString(), new Date(o!.end).toISOString()]).toEqual([
      '2026-03-08T04:00:00.000Z',
      '2026-03-08T07:00:00.000Z',
    ]);
  });
});

describe('isTimeZone', () => {
  it.each([
    ['Europe/Berlin', true],
    ['UTC', true],
    ['America/Argentina/Buenos_Aires', true],
    ['Mars/Olympus_Mons', false],
    ['', false],
  ])('when the zone is %j, then it is %s', (tz, known) => {
    expect(isTimeZone(tz)).toBe(known);
  });
});
