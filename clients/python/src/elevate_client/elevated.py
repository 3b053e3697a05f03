"""``elevated()``: request → wait until active → use → give back, as one ``with`` block."""

import logging
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Dict, Iterator, Optional

from ._generated import AwsCredentials, BotElevation
from .client import ElevateClient
from .errors import ElevateApiError, ElevateError

_log = logging.getLogger("elevate_client")


@dataclass(frozen=True)
class Grant:
    """What an active elevation gives: the elevation, and the AWS credentials when its role is
    in credentials mode (``None`` otherwise)."""

    elevation: BotElevation
    credentials: Optional[AwsCredentials]

    @property
    def id(self) -> str:
        return self.elevation["id"]

    def environment(self) -> Dict[str, str]:
        """Environment variables for a child process: ``ELEVATE_ELEVATION_ID``, and the standard
        ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN`` when there are
        credentials."""
        env = {"ELEVATE_ELEVATION_ID": self.id}
        if self.credentials is not None:
            env["AWS_ACCESS_KEY_ID"] = self.credentials["accessKeyId"]
            env["AWS_SECRET_ACCESS_KEY"] = self.credentials["secretAccessKey"]
            env["AWS_SESSION_TOKEN"] = self.credentials["sessionToken"]
        return env


@contextmanager
def elevated(
    client: ElevateClient,
    *,
    role: Optional[str] = None,
    bundle: Optional[str] = None,
    duration_seconds: int,
    justification: str,
    ticket: Optional[str] = None,
    request_id: Optional[str] = None,
    timeout: float = 600.0,
    on_progress: Optional[Callable[[BotElevation], None]] = None,
    reason: str = "done",
) -> Iterator[Grant]:
    """Request ``role`` (or ``bundle``, a bundle of roles of the policy), wait until it is active (at most ``timeout`` seconds), take its AWS
    credentials if the role is in credentials mode, and yield a :class:`Grant`. On leaving the
    block, however it is left (an exception, a timeout while waiting, Ctrl-C), the elevation is
    given back, or withdrawn if it was never granted.

    Raises what :meth:`ElevateClient.request` and :meth:`ElevateClient.wait` raise.
    """
    elevation = client.request(role, duration_seconds, justification, ticket, request_id, bundle=bundle)
    try:
        elevation = client.wait(elevation["id"], "active", timeout, on_progress)
        yield Grant(elevation, _credentials_of(client, elevation["id"]))
    except BaseException:
        # The error that got us here matters more than one from giving back.
        try:
            _give_back(client, elevation["id"], reason)
        except ElevateError as e:
            _log.error("could not give elevation %s back: %s", elevation["id"], e)
        raise
    _give_back(client, elevation["id"], reason)


def _credentials_of(client: ElevateClient, elevation_id: str) -> Optional[AwsCredentials]:
    try:
        return client.take_credentials(elevation_id)
    except ElevateApiError as e:
        if e.code == "not_credentials_mode":
            return None
        raise


def _give_back(client: ElevateClient, elevation_id: str, reason: str) -> None:
    try:
        client.give_back(elevation_id, reason)
    except ElevateApiError as e:
        # Denied, expired or failed meanwhile: nothing is held, nothing to give back.
        if e.code != "already_ended":
            raise
