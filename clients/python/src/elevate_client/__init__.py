"""Elevate's Python client: a bot asks for a role, waits until it is granted, uses it, and
gives it back.

    from elevate_client import ElevateClient, elevated

    client = ElevateClient("https://elevate.example.org", token=os.environ["ELEVATE_TOKEN"])
    with elevated(client, role="db-read", duration_seconds=600, justification="nightly export") as grant:
        run_export(grant.environment())
"""

from ._generated import (
    OPERATIONS,
    AwsCredentials,
    BotElevation,
    BotOperations,
    ElevationRequest,
    ElevationStatus,
    EndReason,
    ErrorBody,
    ErrorCode,
    Operation,
)
from .client import FINAL_STATUSES, ElevateClient, __version__
from .elevated import Grant, elevated
from .errors import (
    ElevateApiError,
    ElevateError,
    ElevateUnavailable,
    ElevationDenied,
    ElevationEnded,
    ElevationExpired,
    ElevationFailed,
    ElevationRefused,
    ElevationTimeout,
)

__all__ = [
    "AwsCredentials",
    "BotElevation",
    "BotOperations",
    "ElevateApiError",
    "ElevateClient",
    "ElevateError",
    "ElevateUnavailable",
    "ElevationDenied",
    "ElevationEnded",
    "ElevationExpired",
    "ElevationFailed",
    "ElevationRefused",
    "ElevationRequest",
    "ElevationStatus",
    "ElevationTimeout",
    "EndReason",
    "ErrorBody",
    "ErrorCode",
    "FINAL_STATUSES",
    "Grant",
    "OPERATIONS",
    "Operation",
    "__version__",
    "elevated",
]
