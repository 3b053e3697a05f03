/**
 * `GET /healthz`: 200 only when every part Elevate needs answers, each within a deadline.
 */

/** A named check; resolves when healthy, rejects (with a safe message) when not. */
export type HealthCheck = () => Promise<void>;

export interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, { ok: boolean; error?: string; ms: number }>;
}

export async function runHealthChecks(
  checks: Record<string, HealthCheck>,
  timeoutMs = 2000,
): Promise<HealthReport> {
  const entries: [string, HealthReport['checks'][string]][] = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, HealthReport['checks'][string]]> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return [name, { ok: true, ms: Math.round(performance.now() - started) }];
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        return [name, { ok: false, error, ms: Math.round(performance.now() - started) }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const report = Object.fromEntries(entries);
  return { status: entries.every(([, r]) => r.ok) ? 'ok' : 'unavailable', checks: report };
}

/**
 * `runHealthChecks` for an unauthenticated probe: one round of checks at a time, its result
 * reused for `cacheMs` after it ends. A flood of `/healthz` calls then costs at most one round
 * (a call to Temporal, the store, LDAP...) per period, however many callers wait on it.
 */
export function cachedHealthChecks(
  checks: Record<string, HealthCheck>,
  cacheMs: number,
  timeoutMs?: number,
): () => Promise<HealthReport> {
  let last: { report: HealthReport; at: number } | undefined;
  let running: Promise<HealthReport> | undefined;
  return () => {
    if (last && performance.now() - last.at < cacheMs) return Promise.resolve(last.report);
    running ??= runHealthChecks(checks, timeoutMs).then((report) => {
      last = { report, at: performance.now() };
      running = undefined;
      return report;
    });
    return running;
  };
}
