"""The AI spend marts on the hand-made landing of conftest.py: developer-day spend, budgets with their
projection, alerts, and claude_code.repo_paths."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.spend.conftest import SpendBuild


def test_developer_day_spend_takes_one_source_per_day(spend_build: SpendBuild) -> None:
    rows = {(r["email"], str(r["date_day"])): (r["cost_usd"], r["source"]) for r in spend_build.rows(
        "select d.email, s.date_day, s.cost_usd, s.source from marts.mart_ai_developer_day_spend s"
        " join marts.dim_developer d using (developer_id)"
    )}
    # ann's $2 transcript session on 04-05 is inside the Admin API's $60 day: not added to it
    assert rows[("ann@hoco.io", "2024-04-05")] == (pytest.approx(60.0), "anthropic_api")
    assert rows[("cat@hoco.io", "2024-04-09")] == (pytest.approx(90 * 0.125), "transcripts")
    assert rows[("cat@hoco.io", "2024-04-10")] == (pytest.approx(150 * 0.125), "transcripts")
    assert len(rows) == 7


def test_budget_projection_arithmetic(spend_build: SpendBuild) -> None:
    rows = {(r["scope_kind"], r["scope"], str(r["month_start"])): r
            for r in spend_build.rows("select * from marts.mart_ai_budget")}
    core = rows[("team", "core", "2024-04-01")]
    assert str(core["as_of_date"]) == "2024-04-10" and core["is_current_month"]
    assert (core["elapsed_days"], core["days_in_month"]) == (10, 30)
    assert core["spend_to_date_usd"] == pytest.approx(75.0)
    assert core["projected_month_usd"] == pytest.approx(75.0 / 10 * 30)
    assert core["budget_usd"] == 200.0 and core["over_budget"]
    apps = rows[("team", "apps", "2024-04-01")]
    assert apps["spend_to_date_usd"] == pytest.approx(50.0) and not apps["over_budget"]
    engineer = rows[("role", "engineer", "2024-04-01")]
    assert engineer["spend_to_date_usd"] == pytest.approx(120.0)
    assert engineer["projected_month_usd"] == pytest.approx(360.0) and not engineer["over_budget"]
    ben = rows[("person", "ben", "2024-04-01")]  # a GitHub login resolves to the person
    assert ben["developer_id"] is not None and ben["projected_month_usd"] == pytest.approx(15.0) and ben["over_budget"]
    # a past month is complete: its projection is its spend, and it raises no alert (see below)
    march = rows[("team", "core", "2024-03-01")]
    assert (march["elapsed_days"], march["days_in_month"]) == (31, 31)
    assert march["projected_month_usd"] == pytest.approx(30.0) and not march["is_current_month"]
    assert len(rows) == 2 * 4  # core, apps, role engineer, person ben x March, April


def test_alerts_fire_for_the_runaway_session_the_expensive_day_and_over_budget_scopes_only(
    spend_build: SpendBuild,
) -> None:
    alerts = spend_build.rows(
        "select a.*, d.email from marts.mart_ai_spend_alerts a left join marts.dim_developer d using (developer_id)"
        " order by kind, period"
    )
    found = {(a["kind"], a["scope"] if a["kind"] == "budget" else a["email"], a["session_id"], a["period"]): (a["cost_usd"], a["threshold_usd"])
             for a in alerts}
    assert found == {
        ("budget", "ben", None, "2024-04"): (pytest.approx(15.0), 10.0),
        ("budget", "core", None, "2024-04"): (pytest.approx(225.0), 200.0),
        ("developer_day", "ann@hoco.io", None, "2024-04-05"): (pytest.approx(60.0), 50.0),
        ("session", "cat@hoco.io", "s-night", "2024-04-09"): (pytest.approx(30.0), 25.0),
    }
    assert len({a["alert_id"] for a in alerts}) == 4
    night = next(a for a in alerts if a["kind"] == "session")
    assert night["period_start"] == dt.datetime(2024, 4, 9, 21) and night["team_id"] == "apps"


def test_repo_paths_tie_a_checkout_the_name_rule_cannot(spend_build: SpendBuild) -> None:
    sessions = spend_build.rows(
        "select s.session_id, r.full_name, p.number, s.cost_usd from marts.fct_ai_sessions s"
        " left join marts.dim_repository r using (repository_id)"
        " left join marts.fct_pull_requests p using (pull_request_id) order by s.session_id"
    )
    night = next(s for s in sessions if s["session_id"] == "s-night")
    assert (night["full_name"], night["number"]) == ("hoco/mobile", 7)
    assert night["cost_usd"] == pytest.approx(30.0)
