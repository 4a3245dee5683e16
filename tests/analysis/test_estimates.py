"""run_impact_analysis reads the panel from DuckDB and writes schema `analysis`."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.did import att_gt
from analysis.estimates import (
    CS_ESTIMATOR,
    ESTIMATES_COLUMNS,
    EVENT_WINDOW,
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


N_WINDOW = EVENT_WINDOW[1] - EVENT_WINDOW[0] + 1  # 21 relative weeks per outcome and estimator


def test_writes_impact_estimates(warehouse, panel):
    results = run_impact_analysis(warehouse)
    everything = read(warehouse, "select * from analysis.impact_estimates")
    assert list(everything.columns) == list(ESTIMATES_COLUMNS)
    assert sorted(zip(everything["outcome"], everything["estimator"])) == [
        ("prs_merged", CS_ESTIMATOR), ("prs_merged", "poisson_glm"), ("prs_merged", "twfe"),
        ("review_hours", CS_ESTIMATOR), ("review_hours", "twfe"),
    ]
    table = everything[everything["estimator"] == "twfe"].sort_values("outcome")

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

    # what the function returns is what it wrote, Callaway & Sant'Anna first for each outcome
    assert [(e.outcome, e.estimator) for e in results.estimates] == [
        ("review_hours", CS_ESTIMATOR), ("review_hours", "twfe"), ("prs_merged", CS_ESTIMATOR), ("prs_merged", "twfe"),
        ("prs_merged", "poisson_glm"),
    ]
    assert results.estimates[1].estimate == pytest.approx(review["estimate"])


def test_callaway_santanna_rows(warehouse, panel):
    results = run_impact_analysis(warehouse)
    table = read(warehouse, f"select * from analysis.impact_estimates where estimator = '{CS_ESTIMATOR}'")
    cs = table.set_index("outcome")
    # cohorts with a single developer leave Callaway & Sant'Anna's sample (the fixture has some)
    sizes = panel.dropna(subset=["ai_adopted_at"]).groupby("ai_adopted_at")["developer_id"].nunique()
    alone = set(panel.loc[panel["ai_adopted_at"].isin(sizes[sizes < 2].index), "developer_id"])
    assert len(alone) >= 1
    assert len(results.notes) == 2 and all(f"dropped {len(alone)} developer(s)" in n for n in results.notes)
    panel = panel[~panel["developer_id"].isin(alone)]

    review = cs.loc["review_hours"]
    assert review["ci_low"] < REVIEW_EFFECT < review["ci_high"]
    assert review["ci_high"] < 0 and review["p_value"] < 0.001
    # t interval over developers (finite-cluster correction)
    t_crit = stats.t.ppf(0.975, review["n_units"] - 1)
    assert review["ci_high"] - review["estimate"] == pytest.approx(t_crit * review["se"], rel=1e-5), t_crit
    assert review["effect_pct"] == pytest.approx(100 * math.expm1(review["estimate"]))
    assert review["effect_pct_ci_low"] == pytest.approx(100 * math.expm1(review["ci_low"]))
    with_review = panel[panel["log_review_hours_mean"].notna()]
    assert review["n_obs"] == len(with_review)
    assert review["n_units"] == with_review["developer_id"].nunique()
    assert review["n_treated_units"] == with_review.loc[with_review["ai_adopted_at"].notna(), "developer_id"].nunique()

    merged = cs.loc["prs_merged"]
    assert merged["ci_low"] < MERGED_EFFECT < merged["ci_high"]
    assert merged["effect_pct"] == pytest.approx(100 * merged["estimate"] / merged["baseline_mean"])
    assert merged["n_obs"] == len(panel)

    # the same numbers straight from att_gt: unbalanced panel, never-treated controls, integer weeks
    weeks = ((pd.to_datetime(with_review["week_start"]) - pd.Timestamp("1970-01-05")).dt.days // 7).astype("int64")
    adopted = ((pd.to_datetime(with_review["ai_adopted_at"]) - pd.Timestamp("1970-01-05")).dt.days // 7).fillna(0)
    direct = att_gt(
        with_review.assign(w=weeks, g=adopted.astype("int64")), y="log_review_hours_mean", t="w",
        unit="developer_id", group="g", control="never_treated", allow_unbalanced_panel=True,
    )
    simple = direct.aggregate("simple")
    assert review["estimate"] == pytest.approx(simple.overall_att, abs=1e-12)
    # finite-cluster correction over G developers: G/(G-1) on the variance, F(q, G-q) for the pre-test
    clusters = review["n_units"]
    assert review["se"] == pytest.approx(simple.overall_se * math.sqrt(clusters / (clusters - 1)), rel=1e-10)
    pre = direct.pretest(on="dynamic", min_e=EVENT_WINDOW[0])
    assert pre.df == -EVENT_WINDOW[0]
    f_stat = pre.statistic * (clusters - 1) / clusters * (clusters - pre.df) / ((clusters - 1) * pre.df)
    assert review["pre_trend_p_value"] == pytest.approx(stats.f.sf(f_stat, pre.df, clusters - pre.df), rel=1e-10)
    assert review["pre_trend_p_value"] > pre.p_value  # the chi-squared reference rejects too often
    assert 0.001 < review["pre_trend_p_value"] <= 1.0  # no pre-trend is planted


def test_writes_event_study(warehouse):
    run_impact_analysis(warehouse)
    everything = read(warehouse, "select * from analysis.event_study order by outcome, estimator, relative_week")
    assert list(everything.columns) == list(EVENT_STUDY_COLUMNS)
    assert len(everything) == 4 * N_WINDOW
    es = everything[everything["estimator"] == "twfe_event_study"]
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

    cs = everything[everything["estimator"] == CS_ESTIMATOR]
    for outcome, rows in cs.groupby("outcome"):
        assert list(rows["relative_week"]) == list(range(EVENT_WINDOW[0], EVENT_WINDOW[1] + 1))
        assert rows[["estimate", "se", "ci_low", "ci_high"]].notna().all().all()  # -1 is estimated too
        assert (rows["n_treated_units"] > 0).all()
    review = cs[cs["outcome"] == "review_hours"].set_index("relative_week")
    assert review.loc[0:12, "estimate"].mean() == pytest.approx(REVIEW_EFFECT, abs=0.08)
    # varying base period: pre-adoption points are week-on-week changes, around zero
    assert review.loc[-8:-1, "estimate"].abs().mean() < 0.08
    half = (review["ci_high"] - review["ci_low"]) / 2
    ratio = (half / review["se"]).to_numpy()
    assert np.allclose(ratio, ratio[0], rtol=1e-9) and 1.96 < ratio[0] < 2.2, ratio[0]


def test_rerun_replaces_tables(warehouse):
    first = run_impact_analysis(warehouse)
    second = run_impact_analysis(warehouse)
    table = read(warehouse, "select outcome, computed_at from analysis.impact_estimates")
    assert len(table) == 5
    assert (table["computed_at"] == second.computed_at).all()
    assert len(read(warehouse, "select * from analysis.event_study")) == 4 * N_WINDOW
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
    assert len(read(warehouse, "select * from analysis.event_study")) == 4 * N_WINDOW


def test_optional_outcome_missing_is_skipped(tmp_path, panel):
    path = write_panel(tmp_path / "w.duckdb", panel)
    extra = Outcome(name="lead_time", column="log_lead_time_hours_mean", kind="log", label="lead time", unit="hours")
    results = run_impact_analysis(path, outcomes=OUTCOMES[:2] + (extra,))
    assert [e.outcome for e in results.estimates] == ["review_hours"] * 2 + ["prs_merged"] * 3
    assert len(results.skipped) == 1 and "log_lead_time_hours_mean" in results.skipped[0]
    assert sorted(read(path, "select outcome from analysis.impact_estimates")["outcome"]) == ["prs_merged"] * 3 + ["review_hours"] * 2
    # the registry's own pickup, lead-time, median and change failure rate outcomes are optional too:
    # skipped when the mart lacks them
    default = run_impact_analysis(path)
    assert sorted(s.split(":")[0] for s in default.skipped) == [
        "change_failure_rate", "lead_time_hours", "lead_time_hours_median", "pickup_hours", "pickup_hours_median",
        "review_hours_median",
    ]


def _with_adoption(panel: pd.DataFrame, developers: list[str], week_index: int | None) -> pd.DataFrame:
    """The panel with some developers' adoption moved to another week (or removed)."""
    out = panel.copy()
    adopted = None if week_index is None else START + timedelta(weeks=week_index)
    rows = out["developer_id"].isin(developers)
    out.loc[rows, "ai_adopted_at"] = adopted
    return out


def test_single_developer_cohort_is_dropped_with_a_note(tmp_path, panel):
    lone = "dev-0"
    taken = set(pd.to_datetime(panel["ai_adopted_at"].dropna()).dt.date)
    free = next(w for w in range(3, 37) if START + timedelta(weeks=w) not in taken)
    variant = _with_adoption(panel, [lone], free)
    path = write_panel(tmp_path / "w.duckdb", variant)
    results = run_impact_analysis(path)
    cs = {(e.outcome, e.estimator): e for e in results.estimates}
    adopters = variant.loc[variant["ai_adopted_at"].notna(), "developer_id"].nunique()
    sizes = variant.dropna(subset=["ai_adopted_at"]).groupby("ai_adopted_at")["developer_id"].nunique()
    singles = int((sizes == 1).sum())  # the fixture's own lone adopters, and dev-0
    assert singles >= 2
    for outcome in ("review_hours", "prs_merged"):
        assert cs[(outcome, CS_ESTIMATOR)].n_treated_units == adopters - singles
        assert cs[(outcome, "twfe")].n_treated_units == adopters  # TWFE keeps everyone
    notes = [n for n in results.notes if f"dropped {singles} developer(s) in {singles} adoption cohort(s)" in n]
    assert len(notes) == 2 and (START + timedelta(weeks=free)).isoformat() in notes[0]


def test_without_any_usable_cohort_only_twfe_is_written(tmp_path):
    # 16 adopters, each alone in their adoption week: every cohort is below the minimum size
    small = make_panel(n_developers=40, n_weeks=30, seed=8)
    adopters = sorted(small.loc[small["ai_adopted_at"].notna(), "developer_id"].unique())[:16]
    small = _with_adoption(small, sorted(set(small["developer_id"]) - set(adopters)), None)
    for k, dev in enumerate(adopters):
        small = _with_adoption(small, [dev], 6 + k)
    path = write_panel(tmp_path / "w.duckdb", small)
    results = run_impact_analysis(path)
    table = read(path, "select outcome, estimator from analysis.impact_estimates")
    assert sorted(zip(table["outcome"], table["estimator"])) == [
        ("prs_merged", "poisson_glm"), ("prs_merged", "twfe"), ("review_hours", "twfe")]
    assert set(read(path, "select estimator from analysis.event_study")["estimator"]) == {"twfe_event_study"}
    assert len(results.notes) == 2
    assert all("not estimated, TWFE only: no adoption cohort with at least 2 developers" in n for n in results.notes)


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
