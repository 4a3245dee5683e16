"""Fast synthetic developer-week panels (the columns of marts.mart_ai_impact_panel) for analysis tests."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd

START = date(2025, 1, 6)  # a Monday
WEEK_ORIGIN = pd.Timestamp("1970-01-05")


def quick_panel(
    n_developers: int = 200,
    n_weeks: int = 30,
    *,
    review_effect: float = -0.25,
    rate_ratio: float = 1.0,
    adopter_share: float = 0.5,
    anticipation_effect: float = 0.0,
    anticipation_weeks: int = 0,
    first_adoption: int = 8,
    seed: int = 1,
    cfr_effect: float | None = None,
    medians: bool = False,
) -> pd.DataFrame:
    """Staggered adoption in weeks [first_adoption, n_weeks - 4], cohorts of several developers.

    log review hours = person + week + effect (from adoption; ``anticipation_effect`` in the
    ``anticipation_weeks`` before it) + noise; merged PRs ~ Poisson(rate_i * week * rate_ratio^post).
    Adopters are busier and more senior (confounding in levels, not in trends).
    ``cfr_effect`` (None: no change failure columns): each of the week's deployed changes fails with
    probability person (adopters higher: confounding in levels) + week + ``cfr_effect`` after
    adoption, so the true effect on the rate is ``cfr_effect`` (``100 * cfr_effect`` points).
    ``medians``: also ``log_review_hours_p50`` (the mean of logs plus noise, standing in for it).
    The extra columns draw from their own generator, so the other columns do not depend on them.
    """
    rng = np.random.default_rng(seed)
    adopter = rng.random(n_developers) < adopter_share
    adoption = np.where(adopter, rng.integers(first_adoption // 2, (n_weeks - 4) // 2 + 1, n_developers) * 2, -1)
    seniority = np.where(adopter, rng.choice(["junior", "mid", "senior"], n_developers, p=[0.2, 0.3, 0.5]),
                         rng.choice(["junior", "mid", "senior"], n_developers, p=[0.5, 0.3, 0.2]))
    person = rng.normal(np.log(12.0), 0.4, n_developers) + np.where(seniority == "senior", -0.1, 0.0)
    rate = rng.gamma(6.0, 0.3, n_developers) * np.where(adopter, 1.3, 1.0)
    weekly = 0.1 * np.sin(np.arange(n_weeks) / 3.0)
    dev = np.repeat(np.arange(n_developers), n_weeks)
    week = np.tile(np.arange(n_weeks), n_developers)
    g = adoption[dev]
    post = (g >= 0) & (week >= g)
    ante = (g >= 0) & (week < g) & (week >= g - anticipation_weeks)
    merged = rng.poisson(rate[dev] * np.exp(weekly[week]) * np.where(post, rate_ratio, 1.0))
    log_review = (person[dev] + weekly[week] + np.where(post, review_effect, 0.0)
                  + np.where(ante, anticipation_effect, 0.0) + rng.normal(0, 0.4, dev.size))
    log_review = np.where(merged > 0, log_review, np.nan)
    weeks = pd.to_datetime([START + timedelta(weeks=int(w)) for w in range(n_weeks)])
    adopted_at = pd.Series(pd.NaT, index=range(dev.size), dtype="datetime64[ns]")
    adopted_at[g >= 0] = weeks[g[g >= 0]]
    panel = pd.DataFrame({
        "developer_id": [f"dev-{d:04d}" for d in dev],
        "team_id": [f"team-{d % 8}" for d in dev],
        "seniority": seniority[dev],
        "week_start": weeks[week],
        "ai_adopted_at": adopted_at,
        "prs_opened": merged + rng.integers(0, 2, dev.size),
        "prs_merged": merged,
        "log_review_hours_mean": log_review,
    })
    aux = np.random.default_rng(seed + 10_000)
    if medians:
        panel["log_review_hours_p50"] = log_review + aux.normal(0, 0.1, dev.size)
    if cfr_effect is not None:
        base_cfr = aux.uniform(0.05, 0.15, n_developers) + np.where(adopter, 0.04, 0.0)
        p_fail = np.clip(base_cfr[dev] + 0.2 * weekly[week] + np.where(post, cfr_effect, 0.0), 0.0, 1.0)
        deployed = aux.poisson(rate[dev])
        failed = aux.binomial(deployed, p_fail)
        panel["changes_deployed"] = deployed
        panel["changes_failed"] = failed
        panel["change_failure_rate"] = np.where(deployed > 0, failed / np.maximum(deployed, 1), np.nan)
    panel["_week"] = ((panel["week_start"] - WEEK_ORIGIN).dt.days // 7).astype("int64")
    panel["_adoption_week"] = (panel["ai_adopted_at"] - WEEK_ORIGIN).dt.days // 7
    return panel


def write(path, panel: pd.DataFrame):
    """`panel` as the warehouse's `marts.mart_ai_impact_panel` in a DuckDB file at `path`."""
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.register("p", panel.drop(columns=["_week", "_adoption_week"]))
        con.execute("create or replace table marts.mart_ai_impact_panel as select * exclude (week_start, ai_adopted_at), "
                    "cast(week_start as date) as week_start, cast(ai_adopted_at as date) as ai_adopted_at from p")
    return path
