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
a test adds one. The panel also carries the log of the developer-week median review time and a change
failure rate: each PR fails with probability 8%, ``CFR_EFFECT`` more (+6 percentage points) once its
author adopted AI (drawn from a generator of its own, so the other columns do not depend on it).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REVIEW_EFFECT = -0.2  # log points
CFR_EFFECT = 0.06  # change failure rate: +6 percentage points after adoption
HOSTILE = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'
HOSTILE_STRINGS = (HOSTILE, HOSTILE_ATTR)
QUARTET = "Zanzibar Quartet"  # a team of 4 people: below the minimum size of 5
TEAM_NAMES = ["Payments", "Search & Discovery", HOSTILE, "Platform", HOSTILE_ATTR]
SMALL_TEAMS = ((QUARTET, 4), ("Tiny B", 2))
START = date(2025, 3, 3)  # a Monday
#: models of the usage rows: mostly Sonnet, some days also Opus (priced per million tokens as in
#: connectors/data/model_pricing.csv: input, output, cache write 5 min, cache read)
MODELS = ("claude-sonnet-4-5", "claude-opus-4-1")
PRICES = {"claude-sonnet-4-5": (3.0, 15.0, 3.75, 0.30), "claude-opus-4-1": (15.0, 75.0, 18.75, 1.50)}
#: the sessions above the session alert threshold (USD) and the biggest one's cost
SESSION_ALERT_USD = 25.0
TOP_SESSION_USD = 412.5


def list_cost(model: str, tokens: dict) -> float:
    """Cost in USD of ``tokens`` at the model's list prices."""
    p_in, p_out, p_write, p_read = PRICES[model]
    return (
        tokens["input_tokens"] * p_in + tokens["output_tokens"] * p_out
        + tokens["cache_creation_tokens"] * p_write + tokens["cache_read_tokens"] * p_read
    ) / 1e6


def build_warehouse(
    path: Path,
    *,
    n_developers: int = 160,
    n_weeks: int = 36,
    adopter_share: float = 0.55,
    review_effect: float = REVIEW_EFFECT,
    seed: int = 7,
    small_teams: Sequence[tuple[str, int]] = SMALL_TEAMS,
    with_incidents: bool = True,
) -> Path:
    rng = np.random.default_rng(seed)
    aux = np.random.default_rng(seed + 1)  # for everything beyond the estimation panel
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
                pickup = float(aux.gamma(2.0, 1.5))
                deploy = 3.0 + number % 40
                prs.append(
                    {
                        "pull_request_id": f"pr{number}",
                        "source_id": str(number),
                        "repository_id": f"r{d % 7}",
                        "number": number,
                        "title": HOSTILE_STRINGS[number - 1] if number <= 2 else f"Change {number}",
                        "author_developer_id": developers.developer_id[d],
                        "created_at": merged - timedelta(hours=review + pickup),
                        "first_review_at": merged - timedelta(hours=review),
                        "merged_at": merged,
                        "review_hours": review,
                        "coding_hours": coding,
                        "cycle_hours": coding + pickup + review,
                        "pickup_hours": pickup,
                        "first_deployed_at": merged + timedelta(hours=deploy),
                        "deploy_hours": deploy,
                        "lead_time_hours": coding + pickup + review + deploy,
                        "is_ai_assisted": bool(post),
                        # AI cost attributed from transcripts: some assisted PRs, never the others
                        "ai_cost_usd": float(aux.gamma(2.0, 4.0)) if post and aux.random() < 0.6 else 0.0,
                        "head_branch": f"feature/{number}",
                        "_week": week,
                    }
                )
            if post:
                for day in range(5):
                    if rng.random() < 0.7:
                        for model in MODELS if rng.random() < 0.3 else MODELS[:1]:
                            output = int(rng.integers(1_000, 50_000)) // (3 if model != MODELS[0] else 1)
                            tokens = {
                                "input_tokens": output * 2,
                                "output_tokens": output,
                                "cache_read_tokens": output * 20,
                                "cache_creation_tokens": output * 3,
                            }
                            usage.append(
                                {
                                    "developer_id": developers.developer_id[d],
                                    "date_day": week + timedelta(days=day),
                                    "model": model,
                                    "source": "anthropic_api",
                                    "cost_usd": list_cost(model, tokens),
                                    **tokens,
                                    "sessions": 2,
                                    "commits": int(rng.integers(0, 4)),
                                    "edits_accepted": int(rng.integers(5, 40)),
                                    "edits_rejected": int(rng.integers(0, 10)),
                                }
                            )
    prs = pd.DataFrame(prs)
    usage = pd.DataFrame(usage)
    # the same developer-day also reported by transcripts: must not be counted twice
    dup = usage.head(20).assign(source="transcripts", cost_usd=1000.0)
    usage = pd.concat([usage, dup], ignore_index=True)

    prs["_log_review"] = np.log(prs["review_hours"])
    prs["_log_pickup"] = np.log(prs["pickup_hours"])
    prs["_log_lead"] = np.log(prs["lead_time_hours"])
    cfr_rng = np.random.default_rng(seed + 2)
    prs["_failed"] = (cfr_rng.random(len(prs)) < 0.08 + CFR_EFFECT * prs["is_ai_assisted"]).astype(int)
    weekly = prs.groupby(["author_developer_id", "_week"]).agg(
        prs_merged=("pull_request_id", "size"),
        log_review_hours_mean=("_log_review", "mean"),
        log_pickup_hours_mean=("_log_pickup", "mean"),
        log_lead_time_hours_mean=("_log_lead", "mean"),
        review_hours_p50=("review_hours", "median"),
        changes_deployed=("pull_request_id", "size"),
        changes_failed=("_failed", "sum"),
    )
    weekly["log_review_hours_p50"] = np.log(weekly["review_hours_p50"])
    weekly["change_failure_rate"] = weekly["changes_failed"] / weekly["changes_deployed"]
    grid = pd.MultiIndex.from_product([developers.developer_id, weeks], names=["author_developer_id", "_week"])
    panel = weekly.reindex(grid).reset_index().rename(columns={"author_developer_id": "developer_id", "_week": "week_start"})
    panel["prs_merged"] = panel["prs_merged"].fillna(0).astype(int)
    panel["prs_opened"] = panel["prs_merged"]
    for column in ("changes_deployed", "changes_failed"):
        panel[column] = panel[column].fillna(0).astype(int)
    panel = panel.merge(developers[["developer_id", "team_id", "ai_adopted_at"]], on="developer_id")
    adopted = pd.to_datetime(panel["ai_adopted_at"])
    ws = pd.to_datetime(panel["week_start"])
    panel["is_post_adoption"] = adopted.notna() & (ws >= adopted)
    panel["weeks_since_adoption"] = ((ws - adopted).dt.days // 7).astype("Int64")
    daily = usage[usage.source == "anthropic_api"].copy()
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
            "fct_pull_requests": prs.drop(columns=["_week", "_log_review", "_log_pickup", "_log_lead", "_failed"]),
            "fct_ai_usage_daily": usage,
            "fct_deployments": deployments,
            "mart_ai_impact_panel": panel[
                ["developer_id", "team_id", "week_start", "ai_adopted_at", "is_post_adoption", "weeks_since_adoption",
                 "prs_opened", "prs_merged", "log_review_hours_mean", "review_hours_p50", "log_pickup_hours_mean",
                 "log_lead_time_hours_mean", "log_review_hours_p50", "changes_deployed", "changes_failed",
                 "change_failure_rate", "ai_cost_usd", "ai_active_days"]
            ],
        }.items():
            con.register("frame", frame)
            con.execute(f"create table marts.{name} as select * from frame")
            con.unregister("frame")
        add_operations(con, aux, weeks, small_teams=len(small_teams), with_incidents=with_incidents)
        for table, column in (("dim_developer", "ai_adopted_at"), ("mart_ai_impact_panel", "ai_adopted_at"),
                              ("mart_ai_impact_panel", "week_start"), ("fct_ai_usage_daily", "date_day")):
            con.execute(f"alter table marts.{table} alter {column} type date")
    finally:
        con.close()
    return path


def add_operations(
    con: duckdb.DuckDBPyConnection, rng: np.random.Generator, weeks: list[date], *, small_teams: int, with_incidents: bool
) -> None:
    """The delivery and spend marts the report shows beside the estimates, derived from the rows above.

    Repositories r0..r6 belong to teams t0..t6 (r5 to the team of four), so the team of four has
    deployments, incidents, spend, a budget and alerts of its own that must never be shown alone.
    Deployments ship merged PRs a few hours later; incidents follow about one successful deployment in
    twelve. ``mart_dora_weekly``, ``mart_ai_cost_efficiency``, ``mart_ai_budget`` and
    ``mart_ai_spend_alerts`` are aggregated from these rows as their dbt models define them.
    """
    n_teams = len(TEAM_NAMES) + small_teams
    repos = pd.DataFrame(
        {"repository_id": [f"r{k}" for k in range(7)], "full_name": [f"acme/repo-{k}" for k in range(7)],
         "team_id": [f"t{k % n_teams}" for k in range(7)]}
    )
    con.register("frame", repos)
    con.execute("create table marts.dim_repository as select * from frame")
    con.unregister("frame")
    deployments = con.execute(
        "select deployment_id, repository_id, deployed_at from marts.fct_deployments where status = 'success' order by deployment_id"
    ).df()
    if with_incidents:
        incidents = []
        for row in deployments.itertuples():
            if rng.random() < 1 / 12:
                created = row.deployed_at + timedelta(hours=float(rng.uniform(0.5, 6)))
                restore = float(rng.gamma(1.5, 3.0))
                incidents.append({"incident_id": f"inc{len(incidents)}", "source": "pagerduty", "source_id": f"P{len(incidents)}",
                                  "repository_id": row.repository_id, "title": f"Checkout errors {len(incidents)}",
                                  "created_at": created, "resolved_at": created + timedelta(hours=restore),
                                  "restore_hours": restore, "severity": "P2", "caused_by_deployment_id": row.deployment_id})
        con.register("frame", pd.DataFrame(incidents))
        con.execute("create table marts.fct_incidents as select * from frame")
        con.unregister("frame")
    bands = pd.DataFrame(
        [("deployments_per_week", "elite", 1, 7, None), ("deployments_per_week", "high", 2, 1, 7),
         ("deployments_per_week", "medium", 3, 0.25, 1), ("deployments_per_week", "low", 4, 0, 0.25),
         ("lead_time_hours", "elite", 1, 0, 24), ("lead_time_hours", "high", 2, 24, 168),
         ("lead_time_hours", "medium", 3, 168, 720), ("lead_time_hours", "low", 4, 720, None),
         ("change_failure_rate", "elite", 1, 0, 0.05), ("change_failure_rate", "high", 2, 0.05, 0.1),
         ("change_failure_rate", "medium", 3, 0.1, 0.15), ("change_failure_rate", "low", 4, 0.15, None),
         ("time_to_restore_hours", "elite", 1, 0, 1), ("time_to_restore_hours", "high", 2, 1, 24),
         ("time_to_restore_hours", "medium", 3, 24, 168), ("time_to_restore_hours", "low", 4, 168, None)],
        columns=["metric", "band", "band_rank", "lower_bound", "upper_bound"],
    )
    con.register("frame", bands)
    con.execute("create table marts.dora_performance_bands as select * from frame")
    con.unregister("frame")
    incident_cte = (
        "select * from marts.fct_incidents" if with_incidents
        else "select null::varchar as caused_by_deployment_id, null::timestamp as created_at, null::double as restore_hours, null::varchar as repository_id where false"
    )
    con.execute(
        f"""
        create table marts.mart_dora_weekly as
        with weeks as (select distinct week_start from marts.mart_ai_impact_panel),
        teams as (select team_id from marts.dim_team),
        inc as ({incident_cte}),
        dep as (
            select r.team_id, date_trunc('week', d.deployed_at)::date as week_start, d.deployed_at, d.deployment_id,
                   d.deployment_id in (select caused_by_deployment_id from inc where caused_by_deployment_id is not null) as failed
            from marts.fct_deployments d join marts.dim_repository r using (repository_id)
            where d.status = 'success'
        ),
        prs as (
            select r.team_id, date_trunc('week', p.first_deployed_at)::date as week_start, p.lead_time_hours, p.review_hours
            from marts.fct_pull_requests p join marts.dim_repository r using (repository_id)
        ),
        mttr as (
            select r.team_id, date_trunc('week', i.created_at)::date as week_start, median(i.restore_hours) as mttr_p50_hours
            from inc i join marts.dim_repository r using (repository_id) group by all
        ),
        grid as (select t.team_id, w.week_start from teams t cross join weeks w)
        select g.team_id, g.week_start,
               coalesce(d.deployments, 0) as deployments, coalesce(d.deployment_days, 0) as deployment_days,
               p.lead_time_p50_hours, p.merged_prs, p.pr_review_p50_hours,
               {"d.failures / nullif(d.deployments, 0)" if with_incidents else "null::double"} as cfr,
               {"coalesce(d.failures, 0)" if with_incidents else "null::bigint"} as cfr_numerator,
               coalesce(d.deployments, 0) as cfr_denominator,
               m.mttr_p50_hours
        from grid g
        left join (select team_id, week_start, count(*) as deployments, count(distinct deployed_at::date) as deployment_days,
                          count(*) filter (where failed) as failures from dep group by all) d using (team_id, week_start)
        left join (select team_id, week_start, median(lead_time_hours) as lead_time_p50_hours, count(*) as merged_prs,
                          median(review_hours) as pr_review_p50_hours from prs group by all) p using (team_id, week_start)
        left join mttr m using (team_id, week_start)
        order by 1, 2
        """
    )
    # transcript sessions: one per developer-day of use; a few left running overnight
    usage = con.execute(
        "select developer_id, date_day, sum(cost_usd) as cost_usd from marts.fct_ai_usage_daily "
        "where source = 'anthropic_api' group by all order by developer_id, date_day"
    ).df()
    sessions = []
    for i, row in enumerate(usage.itertuples()):
        if i % 3:
            continue
        start = datetime.combine(row.date_day, datetime.min.time()) + timedelta(hours=9 + float(rng.uniform(0, 6)))
        span = float(rng.gamma(2.0, 1.0))
        cost = float(row.cost_usd)
        if i % 997 == 0:  # an agent left running overnight
            span, cost = 14.0 + i % 5, SESSION_ALERT_USD + 10.0 + i % 50
        sessions.append({"session_id": f"s{i:05d}", "developer_id": row.developer_id, "repository_id": f"r{i % 7}",
                         "branch": f"feature/{i}", "pull_request_id": None, "started_at": start,
                         "ended_at": start + timedelta(hours=span), "span_hours": span,
                         "active_hours": span * float(rng.uniform(0.2, 0.9)), "models": MODELS[0],
                         "cost_usd": cost, "sidechain_cost_usd": 0.0, "source": "transcripts"})
    # the costliest session: developer 0, in the team of four, whose display name is a script element
    sessions[0].update(developer_id="d0000", cost_usd=TOP_SESSION_USD, span_hours=16.0, active_hours=1.5,
                       ended_at=sessions[0]["started_at"] + timedelta(hours=16))
    con.register("frame", pd.DataFrame(sessions))
    con.execute("create table marts.fct_ai_sessions as select * from frame")
    con.unregister("frame")
    con.execute(
        """
        create table marts.mart_ai_cost_efficiency as
        with u as (
            select d.team_id, date_trunc('week', u.date_day)::date as week_start, sum(u.cost_usd) as cost_usd,
                   count(distinct u.developer_id) as ai_developers, sum(u.input_tokens) as input_tokens,
                   sum(u.output_tokens) as output_tokens, sum(u.cache_read_tokens) as cache_read_tokens,
                   sum(u.cache_creation_tokens) as cache_creation_tokens, sum(u.commits) as commits,
                   sum(u.edits_accepted) as edits_accepted, sum(u.edits_rejected) as edits_rejected
            from marts.fct_ai_usage_daily u join marts.dim_developer d using (developer_id)
            where u.source = 'anthropic_api' group by all
        ),
        p as (
            select d.team_id, date_trunc('week', p.merged_at)::date as week_start, count(*) as merged_prs
            from marts.fct_pull_requests p join marts.dim_developer d on d.developer_id = p.author_developer_id group by all
        )
        select u.*, coalesce(p.merged_prs, 0) as merged_prs,
               u.cost_usd / nullif(p.merged_prs, 0) as cost_per_merged_pr, u.cost_usd / nullif(u.commits, 0) as cost_per_commit,
               (u.input_tokens + u.cache_read_tokens + u.cache_creation_tokens) / nullif(u.output_tokens, 0) as input_output_ratio,
               u.cache_read_tokens / nullif(u.input_tokens + u.cache_read_tokens + u.cache_creation_tokens, 0) as cache_hit_rate,
               u.edits_accepted / nullif(u.edits_accepted + u.edits_rejected, 0) as acceptance_rate
        from u left join p using (team_id, week_start)
        """
    )
    # budgets: every team, the team of four too, and one person (named only with show_individuals)
    con.execute(
        """
        create table marts.mart_ai_budget as
        with spend as (
            select d.team_id, date_trunc('month', u.date_day)::date as month_start, sum(u.cost_usd) as spend
            from marts.fct_ai_usage_daily u join marts.dim_developer d using (developer_id)
            where u.source = 'anthropic_api' group by all
        ),
        last_day as (select max(date_day) as as_of from marts.fct_ai_usage_daily)
        select 'team' as scope_kind, s.team_id as scope, s.team_id, null::varchar as developer_id, s.month_start,
               l.as_of as as_of_date, s.month_start = date_trunc('month', l.as_of)::date as is_current_month,
               case when s.team_id = 't5' then 100.0 else 2500.0 end as budget_usd,
               s.spend as spend_to_date_usd,
               case when s.month_start = date_trunc('month', l.as_of)::date
                    then s.spend / day(l.as_of) * day(last_day(l.as_of)) else s.spend end as projected_month_usd
        from spend s cross join last_day l
        union all
        select 'person', 'dev2@example.com', null, 'd0002', date_trunc('month', l.as_of)::date, l.as_of, true, 10.0, 40.0, 80.0
        from last_day l
        """
    )
    con.execute("alter table marts.mart_ai_budget add column over_budget boolean")
    con.execute("update marts.mart_ai_budget set over_budget = projected_month_usd > budget_usd")
    con.execute(
        f"""
        create table marts.mart_ai_spend_alerts as
        select 'developer_day' as kind, u.developer_id, d.team_id, null::varchar as session_id, null::varchar as scope_kind,
               null::varchar as scope, strftime(u.date_day, '%Y-%m-%d') as period, u.cost_usd, 4.5 as threshold_usd
        from (select developer_id, date_day, sum(cost_usd) as cost_usd from marts.fct_ai_usage_daily
              where source = 'anthropic_api' group by all having sum(cost_usd) > 4.5) u
        join marts.dim_developer d using (developer_id)
        union all
        select 'session', s.developer_id, d.team_id, s.session_id, null, null, strftime(s.started_at, '%Y-%m-%d'), s.cost_usd,
               {SESSION_ALERT_USD}
        from marts.fct_ai_sessions s join marts.dim_developer d using (developer_id) where s.cost_usd > {SESSION_ALERT_USD}
        union all
        select 'budget', developer_id, team_id, null, scope_kind, scope, strftime(month_start, '%Y-%m'), projected_month_usd, budget_usd
        from marts.mart_ai_budget where over_budget
        """
    )
