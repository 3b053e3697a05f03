"""Every way a call to Elevate can fail, as its own exception type.

``ElevateApiError`` is an error answer of the API (``{"error": {"code", "message", "field"}}``);
``ElevationRefused`` is the one a request gets when Elevate refuses to start it. The others say
how an elevation ended without becoming what the caller waited for.
"""

from typing import Optional

from ._generated import BotElevation


class ElevateError(Exception):
    """Base class of this package's errors."""


class ElevateApiError(ElevateError):
    """The API answered with an error: ``status`` (HTTP), ``code``, ``message`` and, when one
    field of the request is at fault, ``field``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: Optional[str] = None,
        retry_after: Optional[float] = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}" + (f" (field: {field})" if field else ""))
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        #: Seconds the server asked to wait before trying again (``Retry-After``), if it did.
        self.retry_after = retry_after


class ElevateUnavailable(ElevateError):
    """Elevate could not be reached, or kept answering 503, through every retry."""


class ElevationRefused(ElevateApiError):
    """Elevate refused to start the elevation: an unknown role (``field == "role"``), a role the
    bot may not request, a duration too long, a locked or disabled bot, a quota reached. Nothing
    was started."""


class ElevationEnded(ElevateError):
    """The elevation ended before it reached the status waited for; ``elevation`` is how it
    ended. Raised as itself when it was revoked (withdrawn, or revoked by an admin)."""

    def __init__(self, elevation: BotElevation, message: Optional[str] = None) -> None:
        reason = elevation.get("endReason")
        super().__init__(
            message
            or f"elevation {elevation['id']} ended {elevation['status']}"
            + (f" ({reason})" if reason else "")
        )
        self.elevation = elevation


class ElevationDenied(ElevationEnded):
    """An approver, or the risk score, denied the request."""


class ElevationExpired(ElevationEnded):
    """Nobody decided within the approval window."""


class ElevationFailed(ElevationEnded):
    """The role could not be granted in its target."""


class ElevationTimeout(ElevateError):
    """The elevation did not reach the status waited for in time; ``elevation`` is how it was
    last seen. It is still open: give it back (or withdraw it) if it is no longer wanted."""

    def __init__(self, elevation: BotElevation, waited_seconds: float) -> None:
        super().__init__(
            f"elevation {elevation['id']} is still {elevation['status']} after {waited_seconds:g} s"
        )
        self.elevation = elevation
