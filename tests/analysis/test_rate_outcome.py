"""The change failure rate outcome (a linear probability model in percentage points) and the median
outcomes: planted effects recovered, units, baselines, checks and withholding, and labels that say
what each outcome estimates."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest

from analysis.estimates import (
    CS_ESTIMATOR,
    OUTCOMES,
    PanelDataError,
    estimate_outcome,
    estimate_outcome_cs,
    run_impact_analysis,
)
from panels import quick_panel, write

OUTCOME = {o.name: o for o in OUTCOMES}
CFR = OUTCOME["change_failure_rate"]
PP = "percentage points (effect_pct: % of the adopters' pre-adoption rate)"


def exact_panel(effect: float = 0.10) -> pd.DataFrame:
    """rate = developer level + week level + effect after adoption, with a trace of noise (1e-6: the
    standard errors must not be zero): every estimator that removes developer and week levels must
    return 100 * effect points, to that noise."""
    panel = quick_panel(60, 20, seed=5, cfr_effect=0.0)
    dev = panel["developer_id"].str[-4:].astype(int).to_numpy()
    week = (panel["_week"] - panel["_week"].min()).to_numpy()
    post = (panel["_adoption_week"].notna() & (panel["_week"] >= panel["_adoption_week"])).to_numpy()
    noise = np.random.default_rng(0).normal(0.0, 1e-6, len(panel))
    rate = 0.05 + 0.002 * (dev % 20) + 0.01 * np.sin(week) + np.where(post, effect, 0.0) + noise
    return panel.assign(change_failure_rate=rate)


def test_registry_kinds_units_and_labels_say_what_is_estimated():
    assert CFR.kind == "rate" and CFR.column == "change_failure_rate" and CFR.effect_unit == PP
    assert CFR.scale == 100.0 and OUTCOME["review_hours"].scale == 1.0
    for name in ("review_hours", "pickup_hours", "lead_time_hours"):
        mean, median = OUTCOME[name], OUTCOME[f"{name}_median"]
        assert mean.column.endswith("_mean") and "geometric mean" in mean.label and "median" not in mean.label
        assert median.column.endswith("_p50") and median.label.startswith("median ") and median.kind == "log"
        assert not median.headline and mean.headline  # the summary states each duration once
    assert len({o.label for o in OUTCOMES}) == len(OUTCOMES)


def test_rate_model_returns_a_known_effect_in_percentage_points():
    panel = exact_panel(0.10)
    static, dynamic, extra = estimate_outcome(panel, CFR)
    assert static.estimate == pytest.approx(10.0, abs=1e-3)  # 0.10 of a share = 10 points
    cs, cs_dynamic, cs_extra, _ = estimate_outcome_cs(panel, CFR, bootstrap=False)
    assert cs.estimate == pytest.approx(10.0, abs=1e-3)
    post = cs_dynamic.table[cs_dynamic.table["relative_week"] >= 0]
    assert np.allclose(post["estimate"], 10.0, atol=1e-3)
    for e in (extra, cs_extra):
        assert e["effect_unit"] == PP and e["outcome_kind"] == "rate"
        pre = panel[panel["_adoption_week"].notna() & (panel["_week"] < panel["_adoption_week"])]
        assert e["baseline_mean"] == pytest.approx(100 * pre["change_failure_rate"].mean())  # in percent
    assert extra["effect_pct"] == pytest.approx(100 * static.estimate / extra["baseline_mean"])
    assert "linear probability model" in extra["model"] and "linear probability model" in cs_extra["model"]


@pytest.mark.parametrize("effect", [0.06, 0.0])
def test_rate_model_recovers_a_planted_effect(effect):
    panel = quick_panel(800, 30, seed=12, cfr_effect=effect)
    truth = 100 * effect
    static, _, extra = estimate_outcome(panel, CFR)
    cs, _, cs_extra, _ = estimate_outcome_cs(panel, CFR, bootstrap=False)
    for est in (static, cs):
        assert est.ci_low < truth < est.ci_high, (est.estimator, est.estimate, est.ci_low, est.ci_high)
        assert 0.2 < est.ci_high - est.ci_low < 8.0  # points, not a share (0.02) or percent of percent
        assert (est.ci_low > 0) == (effect > 0)  # a 6-point effect on 800 developers is detected
    for e in (extra, cs_extra):
        assert 0 <= e["placebo_p_value"] <= 1 and 0 < e["pre_trend_p_value"] <= 1
        assert e["withheld_reason"] is None


def test_rate_outside_zero_to_one_is_a_clear_error():
    panel = quick_panel(40, 20, seed=2, cfr_effect=0.0)
    row = panel["change_failure_rate"].first_valid_index()
    panel.loc[row, "change_failure_rate"] = 25.0  # percent instead of a fraction
    with pytest.raises(PanelDataError, match=r"change_failure_rate must be a share between 0 and 1.*"
                                              rf"developer {panel.loc[row, 'developer_id']}.*not percent"):
        estimate_outcome(panel, CFR)


def test_impact_tables_carry_the_rate_and_median_outcomes_with_their_checks(tmp_path):
    path = write(tmp_path / "w.duckdb", quick_panel(200, 30, seed=7, cfr_effect=0.05, medians=True))
    results = run_impact_analysis(path)
    with duckdb.connect(str(path), read_only=True) as con:
        est = con.execute("select * from analysis.impact_estimates").df().set_index(["outcome", "estimator"])
        es = con.execute("select * from analysis.event_study").df()
    for outcome in ("change_failure_rate", "review_hours_median"):
        for estimator in (CS_ESTIMATOR, "twfe"):
            row = est.loc[(outcome, estimator)]
            assert math.isfinite(row["estimate"]) and row["ci_low"] < row["ci_high"]
            assert 0 <= row["placebo_p_value"] <= 1 and 0 < row["pre_trend_p_value"] <= 1
            assert pd.isna(row["withheld_reason"]) and row["n_cohorts"] == 10
        for estimator in (CS_ESTIMATOR, "twfe_event_study"):
            assert len(es[(es["outcome"] == outcome) & (es["estimator"] == estimator)]) == 21
    cfr = est.loc[("change_failure_rate", "twfe")]
    assert cfr["outcome_kind"] == "rate" and cfr["effect_unit"] == PP and cfr["outcome_label"] == "change failure rate"
    assert 5.0 < cfr["baseline_mean"] < 25.0  # the adopters' pre-adoption rate, in percent
    assert est.loc[("review_hours_median", "twfe"), "effect_unit"].startswith("log points")
    assert ("change_failure_rate", "poisson_glm") not in est.index
    assert not [s for s in results.skipped if s.startswith(("change_failure_rate", "review_hours_median"))]


def test_too_few_adopters_with_deployed_changes_withholds_the_rate(tmp_path):
    panel = quick_panel(200, 30, seed=7, cfr_effect=0.05)
    adopters = panel.loc[panel["_adoption_week"].notna(), "developer_id"].unique()
    hidden = panel["developer_id"].isin(adopters[6:])  # only 6 adopters ever ship a change
    panel.loc[hidden, "change_failure_rate"] = np.nan
    path = write(tmp_path / "w.duckdb", panel)
    results = run_impact_analysis(path)
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select * from analysis.impact_estimates where outcome = 'change_failure_rate'").df()
        events = con.execute("select * from analysis.event_study where outcome = 'change_failure_rate'").df()
    reasons = dict(zip(rows["estimator"], rows["withheld_reason"]))
    assert reasons["twfe"].startswith("withheld: only 6 adopter(s) in the sample (at least 10 needed)")
    # Callaway & Sant'Anna also drops the single-developer cohorts among those 6: 2 adopters remain
    assert reasons[CS_ESTIMATOR].startswith("withheld: only 2 adopter(s)")
    assert rows["estimate"].isna().all() and events.empty
    assert any(n.startswith("change_failure_rate: ") and "withheld" in n for n in results.notes)
