/** What the console's pages share in reading a request: the pager's query and a form's reason. */
import type { Request } from 'express';
import { consoleReasonFormSchema } from './console-schemas.js';

/** The request's query string without `notice` (kept by the pager). */
export function pagerQuery(req: Request): URLSearchParams {
  const params = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
  params.delete('notice');
  for (const [k, v] of [...params]) if (v === '') params.delete(k);
  return params;
}

/** The posted form's `reason`, or why it cannot be taken (shown with the form again). */
export function formReason(req: Request): { reason: string } | { problem: string } {
  const raw = (req.body as Record<string, unknown>).reason;
  const parsed = consoleReasonFormSchema.shape.reason.safeParse(typeof raw === 'string' ? raw : '');
  return parsed.success
    ? { reason: parsed.data }
    : { problem: parsed.error.issues[0]?.message ?? 'Give a reason.' };
}
