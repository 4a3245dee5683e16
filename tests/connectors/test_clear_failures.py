"""Clear failures, per source: the cases the per-source test files leave out, in one table.

Each case is one readable `SourceError` that starts with the source's name, says what to check, and
never holds the token; a fault that outlasts every retry (a persistent 503) is one of them. Where the rest of the matrix lives: wrong token, unknown project, wrong URL and
expired cursor of Jira (test_jira_sync), PagerDuty's (test_pagerduty_sync), GitHub's unknown repository
and wrong URL (test_github_sync), Anthropic's refused key (test_claude_code_sync), expired cursor and
malformed page (test_faults), incident issues' wrong token and malformed page
(test_github_incidents_sync), OpenTelemetry's missing path and cut line (test_claude_otel).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from requests.adapters import HTTPAdapter

from connectors.claude_code import ClaudeCodeAnalyticsClient
from connectors.github import GithubConnector
from connectors.github_graphql import GithubGraphqlConnector
from connectors.github_issues import GithubIncidentIssues
from connectors.http import SourceError, retry_policy
from connectors.jira import JiraConnector
from connectors.pagerduty import PagerdutyConnector
from impact.config import parse_config
from impact.sync import sync_claude_transcripts
from sandbox.faults import Fault, FaultPlan, ScriptedFault
from sandbox.server import SandboxServer

TOKEN = "clear-failures-token-3e8a"
REPO = "hoco/pipelines"
NOT_THE_API = "/pagerduty"  # a path of the sandbox that answers, but is not this API's root


def _transcripts_at(path: Path) -> None:
    sync_claude_transcripts(parse_config({
        "start_date": "2026-01-05", "warehouse": str(path.parent / "impact.duckdb"),
        "claude_code": {"transcripts": [{"path": str(path)}]},
    }))


def _jira_read(url: str) -> None:
    connector = JiraConnector(url, TOKEN, "integration@hoco.io", retries=2, backoff=0.01)
    list(connector.read(project="PLAT", updated_since=None))


def _one_retry() -> requests.Session:
    """The connectors' own session with a retry budget of one, so a persistent fault fails fast."""
    http = requests.Session()
    http.mount("http://", HTTPAdapter(max_retries=retry_policy(total=1, backoff_factor=0.01)))
    return http


# (id, what to do given the sandbox URL and a scratch folder, the error it must give)
CASES = [
    ("github-rest-wrong-token", lambda url, tmp: GithubConnector(url, " ").pull_requests(REPO, updated_since=None),
     r"^github: the token was refused .*Set GITHUB_TOKEN"),
    ("github-graphql-wrong-token",
     lambda url, tmp: GithubGraphqlConnector(url, " ").pull_requests(REPO, updated_since=None),
     r"^github: the token was refused .*Set GITHUB_TOKEN"),
    ("github-graphql-not-the-api",
     lambda url, tmp: GithubGraphqlConnector(url + NOT_THE_API, TOKEN).pull_requests(REPO, updated_since=None),
     r"^github: .*not found \(HTTP 404\).*github\.api_url"),
    ("github-issues-unknown-repository",
     lambda url, tmp: GithubIncidentIssues(GithubConnector(url, TOKEN)).issues("hoco/nope", ["incident"], updated_since=None),
     r"^github: repository hoco/nope was not found \(HTTP 404\).*github\.repos"),
    ("github-issues-not-the-api",
     lambda url, tmp: GithubIncidentIssues(GithubConnector(url + NOT_THE_API, TOKEN)).issues(REPO, ["incident"], updated_since=None),
     r"^github: .*not found \(HTTP 404\).*github\.api_url"),
    ("anthropic-not-the-api",
     lambda url, tmp: ClaudeCodeAnalyticsClient(url + NOT_THE_API, TOKEN).read_day(dt.date(2026, 3, 4)),
     r"^anthropic: the Claude Code analytics report was not found \(HTTP 404\).*anthropic\.api_url is the API root"),
    ("jira-malformed-page", lambda url, tmp: _jira_read(url),
     r"^jira: searching issues of project PLAT: the answer from .* is not JSON, 3 times.*jira\.url"),
    # a fault that outlasts the retries (503 on every request)
    ("github-graphql-persistent-503",
     lambda url, tmp: GithubGraphqlConnector(url, TOKEN, retries=1).pull_requests(REPO, updated_since=None),
     r"^github: .*pull requests of hoco/pipelines.*503"),
    ("github-issues-persistent-503",
     lambda url, tmp: GithubIncidentIssues(GithubConnector(url, TOKEN, retries=1)).issues(REPO, ["incident"], updated_since=None),
     r"^github: reading incident issues of hoco/pipelines kept failing after retries \(too many 503"),
    ("pagerduty-persistent-503",
     lambda url, tmp: PagerdutyConnector(f"{url}/pagerduty", TOKEN, http=_one_retry()).incidents(
         dt.datetime(2026, 1, 5, tzinfo=dt.timezone.utc), dt.datetime(2026, 2, 1, tzinfo=dt.timezone.utc)),
     r"^pagerduty: HTTP 503 while reading incidents created .* after retries.*Try again later"),
    ("anthropic-persistent-503",
     lambda url, tmp: ClaudeCodeAnalyticsClient(url, TOKEN, http=_one_retry()).read_day(dt.date(2026, 3, 4)),
     r"^anthropic: HTTP 503 reading the report for 2026-03-04.*Try again later"),
    ("transcripts-missing-folder", lambda url, tmp: _transcripts_at(tmp / "no-such-folder"),
     r"^claude_transcripts: the transcripts folder .*no-such-folder does not exist.*claude_code\.transcripts"),
]


@pytest.fixture
def server(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    yield sandbox
    sandbox.faults = None


@pytest.mark.parametrize(("case", "action", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_failure_no_retry_fixes_is_one_readable_error(
    server: SandboxServer, tmp_path: Path, case: str, action, message: str
) -> None:
    if case == "jira-malformed-page":
        server.faults = FaultPlan([ScriptedFault("jira.search_jql", 1, Fault.malformed_json(), times=10)])
    if case.endswith("persistent-503"):
        endpoint = {"github-graphql": "github.graphql", "github-issues": "github.issues.list",
                    "pagerduty": "pagerduty.incidents.list", "anthropic": "anthropic.*"}[case.removesuffix("-persistent-503")]
        server.faults = FaultPlan([ScriptedFault(endpoint, 1, Fault.server_error(503), times=10)])
    with pytest.raises(SourceError, match=message) as raised:
        action(server.url, tmp_path)
    assert TOKEN not in str(raised.value) and TOKEN not in repr(raised.value)
