"""One outage reported in two tools counts once: the fixture's PD1 was also reported as Jira OPS-2 (pasting
PD1's link, 2 h later) and GitHub issue 52 (15 minutes before the page, no link); G4 and OPS-3 are near
PD2 in time but on another repository or outside the 60-minute window (tests/dbt/conftest.py,
land_incidents_and_issues). Asserted on DuckDB and PostgreSQL alike (the `built` fixture)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.dbt.conftest import DbtRun


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def ts(day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, minute)


@pytest.fixture
def warehouse(built: DbtRun) -> DbtRun:
    assert built.result.returncode == 0, built.result.stdout[-6000:]
    return built


def rows(warehouse: DbtRun, sql: str) -> list[dict[str, Any]]:
    return warehouse.rows(sql)


def test_duplicates_pair_by_link_first_then_by_window(warehouse: DbtRun) -> None:
    found = {row["duplicate_incident_id"]: row for row in rows(warehouse, "select * from intermediate.int_incident_duplicates")}
    actual = {key: (row["incident_id"], row["source"], row["source_key"], row["match_rule"], round(row["minutes_from_page"], 6),
                    row["created_at"], row["resolved_at"])
              for key, row in found.items()}
    assert actual == {
        # the pasted link wins although OPS-2 came 2 h after the page, outside the window
        md5("jira:20002"): (md5("pagerduty:PD1"), "jira", "OPS-2", "reference", 120.0, ts(13, 22), ts(14, 1)),
        # no link: same repository (api-gateway is mapped to hoco/api), 15 minutes before the page
        md5("github:7003"): (md5("pagerduty:PD1"), "github", "52", "time_window", -15.0, ts(13, 19, 45), ts(13, 23)),
    }
    assert {row["pagerduty_source_id"] for row in found.values()} == {"PD1"}


def test_one_row_per_outage_with_earliest_start_and_latest_resolution(warehouse: DbtRun) -> None:
    found = {(row["source"], row["source_id"]): row for row in rows(warehouse, "select * from marts.fct_incidents")}
    # the merged-away reports are not incidents of their own; the near misses are
    assert ("jira", "20002") not in found and ("github", "7003") not in found
    assert {("github", "7004"), ("jira", "20003")} <= set(found)
    assert len(found) == 8  # 10 reports, 2 merged
    pd1 = found[("pagerduty", "PD1")]
    # created: G3's 19:45 (before the page); resolved: OPS-2's 01:00 (after the page's 23:30)
    assert (pd1["created_at"], pd1["resolved_at"], pd1["restore_hours"]) == (ts(13, 19, 45), ts(14, 1), 5.25)
    assert (pd1["duplicate_count"], pd1["also_reported_in"]) == (2, "github,jira")
    assert (pd1["title"], pd1["severity"], pd1["status"], pd1["source_key"]) == ("api-gateway down", "P1", "resolved", "1")
    assert (pd1["caused_by_deployment_id"], pd1["link_rule"]) == (md5("github:101"), "window")
    others = {key: (row["duplicate_count"], row["also_reported_in"]) for key, row in found.items() if key != ("pagerduty", "PD1")}
    assert set(others.values()) == {(0, None)}
    near_misses = {key: (found[key]["repository_full_name"], found[key]["created_at"], found[key]["restore_hours"])
                   for key in (("github", "7004"), ("jira", "20003"))}
    assert near_misses == {("github", "7004"): ("hoco/api", ts(26, 10, 10), None),  # another repository than PD2's
                           ("jira", "20003"): ("hoco/web", ts(26, 11, 30), 0.5)}  # 90 min after PD2


def test_an_outage_reported_three_times_blames_its_deployment_once(warehouse: DbtRun) -> None:
    [deployment] = rows(warehouse, "select caused_incident_id, incident_count, is_failure from marts.fct_deployments "
                                   "where source_id = 101")
    # PD1 (with its two duplicates) and G1 (an explicit link): not four incidents
    assert (deployment["caused_incident_id"], deployment["incident_count"], deployment["is_failure"]) == (
        md5("pagerduty:PD1"), 2, True)
    links = rows(warehouse, "select incident_id from intermediate.int_incident_deployment_links")
    assert len(links) == len({row["incident_id"] for row in links}) == 8


def test_mttr_counts_the_merged_outage_once(warehouse: DbtRun) -> None:
    [week] = rows(warehouse, "select incidents, resolved_incidents, mttr_p50_hours from marts.mart_dora_weekly "
                             "where team_id = 'platform' and week_start = '2024-03-11'")
    assert (week["incidents"], week["resolved_incidents"], week["mttr_p50_hours"]) == (1, 1, 5.25)


def test_the_window_comes_from_impact_yaml(built: DbtRun) -> None:
    """incidents.duplicate_window_minutes reaches dbt as IMPACT_INCIDENT_DUPLICATE_WINDOW_MINUTES
    (impact.warehouse.dbt_environment): at 10 minutes GitHub 52, 15 minutes before the page, is an
    incident of its own, while OPS-2, which pastes the page's link, stays merged."""
    import dataclasses

    assert built.result.returncode == 0
    narrow = dataclasses.replace(built, env={**built.env, "IMPACT_INCIDENT_DUPLICATE_WINDOW_MINUTES": "10"})
    result = narrow.run("run", "--select", "int_incident_duplicates")
    assert result.returncode == 0, result.stdout[-3000:]
    try:
        found = {row["duplicate_incident_id"]: row["match_rule"]
                 for row in rows(built, "select * from intermediate.int_incident_duplicates")}
    finally:  # the view is shared by the session's other tests: put the default window back
        restored = built.run("run", "--select", "int_incident_duplicates")
        assert restored.returncode == 0, restored.stdout[-3000:]
    assert found == {md5("jira:20002"): "reference"}
