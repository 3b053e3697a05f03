/**
 * `/admin/audit/verify`: the confirmation (walking the chain reads every event) and the result.
 */
import type { VerifyResult } from '../../../core/model/audit-record.js';
import { renderDocument } from '../../html-document.js';
import { CsrfField, ErrorAlert, KeyValues, Layout, type PageUser } from './layout.js';

/** `/admin/audit/verify`: the confirmation (walking the chain reads every event). */
export function verifyConfirmPage(args: { user: PageUser; error?: string }): string {
  return renderDocument(
    <Layout title="Verify the audit chain" user={args.user}>
      <h1>Verify the audit chain</h1>
      <p>
        Walks every audit event in chain order and checks each hash, the links between them, the store's head
        record and the signed checkpoints. On a large trail this takes a while. The run and its result are
        recorded.
      </p>
      <ErrorAlert error={args.error} />
      <form method="post" action="/admin/audit/verify">
        <CsrfField csrf={args.user.csrf} />
        <p>
          <label>
            Anchor from an earlier run (optional, <code>position:hash</code>)
            <br />
            <input type="text" name="anchor" size={80} maxlength={100} />
          </label>
        </p>
        <p>
          <button type="submit">Verify now</button>
        </p>
      </form>
    </Layout>,
  );
}

/**
 * The result of a verification. "Intact" only when signed checkpoints vouch for the chain:
 * without them a clean walk shows the chain is self-consistent, which anyone who can write the
 * database can make it after rewriting it, so the page says "not anchored" instead.
 */
export function verifyResultPage(args: { user: PageUser; result: VerifyResult }): string {
  const r = args.result;
  const broken = r.firstBroken;
  const anchoring = r.anchoring;
  const anchored = anchoring?.status === 'anchored';
  const status = !r.ok ? (
    <span class="bad">broken</span>
  ) : anchored ? (
    <span class="ok">intact</span>
  ) : (
    <span class="bad">not anchored</span>
  );
  const checkpoints = anchoring?.through ? (
    <>
      {`${anchoring.checkpoints} valid, the newest at position ${anchoring.through.position} (${anchoring.through.at}, key `}
      <code>{anchoring.through.kid}</code>
      {`); ${anchoring.unanchored} event(s) after it`}
    </>
  ) : anchoring?.reason === 'no_key' ? (
    <span class="bad">
      none checked: no checkpoint key is configured (ELEVATE_AUDIT_CHECKPOINT_KEY), so anyone who can write
      the database could have rewritten the chain undetected
    </span>
  ) : (
    <span class="bad">none written yet: nothing vouches for the chain against a database writer</span>
  );
  return renderDocument(
    <Layout title="Audit chain verified" user={args.user}>
      <h1>Audit chain: {status}</h1>
      <KeyValues
        rows={[
          [
            'Result',
            r.ok ? (
              anchored ? (
                <span class="ok">every event checks out, up to a signed checkpoint</span>
              ) : (
                <span class="bad">every event checks out, but no signed checkpoint vouches for them</span>
              )
            ) : (
              <span class="bad">does not check out</span>
            ),
          ],
          ['Signed checkpoints', checkpoints],
          ['Events checked', String(r.checked)],
          [
            'Head (record it elsewhere as an anchor)',
            r.head ? <code>{`${r.head.position}:${r.head.hash}`}</code> : '—',
          ],
          broken && ['First broken position', String(broken.position)],
          broken && ['Why', <code>{broken.reason}</code>],
          broken && ['Event', broken.eventId ?? '—'],
          broken && [
            'Elevation',
            broken.elevationId ? (
              <a href={`/admin/elevations/${broken.elevationId}`}>{broken.elevationId}</a>
            ) : (
              '—'
            ),
          ],
        ]}
      />
      <p>
        <a href="/admin/audit/verify">Verify again</a>
      </p>
    </Layout>,
  );
}
