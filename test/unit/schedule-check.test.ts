/**
 * The time checks of a request (`domain/elevations/schedule-check.ts`) and the policy fields they
 * read (`roles[].schedule`, `bots[].allowedWindows`): each refusal is the code and field the API
 * answers with, and its message says what to send instead; a bad policy entry names its field.
 */
import { describe, expect, it } from 'vitest';
import { roleScheduleSchema } from '../../config/schedule-policy.js';
import { allowedWindowsSchema, type AllowedWindows } from '../../config/time-windows.js';
import { checkRequestTime, normalStart } from '../../domain/elevations/schedule-check.js';
import { ApiError } from '../../domain/errors.js';
import { approvalDeadline } from '../../core/rules/scheduled-start.js';

// Monday 2026-12-07 12:00 UTC (13:00 Berlin).
const NOW = new Date('2026-12-07T12:00:00Z');
const role = { id: 'db-migrate' };
const anyTime = { id: 'batch-bot' };
const nights: AllowedWindows = [
  { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '01:00', to: '04:00', timeZone: 'Europe/Berlin' },
];
const nightBot = { id: 'batch-bot', allowedWindows: nights };

/** The ApiError `fn` throws (fails the test when it throws none). */
function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('checkRequestTime', () => {
  it('when no startsAt is sent and the bot has no windows, then the request starts now', () => {
    expect(checkRequestTime(anyTime, role, { durationSeconds: 600 }, NOW)).toBeUndefined();
  });

  it('when startsAt is written with an offset, then it is returned as the same instant in UTC', () => {
    expect(
      checkRequestTime(anyTime, role, { durationSeconds: 600, startsAt: '2026-12-08T01:00:00+01:00' }, NOW),
    ).toBe('2026-12-08T00:00:00.000Z');
  });

  it('when startsAt is within the clock tolerance in the past, then it is accepted', () => {
    const startsAt = new Date(NOW.getTime() - 30_000).toISOString();
    expect(checkRequestTime(anyTime, role, { durationSeconds: 60, startsAt }, NOW)).toBe(startsAt);
  });

  it('when startsAt is more than a minute in the past, then it is start_out_of_range naming startsAt', () => {
    const err = refusal(() =>
      checkRequestTime(anyTime, role, { durationSeconds: 60, startsAt: '2026-12-07T11:55:00Z' }, NOW),
    );
    expect(err).toMatchObject({ code: 'start_out_of_range', field: 'startsAt' });
    expect(err.message).toContain('300 s in the past');
  });

  it('when startsAt is further ahead than the default lead of 7 days, then the message names the latest start', () => {
    const err = refusal(() =>
      checkRequestTime(anyTime, role, { durationSeconds: 60, startsAt: '2026-12-15T12:00:00Z' }, NOW),
    );
    expect(err).toMatchObject({ code: 'start_out_of_range', field: 'startsAt' });
    expect(err.message).toContain('latest 2026-12-14T12:00:00.000Z');
  });

  it('when the role has maxLeadSeconds 0, then any future start is refused as not schedulable', () => {
    const err = refusal(() =>
      checkRequestTime(
        anyTime,
        { ...role, schedule: { maxLeadSeconds: 0 } },
        { durationSeconds: 60, startsAt: '2026-12-07T12:00:10Z' },
        NOW,
      ),
    );
    expect(err).toMatchObject({ code: 'start_out_of_range', field: 'startsAt' });
    expect(err.message).toContain('cannot be scheduled');
  });

  it('when a night bot asks now (13:00 Berlin), then it is outside_allowed_window naming startsAt and Tuesday 01:00', () => {
    const err = refusal(() => checkRequestTime(nightBot, role, { durationSeconds: 3600 }, NOW));
    expect(err).toMatchObject({ code: 'outside_allowed_window', field: 'startsAt' });
    expect(err.message).toContain('mon,tue,wed,thu,fri 01:00-04:00 Europe/Berlin');
    expect(err.message).toContain('Tue 2026-12-08 01:00 to Tue 2026-12-08 04:00 Europe/Berlin');
  });

  it('when a night bot schedules inside its window, then it is accepted', () => {
    const startsAt = '2026-12-08T00:30:00.000Z'; // 01:30 Berlin
    expect(checkRequestTime(nightBot, role, { durationSeconds: 3600, startsAt }, NOW)).toBe(startsAt);
  });

  it('when a scheduled window runs past 04:00 Berlin, then it is refused naming durationSeconds', () => {
    const err = refusal(() =>
      checkRequestTime(nightBot, role, { durationSeconds: 7200, startsAt: '2026-12-08T01:30:00Z' }, NOW),
    );
    expect(err).toMatchObject({ code: 'outside_allowed_window', field: 'durationSeconds' });
    expect(err.message).toContain('runs past the end of the allowed window');
  });

  it('when no window is long enough for the duration, then the message says so', () => {
    const err = refusal(() => checkRequestTime(nightBot, role, { durationSeconds: 4 * 3600 }, NOW));
    expect(err.message).toContain('no allowed window is long enough for 14400 s');
  });
});

describe('normalStart and approvalDeadline', () => {
  it('when startsAt is absent, then it stays absent', () => {
    expect(normalStart(undefined)).toBeUndefined();
  });

  it('when the start comes before the approval window would close, then approval closes at the start', () => {
    const input = { requestedAt: NOW.toISOString(), startsAt: '2026-12-07T12:05:00.000Z' };
    expect(new Date(approvalDeadline(input, NOW.getTime(), 900)).toISOString()).toBe(
      '2026-12-07T12:05:00.000Z',
    );
  });

  it('when the start is after the approval window, then the usual window applies', () => {
    const input = { requestedAt: NOW.toISOString(), startsAt: '2026-12-08T00:00:00.000Z' };
    expect(new Date(approvalDeadline(input, NOW.getTime(), 900)).toISOString()).toBe(
      '2026-12-07T12:15:00.000Z',
    );
  });
});

describe('policy fields', () => {
  const pathsOf = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) =>
    (r.error?.issues ?? []).map((i) => i.path.join('.'));

  it.each([
    ['an unknown time zone', [{ ...nights[0]!, timeZone: 'Mars/Olympus_Mons' }], '0.timeZone'],
    ['an unknown day', [{ ...nights[0]!, days: ['monday'] }], '0.days.0'],
    ['a day twice', [{ ...nights[0]!, days: ['mon', 'mon'] }], '0.days'],
    ['from equal to to', [{ ...nights[0]!, from: '02:00', to: '02:00' }], '0.to'],
    ['a time of 25:00', [{ ...nights[0]!, from: '25:00' }], '0.from'],
    ['an empty list', [], ''],
  ])('when allowedWindows has %s, then the issue names the field', (_l, windows, path) => {
    const parsed = allowedWindowsSchema.safeParse(windows);
    expect(parsed.success).toBe(false);
    expect(pathsOf(parsed)).toContain(path);
  });

  it('when a window runs to 24:00 or crosses midnight, then it is accepted', () => {
    const parsed = allowedWindowsSchema.safeParse([
      { days: ['sat'], from: '22:00', to: '06:00', timeZone: 'UTC' },
      { days: ['sun'], from: '00:00', to: '24:00', timeZone: 'UTC' },
    ]);
    expect(parsed.success).toBe(true);
  });

  it.each([
    [-1, false],
    [0, true],
    [2_592_000, true],
    [2_592_001, false],
    [1.5, false],
  ])('when schedule.maxLeadSeconds is %s, then it is accepted: %s', (maxLeadSeconds, ok) => {
    expect(roleScheduleSchema.safeParse({ maxLeadSeconds }).success).toBe(ok);
  });
});
