"""A small synthetic warehouse (schema ``marts``) with a planted AI effect, for the report tests.

Developers open pull requests every week; review hours are log-normal with a developer effect, a
calendar-week effect and, after the developer adopts AI, a multiplicative change of
``REVIEW_EFFECT`` (exp(-0.2) - 1 = -18%). The panel is aggregated from the PR rows exactly as the mart
defines it, so the report's organisation-wide figures and the estimates rest on the same records.
Hostile strings (a script element, and an attribute break-out with an ``onerror`` image) are planted
in team names, developer names and PR titles. Besides five big teams there are small ones, by default
a team of four with a name found nowhere else (``QUARTET``) and a team of two: the report must never
show them on their own. Deployments are shaped like ``marts.fct_deployments``: failed attempts have a
final status ``failure``, ``is_failure`` set and no ``deployed_at``; there is no incident table unless
a test adds one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REVIEW_EFFECT = -0.2  # log points
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'
HOSTILE_STRINGS = (HOSTILE, HOSTILE_ATTR)
QUARTET = "Zanzibar Quartet"  # a team of 4 people: below the minimum size of 5
TEAM_NAMES = ["Payments", "Search & Discovery", HOSTILE, "Platform", HOSTILE_ATTR]
SMALL_TEAMS = ((QUARTET, 4), ("Tiny B", 2))
START = date(2025, 3, 3)  # a Monday


def build_warehouse(
    path: Path,
    *,
    n_developers: int = 160,
    n_weeks: int = 36,
    adopter_share: float = 0.55,
    review_effect: float = REVIEW_EFFECT,
    seed: int = 7,
    small_teams: Sequence[tuple[str, int]] = SMALL_TEAMS,
) -> Path:
    rng = np.random.default_rng(seed)
    weeks = [START + timedelta(weeks=w) for w in range(n_weeks)]

    # teams: five big ones (~30 people each) and the small ones (the first developers, in order)
    names = TEAM_NAMES + [name for name, _ in small_teams]
    teams = pd.DataFrame(
        {
            "team_id": [f"t{i}" for i in range(len(names))],
            "team_name": names,
            "parent_team_id": [None] * len(names),
        }
    )
    team_of = [f"t{i % len(TEAM_NAMES)}" for i in range(n_developers)]
    first = 0
    for k, (_, size) in enumerate(small_teams):
        for i in range(first, first + size):
            team_of[i] = f"t{len(TEAM_NAMES) + k}"
        first += size
    adopts = rng.random(n_developers) < adopter_share
    adoption_week = np.where(adopts, rng.integers(6, n_weeks - 6, n_developers), -1)
    developers = pd.DataFrame(
        {
            "developer_id": [f"d{i:04d}" for i in range(n_developers)],
            "display_name": [HOSTILE_STRINGS[i] if i < 2 else f"Developer {i}" for i in range(n_developers)],
            "team_id": team_of,
            "github_login": [f"dev{i}" for i in range(n_developers)],
            "email": [f"dev{i}@example.com" for i in range(n_developers)],
            "ai_adopted_at": [weeks[w] if w >= 0 else None for w in adoption_week],
        }
    )

    person = rng.normal(np.log(10.0), 0.5, n_developers)  # typical review hours ~ 10
    calendar = 0.15 * np.sin(np.arange(n_weeks) / 5.0)
    prs = []
    usage = []
    number = 0
    for d in range(n_developers):
        for w, week in enumerate(weeks):
            post = adoption_week[d] >= 0 and w >= adoption_week[d]
            n_prs = rng.poisson(2.0 * (1.15 if post else 1.0))
            for _ in range(n_prs):
                number += 1
                log_review = person[d] + calendar[w] + (review_effect if post else 0.0) + rng.normal(0, 0.7)
                review = float(np.exp(log_review))
                merged = datetime.combine(week, datetime.min.time()) + timedelta(hours=float(rng.uniform(8, 24 * 5)))
                coding = float(rng.gamma(2.0, 6.0))
                prs.append(
                    {
                        "pull_request_id": f"pr{number}",
                        "source_id": str(number),
                        "repository_id": f"r{d % 7}",
                        "number": number,
                        "title": HOSTILE_STRINGS[number - 1] if number <= 2 else f"Change {number}",
                        "author_developer_id": developers.developer_id[d],
                        "created_at": merged - timedelta(hours=review + 2.0),
                        "first_review_at": merged - timedelta(hours=review),
                        "merged_at": merged,
                        "review_hours": review,
                        "coding_hours": coding,
                        "cycle_hours": coding + review + 2.0,
                        "pickup_hours": 2.0,
                        "deploy_hours": None,
                        "lead_time_hours": None,
                        "is_ai_assisted": bool(post),
                        "_week": week,
                    }
                )
            if post:
                for day in range(5):
                    if rng.random() < 0.7:
                        usage.append(
                            {
                                "developer_id": developers.developer_id[d],
                                "date_day": week + timedelta(days=day),
                                "model": "claude-sonnet-4",
                                "source": "admin_api",
                                "cost_usd": float(rng.gamma(2.0, 2.0)),
                                "output_tokens": int(rng.integers(1_000, 50_000)),
                            }
                        )
    prs = pd.DataFrame(prs)
    usage = pd.DataFrame(usage)
    # the same developer-day also reported by transcripts: must not be counted twice
    dup = usage.head(20).assign(source="transcripts", cost_usd=1000.0)
    usage = pd.concat([usage, dup], ignore_index=True)

    prs["_log_review"] = np.log(prs["review_hours"])
    weekly = prs.groupby(["author_developer_id", "_week"]).agg(
        prs_merged=("pull_request_id", "size"),
        log_review_hours_mean=("_log_review", "mean"),
        review_hours_p50=("review_hours", "median"),
    )
    grid = pd.MultiIndex.from_product([developers.developer_id, weeks], names=["author_developer_id", "_week"])
    panel = weekly.reindex(grid).reset_index().rename(columns={"author_developer_id": "developer_id", "_week": "week_start"})
    panel["prs_merged"] = panel["prs_merged"].fillna(0).astype(int)
    panel["prs_opened"] = panel["prs_merged"]
    panel = panel.merge(developers[["developer_id", "team_id", "ai_adopted_at"]], on="developer_id")
    adopted = pd.to_datetime(panel["ai_adopted_at"])
    ws = pd.to_datetime(panel["week_start"])
    panel["is_post_adoption"] = adopted.notna() & (ws >= adopted)
    panel["weeks_since_adoption"] = ((ws - adopted).dt.days // 7).astype("Int64")
    daily = usage[usage.source == "admin_api"].copy()
    day = pd.to_datetime(daily["date_day"])
    daily["week_start"] = (day - pd.to_timedelta(day.dt.day_of_week, unit="D")).dt.date
    spend = daily.groupby(["developer_id", "week_start"], as_index=False).agg(
        ai_cost_usd=("cost_usd", "sum"), ai_active_days=("date_day", "nunique")
    )
    panel = panel.merge(spend, on=["developer_id", "week_start"], how="left")
    panel["ai_cost_usd"] = panel["ai_cost_usd"].fillna(0.0)
    panel["ai_active_days"] = panel["ai_active_days"].fillna(0).astype(int)

    deployments = []
    for w, week in enumerate(weeks):
        for k in range(int(rng.integers(8, 14))):
            status = "success" if rng.random() < 0.92 else "failure"
            created = datetime.combine(week, datetime.min.time()) + timedelta(hours=float(rng.uniform(0, 120)))
            deployments.append(
                {
                    "deployment_id": f"dep{w}_{k}",
                    "repository_id": f"r{k % 7}",
                    "environment": "production",
                    "is_production": True,
                    "created_at": created,
                    "deployed_at": created + timedelta(minutes=5) if status == "success" else None,
                    "status": status,
                    "is_successful": status == "success",
                    "is_failure": status == "failure",
                }
            )
    deployments = pd.DataFrame(deployments)

    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        for name, frame in {
            "dim_team": teams,
            "dim_developer": developers,
            "fct_pull_requests": prs.drop(columns=["_week", "_log_review"]),
            "fct_ai_usage_daily": usage,
            "fct_deployments": deployments,
            "mart_ai_impact_panel": panel[
                ["developer_id", "team_id", "week_start", "ai_adopted_at", "is_post_adoption", "weeks_since_adoption",
                 "prs_opened", "prs_merged", "log_review_hours_mean", "review_hours_p50", "ai_cost_usd", "ai_active_days"]
            ],
        }.items():
            con.register("frame", frame)
            con.execute(f"create table marts.{name} as select * from frame")
            con.unregister("frame")
        for table, column in (("dim_developer", "ai_adopted_at"), ("mart_ai_impact_panel", "ai_adopted_at"),
                              ("mart_ai_impact_panel", "week_start"), ("fct_ai_usage_daily", "date_day")):
            con.execute(f"alter table marts.{table} alter {column} type date")
    finally:
        con.close()
    return path
