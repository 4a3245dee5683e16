"""Incremental fct_deployments and fct_issues equal a full build, on DuckDB and PostgreSQL.

The fixture landing is built once in full; then later batches land one at a time, each followed by an
incremental `dbt run`, and each must change the facts. Most change rows whose own records did not land
again, which a landing-time filter alone would miss:
  * a late status of deployment 106 (its own record);
  * a late PR merged as commit x9, which old deployment 101 shipped: 101's change_count;
  * a late deployment 107 between 100 and 101 shipping m2: PR 2 moves to it from 101;
  * a late deployment 108 older than the baseline 100: 108 becomes the baseline, 100 ships changes;
  * a late PagerDuty incident naming old deployment 100: 100 becomes a change failure;
  * a deployment 109 going back to m3, which 105 shipped before 106: 106 is rolled back;
  * Jira issue PLAT-2 landed again, reopened, with a new transition; and a transition of PLAT-1 alone;
  * the team mapping gains the owner of Jira account jira-zed: PLAT-3's assignee resolves;
  * the incident link window switched off (a setting): incident G2 now blames deployment 109.
The result must equal a fresh full build of the same landing and settings, row for row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.records import GithubDeployment, GithubDeploymentCommit, GithubDeploymentStatus, TeamMember
from impact.landing import land_batch
from tests.dbt.conftest import _jira_issue, _pagerduty, _pull_request, _transition
from tests.dbt.warehouse_target import Target, copy_landing

FACTS = ("fct_deployments", "fct_issues")
SELECT = ["--select", "+fct_deployments", "+fct_issues"]
# The fixture's last sync is 2024-04-01: the later syncs come after the lookback (72 h) of its landing, so
# that the rows they change without landing them again are not re-selected by landing time by accident.
LATER_SYNC = dt.datetime(2024, 4, 15, tzinfo=dt.timezone.utc)
WINDOW_OFF = ("--vars", "{incident_link_window_hours: 'off'}")


def utc(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, tzinfo=dt.timezone.utc)


def deployment(dep_id: int, sha: str, at: dt.datetime) -> GithubDeployment:
    return GithubDeployment(id=dep_id, repository="hoco/api", sha=sha, ref="main", environment="production",
                            creator_login="deploy-bot", created_at=at, updated_at=at)


def status(status_id: int, dep_id: int, state: str, at: dt.datetime) -> GithubDeploymentStatus:
    return GithubDeploymentStatus(id=status_id, deployment_id=dep_id, repository="hoco/api", state=state, created_at=at)


def late_status(raw: Path, at: dt.datetime) -> None:
    land_batch(raw, "github/deployment_statuses", [status(961, 106, "inactive", utc(28))], at)


def late_pull_request(raw: Path, at: dt.datetime) -> None:
    land_batch(raw, "github/pull_requests", [
        _pull_request(id=1006, number=6, title="Hotfix", author_login="bob", created_at=utc(12, 9),
                      closed_at=utc(12, 18), merged_at=utc(12, 18), merge_commit_sha="x9"),
    ], at)


def late_deployment_between(raw: Path, at: dt.datetime) -> None:
    land_batch(raw, "github/deployments", [deployment(107, "m2", utc(10, 11))], at)
    land_batch(raw, "github/deployment_statuses", [status(970, 107, "success", utc(10, 12))], at)
    land_batch(raw, "github/deployment_commits", [
        GithubDeploymentCommit(107, "hoco/api", "production", 100, "m2"),
        GithubDeploymentCommit(107, "hoco/api", "production", 100, "c2a"),
    ], at)


def late_deployment_before_baseline(raw: Path, at: dt.datetime) -> None:
    land_batch(raw, "github/deployments", [deployment(108, "m00", utc(1, 9))], at)
    land_batch(raw, "github/deployment_statuses", [status(980, 108, "success", utc(1, 10))], at)


def late_incident(raw: Path, at: dt.datetime) -> None:
    land_batch(raw, "pagerduty/incidents", [
        _pagerduty("PD4", 4, "api-gateway", utc(22, 8), utc(22, 9), "P2", linked=100),
    ], at)


def rollback(raw: Path, at: dt.datetime) -> None:
    land_batch(raw, "github/deployments", [deployment(109, "m3", utc(23, 9))], at)
    land_batch(raw, "github/deployment_statuses", [status(990, 109, "success", utc(23, 10))], at)


def jira_issue_landed_again(raw: Path, at: dt.datetime) -> None:
    land_batch(raw, "jira/issues", [
        _jira_issue("10002", "PLAT-2", utc(11, 9), status="In Progress", category="indeterminate",
                    assignee="acc-bob-77", email="Bob@hoco.io", issue_type="Bug"),
    ], at)
    land_batch(raw, "jira/status_transitions", [
        _transition("10002", "PLAT-2", "h12", utc(28, 9), "In Progress", "indeterminate", "Done"),
        _transition("10001", "PLAT-1", "h13", utc(29, 9), "Archived", None, "Done"),  # the transition alone
    ], at)


def team_mapping_change(raw: Path, at: dt.datetime) -> None:
    land_batch(raw, "org/team_members", [
        TeamMember("zed@hoco.io", "Zed Zeta", "platform", "Platform", "eng", None, "jira-zed", "engineer", None),
    ], at)


def no_landing(raw: Path, at: dt.datetime) -> None:
    """The setting case lands nothing: only the build's settings change."""


#: (case, what it lands, extra dbt arguments, the fact it must change)
CASES: list[tuple[str, Callable[[Path, dt.datetime], None], tuple[str, ...], str]] = [
    ("late deployment status", late_status, (), "fct_deployments"),
    ("late PR shipped by an old deployment", late_pull_request, (), "fct_deployments"),
    ("late deployment between two old ones", late_deployment_between, (), "fct_deployments"),
    ("late deployment older than the baseline", late_deployment_before_baseline, (), "fct_deployments"),
    ("late incident linked to an old deployment", late_incident, (), "fct_deployments"),
    ("rollback", rollback, (), "fct_deployments"),
    ("Jira issue landed again with a new transition", jira_issue_landed_again, (), "fct_issues"),
    ("team-mapping change", team_mapping_change, (), "fct_issues"),
    ("incident link window switched off", no_landing, WINDOW_OFF, "fct_deployments"),
]


def named(target: Target, table: str, key: str = "source_id") -> dict[Any, dict[str, Any]]:
    """The rows of a fact by source id, as dicts."""
    sql = f"select * from marts.{table}"
    if target.postgres is not None:
        import psycopg2

        with psycopg2.connect(target.dsn) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            names, found = [column[0] for column in cursor.description], cursor.fetchall()
        connection.close()
    else:
        import duckdb

        with duckdb.connect(str(target.warehouse), read_only=True) as connection:
            cursor = connection.execute(sql)
            names, found = [column[0] for column in cursor.description], cursor.fetchall()
    return {row[names.index(key)]: dict(zip(names, row)) for row in found}


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_incremental_facts_equal_a_full_build(target: str, raw_landing: Path, tmp_path: Path,
                                              request: pytest.FixtureRequest) -> None:
    postgres = request.getfixturevalue("postgres_server") if target == "postgres" else None
    raw_root = copy_landing(raw_landing, tmp_path)
    incremental = Target(target, tmp_path / "incremental", raw_root, postgres, "impact_facts_incremental", SELECT)
    incremental.run()
    first = {fact: incremental.rows(fact) for fact in FACTS}

    settings: tuple[str, ...] = ()
    for number, (case, land, extra, fact) in enumerate(CASES):
        before = incremental.rows(fact)
        land(raw_root, LATER_SYNC + dt.timedelta(hours=number))
        settings = extra or settings
        incremental.run(*settings)
        assert incremental.rows(fact) != before, f"{case}: the batch changed nothing in {fact}"
        for model in FACTS:  # the incremental path ran: the watermark and the comparison are compiled in
            compiled = incremental.compiled(model)
            assert "coalesce(max(extracted_at)" in compiled and " = stored." in compiled, (case, model)

    full = Target(target, tmp_path / "full", raw_root, postgres, "impact_facts_full", SELECT)
    full.run(*settings)
    for fact in FACTS:
        assert incremental.rows(fact) == full.rows(fact), fact
        assert incremental.rows(fact) != first[fact], fact

    deployments, issues = named(full, "fct_deployments"), named(full, "fct_issues", "key")
    assert deployments[106]["status"] == "inactive"
    assert (deployments[107]["change_count"], deployments[101]["change_count"]) == (1, 1)  # PR 2, PR 6
    assert deployments[108]["is_baseline"] and not deployments[100]["is_baseline"]
    assert deployments[100]["change_count"] == 0 and deployments[100]["is_failure"]
    assert deployments[106]["rolled_back_by_deployment_id"] == deployments[109]["deployment_id"]
    g2 = hashlib.md5(b"github:7002").hexdigest()  # the earliest incident after 109, 47 h later
    assert deployments[109]["caused_incident_id"] == g2  # with the window off; none within 24 h
    assert issues["PLAT-2"]["resolved_at"] is None and issues["PLAT-2"]["status_transitions"] == 5
    assert issues["PLAT-1"]["status_transitions"] == 4
    assert issues["PLAT-3"]["assignee_developer_id"] is not None
