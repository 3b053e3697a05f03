/**
 * Test only: skews this process's wall clock by ELEVATE_TEST_CLOCK_OFFSET_MS, as a host whose
 * NTP is off would be, without root or libfaketime. Loaded before the program with
 * `node --import <this file>` (elevate-processes.ts does it when the variable is set), which
 * Node also applies to the process's worker threads (Temporal's workflow thread among them):
 * `Date.now()`, `new Date()` and `performance.timeOrigin` move by the offset;
 * `performance.now()` and timers, which measure intervals, do not (nor do they on a skewed
 * host). Temporal's workflow sandbox has its own `Date` (the server's time of each workflow
 * task), so workflow code is not skewed, as it is not on a real host either. Plain JavaScript:
 * it is loaded before (and without) the TypeScript loader.
 */
const raw = process.env.ELEVATE_TEST_CLOCK_OFFSET_MS;
const offset = raw === undefined || raw === '' ? 0 : Number(raw);
if (!Number.isFinite(offset))
  throw new Error('ELEVATE_TEST_CLOCK_OFFSET_MS: must be a number of milliseconds');

if (offset !== 0) {
  const RealDate = Date;
  const realNow = RealDate.now.bind(RealDate);
  const skewedNow = () => realNow() + offset;

  // A subclass keeps `instanceof Date`, Date.parse/UTC and the prototype; only "now" moves.
  class SkewedDate extends RealDate {
    /** @param {[] | [string | number | Date]} args */
    constructor(...args) {
      if (args.length === 0) super(skewedNow());
      else super(...args);
    }
    static now() {
      return skewedNow();
    }
  }
  // Called without `new`, Date() returns the current time as a string.
  globalThis.Date = new Proxy(SkewedDate, { apply: () => new RealDate(skewedNow()).toString() });

  const timeOrigin = performance.timeOrigin + offset;
  Object.defineProperty(performance, 'timeOrigin', { get: () => timeOrigin, configurable: true });
}
