/**
 * Periodic owner attestation, as two workflows:
 *
 * - `attestationSweepWorkflow`, started once a day by the Schedule `elevate-attestation`, runs
 *   one activity that starts an attestation for each bot that is due (ids per bot and day, so a
 *   re-run starts nothing twice).
 * - `attestationWorkflow`, one per bot and period: records `attestation.requested`, asks the
 *   owner, and waits for their answer — an Update signed by the API after the owner's MFA login,
 *   checked by its validator exactly as approvals are — until the deadline. An answer stores the
 *   roles trimmed (requests for them are refused) and lifts a suspension; no answer by the
 *   deadline suspends the bot.
 */
import { allHandlersFinished, condition, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import {
  ATTESTATION_REFUSAL_TYPE,
  type AttestationAnswer,
  type AttestationInput,
  type AttestationRefusalCode,
  type AttestationView,
  type SignedAttestation,
} from '../core/model/attestation.js';
import { splitAttestedRoles } from '../core/rules/attestation.js';
import { sameApprover } from '../core/rules/approval-eligibility.js';
import { verifyAttestation, type AttestationClaims } from '../core/rules/signed-attestation.js';
import { attestUpdate, attestationStatusQuery } from './attestation-definitions.js';
import { answerRefuser, signedAnswers, type AnswerRefuser } from './signed-answers.js';

/** Recording and telling: retried until they succeed (the state change must not be lost). */
const { openAttestation, askOwner, confirmAttestation, expireAttestation } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** The daily start: a few tries; tomorrow's run picks up what today's missed. */
const { startDueAttestations } = proxyActivities<Activities>({
  startToCloseTimeout: '10m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 3 },
});

/** One daily run: start the attestations that are due. */
export async function attestationSweepWorkflow(): Promise<{ started: string[]; due: number }> {
  return startDueAttestations();
}

/** Refuse an answer: the caller (the API) gets the code, and nothing enters history. */
const refuse: AnswerRefuser<AttestationRefusalCode> = answerRefuser(ATTESTATION_REFUSAL_TYPE);

/** One attestation of one bot: ask its owner, wait for the signed answer until the deadline. */
export async function attestationWorkflow(input: AttestationInput): Promise<AttestationView> {
  const view: AttestationView = { ...input, status: 'pending' };
  let answer: (AttestationAnswer & { trimmed: string[] }) | undefined;
  let applied = false;

  const answers = signedAnswers<SignedAttestation, AttestationClaims>({
    verify: (arg, keys, used) =>
      verifyAttestation(arg, { keys, attestationId: input.attestationId, now: Date.now(), used }),
    refuse,
    opening: 'the attestation is still opening; try again in a moment',
    warning: 'Refused an attestation answer whose signature does not hold',
    fields: { attestationId: input.attestationId },
  });

  setHandler(attestationStatusQuery, () => view);
  setHandler(
    attestUpdate,
    async (arg) => {
      // The validator accepted this very token: read it again without the clock-bound checks.
      const claims = answers.accepted(arg.token);
      const split = splitAttestedRoles(input.roles, claims.input.kept);
      if ('problem' in split) return refuse('unknown_role', split.problem);
      answer = { ...claims.input, kept: split.kept, trimmed: split.trimmed };
      view.status = 'confirmed';
      view.answer = {
        owner: claims.input.owner,
        kept: split.kept,
        trimmed: split.trimmed,
        at: new Date(claims.iat).toISOString(),
      };
      // Answered once the trimmed roles are in force.
      await condition(() => applied);
      return view;
    },
    {
      validator: (arg: SignedAttestation) => {
        const claims = answers.verified(arg);
        if (view.status !== 'pending' || answer !== undefined) {
          refuse('not_pending', `attestation ${input.attestationId} was already answered`);
        }
        if (Date.now() >= Date.parse(input.deadline)) {
          refuse(
            'not_pending',
            `the deadline of attestation ${input.attestationId} (${input.deadline}) has passed`,
          );
        }
        if (!sameApprover(claims.input.owner, input.owner)) {
          refuse('not_owner', `only the owner of bot ${input.botId} may attest its roles`);
        }
        const split = splitAttestedRoles(input.roles, claims.input.kept);
        if ('problem' in split) refuse('unknown_role', split.problem);
      },
    },
  );

  await answers.loadTrust();
  await openAttestation(input);
  await askOwner({
    attestationId: input.attestationId,
    botId: input.botId,
    owner: input.owner,
    roles: input.roles,
    trimmed: input.trimmed,
    deadline: input.deadline,
    reviewUrl: input.reviewUrl,
  });
  const answered = await condition(
    () => answer !== undefined,
    Math.max(0, Date.parse(input.deadline) - Date.now()),
  );
  if (answered && answer) {
    await confirmAttestation(input, answer);
    applied = true;
  } else {
    view.status = 'expired';
    await expireAttestation(input);
  }
  await condition(allHandlersFinished);
  return view;
}
