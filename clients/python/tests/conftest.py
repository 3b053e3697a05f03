"""The live tests talk to a running Elevate named by the environment.

test/integration/client-python.test.ts starts one and sets these; run by hand, point them at a
test instance. Missing settings fail the tests rather than skip them, so a harness that forgot
one cannot pass without having tested anything.
"""

import os
from dataclasses import dataclass
from typing import Iterator

import pytest

from elevate_client import ElevateClient

REQUIRED = {
    "ELEVATE_TEST_URL": "the API's base URL",
    "ELEVATE_TEST_TOKEN": "a bot API key",
    "ELEVATE_TEST_WORKLOAD_TOKEN": "a workload identity token of the same bot",
    "ELEVATE_TEST_ROLE": "a role the bot may request, approved automatically",
    "ELEVATE_TEST_APPROVAL_ROLE": "a role the bot may request that waits for approvers",
}


@dataclass(frozen=True)
class Live:
    url: str
    token: str
    workload_token: str
    role: str
    approval_role: str


@pytest.fixture(scope="session")
def live() -> Live:
    missing = [f"{name} ({what})" for name, what in REQUIRED.items() if not os.environ.get(name)]
    if missing:
        pytest.fail("these tests need a running Elevate; set " + ", ".join(missing), pytrace=False)
    env = os.environ
    return Live(
        env["ELEVATE_TEST_URL"],
        env["ELEVATE_TEST_TOKEN"],
        env["ELEVATE_TEST_WORKLOAD_TOKEN"],
        env["ELEVATE_TEST_ROLE"],
        env["ELEVATE_TEST_APPROVAL_ROLE"],
    )


@pytest.fixture
def client(live: Live) -> Iterator[ElevateClient]:
    with ElevateClient(live.url, token=live.token) as c:
        yield c
