/**
 * One delivery of one audit event to the webhook: the event as a CloudEvent (CloudEvents 1.0,
 * structured JSON), signed the Standard Webhooks way (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature: v1,<base64 HMAC-SHA256>`), with the newest signed checkpoint of the
 * chain in the `elevate-audit-checkpoint` header; and what the receiver's answer means.
 * The order, the retries and the cursor are the audit forwarder's (`activities/audit-forwarding.ts`).
 */
import { createHmac } from 'node:crypto';
import { checkpointHeader, type SignedCheckpoint } from '../../core/crypto/audit-checkpoints.js';
import { eventRecord } from '../../core/crypto/hash-chain.js';
import type { AuditEvent } from '../../core/model/audit-record.js';

/** `content-type` of every delivery: a structured-mode CloudEvent in JSON. */
export const CLOUDEVENTS_CONTENT_TYPE = 'application/cloudevents+json; charset=utf-8';
/** Prefix of every CloudEvents `type`: `org.elevate.grant.confirmed` for a `grant.confirmed` event. */
export const CLOUDEVENT_TYPE_PREFIX = 'org.elevate.';
/** Header carrying the newest signed checkpoint (base64url of its JSON). */
export const CHECKPOINT_HEADER = 'elevate-audit-checkpoint';
/** Prefix of a Standard Webhooks secret: the rest is the key, in base64. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';

/** Longest piece of a receiver's answer kept for the log. */
const SNIPPET_BYTES = 512;

/**
 * An audit event as a structured-mode CloudEvent. `data` is the stored event with its chain
 * fields, so a receiver can check the hash chain itself.
 */
export interface CloudEvent {
  specversion: '1.0';
  /** The audit event's id: unique and the same on every delivery attempt. */
  id: string;
  source: string;
  /** `org.elevate.<event type>`, e.g. `org.elevate.grant.confirmed`. */
  type: string;
  /** When it happened (RFC 3339). */
  time: string;
  /** The elevation id; absent for events that name none (refused logins, drift...). */
  subject?: string;
  datacontenttype: 'application/json';
  /**
   * CloudEvents sequence extension: the chain position, zero-padded to 16 digits so that
   * comparing the strings orders events as the chain does.
   */
  sequence: string;
  /** The chain position (1, 2, 3... across the whole audit trail). */
  elevateposition: number;
  /** The event's number within its elevation (1, 2, 3...). */
  elevatesequence: number;
  /** CloudEvents partitioning extension: the elevation id, the unit of ordering. */
  partitionkey?: string;
  data: AuditEvent;
}

/** Builds the CloudEvent for one stored audit event. */
export function toCloudEvent(event: AuditEvent, source: string): CloudEvent {
  return {
    specversion: '1.0',
    id: event.id,
    source,
    type: `${CLOUDEVENT_TYPE_PREFIX}${event.type}`,
    time: event.at,
    ...(event.elevationId !== null ? { subject: event.elevationId } : {}),
    datacontenttype: 'application/json',
    sequence: String(event.position).padStart(16, '0'),
    elevateposition: event.position,
    elevatesequence: event.seq,
    ...(event.elevationId !== null ? { partitionkey: event.elevationId } : {}),
    data: eventRecord(event),
  };
}

/**
 * The HMAC key of a secret: the bytes after `whsec_` (base64) for a Standard Webhooks
 * secret, otherwise the secret's UTF-8 bytes.
 */
export function webhookSigningKey(secret: string): Buffer {
  return secret.startsWith(WEBHOOK_SECRET_PREFIX)
    ? Buffer.from(secret.slice(WEBHOOK_SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');
}

/**
 * The `webhook-signature` header: one `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`
 * per secret, separated by spaces (several only while a secret is being rotated).
 */
export function signWebhook(secrets: readonly string[], id: string, timestamp: number, body: string): string {
  return secrets
    .map(
      (secret) =>
        `v1,${createHmac('sha256', webhookSigningKey(secret)).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64')}`,
    )
    .join(' ');
}

/**
 * How long a `Retry-After` header asks to wait, in ms: delta-seconds or an HTTP date.
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Where and how events are delivered: the webhook settings of the worker. */
export interface WebhookEndpoint {
  url: string;
  /** Signing secrets (at least one); each adds a signature to every delivery. */
  secrets: readonly string[];
  /** CloudEvents `source`. */
  source: string;
  /** How long one request may take before it counts as failed. */
  timeoutMs: number;
}

/** What one request came to. */
export type DeliveryAttempt =
  | { kind: 'delivered'; status: number }
  /**
   * Worth trying again: a network error, no answer in time, `408`, `429` or `5xx`. `everyLane`
   * when the cause is the receiver or the way to it, not this event (a `429`, or nothing
   * reached the receiver): then every elevation waits.
   */
  | { kind: 'retry'; reason: string; status?: number; retryAfterMs?: number; everyLane: boolean }
  /** Refused for good: a `3xx`, or a `4xx` other than `408` and `429`. */
  | { kind: 'rejected'; status: number; reason: string }
  /** `signal` was aborted before an answer came. */
  | { kind: 'aborted' };

/** POSTs one event and says what the answer means. Never throws. */
export async function deliverEvent(
  endpoint: WebhookEndpoint,
  event: AuditEvent,
  checkpoint: SignedCheckpoint | undefined,
  signal: AbortSignal,
): Promise<DeliveryAttempt> {
  const body = JSON.stringify(toCloudEvent(event, endpoint.source));
  const timestamp = Math.floor(Date.now() / 1000);
  const timeout = AbortSignal.timeout(endpoint.timeoutMs);
  let response: Response;
  try {
    response = await fetch(endpoint.url, {
      method: 'POST',
      headers: {
        'content-type': CLOUDEVENTS_CONTENT_TYPE,
        'user-agent': 'Elevate-Webhook/1',
        'webhook-id': event.id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signWebhook(endpoint.secrets, event.id, timestamp, body),
        ...(checkpoint ? { [CHECKPOINT_HEADER]: checkpointHeader(checkpoint) } : {}),
      },
      body,
      // A redirected POST would be re-sent as a GET, or to a place nobody configured.
      redirect: 'manual',
      signal: AbortSignal.any([timeout, signal]),
    });
  } catch (err) {
    if (signal.aborted) return { kind: 'aborted' };
    if (timeout.aborted)
      return { kind: 'retry', reason: `no answer within ${endpoint.timeoutMs} ms`, everyLane: false };
    // Nothing reached the receiver (refused, unreachable, TLS): true of every lane alike.
    return { kind: 'retry', reason: networkReason(err), everyLane: true };
  }
  const status = response.status;
  const snippet = await readSnippet(response);
  const reason = `HTTP ${status}${snippet ? `: ${snippet}` : ''}`;
  if (status >= 200 && status < 300) return { kind: 'delivered', status };
  if (status === 408 || status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    return {
      kind: 'retry',
      reason,
      status,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      // A rate limit is about the sender, not the event: every lane waits.
      everyLane: status === 429,
    };
  }
  return { kind: 'rejected', status, reason };
}

/** The URL without user name, password or query (which may carry a token), for logs. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}

/** The start of a response body, for the log; the rest is discarded. */
async function readSnippet(response: Response): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < SNIPPET_BYTES) {
      const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
      if (done || !value) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } catch {
    // The status is what counts; a body cut short changes nothing.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).toString('utf8').slice(0, SNIPPET_BYTES).replace(/\s+/g, ' ').trim();
}

/** Why a request reached no receiver: the system error code when there is one. */
function networkReason(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
