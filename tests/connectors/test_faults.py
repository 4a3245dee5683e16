"""Connectors ride out transient faults and stop with a clear error on the ones no retry can fix."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from connectors.claude_code import ClaudeCodeAnalyticsClient
from connectors.github import GithubConnector
from connectors.http import SourceError
from sandbox.faults import Fault, FaultPlan, ScriptedFault
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer

TOKEN = "faults-test-token-9b2e"
DAY = dt.date(2026, 3, 4)  # a Wednesday with several actors


@pytest.fixture
def faulty(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    yield sandbox
    sandbox.faults = None


@pytest.mark.parametrize(
    "fault",
    [Fault.rate_limit(retry_after=1), Fault.secondary_rate_limit(retry_after=1), Fault.server_error(502),
     Fault.server_error(503), Fault.primary_rate_limit(reset_in=1)],
    ids=["429", "secondary-403", "502", "503", "primary-exhausted"],
)
def test_github_transient_faults_are_retried_and_nothing_is_lost(
    faulty: SandboxServer, small_org: Organisation, fault: Fault
) -> None:
    repository = small_org.repositories[1]
    connector = GithubConnector(faulty.url, TOKEN)
    connector.repositories([repository], [])
    clean = connector.pull_requests(repository, updated_since=None)
    faulty.faults = FaultPlan([("github.pulls.list", 2, fault), ("github.pulls.reviews", 5, fault)])
    again = connector.pull_requests(repository, updated_since=None)
    assert faulty.faults.fired_kinds()[fault.kind] == 2
    assert again.pull_requests == clean.pull_requests
    assert again.reviews == clean.reviews


def test_anthropic_transient_faults_are_retried(faulty: SandboxServer) -> None:
    client = ClaudeCodeAnalyticsClient(faulty.url, TOKEN, page_limit=2)
    clean = client.read_day(DAY)
    faulty.faults = FaultPlan(
        [("anthropic.*", 1, Fault.rate_limit(retry_after=1)), ("anthropic.*", 2, Fault.server_error(529))]
    )
    again = client.read_day(DAY)
    assert sum(faulty.faults.fired_kinds().values()) == 2
    assert again.actor_days == clean.actor_days and again.model_days == clean.model_days


def test_anthropic_malformed_page_is_a_clear_error(faulty: SandboxServer) -> None:
    faulty.faults = FaultPlan([("anthropic.*", 1, Fault.malformed_json())])
    client = ClaudeCodeAnalyticsClient(faulty.url, TOKEN)
    with pytest.raises(SourceError, match=r"^anthropic: the report page for 2026-03-04 is not JSON") as raised:
        client.read_day(DAY)
    assert TOKEN not in str(raised.value)


def test_anthropic_expired_cursor_is_a_clear_error(faulty: SandboxServer) -> None:
    faulty.faults = FaultPlan([("anthropic.*", 1, Fault.expired_cursor())])
    client = ClaudeCodeAnalyticsClient(faulty.url, TOKEN, page_limit=1)
    with pytest.raises(SourceError, match=r"^anthropic: HTTP 400 reading the report for 2026-03-04.*cursor.*expired"):
        client.read_day(DAY)


def test_github_persistent_server_error_is_a_clear_error(faulty: SandboxServer, small_org: Organisation) -> None:
    repository = small_org.repositories[0]
    connector = GithubConnector(faulty.url, TOKEN, retries=1)
    connector.repositories([repository], [])
    faulty.faults = FaultPlan([ScriptedFault("github.pulls.list", 1, Fault.server_error(500), times=5)])
    with pytest.raises(SourceError, match=rf"^github: reading pull requests of {repository} kept failing after retries \(too many 500 error") as raised:
        connector.pull_requests(repository, updated_since=None)
    assert "repeated safely" in str(raised.value) and TOKEN not in str(raised.value)
