"""Jira extraction through the `jira` library against the sandbox: Cloud and Data Center, complete,
incremental, idempotent, resilient to faults, and clear (without the token) when it cannot go on."""

from __future__ import annotations

import base64
import datetime as dt
import logging
import zoneinfo
from collections import defaultdict
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from connectors.http import SourceError
from connectors.jira import JiraConnector, jql_time, parse_time
from impact.config import ImpactConfig, parse_config
from impact.sync import sync_jira
from sandbox.faults import Fault, FaultPlan, ScriptedFault
from sandbox.jira_issues import generate_jira
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer
from tests.conftest import read_truth

TOKEN = "jira_sandbox_secret_token_5f3a"
EMAIL = "integration@hoco.io"


def _config(sandbox: SandboxServer, org: Organisation, tmp_path: Path, *, cloud: bool = True, **jira) -> ImpactConfig:
    section = {"url": sandbox.url, "token": TOKEN, "projects": [p.key for p in generate_jira(org).projects], **jira}
    if cloud:
        section["email"] = EMAIL
    return parse_config({
        "start_date": org.start_date.isoformat(),
        "end_date": org.end_date.isoformat(),
        "warehouse": str(tmp_path / "impact.duckdb"),
        "jira": section,
    })


def _rows(raw_dir: Path, entity: str, columns: str) -> list[tuple]:
    return duckdb.sql(f"select {columns} from read_parquet('{raw_dir}/jira/{entity}/*.parquet')").fetchall()


@pytest.fixture(scope="module")
def cloud_sync(sandbox: SandboxServer, small_org: Organisation, tmp_path_factory: pytest.TempPathFactory):
    config = _config(sandbox, small_org, tmp_path_factory.mktemp("jira-cloud"))
    return config, sync_jira(config)


@pytest.fixture()
def faulty(sandbox: SandboxServer):
    yield sandbox
    sandbox.faults = None


def _connector(sandbox: SandboxServer, **kwargs) -> JiraConnector:
    return JiraConnector(sandbox.url, TOKEN, EMAIL, page_size=25, backoff=0.05, **kwargs)


def _read(connector: JiraConnector, project: str = "PLAT"):
    issues, transitions = {}, set()
    for batch in connector.read(project=project, updated_since=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)):
        issues.update({i.id: i for i in batch.issues})
        transitions |= set(batch.transitions)
    return issues, transitions


def test_jira_times_are_stored_in_utc() -> None:
    assert parse_time("2026-03-02T10:15:00.000+0100") == dt.datetime(2026, 3, 2, 9, 15, tzinfo=dt.timezone.utc)
    assert parse_time("2026-07-01T10:15:30.250-0400") == dt.datetime(2026, 7, 1, 14, 15, 30, 250_000, tzinfo=dt.timezone.utc)
    assert parse_time("2026-07-01T10:15:30Z") == dt.datetime(2026, 7, 1, 10, 15, 30, tzinfo=dt.timezone.utc)
    moment = dt.datetime(2026, 7, 1, 8, 59, 59, tzinfo=dt.timezone.utc)
    assert jql_time(moment, zoneinfo.ZoneInfo("Europe/Berlin")) == "2026-07-01 10:59"  # the user's zone, floored
    assert jql_time(moment, None) == "2026-06-30 18:59"  # zone unknown: 14 h earlier, never later


def test_full_cloud_sync_equals_ground_truth(cloud_sync, truth_dir: Path) -> None:
    config, summary = cloud_sync
    truth = read_truth(truth_dir, "jira_issues")
    landed = _rows(config.raw_dir, "issues", "key, issue_type, status, status_category, created_at, resolution_date, "
                   "assignee_email, is_incident, linked_deployment_id, story_points, sprint, id")
    assert len(landed) == len(truth) == summary.rows["jira/issues"]
    by_key = {row[0]: row for row in landed}
    for row in truth.itertuples():
        key, issue_type, status, category, created, resolution, email, incident, linked, points, sprint, _ = by_key[row.key]
        assert (issue_type, status, category) == (row.type, row.status, row.status_category)
        assert created == row.created_at.to_pydatetime()
        assert incident == (row.type == "Incident")
        if email is not None:  # Cloud users may hide their e-mail
            assert email == row.assignee_email
        assert linked == (None if pd.isna(row.linked_deployment_id) else int(row.linked_deployment_id))
        assert sprint == (None if pd.isna(row.sprint) else row.sprint)
        assert points == (None if pd.isna(row.story_points) else row.story_points)
    hidden = sum(1 for row in landed if row[6] is None) - int(truth["assignee_email"].isna().sum())
    assert hidden > 0, "some Cloud users hide their e-mail"
    # DESIGN section 5 from the landed transitions: started = first move into In Progress, resolved = resolution.
    transitions = _rows(config.raw_dir, "status_transitions", "issue_key, created_at, to_status_category")
    assert len(transitions) == len(read_truth(truth_dir, "jira_transitions")) == summary.rows["jira/status_transitions"]
    started: dict[str, dt.datetime] = {}
    for key, at, category in sorted(transitions, key=lambda t: t[1]):
        if category == "indeterminate":
            started.setdefault(key, at)
    resolved = {row[0]: row[5] for row in landed}
    for row in truth.itertuples():
        expected = None if pd.isna(row.started_at) else row.started_at.to_pydatetime()
        assert started.get(row.key) == expected, row.key
        if isinstance(row.resolution, str):
            assert resolved[row.key] == row.resolved_at.to_pydatetime()
    assert summary.requests > 0 and set(summary.cursors) == {f"jira:project:{p}" for p in config.jira.projects}


def test_data_center_mode_lands_the_same_issues(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, cloud_sync) -> None:
    cloud_config, _ = cloud_sync
    config = _config(sandbox, small_org, tmp_path, cloud=False)
    assert not config.jira.is_cloud
    before = dict(sandbox.request_counts)
    summary = sync_jira(config)
    assert sandbox.request_counts.get("jira.search", 0) > before.get("jira.search", 0)
    assert sandbox.request_counts.get("jira.search_jql", 0) == before.get("jira.search_jql", 0)
    columns = "id, key, created_at, updated_at, resolution_date, status, sprint, story_points"
    assert sorted(_rows(config.raw_dir, "issues", columns)) == sorted(_rows(cloud_config.raw_dir, "issues", columns))
    dc_transitions = _rows(config.raw_dir, "status_transitions", "issue_id, history_id, created_at, to_status_category")
    assert sorted(dc_transitions) == sorted(
        _rows(cloud_config.raw_dir, "status_transitions", "issue_id, history_id, created_at, to_status_category")
    )
    emails = _rows(config.raw_dir, "issues", "assignee_account_id, assignee_email")
    assert all(email for account, email in emails if account)  # Data Center shows e-mails; accounts are usernames
    assert summary.rows["jira/issues"] == len(emails)


def test_incremental_sync_rereads_only_the_boundary_minute(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path) -> None:
    config = _config(sandbox, small_org, tmp_path)
    first = sync_jira(config)
    files = sorted(p.name for p in (config.raw_dir / "jira" / "issues").glob("*.parquet"))
    second = sync_jira(config)
    assert second.rows["jira/issues"] <= 2 * len(config.jira.projects)  # the issues in each cursor's minute
    assert second.requests <= 4 + 2 * len(config.jira.projects)
    assert second.cursors == first.cursors
    [(distinct, total)] = _rows(config.raw_dir, "issues", "count(distinct id), count(*)")
    assert distinct == first.rows["jira/issues"] and total == distinct + second.rows["jira/issues"]
    # A full refresh lands byte-identical batches: the same files, nothing doubled.
    sync_jira(config, full_refresh=True)
    after = sorted(p.name for p in (config.raw_dir / "jira" / "issues").glob("*.parquet"))
    assert set(files) <= set(after) and len(after) <= len(files) + len(config.jira.projects)


def test_late_update_is_picked_up(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path) -> None:
    """A cursor from the middle of history: the next run lands exactly the issues changed since its minute."""
    world = generate_jira(small_org)
    config = _config(sandbox, small_org, tmp_path, projects=["PLAT"])
    issues = sorted(world.project_issues("PLAT"), key=lambda i: i.updated_at)
    cut = issues[len(issues) // 2].updated_at
    from impact.sync_state import SyncState

    SyncState(config.raw_dir / "_state" / "cursors.json").save("jira:project:PLAT", cut.isoformat())
    summary = sync_jira(config)
    minute = cut.replace(second=0)
    assert summary.rows["jira/issues"] == sum(1 for i in issues if i.updated_at >= minute)


def test_jql_scope_lands_incidents_with_their_deployment_links(
    sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, truth_dir: Path
) -> None:
    config = _config(sandbox, small_org, tmp_path, projects=[], jql="issuetype = Incident")
    summary = sync_jira(config)
    truth = read_truth(truth_dir, "jira_issues")
    incidents = truth[truth["type"] == "Incident"]
    landed = _rows(config.raw_dir, "issues", "key, is_incident, linked_deployment_id")
    assert len(landed) == len(incidents) == summary.rows["jira/issues"] > 0
    expected = {r.key: (None if pd.isna(r.linked_deployment_id) else int(r.linked_deployment_id))
                for r in incidents.itertuples()}
    assert {key: linked for key, _, linked in landed} == expected
    assert any(expected.values()) and all(flag for _, flag, _ in landed)
    assert len(summary.cursors) == 1 and next(iter(summary.cursors)).startswith("jira:jql:")


_FAULTS = [
    (Fault.rate_limit(retry_after=1), "429"), (Fault.server_error(500), "500"), (Fault.server_error(502), "502"),
    (Fault.server_error(503), "503"), (Fault.malformed_json(), "malformed"), (Fault.repeat_page(), "repeat-page"),
    (Fault.slow(0.3), "slow"),
]


@pytest.mark.parametrize(
    ("fault", "cloud"),
    # Data Center pages by startAt: it has no page token to expire, so that fault is Cloud's only.
    [pytest.param(f, True, id=f"{name}-cloud") for f, name in _FAULTS]
    + [pytest.param(Fault.expired_cursor(), True, id="expired-cursor-cloud")]
    + [pytest.param(f, False, id=f"{name}-dc") for f, name in _FAULTS],
)
def test_faults_are_ridden_out_and_nothing_is_lost(faulty: SandboxServer, fault: Fault, cloud: bool) -> None:
    email = EMAIL if cloud else None
    endpoint = "jira.search_jql" if cloud else "jira.search"
    clean = _read(JiraConnector(faulty.url, TOKEN, email, page_size=25))
    script = [(endpoint, 2, fault)]
    if fault.kind in ("rate_limit", "server_error", "malformed_json"):
        script.append(("jira.server_info", 1, fault))  # the library's first call, during construction
    faulty.faults = FaultPlan(script)
    connector = JiraConnector(faulty.url, TOKEN, email, page_size=25, backoff=0.05)
    again = _read(connector)
    assert faulty.faults.fired_kinds() == {fault.kind: len(script)}
    assert again == clean and len(clean[0]) > 50
    assert connector.retried >= (0 if fault.kind == "slow" else 1)  # a slow answer is waited for, not retried


def test_a_request_slower_than_the_timeout_is_sent_again(faulty: SandboxServer) -> None:
    clean = _read(JiraConnector(faulty.url, TOKEN, EMAIL, page_size=25))
    faulty.faults = FaultPlan([("jira.search_jql", 2, Fault.slow(3.0))])
    connector = JiraConnector(faulty.url, TOKEN, EMAIL, page_size=25, backoff=0.05, timeout=0.5)
    again = _read(connector)
    assert faulty.faults.fired_kinds() == {"slow": 1} and connector.retried >= 1
    assert again == clean


def test_persistent_server_error_is_a_clear_error_without_the_token(faulty: SandboxServer) -> None:
    faulty.faults = FaultPlan([ScriptedFault("jira.search_jql", 1, Fault.server_error(502), times=10)])
    connector = JiraConnector(faulty.url, TOKEN, EMAIL, retries=2, backoff=0.01)
    with pytest.raises(SourceError) as raised:
        _read(connector)
    message = str(raised.value)
    assert message.startswith("jira: searching issues of project PLAT kept failing after 2 retries (HTTP 502")
    assert "resumes from the last saved cursor" in message and TOKEN not in message


def test_persistent_expired_cursor_is_a_clear_error(faulty: SandboxServer) -> None:
    faulty.faults = FaultPlan([ScriptedFault("jira.search_jql", 1, Fault.expired_cursor(), times=10)])
    with pytest.raises(SourceError, match=r"^jira: searching issues of project PLAT: Jira keeps refusing the nextPageToken"):
        _read(_connector(faulty))


def _leaks(text: str) -> list[str]:
    basic = base64.b64encode(f"{EMAIL}:{TOKEN}".encode()).decode()
    return [secret for secret in (TOKEN, basic, f"Bearer {TOKEN}") if secret in text]


@pytest.mark.parametrize("cloud", [True, False], ids=["cloud", "dc"])
def test_wrong_token_is_a_readable_error_that_leaks_nothing(
    sandbox: SandboxServer, cloud: bool, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the jira library logs headers and bodies at DEBUG
    sandbox.app.jira.revoked_tokens.add(TOKEN)
    try:
        with pytest.raises(SourceError) as raised:
            _read(JiraConnector(sandbox.url, TOKEN, EMAIL if cloud else None))
    finally:
        sandbox.app.jira.revoked_tokens.discard(TOKEN)
    error = raised.value
    assert str(error).startswith("jira: connecting: Jira refused the credentials (HTTP 401")
    assert ("Atlassian account" if cloud else "personal access token") in str(error) and "JIRA_API_TOKEN" in str(error)
    assert error.__cause__ is None and error.__context__ is None  # no JIRAError (which prints headers) chained
    import traceback

    printed = "".join(traceback.format_exception(error))
    captured = capsys.readouterr()
    assert _leaks(printed + caplog.text + captured.out + captured.err + repr(error)) == []


def test_unknown_project_and_wrong_url_are_clear(sandbox: SandboxServer) -> None:
    with pytest.raises(SourceError) as raised:
        _read(JiraConnector(sandbox.url, TOKEN, EMAIL), project="NOPE")
    assert str(raised.value).startswith(
        "jira: searching issues of project NOPE: Jira rejected the search (HTTP 400: "
        "The value 'NOPE' does not exist for the field 'project'.)"
    )
    with pytest.raises(SourceError, match=r"^jira: connecting: there is no Jira REST API at .*/not-jira \(HTTP 404\)"):
        _read(JiraConnector(sandbox.url + "/not-jira", TOKEN, EMAIL))


def test_batches_and_cursor_follow_updated_order(sandbox: SandboxServer, small_org: Organisation) -> None:
    connector = JiraConnector(sandbox.url, TOKEN, EMAIL, page_size=30, batch_issues=60)
    batches = list(connector.read(project="DATA", updated_since=None))
    assert len(batches) > 2 and all(len(b.issues) == 60 for b in batches[:-1])
    newest = [b.newest_updated_at for b in batches]
    assert newest == sorted(newest)
    per_issue = defaultdict(int)
    for batch in batches:
        for issue in batch.issues:
            per_issue[issue.id] += 1
    assert len(per_issue) == len(generate_jira(small_org).project_issues("DATA")) and set(per_issue.values()) == {1}


def test_doctor_checks_jira_without_printing_the_token(
    sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    from impact.doctor import diagnose

    monkeypatch.setenv("JIRA_DOCTOR_TOKEN", TOKEN)
    path = tmp_path / "impact.yaml"
    config = {
        "start_date": "2026-03-04", "warehouse": str(tmp_path / "impact.duckdb"),
        "jira": {"url": sandbox.url, "email": EMAIL, "token": "${JIRA_DOCTOR_TOKEN}", "projects": ["PLAT", "DATA"]},
    }
    path.write_text(yaml.safe_dump(config))
    check = {c.name: c for c in diagnose(path)}["jira"]
    assert check.ok and check.detail.startswith("Jira Cloud at http://127.0.0.1:") and "projects PLAT, DATA searchable" in check.detail
    config["jira"]["projects"] = ["PLAT", "NOPE"]
    path.write_text(yaml.safe_dump(config))
    check = {c.name: c for c in diagnose(path)}["jira"]
    assert not check.ok and "The value 'NOPE' does not exist" in check.detail and TOKEN not in check.detail


def test_truncated_changelogs_are_completed_from_the_changelog_endpoint(sandbox: SandboxServer, small_org: Organisation) -> None:
    """Cloud embeds only the most recent histories; the oldest (the start of work) must not be lost."""
    full = _read(JiraConnector(sandbox.url, TOKEN, EMAIL))
    before = sandbox.request_counts.get("jira.issue_changelog", 0)
    sandbox.app.jira.changelog_limit = 1
    try:
        completed = _read(JiraConnector(sandbox.url, TOKEN, EMAIL))
    finally:
        sandbox.app.jira.changelog_limit = 40
    paged = sandbox.request_counts.get("jira.issue_changelog", 0) - before
    assert completed == full
    truncated = [i for i in generate_jira(small_org).project_issues("PLAT") if len(i.histories) > 1]
    assert paged == len(truncated) > 10  # one changelog page for each issue with more than one history


def test_a_sync_that_fails_midway_resumes_without_gaps_or_duplicates(
    faulty: SandboxServer, small_org: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cloud_sync
) -> None:
    import functools

    clean_config, _ = cloud_sync
    monkeypatch.setattr("impact.sync.JIRA_LANDING_BATCH", 50)  # land (and save the cursor) after each project
    monkeypatch.setattr(JiraConnector, "__init__", functools.partialmethod(JiraConnector.__init__, retries=1, backoff=0.01))
    config = _config(faulty, small_org, tmp_path)
    faulty.faults = FaultPlan([ScriptedFault("jira.search_jql", 5, Fault.server_error(500), times=50)])
    with pytest.raises(SourceError, match="kept failing"):
        sync_jira(config)
    from impact.sync_state import SyncState

    saved = SyncState(config.raw_dir / "_state" / "cursors.json").as_dict()
    assert "jira:project:PLAT" in saved and len(saved) < len(config.jira.projects)  # stopped part-way
    faulty.faults = None
    sync_jira(config)
    for entity, keys in (("issues", "id, updated_at, status"), ("status_transitions", "issue_id, history_id, to_status")):
        assert set(_rows(config.raw_dir, entity, f"distinct {keys}")) == set(_rows(clean_config.raw_dir, entity, f"distinct {keys}"))
