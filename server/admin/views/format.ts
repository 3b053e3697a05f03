/**
 * How the pages write times and durations. Plain text: the components that show it escape it.
 */

/** An ISO instant as `YYYY-MM-DD HH:MM:SS UTC` (or `—`); text that is not an instant, as it is. */
export function when(iso: string | undefined | null): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** Seconds as `1 h 5 min`, `45 s`. */
export function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.round(seconds % 60);
  return [h ? `${h} h` : '', m ? `${m} min` : '', s || (!h && !m) ? `${s} s` : ''].filter(Boolean).join(' ');
}

/** Milliseconds as `850 ms`, `2.3 s`, `4 min`. */
export function millis(ms: number | undefined): string {
  if (ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return duration(Math.round(ms / 1000));
}
