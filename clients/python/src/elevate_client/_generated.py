"""Types and operations of Elevate's bot API, generated from the OpenAPI document the server
builds.

Do not edit: run `npm run clients:generate` (scripts/clients/python-emitter.ts);
test/unit/clients-in-sync.test.ts fails when this file and the document differ.
"""

from typing import Any, Dict, List, Literal, NamedTuple, Optional, Tuple, TypedDict, Union, cast
from urllib.parse import quote

__all__ = [
    "Actor",
    "AwsCredentials",
    "ElevationStatus",
    "BotElevationApprovalAuto",
    "BotElevationApprovalApproversGroupsItem",
    "BotElevationApprovalApproversEscalationGroupsItem",
    "BotElevationApprovalApproversEscalation",
    "BotElevationApprovalApprovers",
    "BotElevationApprovalsItemIdentity",
    "BotElevationApprovalsItem",
    "EndReason",
    "BotElevationRiskReasonsItem",
    "BotElevationRisk",
    "BotElevationPendingExtensionGroupsItem",
    "BotElevationPendingExtensionApprovalsItemIdentity",
    "BotElevationPendingExtensionApprovalsItem",
    "BotElevationPendingExtension",
    "BotElevationBundleGrantsItem",
    "BotElevationBundle",
    "BotElevation",
    "ElevationRequest",
    "ErrorCode",
    "ErrorBodyError",
    "ErrorBody",
    "ExtendRequest",
    "RevokeRequest",
    "ELEVATION_STATUS_VALUES",
    "END_REASON_VALUES",
    "ERROR_CODE_VALUES",
    "Operation",
    "OPERATIONS",
    "BotOperations",
]


class Actor(TypedDict):
    """Who did something."""

    kind: Literal["bot", "human", "admin", "system", "anonymous"]
    #: The bot or admin id, a person’s e-mail address, `elevate` for the system, `unknown` for
    #: anonymous callers.
    id: str


class AwsCredentials(TypedDict):
    """Secret: keep them out of logs; they are handed out once."""

    accessKeyId: str
    secretAccessKey: str
    sessionToken: str
    #: When AWS stops accepting them.
    expiration: str
    #: The `RoleSessionName`; CloudTrail shows it at the end of the assumed-role ARN.
    sessionName: str


ElevationStatus = Literal[
    "pending_approval",
    "approved",
    "active",
    "revoking",
    "revoked",
    "denied",
    "expired",
    "failed",
]
"""`pending_approval`, `approved`, `active` and `revoking` are in progress; `revoked`,
`denied`, `expired` and `failed` are final.
"""


class BotElevationApprovalAuto(TypedDict):
    mode: Literal["auto"]


class BotElevationApprovalApproversGroupsItem(TypedDict):
    name: str
    quorum: int
    #: Approvals that count towards this group so far.
    approved: int


class BotElevationApprovalApproversEscalationGroupsItem(TypedDict):
    name: str
    quorum: int
    #: Approvals that count towards this group so far.
    approved: int


class _BotElevationApprovalApproversEscalationRequired(TypedDict):
    #: When the escalation groups join if the quorum is not met by then.
    dueAt: str
    groups: List[BotElevationApprovalApproversEscalationGroupsItem]


class BotElevationApprovalApproversEscalation(
    _BotElevationApprovalApproversEscalationRequired, total=False
):
    """Present when the role escalates (`approval.escalation` in the policy): its groups may
    approve only from `escalatedAt` on; the request is then approved when either the
    role’s groups or the escalation groups meet their quorums.
    """

    #: When they joined (absent until then).
    escalatedAt: str


class _BotElevationApprovalApproversRequired(TypedDict):
    mode: Literal["approvers"]
    #: Approvals needed in all: the sum of the groups’ quorums.
    quorum: int
    #: End of the approval window; then the request ends `expired`.
    deadline: str
    #: One entry per approver group.
    groups: List[BotElevationApprovalApproversGroupsItem]


class BotElevationApprovalApprovers(_BotElevationApprovalApproversRequired, total=False):
    #: Present when the role escalates (`approval.escalation` in the policy): its groups may
    #: approve only from `escalatedAt` on; the request is then approved when either the role’s
    #: groups or the escalation groups meet their quorums.
    escalation: BotElevationApprovalApproversEscalation


class _BotElevationApprovalsItemIdentityRequired(TypedDict):
    entries: List[str]


class BotElevationApprovalsItemIdentity(
    _BotElevationApprovalsItemIdentityRequired, total=False
):
    """Who the approver is beyond the address: the directory entries (DNs) that made them an
    approver and their `issuer`/`subject` at the identity provider. Each person counts
    once. Absent in approvals recorded before it was.
    """

    issuer: str
    subject: str


class _BotElevationApprovalsItemRequired(TypedDict):
    #: E-mail address, lower case.
    approver: str
    #: When the workflow accepted the approval.
    at: str
    #: The approver groups the person was found in when they approved.
    groups: List[str]


class BotElevationApprovalsItem(_BotElevationApprovalsItemRequired, total=False):
    #: How the approver proved who they are: the MFA login’s `issuer`, `subject`, `email`,
    #: `amr`, `acr`, `authTime`, `mfaMethod`, `idTokenHash`, and `slackUserId` when the approval
    #: started in Slack.
    evidence: Dict[str, Any]
    #: Who the approver is beyond the address: the directory entries (DNs) that made them an
    #: approver and their `issuer`/`subject` at the identity provider. Each person counts once.
    #: Absent in approvals recorded before it was.
    identity: BotElevationApprovalsItemIdentity


EndReason = Literal[
    "expired",
    "given_back",
    "admin_revoked",
    "withdrawn",
    "denied",
    "approval_timeout",
    "grant_failed",
    "request_unverified",
    "orphaned",
]
"""Why an elevation ended, or is ending."""


class BotElevationRiskReasonsItem(TypedDict):
    code: Literal[
        "new_network",
        "new_user_agent",
        "new_workload",
        "unusual_hour",
        "new_role",
        "long_duration",
        "rate_spike",
        "refusal_burst",
        "sibling_locked_down",
        "approval_chain_changed",
        "production_environment",
        "role_sensitivity",
        "no_baseline",
    ]
    points: float
    text: str


class BotElevationRisk(TypedDict):
    """The inline risk score (0–100), its level, the reasons in plain words (highest points
    first), whether the bot’s baseline counted, and the route the score chose (`auto`,
    `approvers`, `escalated`, `denied`). Absent until the worker has scored the request
    (read it again, or wait) and for elevations requested before scoring existed.
    """

    score: float
    level: Literal["low", "medium", "high", "critical"]
    reasons: List[BotElevationRiskReasonsItem]
    baselined: bool
    route: Literal["auto", "approvers", "escalated", "denied"]
    routeReason: str


class BotElevationPendingExtensionGroupsItem(TypedDict):
    name: str
    quorum: int
    #: Approvals that count towards this group so far.
    approved: int


class _BotElevationPendingExtensionApprovalsItemIdentityRequired(TypedDict):
    entries: List[str]


class BotElevationPendingExtensionApprovalsItemIdentity(
    _BotElevationPendingExtensionApprovalsItemIdentityRequired, total=False
):
    """Who the approver is beyond the address: the directory entries (DNs) that made them an
    approver and their `issuer`/`subject` at the identity provider. Each person counts
    once. Absent in approvals recorded before it was.
    """

    issuer: str
    subject: str


class _BotElevationPendingExtensionApprovalsItemRequired(TypedDict):
    #: E-mail address, lower case.
    approver: str
    #: When the workflow accepted the approval.
    at: str
    #: The approver groups the person was found in when they approved.
    groups: List[str]


class BotElevationPendingExtensionApprovalsItem(
    _BotElevationPendingExtensionApprovalsItemRequired, total=False
):
    #: How the approver proved who they are: the MFA login’s `issuer`, `subject`, `email`,
    #: `amr`, `acr`, `authTime`, `mfaMethod`, `idTokenHash`, and `slackUserId` when the approval
    #: started in Slack.
    evidence: Dict[str, Any]
    #: Who the approver is beyond the address: the directory entries (DNs) that made them an
    #: approver and their `issuer`/`subject` at the identity provider. Each person counts once.
    #: Absent in approvals recorded before it was.
    identity: BotElevationPendingExtensionApprovalsItemIdentity


class _BotElevationPendingExtensionRequired(TypedDict):
    #: Which extension of this elevation this is (counting every one asked for); an approval
    #: names it, so it never counts for another.
    number: int
    #: Seconds it would add to the window.
    durationSeconds: int
    requestedBy: Actor
    #: When the workflow took the request for it.
    requestedAt: str
    #: When it closes unless approved or denied first: the role’s approval window, and at the
    #: latest the current `expiresAt`.
    deadline: str
    #: Approvals needed in all.
    quorum: int
    #: One entry per approver group.
    groups: List[BotElevationPendingExtensionGroupsItem]
    #: The extension’s own approvals so far (approving the request does not count).
    approvals: List[BotElevationPendingExtensionApprovalsItem]


class BotElevationPendingExtension(_BotElevationPendingExtensionRequired, total=False):
    """An extension waiting for approvers (the role’s `extend.approval: same-as-request`):
    the window moves only once they approve. Absent otherwise.
    """

    #: As sent, if sent.
    justification: str


class _BotElevationBundleGrantsItemRequired(TypedDict):
    #: One role of the bundle.
    roleId: str
    #: Where the role is granted.
    targetType: Literal["ldap", "postgres", "aws-iam"]
    #: `pending` (not tried yet), `granting`, `granted` (read back), `failed` (its grant failed:
    #: the others were revoked), `revoked` (read back gone).
    status: Literal["pending", "granting", "granted", "failed", "revoked"]


class BotElevationBundleGrantsItem(_BotElevationBundleGrantsItemRequired, total=False):
    #: When this role’s grant was read back.
    grantedAt: str
    #: When this role’s revocation was read back.
    revokedAt: str


class BotElevationBundle(TypedDict):
    """A bundle’s elevation (`bundle` in the request): each role’s grant, in the order they
    are granted. All are granted or none: if one fails, those granted are revoked and the
    elevation ends `failed`; they are revoked together at the end.
    """

    #: The bundle (also `roleId`).
    id: str
    grants: List[BotElevationBundleGrantsItem]


class _BotElevationRequired(TypedDict):
    #: An elevation id: `el_` and 24 lowercase hex digits.
    id: str
    #: The Temporal workflow id, `elevation-<id>`.
    workflowId: str
    status: ElevationStatus
    #: The bot that asked.
    botId: str
    #: The role.
    roleId: str
    #: The bot’s owner (e-mail) at request time.
    owner: str
    #: The role’s environment.
    environment: str
    #: The window, as requested.
    durationSeconds: int
    #: As requested (trimmed).
    justification: str
    #: When the API accepted the request.
    requestedAt: str
    approval: Union[BotElevationApprovalAuto, BotElevationApprovalApprovers]
    #: Accepted approvals, in order.
    approvals: List[BotElevationApprovalsItem]
    #: Failed revocation rounds so far (0 unless the target resisted).
    revokeAttempts: int


class BotElevation(_BotElevationRequired, total=False):
    """One elevation, as the bot that asked for it sees it (no `lastError`)."""

    #: As requested, if sent.
    ticket: str
    #: As requested, if sent.
    requestId: str
    #: Scheduled elevations only: when the grant is made, as requested (UTC). Until then
    #: `status` is `approved` (or `pending_approval`) and `grantedAt` is absent.
    startsAt: str
    #: When the grant was confirmed by reading the target back.
    grantedAt: str
    #: `grantedAt` + `durationSeconds` (+ `extendedSeconds` once extended): the window starts at
    #: the grant.
    expiresAt: str
    #: When the elevation reached its final status.
    endedAt: str
    endReason: EndReason
    #: The inline risk score (0–100), its level, the reasons in plain words (highest points
    #: first), whether the bot’s baseline counted, and the route the score chose (`auto`,
    #: `approvers`, `escalated`, `denied`). Absent until the worker has scored the request (read
    #: it again, or wait) and for elevations requested before scoring existed.
    risk: BotElevationRisk
    #: How many times the window was extended (`POST …/extend`); absent until the first
    #: extension.
    extensions: int
    #: Seconds the extensions added to the window, in all: the elevation lasts `durationSeconds`
    #: + `extendedSeconds` from `grantedAt`. Absent until the first extension.
    extendedSeconds: int
    #: An extension waiting for approvers (the role’s `extend.approval: same-as-request`): the
    #: window moves only once they approve. Absent otherwise.
    pendingExtension: BotElevationPendingExtension
    #: A bundle’s elevation (`bundle` in the request): each role’s grant, in the order they are
    #: granted. All are granted or none: if one fails, those granted are revoked and the
    #: elevation ends `failed`; they are revoked together at the end.
    bundle: BotElevationBundle


class _ElevationRequestRequired(TypedDict):
    #: The window, from the grant. At most the role’s `maxDurationSeconds` (else 422).
    durationSeconds: int
    #: Why the bot needs the role. Trimmed, then checked against `pattern`: no control
    #: characters (newline and tab included), no bidirectional, zero-width or other formatting
    #: characters, no line or paragraph separators, and at least one visible character.
    justification: str


class ElevationRequest(_ElevationRequestRequired, total=False):
    """A bot’s request for one role (or a bundle of roles), for a while, with a reason.
    Unknown fields are refused.
    """

    #: A role id from the policy: 1-63 of `a-z 0-9 -`, starting and ending with a letter or
    #: digit. Exactly one of `role` and `bundle` (else 400 `invalid_request`, `field: role` when
    #: neither, `field: bundle` when both).
    role: str
    #: A bundle id from the policy’s `bundles`, instead of `role`: its roles are approved once
    #: (by the bundle’s `approval`, or the strictest of its roles’), granted in order, all or
    #: nothing (if one grant fails, those already granted are revoked and the elevation ends
    #: `failed`), and revoked together. The bot must be allowed each role (else 403
    #: `role_not_allowed`, `field: bundle`); an unknown bundle is 422 `unknown_role` (`field:
    #: bundle`). `durationSeconds` is capped by the smallest `maxDurationSeconds` of its roles.
    #: A bundle cannot be scheduled (`startsAt`), used on the emergency path (`breakGlass`) or
    #: extended (403 `extension_not_allowed`, `field: bundle`). The elevation’s `roleId` is the
    #: bundle’s id, and `bundle.grants` lists where each role stands.
    bundle: str
    #: A change or incident ticket. Trimmed, then checked against `pattern`: no control
    #: characters (newline and tab included), no bidirectional, zero-width or other formatting
    #: characters, no line or paragraph separators, and at least one visible character. Required
    #: by roles with `requireTicket`, whose pattern it must match as a whole (else 400
    #: `invalid_request`, `field: ticket`).
    ticket: str
    #: Idempotency key: the same bot sending the same `requestId` again gets the same elevation
    #: (`idempotent-replayed: true`).
    requestId: str
    #: Schedule the elevation: the grant is made at this instant (RFC 3339 with `Z` or an
    #: offset) and held for `durationSeconds`. At most the role’s `schedule.maxLeadSeconds`
    #: ahead (default 7 days) and at most 60 s in the past (else 422 `start_out_of_range`).
    #: Approval must come before the start: the approval window closes at `startsAt` at the
    #: latest. Until the start the elevation is `approved` with `startsAt` and no `grantedAt`;
    #: giving it back before then ends it `revoked` (`withdrawn`) with nothing granted. Left
    #: out: granted as soon as approved.
    startsAt: str
    #: Use the role’s emergency path (`breakGlass` in the policy): granted at once without
    #: approval, announced to the security channel, the owner and the reviewers, and reviewed
    #: afterwards with MFA. Only for bots the role’s `breakGlass.bots` lists (else 403
    #: `break_glass_not_allowed`, `field: breakGlass`), for at most its `breakGlass.maxSeconds`
    #: (else 422 `duration_too_long`), and never with `startsAt` (400, `field: startsAt`).
    breakGlass: bool


ErrorCode = Literal[
    "invalid_request",
    "invalid_json",
    "invalid_body",
    "unsupported_media_type",
    "payload_too_large",
    "unauthenticated",
    "forbidden",
    "bot_disabled",
    "bot_locked",
    "attestation_overdue",
    "role_suspended",
    "unknown_role",
    "role_not_allowed",
    "break_glass_not_allowed",
    "duration_too_long",
    "start_out_of_range",
    "outside_allowed_window",
    "not_found",
    "method_not_allowed",
    "idempotency_conflict",
    "already_ended",
    "not_pending",
    "already_approved",
    "approval_window_closed",
    "approval_refused",
    "approval_not_needed",
    "insufficient_user_authentication",
    "identity_mismatch",
    "approval_link_invalid",
    "not_active",
    "not_credentials_mode",
    "credentials_gone",
    "extension_not_allowed",
    "extension_too_long",
    "too_many_extensions",
    "extension_in_progress",
    "extension_not_pending",
    "too_many_requests",
    "service_unavailable",
    "internal",
]
"""What went wrong, for programs; the HTTP status follows from it."""


class _ErrorBodyErrorRequired(TypedDict):
    code: ErrorCode
    #: What went wrong, for people.
    message: str


class ErrorBodyError(_ErrorBodyErrorRequired, total=False):
    #: The field, query parameter or header at fault, when one is.
    field: str


class ErrorBody(TypedDict):
    """One shape for every error of the API."""

    error: ErrorBodyError


class ExtendRequest(TypedDict):
    """Seconds to add to an active elevation’s window, and why. Unknown fields are refused."""

    #: Seconds added to the current `expiresAt`. The elevation’s whole lifetime
    #: (`durationSeconds` + `extendedSeconds` + this) must stay within the role’s
    #: `extend.maxTotalSeconds` (else 422 `extension_too_long`, whose message says how many
    #: seconds are left).
    durationSeconds: int
    #: Why the elevation needs longer: recorded in `elevation.extended` and posted in the
    #: approval message’s Slack thread. Trimmed, with no control or invisible formatting
    #: characters.
    justification: str


class RevokeRequest(TypedDict, total=False):
    """Optional. Unknown fields are refused."""

    #: Why, recorded in the audit trail. Trimmed, then checked against `pattern`: no control
    #: characters (newline and tab included), no bidirectional, zero-width or other formatting
    #: characters, no line or paragraph separators, and at least one visible character.
    reason: str


ELEVATION_STATUS_VALUES: Tuple[ElevationStatus, ...] = (
    "pending_approval",
    "approved",
    "active",
    "revoking",
    "revoked",
    "denied",
    "expired",
    "failed",
)


END_REASON_VALUES: Tuple[EndReason, ...] = (
    "expired",
    "given_back",
    "admin_revoked",
    "withdrawn",
    "denied",
    "approval_timeout",
    "grant_failed",
    "request_unverified",
    "orphaned",
)


ERROR_CODE_VALUES: Tuple[ErrorCode, ...] = (
    "invalid_request",
    "invalid_json",
    "invalid_body",
    "unsupported_media_type",
    "payload_too_large",
    "unauthenticated",
    "forbidden",
    "bot_disabled",
    "bot_locked",
    "attestation_overdue",
    "role_suspended",
    "unknown_role",
    "role_not_allowed",
    "break_glass_not_allowed",
    "duration_too_long",
    "start_out_of_range",
    "outside_allowed_window",
    "not_found",
    "method_not_allowed",
    "idempotency_conflict",
    "already_ended",
    "not_pending",
    "already_approved",
    "approval_window_closed",
    "approval_refused",
    "approval_not_needed",
    "insufficient_user_authentication",
    "identity_mismatch",
    "approval_link_invalid",
    "not_active",
    "not_credentials_mode",
    "credentials_gone",
    "extension_not_allowed",
    "extension_too_long",
    "too_many_extensions",
    "extension_in_progress",
    "extension_not_pending",
    "too_many_requests",
    "service_unavailable",
    "internal",
)


class Operation(NamedTuple):
    """One operation of the bot API: method, path template, the statuses that mean success."""

    method: str
    path: str
    success: Tuple[int, ...]


OPERATIONS: Dict[str, Operation] = {
    "requestElevation": Operation("POST", "/v1/elevations", (202,)),
    "getElevation": Operation("GET", "/v1/elevations/{id}", (200,)),
    "revokeElevation": Operation("POST", "/v1/elevations/{id}/revoke", (200, 202)),
    "extendElevation": Operation("POST", "/v1/elevations/{id}/extend", (200, 202)),
    "takeElevationCredentials": Operation("POST", "/v1/elevations/{id}/credentials", (200,)),
}
"""The bot API's operations, by `operationId`."""


class BotOperations:
    """The bot API's operations, one typed method each. A subclass implements ``_send``: it
    sends ``json`` and the ``params`` that are not ``None``, and returns the JSON answer."""

    def _send(
        self,
        operation: Operation,
        path: str,
        *,
        json: Any = None,
        params: Optional[Dict[str, Any]] = None,
        **options: Any,
    ) -> Any:
        raise NotImplementedError

    def request_elevation(
        self,
        body: ElevationRequest,
        **options: Any,
    ) -> BotElevation:
        """Request an elevation"""
        answer = self._send(
            OPERATIONS["requestElevation"],
            "/v1/elevations",
            json=body,
            **options,
        )
        return cast(BotElevation, answer)

    def get_elevation(
        self,
        id: str,
        *,
        wait_seconds: Optional[int] = None,
        until: Optional[str] = None,
        **options: Any,
    ) -> BotElevation:
        """Read one of the bot’s elevations, or long-poll it"""
        answer = self._send(
            OPERATIONS["getElevation"],
            f"/v1/elevations/{quote(str(id), safe='')}",
            params={"waitSeconds": wait_seconds, "until": until},
            **options,
        )
        return cast(BotElevation, answer)

    def revoke_elevation(
        self,
        id: str,
        body: Optional[RevokeRequest] = None,
        **options: Any,
    ) -> BotElevation:
        """Give an elevation back early, or withdraw a pending request"""
        answer = self._send(
            OPERATIONS["revokeElevation"],
            f"/v1/elevations/{quote(str(id), safe='')}/revoke",
            json=body,
            **options,
        )
        return cast(BotElevation, answer)

    def extend_elevation(
        self,
        id: str,
        body: ExtendRequest,
        **options: Any,
    ) -> BotElevation:
        """Extend an active elevation"""
        answer = self._send(
            OPERATIONS["extendElevation"],
            f"/v1/elevations/{quote(str(id), safe='')}/extend",
            json=body,
            **options,
        )
        return cast(BotElevation, answer)

    def take_elevation_credentials(
        self,
        id: str,
        **options: Any,
    ) -> AwsCredentials:
        """Take the AWS credentials of an active elevation, once"""
        answer = self._send(
            OPERATIONS["takeElevationCredentials"],
            f"/v1/elevations/{quote(str(id), safe='')}/credentials",
            **options,
        )
        return cast(AwsCredentials, answer)
