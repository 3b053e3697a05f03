"""The client against a running Elevate (see conftest.py)."""

import uuid

import pytest

from elevate_client import (
    BotElevation,
    ElevateClient,
    ElevationRefused,
    ElevationTimeout,
    elevated,
)

from conftest import Live


def test_when_a_bot_requests_waits_and_gives_back_then_the_elevation_ends_given_back(
    client: ElevateClient, live: Live
) -> None:
    requested = client.request(live.role, 60, "python client round trip", ticket="PY-1")
    assert requested["status"] in ("approved", "active")
    assert requested["roleId"] == live.role
    assert requested["ticket"] == "PY-1"

    seen = []
    active = client.wait(requested["id"], until="active", timeout=60, on_progress=seen.append)
    assert active["status"] == "active"
    assert "grantedAt" in active and "expiresAt" in active
    assert seen and seen[-1]["status"] == "active"

    given = client.give_back(requested["id"], reason="round trip done")
    assert given["status"] in ("revoking", "revoked")
    revoked = client.wait(requested["id"], until="revoked", timeout=60)
    assert revoked["status"] == "revoked"
    assert revoked["endReason"] == "given_back"
    assert client.get(requested["id"])["status"] == "revoked"


def test_when_the_role_does_not_exist_then_the_request_is_refused_naming_role(
    client: ElevateClient,
) -> None:
    with pytest.raises(ElevationRefused) as refused:
        client.request("no-such-role-here", 60, "python client unknown role")
    assert refused.value.status == 422
    assert refused.value.code == "unknown_role"
    assert refused.value.field == "role"
    assert "no-such-role-here" in refused.value.message


def test_when_the_same_request_id_is_sent_twice_then_it_is_one_elevation(
    client: ElevateClient, live: Live
) -> None:
    request_id = f"py-test-{uuid.uuid4().hex}"
    first = client.request(live.role, 60, "python client replay", request_id=request_id)
    second = client.request(live.role, 60, "python client replay", request_id=request_id)
    assert second["id"] == first["id"]
    assert second["requestId"] == request_id
    client.give_back(first["id"])
    assert client.wait(first["id"], until="revoked", timeout=60)["endReason"] == "given_back"


def test_when_the_block_raises_then_elevated_gives_the_elevation_back(
    client: ElevateClient, live: Live
) -> None:
    held: list = []
    with pytest.raises(RuntimeError, match="the job broke"):
        with elevated(
            client, role=live.role, duration_seconds=60, justification="python client elevated()"
        ) as grant:
            held.append(grant.elevation)
            assert grant.elevation["status"] == "active"
            assert grant.credentials is None  # an LDAP role: nothing to hand over
            assert grant.environment() == {"ELEVATE_ELEVATION_ID": grant.id}
            raise RuntimeError("the job broke")
    assert len(held) == 1
    ended = client.wait(held[0]["id"], until="revoked", timeout=60)
    assert ended["endReason"] == "given_back"


def test_when_the_block_ends_then_elevated_gives_the_elevation_back(
    client: ElevateClient, live: Live
) -> None:
    with elevated(
        client, role=live.role, duration_seconds=60, justification="python client elevated() ok"
    ) as grant:
        elevation_id = grant.id
        assert client.get(elevation_id)["status"] == "active"
    assert client.wait(elevation_id, until="revoked", timeout=60)["endReason"] == "given_back"


def test_when_approval_does_not_come_in_time_then_wait_times_out_and_the_request_can_be_withdrawn(
    client: ElevateClient, live: Live
) -> None:
    pending = client.request(live.approval_role, 60, "python client needs approval")
    assert pending["status"] == "pending_approval"
    with pytest.raises(ElevationTimeout) as timed_out:
        client.wait(pending["id"], until="active", timeout=1)
    last: BotElevation = timed_out.value.elevation
    assert last["status"] == "pending_approval"

    withdrawn = client.give_back(pending["id"], reason="no longer needed")
    assert withdrawn["status"] == "revoked"
    assert withdrawn["endReason"] == "withdrawn"


def test_when_the_bot_authenticates_with_a_workload_token_then_the_cycle_works_the_same(
    live: Live,
) -> None:
    calls = []

    def token() -> str:
        calls.append(1)
        return live.workload_token

    with ElevateClient(live.url, token_provider=token) as client:
        with elevated(
            client, role=live.role, duration_seconds=60, justification="python client workload"
        ) as grant:
            assert grant.elevation["botId"] == "py-bot"
            elevation_id = grant.id
        ended = client.wait(elevation_id, until="revoked", timeout=60)
    assert ended["endReason"] == "given_back"
    # Asked for before each call: a long wait never sends a stale token.
    assert len(calls) >= 4
