"""Schema drift: every connector keeps working when a source adds a field and leaves an optional one out.

For each source the same read runs twice, once against the healthy sandbox and once with
`sandbox.faults.schema_drift(source)` installed (file sources: a drifted copy of their files, see
`drift_files`). The drifted read must not fail, must give the same records except that the dropped
optional field is null (the unknown field is ignored), and the records must pass the landing's
Great Expectations suite.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.claude_code import ClaudeCodeAnalyticsClient
from connectors.claude_otel import read_otel_exports
from connectors.claude_transcripts import TranscriptFolder, read_transcripts
from connectors.github import GithubConnector
from connectors.github_graphql import GithubGraphqlConnector
from connectors.github_issues import GithubIncidentIssues
from connectors.jira import JiraConnector
from connectors.pagerduty import PagerdutyConnector
from connectors.team_mapping import read_team_mapping
from impact.landing import land_batch
from sandbox.faults import FaultPlan, schema_drift
from sandbox.organisation import Organisation
from sandbox.otel import write_otel_export
from sandbox.server import SandboxServer
from sandbox.transcripts import write_transcripts
from tests.connectors.drift_files import drift_otel_request, drift_transcript_line, rewrite_jsonl

TOKEN = "drift-test-token-7c1d"
EMAIL = "integration@hoco.io"
UTC = dt.timezone.utc
NOW = dt.datetime(2026, 7, 10, tzinfo=UTC)
RECENT = dt.datetime(2026, 5, 15, tzinfo=UTC)  # pull requests updated since: a small read


@pytest.fixture
def drifting(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    yield sandbox
    sandbox.faults = None


def _nulled(records: list, field: str) -> list:
    return [dataclasses.replace(r, **{field: None}) for r in records]


def _read_twice(server: SandboxServer, source: str, read):
    """(clean, drifted, records patched) for one read."""
    server.faults = None
    clean = read()
    server.faults = FaultPlan(patches=schema_drift(source))
    drifted = read()
    patched = sum(server.faults.patched.values())
    server.faults = None
    return clean, drifted, patched


def _lands(tmp_path: Path, entity: str, records: list) -> None:
    batch = land_batch(tmp_path / "raw", entity, records, NOW)
    assert batch.rows == len(records) > 0


def test_github_pull_requests_ignore_the_extra_field_and_null_the_missing_one(
    drifting: SandboxServer, small_org: Organisation, tmp_path: Path
) -> None:
    repository = small_org.repositories[1]
    clean, drifted, patched = _read_twice(
        drifting, "github", lambda: GithubConnector(drifting.url, TOKEN).pull_requests(repository, updated_since=RECENT)
    )
    assert patched >= len(clean.pull_requests) > 10
    assert any(pr.merge_commit_sha for pr in clean.pull_requests)
    assert drifted.pull_requests == _nulled(clean.pull_requests, "merge_commit_sha")
    assert drifted.reviews == clean.reviews and drifted.commits == clean.commits
    _lands(tmp_path, "github/pull_requests", drifted.pull_requests)


def test_github_graphql_ignores_the_extra_field_and_a_null_merge_commit(
    drifting: SandboxServer, small_org: Organisation, tmp_path: Path
) -> None:
    repository = small_org.repositories[2]
    clean, drifted, patched = _read_twice(
        drifting, "github",
        lambda: GithubGraphqlConnector(drifting.url, TOKEN).pull_requests(repository, updated_since=RECENT),
    )
    assert patched >= len(clean.pull_requests) > 0
    assert drifted.pull_requests == _nulled(clean.pull_requests, "merge_commit_sha")
    assert drifted.reviews == clean.reviews
    _lands(tmp_path, "github/pull_requests", drifted.pull_requests)


def test_github_incident_issues_ignore_the_extra_field_and_null_the_missing_one(
    drifting: SandboxServer, tmp_path: Path
) -> None:
    def read():
        return GithubIncidentIssues(GithubConnector(drifting.url, TOKEN)).issues(
            "hoco/mobile-app", ["incident"], updated_since=None
        ).issues

    before = drifting.request_counts.get("github.issues.get", 0)
    clean, drifted, patched = _read_twice(drifting, "github", read)
    assert patched >= len(clean) and any(issue.state_reason for issue in clean)
    assert drifted == _nulled(clean, "state_reason")
    # read from the listing: no request per issue for the missing field
    assert drifting.request_counts.get("github.issues.get", 0) == before
    _lands(tmp_path, "github/issues", drifted)


@pytest.mark.parametrize("cloud", [True, False], ids=["cloud", "dc"])
def test_jira_ignores_the_extra_field_and_nulls_a_hidden_priority(
    drifting: SandboxServer, tmp_path: Path, cloud: bool
) -> None:
    def read():
        connector = JiraConnector(drifting.url, TOKEN, EMAIL if cloud else None, page_size=50)
        issues, transitions = [], []
        for batch in connector.read(project="PLAT", updated_since=dt.datetime(2026, 5, 1, tzinfo=UTC)):
            issues += batch.issues
            transitions += batch.transitions
        return issues, transitions

    (clean, clean_transitions), (drifted, transitions), patched = _read_twice(drifting, "jira", read)
    assert patched >= len(clean) > 10 and any(issue.priority for issue in clean)
    assert drifted == _nulled(clean, "priority") and transitions == clean_transitions
    _lands(tmp_path, "jira/issues", drifted)


def test_pagerduty_ignores_the_extra_field_and_nulls_priority(drifting: SandboxServer, tmp_path: Path) -> None:
    def read():
        connector = PagerdutyConnector(f"{drifting.url}/pagerduty", TOKEN)
        return connector.incidents(dt.datetime(2026, 1, 5, tzinfo=UTC), dt.datetime(2026, 4, 1, tzinfo=UTC))

    clean, drifted, patched = _read_twice(drifting, "pagerduty", read)
    assert patched == len(clean) > 5 and any(incident.priority for incident in clean)
    assert drifted == _nulled(clean, "priority")
    _lands(tmp_path, "pagerduty/incidents", drifted)


def test_anthropic_ignores_the_extra_field_and_nulls_terminal_type(drifting: SandboxServer, tmp_path: Path) -> None:
    def read():
        client = ClaudeCodeAnalyticsClient(drifting.url, TOKEN)
        return [day for day in client.read_days(dt.date(2026, 5, 18), dt.date(2026, 5, 20))]

    clean, drifted, patched = _read_twice(drifting, "anthropic", read)
    actor_days = [a for day in clean for a in day.actor_days]
    assert patched == len(actor_days) > 3 and any(a.terminal_type for a in actor_days)
    drifted_actor_days = [a for day in drifted for a in day.actor_days]
    assert drifted_actor_days == _nulled(actor_days, "terminal_type")
    assert [m for day in drifted for m in day.model_days] == [m for day in clean for m in day.model_days]
    _lands(tmp_path, "anthropic/claude_code_actor_days", drifted_actor_days)


def test_transcripts_ignore_unknown_fields_and_null_a_missing_git_branch(
    small_org: Organisation, truth_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "transcripts"
    write_transcripts(small_org, source, emails={d.email for d in small_org.developers[::4]})
    drifted_folder = tmp_path / "drifted"
    assert rewrite_jsonl(source, drifted_folder, drift_transcript_line) > 100
    members = read_team_mapping(truth_dir / "team_mapping.csv")
    clean, _ = read_transcripts([TranscriptFolder(source)], members)
    drifted, _ = read_transcripts([TranscriptFolder(drifted_folder)], members)
    clean_records = clean.records()
    assert any(r.git_branch for r in clean_records)
    assert drifted.records() == _nulled(clean_records, "git_branch")
    assert [(i.file, i.line) for i in drifted.invalid] == [(i.file, i.line) for i in clean.invalid]  # the cut line
    _lands(tmp_path, "claude_code/transcript_messages", drifted.records())


def test_otel_exports_ignore_unknown_fields_and_null_a_missing_unit(small_org: Organisation, tmp_path: Path) -> None:
    source = tmp_path / "otel"
    write_otel_export(small_org, source)
    drifted_folder = tmp_path / "drifted"
    assert rewrite_jsonl(source, drifted_folder, drift_otel_request) > 10
    clean, _ = read_otel_exports([source])
    drifted, _ = read_otel_exports([drifted_folder])
    assert any(r.unit for r in clean)
    assert drifted == _nulled(clean, "unit")
    _lands(tmp_path, "claude_code/otel_usage", drifted)
