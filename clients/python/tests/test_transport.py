"""The client's own behaviour on the wire (retries, errors, credentials), against an
in-memory transport that answers like Elevate: no server needed."""

import json
from typing import Callable, Dict, List

import httpx
import pytest

from elevate_client import (
    OPERATIONS,
    ElevateApiError,
    ElevateClient,
    ElevateUnavailable,
    ElevationDenied,
    ElevationRefused,
    elevated,
)

ID = "el_3cf50827c4ec1f7c2a71324e"


def view(status: str, **extra: object) -> Dict[str, object]:
    return {
        "id": ID,
        "workflowId": f"elevation-{ID}",
        "status": status,
        "botId": "py-bot",
        "roleId": "aws-deploy",
        "owner": "owner@example.org",
        "environment": "test",
        "durationSeconds": 60,
        "justification": "test",
        "requestedAt": "2026-12-07T08:00:00.000Z",
        "approval": {"mode": "auto"},
        "approvals": [],
        "revokeAttempts": 0,
        **extra,
    }


def error(status: int, code: str, message: str, field: str = "") -> httpx.Response:
    body: Dict[str, object] = {"code": code, "message": message}
    if field:
        body["field"] = field
    return httpx.Response(status, json={"error": body})


def client_on(handler: Callable[[httpx.Request], httpx.Response], **kw: object) -> ElevateClient:
    options: Dict[str, object] = {"token": "elv_bot_test", "backoff": 0.0, **kw}
    return ElevateClient("http://elevate.test", transport=httpx.MockTransport(handler), **options)  # type: ignore[arg-type]


def test_when_elevate_answers_503_then_the_request_is_retried_with_the_same_request_id() -> None:
    bodies: List[Dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) < 3:
            return error(503, "service_unavailable", "try again")
        return httpx.Response(202, json=view("approved"))

    assert client_on(handler).request("aws-deploy", 60, "retry")["status"] == "approved"
    assert len(bodies) == 3
    request_ids = {b["requestId"] for b in bodies}
    assert len(request_ids) == 1 and str(next(iter(request_ids))).startswith("py-")


def test_when_the_connection_fails_then_the_call_is_retried_and_then_reported() -> None:
    calls: List[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ElevateUnavailable):
        client_on(handler, retries=2).get(ID)
    assert len(calls) == 3


def test_when_credentials_were_sent_for_and_the_answer_was_lost_then_the_call_is_not_repeated() -> None:
    calls: List[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        raise httpx.ReadTimeout("lost", request=request)

    with pytest.raises(ElevateUnavailable):
        client_on(handler).take_credentials(ID)
    assert len(calls) == 1


def test_when_a_token_provider_is_given_then_each_call_carries_a_fresh_token() -> None:
    tokens = iter(["t1", "t2"])
    seen: List[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json=view("active"))

    client = ElevateClient(
        "http://elevate.test",
        token_provider=lambda: next(tokens),
        transport=httpx.MockTransport(handler),
    )
    client.get(ID)
    client.get(ID)
    assert seen == ["Bearer t1", "Bearer t2"]


def test_when_an_error_answers_then_its_status_code_field_and_message_are_on_the_exception() -> None:
    client = client_on(lambda r: error(403, "role_not_allowed", "may not", field="role"))
    with pytest.raises(ElevationRefused) as refused:
        client.request("aws-deploy", 60, "x")
    assert (refused.value.status, refused.value.code, refused.value.field) == (403, "role_not_allowed", "role")
    # The same answer to another call is an API error, not a refused request.
    with pytest.raises(ElevateApiError) as other:
        client.get(ID)
    assert not isinstance(other.value, ElevationRefused)


def test_when_the_elevation_is_denied_while_waiting_then_wait_raises_denied() -> None:
    client = client_on(lambda r: httpx.Response(200, json=view("denied", endReason="denied")))
    with pytest.raises(ElevationDenied) as denied:
        client.wait(ID, until="active", timeout=5)
    assert denied.value.elevation["status"] == "denied"


def test_when_the_role_is_in_credentials_mode_then_elevated_hands_them_over_and_gives_back() -> None:
    calls: List[str] = []
    credentials = {
        "accessKeyId": "ASIAEXAMPLE",
        "secretAccessKey": "secret",
        "sessionToken": "session",
        "expiration": "2026-12-07T09:00:00.000Z",
        "sessionName": f"elevate-{ID}",
    }

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.url.path == "/v1/elevations":
            return httpx.Response(202, json=view("approved"))
        if request.url.path.endswith("/credentials"):
            return httpx.Response(200, json=credentials)
        if request.url.path.endswith("/revoke"):
            return httpx.Response(202, json=view("revoking", endReason="given_back"))
        return httpx.Response(200, json=view("active"))

    with pytest.raises(KeyError):
        with elevated(
            client_on(handler), role="aws-deploy", duration_seconds=60, justification="deploy"
        ) as grant:
            assert grant.environment() == {
                "ELEVATE_ELEVATION_ID": ID,
                "AWS_ACCESS_KEY_ID": "ASIAEXAMPLE",
                "AWS_SECRET_ACCESS_KEY": "secret",
                "AWS_SESSION_TOKEN": "session",
            }
            raise KeyError("boom")
    assert calls == [
        "POST /v1/elevations",
        f"GET /v1/elevations/{ID}",
        f"POST /v1/elevations/{ID}/credentials",
        f"POST /v1/elevations/{ID}/revoke",
    ]


def test_when_waiting_times_out_then_elevated_withdraws_the_request() -> None:
    calls: List[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(f"{request.method} {request.url.path}")
        if request.url.path.endswith("/revoke"):
            return httpx.Response(200, json=view("revoked", endReason="withdrawn"))
        return httpx.Response(202 if request.method == "POST" else 200, json=view("pending_approval"))

    with pytest.raises(Exception, match="still pending_approval"):
        with elevated(
            client_on(handler), role="aws-deploy", duration_seconds=60, justification="x", timeout=0
        ):
            pytest.fail("the block ran without a grant")
    assert calls[-1] == f"POST /v1/elevations/{ID}/revoke"


def test_when_a_bundle_is_asked_for_then_the_body_names_it_and_not_a_role() -> None:
    bodies: List[Dict[str, object]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/elevations":
            bodies.append(json.loads(request.content))
            return httpx.Response(202, json=view("approved", roleId="deploy-bundle"))
        if request.url.path.endswith("/credentials"):
            return error(409, "not_credentials_mode", "not a credentials role")
        if request.url.path.endswith("/revoke"):
            return httpx.Response(202, json=view("revoking", endReason="given_back"))
        return httpx.Response(200, json=view("active", roleId="deploy-bundle"))

    with elevated(
        client_on(handler), bundle="deploy-bundle", duration_seconds=60, justification="deploy"
    ) as grant:
        assert grant.id == ID
    assert len(bodies) == 1
    assert bodies[0]["bundle"] == "deploy-bundle"
    assert "role" not in bodies[0]


def test_when_both_or_neither_of_role_and_bundle_are_given_then_nothing_is_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        pytest.fail(f"sent {request.method} {request.url.path}")

    client = client_on(handler)
    with pytest.raises(ValueError, match="exactly one of role and bundle"):
        client.request("a-role", 60, "x", bundle="b")
    with pytest.raises(ValueError, match="exactly one of role and bundle"):
        client.request(None, 60, "x")


def test_when_a_generated_operation_is_called_then_it_sends_its_method_path_and_query() -> None:
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=view("active"))

    with client_on(handler) as client:
        answer = client.get_elevation("el_a/b", wait_seconds=5, until="active,revoked")
    assert answer["status"] == "active"
    assert seen[0].method == OPERATIONS["getElevation"].method
    # The id is one path segment, whatever it holds.
    assert seen[0].url.raw_path == b"/v1/elevations/el_a%2Fb?waitSeconds=5&until=active%2Crevoked"


def test_when_a_query_parameter_is_left_out_then_it_is_not_sent() -> None:
    seen: List[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=view("active"))

    with client_on(handler) as client:
        client.get_elevation(ID, until="active")
    assert dict(seen[0].url.params) == {"until": "active"}


def test_when_the_answer_is_a_status_the_operation_does_not_document_then_it_is_an_error() -> None:
    with client_on(lambda request: httpx.Response(204)) as client:
        with pytest.raises(ElevateApiError) as raised:
            client.give_back(ID)
    assert raised.value.status == 204
    assert raised.value.code == "http_error"
