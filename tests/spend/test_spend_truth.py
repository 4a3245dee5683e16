"""The sandbox's AI spend answer key on `small`: the overnight runaway session, its $60-90 report day,
and demo budgets with exactly one team over (projected)."""

from __future__ import annotations

import csv
import json

import pytest

from sandbox.ai_spend import budget_truth, demo_budgets, developer_day_spend, expected_alerts, write_spend_truth
from sandbox.claude_usage import RUNAWAY_DAY_USD, overnight_days
from sandbox.organisation import Organisation
from sandbox.transcripts import TranscriptWorld, generate_transcripts


@pytest.fixture(scope="module")
def world(small_org: Organisation) -> TranscriptWorld:
    return generate_transcripts(small_org)


def test_the_overnight_day_is_the_one_expensive_report_day(small_org: Organisation, world: TranscriptWorld) -> None:
    [(email, day)] = overnight_days(small_org.usage, small_org.seed, len(small_org.developers))
    overnight_session = json.loads(world.files[world.quirks["overnight"][0]][-1])
    report_costs = {(d.email, d.date): sum(m.cost_cents for m in d.models) / 100 for d in small_org.usage}
    assert RUNAWAY_DAY_USD[0] <= report_costs[(email, day)] <= RUNAWAY_DAY_USD[1]
    assert [key for key, cost in report_costs.items() if cost > 50] == [(email, day)]
    session_days = {r.timestamp.date() for r in world.responses if r.session_id == overnight_session["sessionId"]}
    assert min(session_days) == day and len(session_days) == 2  # it ran past midnight


def test_expected_alerts_are_the_runaway_day_the_overnight_session_and_one_team(
    small_org: Organisation, world: TranscriptWorld,
) -> None:
    budgets = demo_budgets(small_org, world)
    alerts = expected_alerts(small_org, world, budgets)
    assert [a.kind for a in alerts] == ["developer_day", "session", "budget"]
    day, session, budget = alerts
    [(email, date)] = overnight_days(small_org.usage, small_org.seed, len(small_org.developers))
    assert (day.email, day.period) == (email, date.isoformat()) and day.cost_usd > 50
    overnight_session = json.loads(world.files[world.quirks["overnight"][0]][-1])["sessionId"]
    assert session.session_id == overnight_session and session.cost_usd > 25 and session.email == email
    over = [month for month in budget_truth(small_org, world, budgets) if month.over_budget]
    assert [m.team_id for m in over] == [budget.team_id]
    assert budget.cost_usd == pytest.approx(over[0].spend_to_date_usd / over[0].as_of.day * 31)


def test_spend_truth_files(small_org: Organisation, world: TranscriptWorld, tmp_path) -> None:
    budgets = demo_budgets(small_org, world)
    write_spend_truth(small_org, world, tmp_path, budgets)
    with (tmp_path / "ai_spend_alerts.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [r["kind"] for r in rows] == ["developer_day", "session", "budget"]
    with (tmp_path / "ai_budget.csv").open() as handle:
        months = list(csv.DictReader(handle))
    assert sum(m["over_budget"] == "True" for m in months) == 1 and len(months) == len(budgets)
    # one source per developer-day: every transcript day of `small` is a report day, so no transcript source
    assert {source for _, source in developer_day_spend(small_org, world).values()} == {"anthropic_api"}
