"""run_impact_analysis reads the panel from DuckDB and writes schema `analysis`."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis.estimates import (
    ESTIMATES_COLUMNS,
    EVENT_STUDY_COLUMNS,
    OUTCOMES,
    Outcome,
    PanelDataError,
    run_impact_analysis,
    write_analysis_tables,
)

REVIEW_EFFECT = -0.25  # log points: exp(-0.25) - 1 = -22.1% review time
MERGED_EFFECT = 0.4  # merged PRs per developer-week
START = date(2025, 1, 6)  # a Monday


def make_panel(n_developers: int = 300, n_weeks: int = 40, *, adopters: bool = True, seed: int = 3) -> pd.DataFrame:
    """marts.mart_ai_impact_panel as dbt builds it, with planted effects of adoption."""
    rng = np.random.default_rng(seed)
    weeks = [START + timedelta(weeks=w) for w in range(n_weeks)]
    adoption = np.where(
        adopters & (rng.random(n_developers) < 0.5), rng.integers(6, n_weeks - 6, n_developers), -1
    )
    person = rng.normal(np.log(12.0), 0.5, n_developers)
    rate = rng.gamma(4.0, 0.6, n_developers)
    rows = []
    for d in range(n_developers):
        for w, week in enumerate(weeks):
            post = adoption[d] >= 0 and w >= adoption[d]
            merged = rng.poisson(rate[d]) + (rng.poisson(MERGED_EFFECT) if post else 0)
            log_review = (
                person[d] + 0.1 * math.sin(w / 4) + (REVIEW_EFFECT if post else 0.0) + rng.normal(0, 0.5)
                if merged
                else None
            )
            rows.append(
                {
                    "developer_id": f"dev-{d}",
                    "team_id": f"team-{d % 6}",
                    "week_start": week,
                    "ai_adopted_at": weeks[adoption[d]] if adoption[d] >= 0 else None,
                    "is_post_adoption": bool(post),
                    "weeks_since_adoption": (w - adoption[d]) if adoption[d] >= 0 else None,
                    "prs_opened": merged + int(rng.integers(0, 2)),
                    "prs_merged": merged,
                    "log_review_hours_mean": log_review,
                    "review_hours_p50": None if log_review is None else math.exp(log_review),
                    "ai_cost_usd": float(rng.gamma(2, 3)) if post else 0.0,
                    "ai_active_days": int(rng.integers(2, 6)) if post else 0,
                }
            )
    return pd.DataFrame(rows)


def write_panel(path: Path, panel: pd.DataFrame) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists marts")
        con.register("panel_df", panel)
        con.execute(
            """
            create or replace table marts.mart_ai_impact_panel as
            select developer_id, team_id, cast(week_start as date) as week_start,
                   cast(ai_adopted_at as date) as ai_adopted_at, is_post_adoption,
                   cast(weeks_since_adoption as integer) as weeks_since_adoption,
                   cast(prs_opened as integer) as prs_opened, cast(prs_merged as integer) as prs_merged,
                   cast(log_review_hours_mean as double) as log_review_hours_mean,
                   cast(review_hours_p50 as double) as review_hours_p50, ai_cost_usd, ai_active_days
            from panel_df
            """
        )
    return path


@pytest.fixture(scope="module")
def panel() -> pd.DataFrame:
    return make_panel()


@pytest.fixture()
def warehouse(tmp_path, panel) -> Path:
    return write_panel(tmp_path / "impact.duckdb", panel)


def read(path: Path, sql: str) -> pd.DataFrame:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).df()


def test_writes_impact_estimates(warehouse, panel):
    results = run_impact_analysis(warehouse)
    table = read(warehouse, "select * from analysis.impact_estimates order by outcome")
    assert list(table.columns) == list(ESTIMATES_COLUMNS)
    assert list(table["outcome"]) == ["prs_merged", "review_hours"]
    assert set(table["estimator"]) == {"twfe"}

    review = table.set_index("outcome").loc["review_hours"]
    assert review["outcome_kind"] == "log"
    assert review["ci_low"] < REVIEW_EFFECT < review["ci_high"]
    assert review["effect_pct"] == pytest.approx(100 * math.expm1(review["estimate"]))
    assert review["effect_pct_ci_low"] == pytest.approx(100 * math.expm1(review["ci_low"]))
    assert review["effect_pct_ci_high"] == pytest.approx(100 * math.expm1(review["ci_high"]))
    assert review["effect_pct_ci_low"] < 100 * math.expm1(REVIEW_EFFECT) < review["effect_pct_ci_high"]
    assert review["p_value"] < 0.001
    assert 0.0 < review["pre_trend_p_value"] <= 1.0
    # the sample: rows with a review time, every developer, adopters as treated units
    with_review = panel[panel["log_review_hours_mean"].notna()]
    assert review["n_obs"] == len(with_review)
    assert review["n_units"] == with_review["developer_id"].nunique()
    assert review["n_treated_units"] == panel.loc[panel["ai_adopted_at"].notna(), "developer_id"].nunique()
    assert review["computed_at"] == results.computed_at

    merged = table.set_index("outcome").loc["prs_merged"]
    assert merged["outcome_kind"] == "count"
    assert merged["ci_low"] < MERGED_EFFECT < merged["ci_high"]
    assert merged["n_obs"] == len(panel)
    pre = panel[panel["ai_adopted_at"].notna() & (panel["week_start"] < panel["ai_adopted_at"])]
    assert merged["baseline_mean"] == pytest.approx(pre["prs_merged"].mean())
    assert merged["effect_pct"] == pytest.approx(100 * merged["estimate"] / merged["baseline_mean"])

    # what the function returns is what it wrote
    assert [e.outcome for e in results.estimates] == ["review_hours", "prs_merged"]
    assert results.estimates[0].estimate == pytest.approx(review["estimate"])


def test_writes_event_study(warehouse):
    run_impact_analysis(warehouse)
    es = read(warehouse, "select * from analysis.event_study order by outcome, relative_week")
    assert list(es.columns) == list(EVENT_STUDY_COLUMNS)
    assert len(es) == 2 * 21
    for outcome, rows in es.groupby("outcome"):
        assert set(rows["estimator"]) == {"twfe_event_study"}
        assert list(rows["relative_week"]) == list(range(-8, 13))
        ref = rows.set_index("relative_week").loc[-1]
        assert ref["estimate"] == 0.0 and pd.isna(ref["se"]) and pd.isna(ref["ci_low"])
        others = rows[rows["relative_week"] != -1]
        assert others[["estimate", "se", "ci_low", "ci_high"]].notna().all().all()
        assert (others["ci_low"] < others["estimate"]).all() and (others["estimate"] < others["ci_high"]).all()
    review = es[es["outcome"] == "review_hours"].set_index("relative_week")
    assert review.loc[0:12, "estimate"].mean() == pytest.approx(REVIEW_EFFECT, abs=0.06)
    assert review.loc[-8:-2, "estimate"].abs().mean() < 0.06


def test_rerun_replaces_tables(warehouse):
    first = run_impact_analysis(warehouse)
    second = run_impact_analysis(warehouse)
    table = read(warehouse, "select outcome, computed_at from analysis.impact_estimates")
    assert len(table) == 2
    assert (table["computed_at"] == second.computed_at).all()
    assert len(read(warehouse, "select * from analysis.event_study")) == 42
    assert first.impact_estimates["estimate"].tolist() == pytest.approx(second.impact_estimates["estimate"].tolist())


def test_failed_write_leaves_previous_results(warehouse):
    results = run_impact_analysis(warehouse)
    broken_estimates = results.impact_estimates.assign(estimate=999.0)
    broken_events = results.event_study.astype({"relative_week": object})
    broken_events.loc[0, "relative_week"] = "not a week"
    with pytest.raises(duckdb.Error):
        write_analysis_tables(warehouse, broken_estimates, broken_events)
    table = read(warehouse, "select estimate from analysis.impact_estimates")
    assert 999.0 not in table["estimate"].tolist()
    assert len(read(warehouse, "select * from analysis.event_study")) == 42


def test_optional_outcome_missing_is_skipped(tmp_path, panel):
    path = write_panel(tmp_path / "w.duckdb", panel)
    extra = Outcome(name="lead_time", column="log_lead_time_hours_mean", kind="log", label="lead time", unit="hours")
    results = run_impact_analysis(path, outcomes=OUTCOMES + (extra,))
    assert [e.outcome for e in results.estimates] == ["review_hours", "prs_merged"]
    assert len(results.skipped) == 1 and "log_lead_time_hours_mean" in results.skipped[0]
    assert sorted(read(path, "select outcome from analysis.impact_estimates")["outcome"]) == ["prs_merged", "review_hours"]


def test_empty_panel_is_a_clear_error(tmp_path, panel):
    path = write_panel(tmp_path / "w.duckdb", panel.head(0))
    with pytest.raises(PanelDataError, match=r"marts\.mart_ai_impact_panel .* is empty"):
        run_impact_analysis(path)


def test_no_adopters_is_a_clear_error(tmp_path):
    path = write_panel(tmp_path / "w.duckdb", make_panel(n_developers=40, n_weeks=16, adopters=False))
    with pytest.raises(PanelDataError, match=r"marts\.mart_ai_impact_panel .* no AI adopters"):
        run_impact_analysis(path)
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.execute("select count(*) from information_schema.tables where table_schema = 'analysis'").fetchone()[0] == 0


def test_missing_panel_table_is_a_clear_error(tmp_path):
    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(PanelDataError, match=r"marts\.mart_ai_impact_panel not found"):
        run_impact_analysis(path)
    with pytest.raises(PanelDataError, match="does not exist"):
        run_impact_analysis(tmp_path / "nowhere.duckdb")
