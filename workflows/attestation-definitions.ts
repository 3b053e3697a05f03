/**
 * The names the attestation workflow and its callers (the API's attestation pages) agree on:
 * the owner's answer as an Update, and the status Query. Pure, like `definitions.ts`.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { AttestationView, SignedAttestation } from '../core/model/attestation.js';

/**
 * The owner's answer, signed by the API after their MFA login. Refused synchronously (never
 * enters history) when its signature does not hold, the attestation is no longer open, the
 * person is not the owner, or it names a role it did not ask about.
 */
export const attestUpdate = defineUpdate<AttestationView, [SignedAttestation]>('attest');
/** Where the attestation stands: what the review page shows. */
export const attestationStatusQuery = defineQuery<AttestationView>('attestationStatus');
