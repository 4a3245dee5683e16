"""Connectors ride out transient faults and stop with a clear error on the ones no retry can fix."""

from __future__ import annotations

import datetime as dt
import functools
import time
from collections.abc import Iterator

import pytest

from connectors.claude_code import ClaudeCodeAnalyticsClient
from connectors.github import GithubConnector
from connectors.github_graphql import GithubGraphqlConnector
from connectors.github_issues import GithubIncidentIssues
from connectors.http import SourceError
from connectors.pagerduty import PagerdutyConnector
from impact.batch_validation import BatchRejected
from impact.landing import land_batch
from sandbox.faults import Fault, FaultPlan, ScriptedFault
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer

TOKEN = "faults-test-token-9b2e"
DAY = dt.date(2026, 3, 4)  # a Wednesday with several actors


@pytest.fixture
def faulty(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    yield sandbox
    sandbox.faults = None


# --- the matrix: every fault kind of the sandbox against every HTTP source it applies to -------------
#
# Jira has its own parametrized matrix (Cloud and Data Center, tests/connectors/test_jira_sync.py).
# What each source does with a fault no retry hides: "error" is one readable SourceError naming the
# source; "rejected" is a batch handed over whole, which the landing's GE suite then rejects.
# Not here, with the reason: a repeated page needs a listing longer than one page (GitHub pull requests,
# REST and GraphQL: tests/connectors/test_batch_rejection.py; incident issues fit one page); only
# Anthropic (and Jira Cloud) page with a cursor that expires;
# the secondary and primary limits are GitHub's; GitHub's 60 s request timeout is not settable (a timeout:
# PagerDuty and Anthropic here, Jira in its own file).

TRANSIENT = [Fault.rate_limit(retry_after=1), Fault.server_error(500), Fault.server_error(502),
             Fault.server_error(503), Fault.slow(0.3)]
GITHUB_ONLY = [Fault.secondary_rate_limit(retry_after=1), Fault.primary_rate_limit(reset_in=1)]
TIMEOUT = Fault.slow(2.0)  # against a 0.5 s timeout
RECENT = dt.datetime(2026, 5, 15, tzinfo=dt.timezone.utc)
UTC = dt.timezone.utc


def _github_rest(url: str, org: Organisation):
    batch = GithubConnector(url, TOKEN).pull_requests(org.repositories[4], updated_since=RECENT)
    return batch.pull_requests, batch.reviews, batch.commits


def _github_graphql(url: str, org: Organisation):
    batch = GithubGraphqlConnector(url, TOKEN).pull_requests(org.repositories[4], updated_since=RECENT)
    return batch.pull_requests, batch.reviews, batch.commits


def _github_issues(url: str, org: Organisation):
    return GithubIncidentIssues(GithubConnector(url, TOKEN)).issues("hoco/mobile-app", ["incident"], updated_since=None).issues


def _pagerduty(url: str, org: Organisation, **options):
    return PagerdutyConnector(f"{url}/pagerduty", TOKEN, **options).incidents(
        dt.datetime(2026, 1, 5, tzinfo=UTC), dt.datetime(2026, 3, 1, tzinfo=UTC)
    )


def _anthropic(url: str, org: Organisation, **options):
    day = ClaudeCodeAnalyticsClient(url, TOKEN, page_limit=2, **options).read_day(DAY)
    return day.actor_days, day.model_days


#: source -> (reader, the endpoint the fault is scripted on)
SOURCES = {
    "github_rest": (_github_rest, "github.pulls.list"),
    "github_graphql": (_github_graphql, "github.graphql"),
    "github_issues": (_github_issues, "github.issues.list"),
    "pagerduty": (_pagerduty, "pagerduty.incidents.list"),
    "anthropic": (_anthropic, "anthropic.*"),
}
#: (source, fault, outcome): "same" = the read equals a clean one, the fault fired once
MATRIX = (
    [(source, fault, "same") for source in SOURCES for fault in TRANSIENT]
    + [(source, fault, "same") for source in ("github_rest", "github_graphql", "github_issues") for fault in GITHUB_ONLY]
    + [
        # a truncated answer is read again (connectors.github.MALFORMED_ATTEMPTS)
        ("github_rest", Fault.malformed_json(), "same"),
        ("github_graphql", Fault.malformed_json(), "same"),
        ("github_issues", Fault.malformed_json(), "same"),
        ("pagerduty", Fault.malformed_json(), "same"),  # read again (PAGE_ATTEMPTS)
        ("anthropic", Fault.server_error(529), "same"),  # overloaded_error
        # slower than the connector's timeout: the request times out and is sent again
        ("pagerduty", TIMEOUT, "same"),
        ("anthropic", TIMEOUT, "same"),
        ("anthropic", Fault.malformed_json(), "error"),
        ("pagerduty", Fault.repeat_page(), "same"),  # a page of incidents already read is read again
        ("anthropic", Fault.repeat_page(), "rejected"),
        ("anthropic", Fault.expired_cursor(), "error"),
    ]
)


def _id(entry) -> str:
    source, fault, _ = entry
    return f"{source}-{fault.status if fault.kind == 'server_error' else 'timeout' if fault is TIMEOUT else fault.kind}"


@pytest.mark.parametrize(("source", "fault", "outcome"), MATRIX, ids=[_id(entry) for entry in MATRIX])
def test_every_fault_kind_on_every_http_source(
    faulty: SandboxServer, small_org: Organisation, monkeypatch: pytest.MonkeyPatch, tmp_path,
    source: str, fault: Fault, outcome: str,
) -> None:
    monkeypatch.setattr("connectors.pagerduty.PAGE_LIMIT", 5)  # several pages, so one can repeat
    read, endpoint = SOURCES[source]
    clean = read(faulty.url, small_org)
    assert clean[0] if isinstance(clean, tuple) else clean
    faulty.faults = FaultPlan([(endpoint, 1, fault)])
    if fault is TIMEOUT:
        read = functools.partial(read, timeout=0.5)
    if outcome == "error":
        with pytest.raises(SourceError) as raised:
            read(faulty.url, small_org)
        prefix = "github" if source.startswith("github") else source
        assert str(raised.value).startswith(f"{prefix}: ") and TOKEN not in str(raised.value)
    else:
        started = time.monotonic()
        again = read(faulty.url, small_org)
        if fault is TIMEOUT:  # given up on and sent again, not waited for
            assert time.monotonic() - started < TIMEOUT.delay
        if outcome == "same":
            assert again == clean
        else:  # the page is handed over repeated, and the landing's suite refuses it
            actor_days, _ = again
            assert len({a.actor_id for a in actor_days}) < len(actor_days) == len(clean[0])  # page 1 twice
            with pytest.raises(BatchRejected, match="expect_compound_columns_to_be_unique"):
                land_batch(tmp_path, "anthropic/claude_code_actor_days", actor_days, dt.datetime.now(UTC))
    assert faulty.faults.fired_kinds() == {fault.kind: 1}


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


@pytest.mark.parametrize("source", ["github_rest", "github_graphql", "github_issues"])
def test_github_malformed_every_time_is_a_clear_error(faulty: SandboxServer, small_org: Organisation, source: str) -> None:
    """Truncated once is read again (the matrix above); truncated on every attempt stops with words that say so."""
    from connectors.github import MALFORMED_ATTEMPTS

    read, endpoint = SOURCES[source]
    faulty.faults = FaultPlan([ScriptedFault(endpoint, 1, Fault.malformed_json(), times=MALFORMED_ATTEMPTS)])
    with pytest.raises(SourceError) as raised:
        read(faulty.url, small_org)
    message = str(raised.value)
    assert message.startswith("github: ") and f"not valid JSON {MALFORMED_ATTEMPTS} times in a row" in message
    assert "Run again" in message and TOKEN not in message
