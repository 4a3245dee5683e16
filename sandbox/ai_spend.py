"""The answer key of AI spend: developer-day totals, the demo's budgets, and the alerts they must raise.

Spend follows DESIGN section 5: one source per developer-day (the Admin API report where it has the
developer-day, else the transcripts), months are calendar months, and "as of" is the last day with
spend. `demo_budgets` sets one monthly budget per team so that exactly one team (the one projected to
spend the most this month) is over budget and every other one far below it; `expected_alerts` lists
what the warehouse must alert on with DESIGN's default thresholds: the developer-day of the overnight
runaway session (the report's $60-90 day, see `sandbox.claude_usage`), the overnight session itself,
and that team. Pure functions of the organisation and its transcripts, so tests and the demo agree.
"""

from __future__ import annotations

import calendar
import csv
import dataclasses
import datetime as dt
import math
from collections import defaultdict
from pathlib import Path

from sandbox.organisation import Organisation
from sandbox.transcripts import TranscriptWorld

DEVELOPER_DAY_USD = 50.0
SESSION_USD = 25.0


@dataclasses.dataclass(frozen=True)
class TeamMonth:
    team_id: str
    month: str  # YYYY-MM
    as_of: dt.date
    spend_to_date_usd: float
    projected_month_usd: float
    budget_usd: float
    over_budget: bool


@dataclasses.dataclass(frozen=True)
class ExpectedAlert:
    kind: str  # developer_day | session | budget
    email: str | None
    team_id: str
    session_id: str | None
    period: str  # YYYY-MM-DD (developer_day, session start) or YYYY-MM (budget)
    cost_usd: float
    threshold_usd: float


def developer_day_spend(org: Organisation, world: TranscriptWorld) -> dict[tuple[str, dt.date], tuple[float, str]]:
    """(email, UTC day) -> (cost in USD, source): the report's cost where it has the day, else transcripts'."""
    spend: dict[tuple[str, dt.date], tuple[float, str]] = {}
    for day in org.usage:
        spend[(day.email, day.date)] = (sum(m.cost_cents for m in day.models) / 100, "anthropic_api")
    transcripts: dict[tuple[str, dt.date], float] = defaultdict(float)
    for response in world.responses:
        transcripts[(response.email, response.timestamp.date())] += response.cost_usd
    for key, cost in transcripts.items():
        spend.setdefault(key, (cost, "transcripts"))
    return spend


def _team_of(org: Organisation) -> dict[str, str]:
    return {developer.email: developer.team_id for developer in org.developers}


def current_month_projection(org: Organisation, world: TranscriptWorld) -> tuple[dt.date, dict[str, tuple[float, float]]]:
    """The as-of day and, per team, (spend to date, projected month) for the month of that day."""
    spend = developer_day_spend(org, world)
    as_of = max(day for _, day in spend)
    team_of = _team_of(org)
    days_in_month = calendar.monthrange(as_of.year, as_of.month)[1]
    totals: dict[str, float] = {team.team_id: 0.0 for team in org.teams}
    for (email, day), (cost, _) in spend.items():
        if (day.year, day.month) == (as_of.year, as_of.month) and email in team_of:
            totals[team_of[email]] = totals.get(team_of[email], 0.0) + cost
    return as_of, {team: (total, total / as_of.day * days_in_month) for team, total in totals.items()}


def demo_budgets(org: Organisation, world: TranscriptWorld) -> dict[str, float]:
    """Monthly budget per team: 80% of its projection (rounded down to $50) for the team projected to
    spend the most this month, 150% (rounded up to $100, at least $100) for every other team."""
    _, projection = current_month_projection(org, world)
    over = max(sorted(projection), key=lambda team: projection[team][1])
    return {
        team: float(math.floor(projected * 0.8 / 50) * 50) if team == over
        else float(max(100, math.ceil(projected * 1.5 / 100) * 100))
        for team, (_, projected) in sorted(projection.items())
    }


def budget_truth(org: Organisation, world: TranscriptWorld, budgets: dict[str, float]) -> list[TeamMonth]:
    as_of, projection = current_month_projection(org, world)
    return [
        TeamMonth(team, f"{as_of:%Y-%m}", as_of, spent, projected, budgets[team], projected > budgets[team])
        for team, (spent, projected) in sorted(projection.items())
        if team in budgets
    ]


def expected_alerts(org: Organisation, world: TranscriptWorld, budgets: dict[str, float]) -> list[ExpectedAlert]:
    """Every alert the warehouse must raise with the default thresholds and these budgets, and no other."""
    team_of = _team_of(org)
    alerts = [
        ExpectedAlert("developer_day", email, team_of[email], None, day.isoformat(), cost, DEVELOPER_DAY_USD)
        for (email, day), (cost, _) in sorted(developer_day_spend(org, world).items())
        if cost > DEVELOPER_DAY_USD
    ]
    sessions: dict[str, list] = {}
    for response in world.responses:
        entry = sessions.setdefault(response.session_id, [response.email, response.timestamp, 0.0])
        entry[1] = min(entry[1], response.timestamp)
        entry[2] += response.cost_usd
    alerts += [
        ExpectedAlert("session", email, team_of[email], session_id, started.date().isoformat(), cost, SESSION_USD)
        for session_id, (email, started, cost) in sorted(sessions.items())
        if cost > SESSION_USD
    ]
    alerts += [
        ExpectedAlert("budget", None, month.team_id, None, month.month, month.projected_month_usd, month.budget_usd)
        for month in budget_truth(org, world, budgets)
        if month.over_budget
    ]
    return alerts


def write_spend_truth(org: Organisation, world: TranscriptWorld, folder: str | Path, budgets: dict[str, float]) -> Path:
    """`ai_budget.csv` (each budgeted team in the month of the as-of day) and `ai_spend_alerts.csv`."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "ai_budget.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["team_id", "month", "as_of", "budget_usd", "spend_to_date_usd", "projected_month_usd",
                         "over_budget"])
        for month in budget_truth(org, world, budgets):
            writer.writerow([month.team_id, month.month, month.as_of.isoformat(), f"{month.budget_usd:.2f}",
                             f"{month.spend_to_date_usd:.6f}", f"{month.projected_month_usd:.6f}", month.over_budget])
    with (folder / "ai_spend_alerts.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["kind", "email", "team_id", "session_id", "period", "cost_usd", "threshold_usd"])
        for alert in expected_alerts(org, world, budgets):
            writer.writerow([alert.kind, alert.email or "", alert.team_id, alert.session_id or "", alert.period,
                             f"{alert.cost_usd:.6f}", f"{alert.threshold_usd:.2f}"])
    return folder
