"""The dbt project end to end: `dbt build` (models, data tests, unit tests) over a hand-made raw landing,
then exact values for the awkward cases (see conftest.land_fixture_dataset for the data). Every test that
takes `warehouse` or `built` runs once per target (DuckDB, PostgreSQL): the same expectations hold on both."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.dbt.conftest import DbtRun

TOLERANCE = 1e-9


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def pr_id(repository: str, number: int) -> str:
    return md5(f"{repository}#{number}")


ALICE, BOB, CAROL, DAVE = (md5(f"{name}@hoco.io") for name in ("alice", "bob", "carol", "dave"))


def ts(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, minute, second)


@pytest.fixture
def warehouse(built: DbtRun) -> DbtRun:
    """The successful build of the target under test; queries go through `rows`."""
    assert built.result.returncode == 0, built.result.stdout[-6000:] + built.result.stderr[-3000:]
    return built


def rows(warehouse: DbtRun, sql: str) -> list[dict[str, Any]]:
    return warehouse.rows(sql)


def pull_request(connection: DbtRun, repository: str, number: int) -> dict[str, object]:
    (row,) = rows(connection, f"select * from marts.fct_pull_requests where pull_request_id = '{pr_id(repository, number)}'")
    return row


def assert_hours(row: dict[str, object], **expected: float | None) -> None:
    for column, value in expected.items():
        if value is None:
            assert row[column] is None, f"{column}: expected null, got {row[column]}"
        else:
            assert row[column] is not None and abs(row[column] - value) < TOLERANCE, f"{column}: {row[column]} != {value}"


# --- the build itself ------------------------------------------------------------------------------


def test_dbt_build_succeeds_with_every_test_and_unit_test(built: DbtRun) -> None:
    assert built.result.returncode == 0, built.result.stdout[-6000:]
    results = json.loads((built.target_path / "run_results.json").read_text())["results"]
    statuses = {result["status"] for result in results}
    assert statuses <= {"success", "pass"}, statuses
    unit_tests = [r["unique_id"] for r in results if r["unique_id"].startswith("unit_test.")]
    assert len(unit_tests) >= 4
    singular = {r["unique_id"].split(".")[2] for r in data_tests_of(results)}
    assert {"assert_stage_hours_add_up_to_cycle_hours", "assert_negative_durations_are_flagged",
            "assert_merged_pull_requests_in_deployed_repositories_have_a_deployment_or_reason",
            "assert_cfr_numerator_within_denominator"} <= singular
    data_tests = [r for r in results if r["unique_id"].startswith("test.")]
    assert len(data_tests) > 100


def data_tests_of(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if r["unique_id"].startswith("test.")]


def test_schemas_are_exact(warehouse: DbtRun) -> None:
    found = rows(warehouse, "select table_schema, table_name, table_type from information_schema.tables "
                            "where table_schema not in ('information_schema', 'pg_catalog', 'raw')")  # raw: the loader's
    by_name = {(row["table_schema"], row["table_name"]): row["table_type"] for row in found}
    assert by_name[("marts", "fct_pull_requests")] == "BASE TABLE"
    assert by_name[("marts", "mart_ai_impact_panel")] == "BASE TABLE"
    assert by_name[("staging", "stg_github__pull_requests")] == "VIEW"
    assert by_name[("intermediate", "int_deployments")] == "VIEW"
    # the heavy intermediate models many tests and marts read are stored (dbt_project/models/intermediate)
    for heavy in ("int_pull_request_stages", "int_ai_session_lines", "int_ai_usage_developer_days"):
        assert by_name[("intermediate", heavy)] == "BASE TABLE", heavy
    assert {schema for schema, _ in by_name} == {"staging", "intermediate", "marts"}


# --- staging ---------------------------------------------------------------------------------------


def test_latest_extracted_version_of_a_pull_request_wins(warehouse: DbtRun) -> None:
    landed = rows(warehouse, "select count(*) as n from staging.stg_github__pull_requests where pull_request_source_id = 1001")
    assert landed == [{"n": 1}]
    row = pull_request(warehouse, "hoco/api", 1)
    assert (row["title"], row["state"], row["merged_at"], row["additions"]) == ("Login flow", "closed", ts(5, 15), 120)
    (actor_day,) = rows(warehouse, "select sessions from staging.stg_anthropic__claude_code_actor_days "
                                   "where actor_id = 'alice@hoco.io' and activity_date = date '2024-03-20'")
    assert actor_day["sessions"] == 2


# --- pull request stages ---------------------------------------------------------------------------


def test_author_review_does_not_count_and_stages_add_up(warehouse: DbtRun) -> None:
    row = pull_request(warehouse, "hoco/api", 1)
    assert row["author_developer_id"] == ALICE
    assert row["first_commit_at"] == ts(1, 9)
    assert row["first_review_at"] == ts(4, 13)  # not alice's own review at 09:30
    assert row["approved_at"] == ts(5, 10)
    assert row["review_count"] == 2
    assert_hours(row, coding_hours=72.0, pickup_hours=4.0, review_hours=26.0, cycle_hours=102.0,
                 deploy_hours=None, lead_time_hours=None)
    assert row["has_negative_stage"] is False


def test_fractional_hours_and_deployment_link(warehouse: DbtRun) -> None:
    row = pull_request(warehouse, "hoco/api", 2)
    assert row["first_review_at"] == ts(11, 14, 30, 45)
    assert row["first_deployed_at"] == ts(13, 12)
    assert row["deployment_link_reason"] == "deployed"
    assert_hours(row, coding_hours=66.0, pickup_hours=4.5125, review_hours=25.4875, cycle_hours=96.0,
                 deploy_hours=20.0, lead_time_hours=116.0)


def test_review_before_creation_nulls_pickup_and_flags(warehouse: DbtRun) -> None:
    row = pull_request(warehouse, "hoco/api", 3)
    assert row["author_developer_id"] == CAROL  # login matched case-insensitively
    assert row["first_review_at"] == ts(18, 8)
    assert row["has_negative_stage"] is True
    assert_hours(row, coding_hours=72.0, pickup_hours=None, review_hours=27.0, cycle_hours=98.0)
    # shipped to staging only: not a production deployment
    assert row["first_deployed_at"] is None
    assert row["deployment_link_reason"] == "not_yet_deployed"


def test_draft_ghost_and_missing_commits(warehouse: DbtRun) -> None:
    draft = pull_request(warehouse, "hoco/api", 4)
    assert draft["is_draft"] is True and draft["state"] == "open" and draft["deployment_link_reason"] == "not_merged"
    # still a draft: it has not asked for review, so coding has not ended (coding runs to ready-for-review)
    assert_hours(draft, coding_hours=None, pickup_hours=None, review_hours=None, cycle_hours=None)
    assert draft["review_count"] == 0

    ghost = pull_request(warehouse, "hoco/api", 5)
    assert ghost["author_login"] is None and ghost["author_developer_id"] is None
    assert ghost["review_count"] == 1  # nobody can be the ghost author's own reviewer
    assert_hours(ghost, coding_hours=2.0, pickup_hours=2.0, review_hours=None, cycle_hours=None)

    web = pull_request(warehouse, "hoco/web", 1)  # no commits landed: stages from commits are null, not 0
    assert web["first_commit_at"] is None
    assert_hours(web, coding_hours=None, pickup_hours=8.0, review_hours=16.0, cycle_hours=None, lead_time_hours=None)
    assert web["deployment_link_reason"] == "no_deployment_history"
    assert web["pull_request_id"] != pr_id("hoco/api", 1)


def test_pull_request_merged_before_baseline_is_not_linked(warehouse: DbtRun) -> None:
    row = pull_request(warehouse, "hoco/api", 1)
    assert row["first_deployed_at"] is None
    assert row["first_deployment_id"] is None
    assert row["deployment_link_reason"] == "before_deployment_history"


def test_ai_assisted_by_adoption_or_trailer(warehouse: DbtRun) -> None:
    flags = {
        (row["repository_full_name"], row["number"]): (row["is_ai_assisted"], row["has_claude_coauthor_trailer"])
        for row in rows(warehouse, "select repository_full_name, number, is_ai_assisted, has_claude_coauthor_trailer "
                                   "from marts.fct_pull_requests")
    }
    assert flags == {
        ("hoco/api", 1): (False, False),  # alice before her adoption week
        ("hoco/api", 2): (True, True),  # bob never adopted, but a commit has the Claude trailer
        ("hoco/api", 3): (False, False),
        ("hoco/api", 4): (True, False),  # alice, week of 2024-03-18 >= adoption 2024-03-11
        ("hoco/api", 5): (False, False),  # ghost
        ("hoco/web", 1): (False, False),
    }


# --- reviews ---------------------------------------------------------------------------------------


def test_reviews_keep_submitted_ones_and_mark_the_author(warehouse: DbtRun) -> None:
    found = {row["source_id"]: row for row in rows(warehouse, "select * from marts.fct_reviews")}
    assert sorted(found) == [5001, 5002, 5003, 5004, 5006, 5007, 6001]  # pending 5005 left out
    assert found[5001]["is_author_review"] is True
    assert found[5004]["reviewer_developer_id"] == CAROL
    assert found[5006]["is_before_pull_request_created"] is True
    assert found[5001]["pull_request_id"] == pr_id("hoco/api", 1)


# --- deployments -----------------------------------------------------------------------------------


def test_deployments_status_baseline_and_change_count(warehouse: DbtRun) -> None:
    found = {row["source_id"]: row for row in rows(warehouse, "select * from marts.fct_deployments")}
    expected = {
        # id: (status, deployed_at, is_production, is_successful, is_failed_attempt, is_baseline, change_count)
        100: ("inactive", ts(6, 12), True, True, False, True, None),
        101: ("success", ts(13, 12), True, True, False, False, 1),
        102: ("failure", None, True, False, True, False, None),
        103: ("success", ts(12, 17, 30), False, True, False, False, None),
        104: ("success", ts(19, 12, 30), False, True, False, False, None),
        105: ("inactive", ts(21, 10), True, True, False, False, 0),
        106: ("success", ts(21, 14), True, True, False, False, 0),
        200: (None, None, False, False, False, False, None),  # acme/api, no status landed
    }
    actual = {
        source_id: (row["status"], row["deployed_at"], row["is_production"], row["is_successful"],
                    row["is_failed_attempt"], row["is_baseline"], row["change_count"])
        for source_id, row in found.items()
    }
    assert actual == expected
    assert found[101]["deployment_id"] == md5("github:101")
    assert found[101]["repository_id"] == md5("hoco/api")


# --- incidents, change failures and time to restore -------------------------------------------------


def dep(source_id: int) -> str:
    return md5(f"github:{source_id}")


def test_incidents_from_every_source_with_their_links(warehouse: DbtRun) -> None:
    found = {(row["source"], row["source_id"]): row for row in rows(warehouse, "select * from marts.fct_incidents")}
    expected = {
        # (source, source_id): (repository, severity, created_at, resolved_at, restore_hours, deployment, link_rule)
        # PD1 merged with two later-landed reports of the same outage (tests/dbt/test_incident_duplicates.py):
        # the earliest report's start (G3, 19:45), the latest resolution (OPS-2, 03-14 01:00)
        ("pagerduty", "PD1"): ("hoco/api", "P1", ts(13, 19, 45), ts(14, 1), 5.25, dep(101), "window"),
        ("pagerduty", "PD2"): ("hoco/web", "high", ts(26, 10), ts(26, 10, 45), 0.75, None, "no_deployment"),
        ("pagerduty", "PD3"): (None, "P3", ts(22, 8), None, None, None, "no_repository"),
        ("github", "7001"): ("hoco/api", "sev2", ts(21, 15), ts(22, 15), 24.0, dep(101), "explicit"),
        ("github", "7002"): ("hoco/api", None, ts(25, 9), None, None, None, "no_deployment"),  # 91 h > 24 h
        # Jira's 12:30+01:00 is 11:30 UTC: 1.5 h after 105 succeeded
        ("jira", "20001"): ("hoco/api", "Highest", ts(21, 11, 30), ts(21, 13), 1.5, dep(105), "window"),
        # near PD2 in time, but another repository / outside the duplicate window: incidents of their own
        ("github", "7004"): ("hoco/api", None, ts(26, 10, 10), None, None, None, "no_deployment"),
        ("jira", "20003"): ("hoco/web", "High", ts(26, 11, 30), ts(26, 12), 0.5, None, "no_deployment"),
    }
    actual = {
        key: (row["repository_full_name"], row["severity"], row["created_at"], row["resolved_at"], row["restore_hours"],
              row["caused_by_deployment_id"], row["link_rule"])
        for key, row in found.items()
    }
    assert actual == expected
    assert found[("pagerduty", "PD1")]["incident_id"] == md5("pagerduty:PD1")
    assert found[("pagerduty", "PD1")]["service"] == "api-gateway"  # via pagerduty.service_repositories
    assert found[("jira", "20001")]["source_key"] == "OPS-1" and found[("github", "7001")]["source_key"] == "50"
    assert found[("pagerduty", "PD1")]["repository_id"] == md5("hoco/api")


def test_change_failures_are_incidents_or_rollbacks(warehouse: DbtRun) -> None:
    found = {row["source_id"]: row for row in rows(warehouse, "select * from marts.fct_deployments where is_production")}
    actual = {source_id: (row["is_failure"], row["is_rolled_back"], row["caused_incident_id"], row["incident_count"])
              for source_id, row in found.items()}
    assert actual == {
        100: (False, False, None, 0),
        101: (True, False, md5("pagerduty:PD1"), 2),  # PD1 by the window, the GitHub issue explicitly
        102: (False, False, None, 0),  # a failed attempt is not a change failure
        105: (True, True, md5("jira:20001"), 1),  # rolled back by 106 (back to m2) and blamed for OPS-1
        106: (False, False, None, 0),  # a rollback is not itself a failure; 7002 came after the window
    }
    assert found[105]["rolled_back_by_deployment_id"] == dep(106)
    assert found[105]["rolled_back_at"] == ts(21, 14)


def test_dora_weekly_cfr_and_mttr_with_bands(warehouse: DbtRun) -> None:
    found = {(row["team_id"], row["week_start"]): row for row in rows(warehouse, "select * from marts.mart_dora_weekly")}

    def week(team: str, day: int) -> tuple:
        row = found[(team, dt.date(2024, 3, day))]
        return (row["deployments"], row["failed_deployments"], row["cfr_denominator"], row["cfr"], row["cfr_band"],
                row["incidents"], row["resolved_incidents"], row["mttr_p50_hours"], row["mttr_band"],
                row["failed_deployment_attempts"])

    assert week("platform", 4) == (1, 0, 1, 0.0, "elite", 0, 0, None, None, 0)
    assert week("platform", 11) == (1, 1, 1, 1.0, "low", 1, 1, 5.25, "high", 0)  # PD1 merged with its duplicates
    # 105 and 106; 105 failed. Incidents OPS-1 (1.5 h) and the GitHub issue (24 h): median 12.75 h
    assert week("platform", 18) == (2, 1, 2, 0.5, "low", 2, 2, 12.75, "high", 1)
    assert week("platform", 25) == (0, 0, 0, None, None, 2, 0, None, None, 0)  # open incidents: no MTTR
    assert week("payments", 25) == (0, 0, 0, None, None, 2, 2, 0.625, "elite", 0)  # PD2 and OPS-3 on hoco/web
    assert sum(row["incidents"] for row in found.values()) == 7  # PD3 has no repository, hence no team


def test_incident_window_off_gives_devlakes_rule(built: DbtRun) -> None:
    assert built.result.returncode == 0
    result = built.run("run", "--select", "int_incident_deployment_links", "--vars", "{incident_link_window_hours: 'off'}")
    assert result.returncode == 0, result.stdout[-3000:]
    try:
        links = {row["incident_id"]: (row["caused_by_deployment_id"], row["link_rule"], row["link_window_hours"])
                 for row in rows(built, "select * from intermediate.int_incident_deployment_links")}
    finally:  # the view is shared by the session's other tests: put the default window back
        restored = built.run("run", "--select", "int_incident_deployment_links")
        assert restored.returncode == 0, restored.stdout[-3000:]
    assert links[md5("github:7002")] == (dep(106), "latest_before", None)  # 91 h before: no window now
    assert links[md5("pagerduty:PD1")] == (dep(101), "latest_before", None)
    assert links[md5("github:7001")] == (dep(101), "explicit", None)
    assert links[md5("pagerduty:PD2")] == (None, "no_deployment", None)


# --- Jira issues -----------------------------------------------------------------------------------


def test_jira_issue_times_from_the_changelog_in_utc(warehouse: DbtRun) -> None:
    found = {row["key"]: row for row in rows(warehouse, "select * from marts.fct_issues")}
    plat1 = found["PLAT-1"]  # created 09:00+01:00, started 03-05 10:00+01:00, resolved 03-07 17:30+01:00
    assert (plat1["created_at"], plat1["started_at"], plat1["resolved_at"]) == (ts(4, 8), ts(5, 9), ts(7, 16, 30))
    assert_hours(plat1, lead_hours=80.5, cycle_hours=55.5)
    assert plat1["assignee_developer_id"] == ALICE and plat1["resolved_from"] == "resolution_date"
    plat2 = found["PLAT-2"]  # reopened; no resolution date: the last move into Done
    assert (plat2["started_at"], plat2["resolved_at"], plat2["resolved_from"]) == (ts(11, 10), ts(14, 15), "done_transition")
    assert_hours(plat2, lead_hours=78.0, cycle_hours=77.0)
    assert plat2["assignee_developer_id"] == BOB  # account unknown to the mapping, e-mail known
    plat3 = found["PLAT-3"]
    assert plat3["resolved_at"] is None and plat3["assignee_developer_id"] is None
    assert_hours(plat3, lead_hours=None, cycle_hours=None)
    plat4 = found["PLAT-4"]  # resolved before created: nulled and flagged
    assert plat4["has_negative_duration"] is True and plat4["lead_hours"] is None
    assert [found[key]["has_negative_duration"] for key in ("PLAT-1", "PLAT-2", "PLAT-3")] == [False] * 3
    assert found["OPS-1"]["is_incident"] is True and found["OPS-1"]["type"] == "Incident"
    assert_hours(found["OPS-1"], lead_hours=1.5, cycle_hours=1.25)


# --- identities ------------------------------------------------------------------------------------


def test_identities_cover_noreply_forms_and_jira_accounts(warehouse: DbtRun) -> None:
    learned = {(row["identity_type"], row["identity_value"]): (row["developer_id"], row["identity_source"])
               for row in rows(warehouse, "select * from intermediate.int_developer_identities "
                                          "where identity_source <> 'team_mapping'")}
    assert learned == {
        ("email", "bob.baker@users.noreply.github.com"): (BOB, "github_commit"),
        ("email", "12345+alice@users.noreply.github.com"): (ALICE, "github_noreply"),  # no login on the commit
        ("email", "carol-c@users.noreply.github.com"): (CAROL, "github_noreply"),
        ("jira_account_id", "acc-bob-77"): (BOB, "jira_email"),
    }


def test_unmatched_identities_are_listed_with_their_share(warehouse: DbtRun) -> None:
    found = {(row["identity_kind"], row["identity_value"]): row
             for row in rows(warehouse, "select * from marts.mart_unmatched_identities")}
    shares = {key: (row["records"], row["kind_records"]) for key, row in found.items()}
    assert shares == {
        ("anthropic_user", "contractor@external.dev"): (1, 12),
        ("anthropic_api_key", "ci-bot-key"): (1, 1),
        ("commit_email", "gone@example.com"): (1, 8),
        ("jira_account", "jira-zed"): (1, 4),
        ("transcript_folder", "stranger"): (1, 9),
    }
    assert abs(found[("commit_email", "gone@example.com")]["share_of_records"] - 0.125) < TOLERANCE
    contractor = found[("anthropic_user", "contractor@external.dev")]
    assert abs(contractor["cost_usd"] - 2.0) < TOLERANCE
    assert abs(contractor["share_of_cost"] - 2.0 / (0.5 + 4.75 + 0.5 * 3 + 0.25 * 5 + 0.1 + 2.0)) < TOLERANCE
    stranger = found[("transcript_folder", "stranger")]
    assert abs(stranger["cost_usd"] - STRANGER_COST) < TOLERANCE
    assert abs(stranger["share_of_cost"] - STRANGER_COST / (2.23 + STRANGER_COST)) < TOLERANCE


# --- AI cost efficiency ----------------------------------------------------------------------------

# claude-sonnet-4-5 priced by the seed's claude-sonnet-4 row: 10 input x 3 + 1000 output x 15
# + 20 cache writes (5m) x 3.75 + 300 cache reads x 0.30, per million
STRANGER_COST = (10 * 3.0 + 1000 * 15.0 + 20 * 3.75 + 300 * 0.30) / 1e6


def test_transcript_line_without_cost_is_priced_from_the_seed(warehouse: DbtRun) -> None:
    (line,) = rows(warehouse, "select cost_usd, cost_source from intermediate.int_ai_session_lines "
                              "where session_id = 's-stranger'")
    assert line["cost_source"] == "pricing_seed" and abs(line["cost_usd"] - STRANGER_COST) < TOLERANCE


def test_ai_cost_efficiency_takes_one_source_per_developer_day(warehouse: DbtRun) -> None:
    found = {(row["team_id"], row["week_start"]): row for row in rows(warehouse, "select * from marts.mart_ai_cost_efficiency")}
    week_11 = found[("platform", dt.date(2024, 3, 11))]
    # alice 03-12 (1.5 + 3.25) and 03-14 (0.5), bob 03-13 (0.25); bob's PR 2 merged 03-12; no commits
    assert_hours(week_11, cost_usd=5.5, cost_per_merged_pr=5.5, cost_per_commit=None,
                 input_output_ratio=(1700 + 5700 + 430) / 3200, cache_hit_rate=5700 / 7830, acceptance_rate=40 / 45)
    assert (week_11["merged_prs"], week_11["commits"], week_11["ai_developers"]) == (1, 0, 2)
    week_18 = found[("platform", dt.date(2024, 3, 18))]  # alice's c4a and her noreply commit c5b
    assert_hours(week_18, cost_usd=1.5, cost_per_commit=0.75, cost_per_merged_pr=None)
    # week 03-25 rests on transcripts only: alice 0.55 + 0.27, bob 1.01; no edit decisions there
    week_25 = found[("platform", dt.date(2024, 3, 25))]
    assert_hours(week_25, cost_usd=1.83, cost_usd_transcripts=1.83, cost_usd_anthropic_api=0.0, acceptance_rate=None)
    # carol on 03-19: the Admin API has the day (0.10), so her transcript line (0.40) is not added
    payments = found[("payments", dt.date(2024, 3, 18))]
    assert_hours(payments, cost_usd=0.1, cost_usd_transcripts=0.0, cost_per_merged_pr=0.1, cost_per_commit=0.1)
    (days,) = rows(warehouse, "select count(*) as n from intermediate.int_ai_usage_developer_days "
                              "where source = 'transcripts'")
    assert days["n"] == 3  # alice 03-25, alice 03-26, bob 03-26


# --- dimensions ------------------------------------------------------------------------------------


def test_dimensions(warehouse: DbtRun) -> None:
    teams = {row["team_id"]: (row["team_name"], row["parent_team_id"]) for row in rows(warehouse, "select * from marts.dim_team")}
    assert teams == {"eng": ("Engineering", None), "platform": ("Platform", "eng"), "payments": ("Payments", "eng")}

    developers = {row["developer_id"]: row for row in rows(warehouse, "select * from marts.dim_developer")}
    assert set(developers) == {ALICE, BOB, CAROL, DAVE}
    assert developers[CAROL]["email"] == "carol@hoco.io" and developers[CAROL]["github_login"] == "Carol-C"
    assert developers[ALICE]["ai_adopted_at"] == dt.date(2024, 3, 11)
    assert developers[BOB]["ai_adopted_at"] is None  # sustained weeks 03-04 and 03-18 are not consecutive
    assert developers[CAROL]["ai_adopted_at"] is None
    assert developers[DAVE]["ai_adopted_at"] is None

    repositories = {row["full_name"]: row for row in rows(warehouse, "select * from marts.dim_repository")}
    assert {name: (row["repository_id"], row["team_id"]) for name, row in repositories.items()} == {
        "hoco/api": (md5("hoco/api"), "platform"),  # alice 2 + bob 1 vs carol 1
        "hoco/web": (md5("hoco/web"), "payments"),
        "acme/api": (md5("acme/api"), None),  # deployments only: no PR author to own it
    }

    (calendar,) = rows(warehouse, "select min(date_day) as first, max(date_day) as last, count(*) as days, "
                                  "count(distinct week_start) as weeks from marts.dim_date")
    assert calendar == {"first": dt.date(2024, 3, 1), "last": dt.date(2024, 3, 26), "days": 26, "weeks": 5}
    (friday,) = rows(warehouse, "select * from marts.dim_date where date_day = date '2024-03-01'")
    assert friday["week_start"] == dt.date(2024, 2, 26) and friday["month_start"] == dt.date(2024, 3, 1)


def test_identities_learn_commit_emails(warehouse: DbtRun) -> None:
    found = rows(warehouse, "select developer_id, identity_source from intermediate.int_developer_identities "
                            "where identity_type = 'email' and identity_value = 'bob.baker@users.noreply.github.com'")
    assert found == [{"developer_id": BOB, "identity_source": "github_commit"}]


# --- AI usage --------------------------------------------------------------------------------------


def test_ai_usage_daily_carries_actor_day_metrics_once(warehouse: DbtRun) -> None:
    day = {row["model"]: row for row in rows(warehouse, "select * from marts.fct_ai_usage_daily "
                                                        "where actor_id = 'alice@hoco.io' and date_day = date '2024-03-12'")}
    assert set(day) == {"claude-opus-4", "claude-sonnet-4"}
    opus, sonnet = day["claude-opus-4"], day["claude-sonnet-4"]  # opus costs more: it carries the day
    assert (opus["sessions"], opus["lines_added"], opus["lines_removed"], opus["commits"], opus["pull_requests"],
            opus["edits_accepted"], opus["edits_rejected"]) == (4, 150, 20, 2, 1, 30, 3)
    assert (sonnet["sessions"], sonnet["lines_added"], sonnet["edits_accepted"]) == (0, 0, 0)
    assert (sonnet["input_tokens"], sonnet["output_tokens"], sonnet["cache_read_tokens"],
            sonnet["cache_creation_tokens"]) == (1000, 2000, 5000, 300)
    assert abs(opus["cost_usd"] - 3.25) < TOLERANCE and abs(sonnet["cost_usd"] - 1.5) < TOLERANCE
    assert {row["developer_id"] for row in day.values()} == {ALICE}
    assert {row["source"] for row in day.values()} == {"anthropic_api"}


def test_unmatched_ai_actors_keep_their_rows(warehouse: DbtRun) -> None:
    found = {row["actor_id"]: row for row in rows(
        warehouse, "select actor_id, developer_id, sessions, cost_usd from marts.fct_ai_usage_daily "
                   "where actor_id in ('contractor@external.dev', 'ci-bot-key', 'Carol@HoCo.io')")}
    assert found["contractor@external.dev"]["developer_id"] is None
    assert found["contractor@external.dev"]["sessions"] == 3
    assert abs(found["contractor@external.dev"]["cost_usd"] - 2.0) < TOLERANCE
    assert found["ci-bot-key"]["developer_id"] is None
    assert found["Carol@HoCo.io"]["developer_id"] == CAROL
    (total,) = rows(warehouse, "select sum(cost_usd) as cost, sum(sessions) as sessions from marts.fct_ai_usage_daily")
    assert abs(total["cost"] - (0.5 + 1.5 + 3.25 + 0.5 * 3 + 0.25 * 5 + 0.1 + 2.0 + 0.75)) < TOLERANCE
    assert total["sessions"] == 1 + 4 + 1 + 1 + 2 + 5 + 1 + 3 + 1


# --- the panel -------------------------------------------------------------------------------------


def test_panel_spans_every_developer_and_pull_request_week(warehouse: DbtRun) -> None:
    panel = {(row["developer_id"], row["week_start"]): row for row in rows(warehouse, "select * from marts.mart_ai_impact_panel")}
    weeks = [dt.date(2024, 3, day) for day in (4, 11, 18, 25)]
    assert set(panel) == {(developer, week) for developer in (ALICE, BOB, CAROL, DAVE) for week in weeks}

    alice = [panel[(ALICE, week)] for week in weeks]
    assert [row["is_post_adoption"] for row in alice] == [False, True, True, True]
    assert [row["weeks_since_adoption"] for row in alice] == [-1, 0, 1, 2]
    assert [row["prs_opened"] for row in alice] == [1, 0, 1, 0]
    assert [row["prs_merged"] for row in alice] == [1, 0, 0, 0]
    assert [row["ai_active_days"] for row in alice] == [1, 2, 2, 0]
    for row, cost in zip(alice, [0.5, 5.25, 1.0, 0.0]):
        assert abs(row["ai_cost_usd"] - cost) < TOLERANCE
    assert abs(alice[0]["log_review_hours_mean"] - math.log(26.0)) < TOLERANCE
    assert abs(alice[0]["review_hours_p50"] - 26.0) < TOLERANCE
    assert alice[2]["log_review_hours_mean"] is None  # the draft is not merged
    assert alice[0]["team_id"] == "platform"

    bob_week = panel[(BOB, dt.date(2024, 3, 11))]
    assert bob_week["ai_adopted_at"] is None and bob_week["weeks_since_adoption"] is None
    assert bob_week["is_post_adoption"] is False
    assert abs(bob_week["log_review_hours_mean"] - math.log(25.4875)) < TOLERANCE

    carol = [panel[(CAROL, week)] for week in weeks]
    assert [row["prs_merged"] for row in carol] == [0, 0, 1, 1]
    assert abs(carol[2]["log_review_hours_mean"] - math.log(27.0)) < TOLERANCE
    assert abs(carol[3]["review_hours_p50"] - 16.0) < TOLERANCE
    # medians as logs for the causal step (issue 6), beside the means of logs
    assert abs(alice[0]["log_review_hours_p50"] - math.log(26.0)) < TOLERANCE
    assert abs(carol[3]["log_review_hours_p50"] - math.log(16.0)) < TOLERANCE
    assert alice[2]["log_review_hours_p50"] is None
    # change failure rate per developer-week: the one PR deployment 101 shipped counts in the week it
    # first reached production (101 is a change failure: PD1); no other developer-week shipped a change
    [shipped] = rows(warehouse, f"select author_developer_id, first_deployed_at from marts.fct_pull_requests "
                                f"where first_deployment_id = '{dep(101)}'")
    week = shipped["first_deployed_at"].date() - dt.timedelta(days=shipped["first_deployed_at"].weekday())
    changed = {key: (row["changes_deployed"], row["changes_failed"], row["change_failure_rate"])
               for key, row in panel.items() if row["changes_deployed"]}
    assert changed == {(shipped["author_developer_id"], week): (1, 1, 1.0)}
    assert all(row["change_failure_rate"] is None for key, row in panel.items() if key not in changed)
    assert sum(row["prs_opened"] for row in panel.values()) == 5  # the ghost's PR belongs to nobody


# --- docs ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("target, double_type", [("duckdb", "DOUBLE"), ("postgres", "double precision")])
def test_docs_generate(target: str, double_type: str, request: pytest.FixtureRequest) -> None:
    build: DbtRun = request.getfixturevalue("dbt_build" if target == "duckdb" else "dbt_build_postgres")
    assert build.result.returncode == 0
    result = build.run("docs", "generate")
    assert result.returncode == 0, result.stdout[-4000:]
    catalog = json.loads((build.target_path / "catalog.json").read_text())
    assert "model.impact_warehouse.fct_pull_requests" in catalog["nodes"]
    columns = catalog["nodes"]["model.impact_warehouse.fct_pull_requests"]["columns"]
    assert columns["review_hours"]["type"] == double_type
    # every model has a description, and every column of a mart (what BI users read) has one too
    manifest = json.loads((build.target_path / "manifest.json").read_text())
    undocumented = []
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] not in ("model", "seed"):
            continue
        if not node.get("description"):
            undocumented.append(unique_id)
        if node["config"].get("schema") == "marts" and unique_id in catalog["nodes"]:
            undocumented += [f"{unique_id}.{column}" for column in catalog["nodes"][unique_id]["columns"]
                             if not (node["columns"].get(column.lower()) or {}).get("description")]
    assert not undocumented, undocumented


# --- Claude Code transcripts: sessions and AI cost per pull request --------------------------------


def sessions(warehouse: DbtRun) -> dict[str, dict[str, Any]]:
    return {row["session_id"]: row for row in rows(warehouse, "select * from marts.fct_ai_sessions")}


def test_transcript_dedup_keeps_the_final_snapshot(warehouse: DbtRun) -> None:
    (row,) = rows(warehouse, "select output_tokens, cost_usd from staging.stg_claude_code__transcript_messages "
                             "where dedup_key = 't1|req-t1'")
    assert row["output_tokens"] == 200 and abs(row["cost_usd"] - 0.30) < TOLERANCE


def test_session_totals_and_active_hours(warehouse: DbtRun) -> None:
    login = sessions(warehouse)["s-login"]
    assert login["developer_id"] == ALICE
    assert (login["started_at"], login["ended_at"]) == (ts(25, 16), ts(26, 10))
    # 3 + 2 minutes of work; the overnight gap and the 2 h gap before t5 are idle
    assert_hours(login, active_hours=5 / 60, span_hours=18.0, cost_usd=0.82, sidechain_cost_usd=0.05)
    assert login["models"] == "claude-opus-4,claude-sonnet-4"
    assert (login["input_tokens"], login["output_tokens"], login["cache_read_tokens"],
            login["cache_creation_tokens"]) == (50, 380, 1500, 100)
    assert login["repository_id"] == md5("hoco/web") and login["branch"] == "feature/landing"
    assert login["pull_request_id"] == pr_id("hoco/web", 1)


def test_default_branch_and_ambiguous_checkout_stay_unattributed(warehouse: DbtRun) -> None:
    found = sessions(warehouse)
    main = found["s-main"]
    assert main["developer_id"] == BOB and main["repository_id"] == md5("hoco/web")
    assert main["branch"] == "main" and main["pull_request_id"] is None
    assert_hours(main, active_hours=0.0, cost_usd=1.01)  # a 6-minute gap is idle
    ambiguous = found["s-ambiguous"]  # cwd `api`: hoco/api and acme/api
    assert ambiguous["developer_id"] == CAROL
    assert ambiguous["repository_id"] is None and ambiguous["pull_request_id"] is None


def test_pull_request_ai_columns_sum_its_lines(warehouse: DbtRun) -> None:
    web = pull_request(warehouse, "hoco/web", 1)
    # t1 (final snapshot) + t2 + t3 + t4; t5 is after the merge
    assert (web["ai_sessions"], web["ai_output_tokens"]) == (1, 350)
    assert_hours(web, ai_cost_usd=0.80)
    untouched = pull_request(warehouse, "hoco/api", 3)  # carol's branch, but her checkout is ambiguous
    assert (untouched["ai_sessions"], untouched["ai_output_tokens"]) == (0, 0)
    assert_hours(untouched, ai_cost_usd=0.0)
