"""``ElevateClient``: the bot API's calls (the generated ``BotOperations``) over ``httpx``, with
retries, typed errors and a long-poll wait."""

import time
import uuid
from typing import Any, Callable, Dict, Iterable, Mapping, Optional, Union, cast

import httpx

from ._generated import (
    ELEVATION_STATUS_VALUES,
    AwsCredentials,
    BotElevation,
    BotOperations,
    ElevationRequest,
    Operation,
    RevokeRequest,
)
from .errors import (
    ElevateApiError,
    ElevationDenied,
    ElevationEnded,
    ElevationExpired,
    ElevationFailed,
    ElevationRefused,
    ElevationTimeout,
    ElevateUnavailable,
)

__version__ = "0.1.0"

#: Statuses an elevation never leaves.
FINAL_STATUSES = frozenset({"revoked", "denied", "expired", "failed"})

#: The longest long-poll asked of the server (it allows 60 s); proxies tend to cut idle
#: connections at a minute.
LONG_POLL_SECONDS = 30

_ENDED: Mapping[str, type] = {
    "denied": ElevationDenied,
    "expired": ElevationExpired,
    "failed": ElevationFailed,
}


class ElevateClient(BotOperations):
    """A bot's connection to Elevate.

    The generated methods (``request_elevation``, ``get_elevation``, ``revoke_elevation``,
    ``take_elevation_credentials``) are the API's operations one to one; ``request``, ``wait``,
    ``give_back`` and ``take_credentials`` are the same with defaults a bot wants.

    Authenticate with a bot API key (``token="elv_bot_…"``) or with a function that returns a
    bearer credential each time one is needed (``token_provider``): a workload identity token
    that must be fetched fresh, for instance.

    Calls that failed on the way (connection refused, a timeout, 503) are retried ``retries``
    times with exponential backoff from ``backoff`` seconds. A request is retried with the same
    ``requestId``, so a retry never starts a second elevation.
    """

    def __init__(
        self,
        base_url: str,
        token: Optional[str] = None,
        *,
        token_provider: Optional[Callable[[], str]] = None,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 0.5,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        if (token is None) == (token_provider is None):
            raise ValueError("pass either token or token_provider")
        self._token: Callable[[], str] = token_provider or (lambda: cast(str, token))
        self._retries = retries
        self._backoff = backoff
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            timeout=timeout,
            headers={"user-agent": f"elevate-client-python/{__version__}"},
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "ElevateClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        role: Optional[str],
        duration_seconds: int,
        justification: str,
        ticket: Optional[str] = None,
        request_id: Optional[str] = None,
        starts_at: Optional[str] = None,
        *,
        bundle: Optional[str] = None,
    ) -> BotElevation:
        """Ask for ``role`` (or, with ``role=None``, the policy's ``bundle`` of roles: approved
        once, granted all or none, given back together) for ``duration_seconds`` (from
        ``starts_at``, an RFC 3339 instant, for a scheduled elevation; else from the grant).
        Answers before the grant: ``approved`` or ``pending_approval``; :meth:`wait` for
        ``active``.

        Raises :class:`ValueError` unless exactly one of ``role`` and ``bundle`` is given, and
        :class:`ElevationRefused` when Elevate will not start it (``field`` names what is wrong:
        ``role``, ``bundle``, ``durationSeconds``, ``ticket``…).
        """
        if (role is None) == (bundle is None):
            raise ValueError("give exactly one of role and bundle")
        body: ElevationRequest = {
            "durationSeconds": duration_seconds,
            "justification": justification,
            # Without one, a retry after a lost answer would start a second elevation.
            "requestId": request_id or f"py-{uuid.uuid4().hex}",
        }
        if role is not None:
            body["role"] = role
        if bundle is not None:
            body["bundle"] = bundle
        if ticket is not None:
            body["ticket"] = ticket
        if starts_at is not None:
            body["startsAt"] = starts_at
        return self.request_elevation(body, refused=True)

    def get(self, elevation_id: str) -> BotElevation:
        """The elevation as it is now."""
        return self.get_elevation(elevation_id)

    def wait(
        self,
        elevation_id: str,
        until: Union[str, Iterable[str]] = "active",
        timeout: float = 600.0,
        on_progress: Optional[Callable[[BotElevation], None]] = None,
    ) -> BotElevation:
        """Long-poll until the elevation's status is one of ``until``, and return it.

        ``on_progress`` is called with every answer (at least every 30 s while waiting).
        Raises :class:`ElevationDenied`, :class:`ElevationExpired`, :class:`ElevationFailed`,
        or :class:`ElevationEnded` (revoked) when it ends otherwise, and
        :class:`ElevationTimeout` after ``timeout`` seconds.
        """
        wanted = (until,) if isinstance(until, str) else tuple(until)
        unknown = [s for s in wanted if s not in ELEVATION_STATUS_VALUES]
        if not wanted or unknown:
            raise ValueError(f"until must name statuses among {', '.join(ELEVATION_STATUS_VALUES)}")
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            wait_seconds = max(0, min(LONG_POLL_SECONDS, int(remaining)))
            view = self.get_elevation(
                elevation_id,
                wait_seconds=wait_seconds,
                until=",".join(wanted),
                timeout=self._timeout + wait_seconds,
            )
            if on_progress is not None:
                on_progress(view)
            status = view["status"]
            if status in wanted:
                return view
            if status in FINAL_STATUSES:
                raise _ENDED.get(status, ElevationEnded)(view)
            if time.monotonic() >= deadline:
                raise ElevationTimeout(view, timeout)

    def give_back(self, elevation_id: str, reason: Optional[str] = None) -> BotElevation:
        """Give the elevation back (``revoking``, then ``revoked``), or withdraw it while it
        waits for approval (``revoked`` at once). Giving back twice is harmless."""
        body: Optional[RevokeRequest] = {"reason": reason} if reason is not None else None
        return self.revoke_elevation(elevation_id, body)

    def take_credentials(self, elevation_id: str) -> AwsCredentials:
        """The AWS credentials of an active elevation of a role in credentials mode. Handed out
        once: a second call is ``ElevateApiError`` 410 ``credentials_gone``; a role that grants
        in its target instead is 409 ``not_credentials_mode``."""
        # Only a call that never reached the server is retried: the first answer that arrives
        # is the only one with the credentials.
        return self.take_elevation_credentials(elevation_id, retry_sent=False)

    def _send(
        self,
        operation: Operation,
        path: str,
        *,
        json: Any = None,
        params: Optional[Dict[str, Any]] = None,
        timeout: Optional[float] = None,
        refused: bool = False,
        retry_sent: bool = True,
        **options: Any,
    ) -> Any:
        """One call, retried as the class says. ``refused``: a 4xx answer is
        :class:`ElevationRefused`; ``retry_sent``: a call that may have reached the server is
        retried too (not for one that hands out something once)."""
        if options:
            raise TypeError(f"unexpected options: {', '.join(options)}")
        method = operation.method
        query = {k: v for k, v in (params or {}).items() if v is not None}
        attempt = 0
        while True:
            delay = self._backoff * (2**attempt)
            try:
                response = self._http.request(
                    method,
                    path,
                    json=json,
                    params=query,
                    headers={"authorization": f"Bearer {self._token()}"},
                    timeout=timeout if timeout is not None else self._timeout,
                )
            except httpx.TransportError as e:
                unsent = isinstance(
                    e, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
                )
                if attempt >= self._retries or not (unsent or retry_sent):
                    raise ElevateUnavailable(f"{method} {path}: {e!r}") from e
            else:
                if response.status_code in operation.success:
                    return response.json()
                error = _api_error(response, refused)
                if response.status_code != 503:
                    raise error
                if attempt >= self._retries:
                    raise ElevateUnavailable(str(error)) from error
                delay = max(delay, error.retry_after or 0)
            time.sleep(min(delay, 30.0))
            attempt += 1


def _api_error(response: httpx.Response, refused: bool) -> ElevateApiError:
    try:
        detail = response.json()["error"]
        code, message, field = str(detail["code"]), str(detail["message"]), detail.get("field")
    except (ValueError, KeyError, TypeError):
        # Not Elevate's answer (a proxy's error page, say).
        code, message, field = "http_error", response.text[:200], None
    retry_after = response.headers.get("retry-after")
    kind = ElevationRefused if refused and 400 <= response.status_code < 500 else ElevateApiError
    return kind(
        response.status_code,
        code,
        message,
        field if isinstance(field, str) else None,
        float(retry_after) if retry_after and retry_after.isdigit() else None,
    )
