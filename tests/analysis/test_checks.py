"""The checks that run with every estimate: placebo adoption dates, minimum sample sizes (withholding),
uniform event-study bands; and the covariate-free fast path of att_gt."""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis import did
from analysis.did_drdid import rc_did
from analysis.estimates import (
    CS_ESTIMATOR,
    EVENT_WINDOW,
    MIN_CONTROL_UNITS,
    MIN_TREATED_UNITS,
    OUTCOMES,
    PLACEBO_SHIFT_WEEKS,
    estimate_outcome,
    estimate_outcome_cs,
    placebo_sample,
    run_impact_analysis,
    withheld_reason,
)
from analysis.twfe import sup_t_critical_value
from panels import quick_panel, write

REVIEW = OUTCOMES[0]
assert REVIEW.name == "review_hours"


def test_placebo_sample_keeps_only_untreated_weeks():
    panel = quick_panel(60, 24, seed=2)
    sample = placebo_sample(panel)
    adopters = sample["_adoption_week"].notna()
    assert (sample.loc[adopters, "_week"] < sample.loc[adopters, "_adoption_week"]).all()
    assert (sample.loc[adopters, "_placebo_group"] == sample.loc[adopters, "_adoption_week"] - PLACEBO_SHIFT_WEEKS).all()
    assert (sample.loc[~adopters, "_placebo_group"] == 0).all()
    assert sample.loc[~adopters, "_week"].max() < panel["_adoption_week"].max()


@pytest.mark.parametrize("seed", [3, 4])
def test_placebo_on_a_no_effect_pre_period_is_not_significant(seed):
    # a large real effect after adoption does not leak into the placebo (pre-adoption weeks only)
    panel = quick_panel(240, 30, review_effect=-0.5, seed=seed)
    _, _, extra = estimate_outcome(panel, REVIEW)
    _, _, cs_extra, _ = estimate_outcome_cs(panel, REVIEW, bootstrap=False)
    for fields in (extra, cs_extra):
        assert abs(fields["placebo_estimate"]) < 3 * fields["placebo_se"]
        assert fields["placebo_p_value"] > 0.01
        assert fields["placebo_shift_weeks"] == PLACEBO_SHIFT_WEEKS


def test_placebo_detects_anticipation():
    # review time already falls in the 4 weeks before the recorded adoption: the placebo must see it
    panel = quick_panel(240, 30, review_effect=-0.3, anticipation_effect=-0.3, anticipation_weeks=4, seed=5)
    _, _, extra = estimate_outcome(panel, REVIEW)
    _, _, cs_extra, _ = estimate_outcome_cs(panel, REVIEW, bootstrap=False)
    for fields in (extra, cs_extra):
        assert fields["placebo_estimate"] < -0.15
        assert fields["placebo_p_value"] < 0.001


def test_withheld_reason_thresholds():
    assert withheld_reason(MIN_TREATED_UNITS, MIN_CONTROL_UNITS) is None
    few = withheld_reason(MIN_TREATED_UNITS - 1, 50)
    assert few.startswith("withheld: only 9 adopter(s)") and "at least 10" in few
    both = withheld_reason(3, 2)
    assert "3 adopter(s)" in both and "2 developer(s) who never adopted" in both


def test_too_few_adopters_withholds_the_estimate_but_keeps_the_row(tmp_path):
    panel = quick_panel(120, 24, seed=6)
    adopters = sorted(panel.loc[panel["_adoption_week"].notna(), "developer_id"].unique())
    keep = set(adopters[:6])  # six adopters in a few cohorts: below MIN_TREATED_UNITS
    drop = panel["_adoption_week"].notna() & ~panel["developer_id"].isin(keep)
    panel = panel[~drop]
    path = write(tmp_path / "w.duckdb", panel)
    results = run_impact_analysis(path)
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select * from analysis.impact_estimates").df()
        events = con.execute("select distinct outcome, estimator from analysis.event_study").df()
    assert len(rows) >= 3
    assert rows["withheld_reason"].notna().all()
    assert rows["withheld_reason"].str.contains("adopter").all()
    for col in ("estimate", "se", "ci_low", "ci_high", "p_value", "effect_pct", "placebo_estimate"):
        assert rows[col].isna().all(), col
    assert (rows["n_treated_units"] <= 6).all() and (rows["n_units"] > 6).all()
    assert events.empty  # no event study is shown for a withheld estimate
    assert any("withheld" in n for n in results.notes)


def test_every_row_carries_its_checks_and_uniform_bands(tmp_path):
    path = write(tmp_path / "w.duckdb", quick_panel(200, 30, seed=7))
    run_impact_analysis(path)
    with duckdb.connect(str(path), read_only=True) as con:
        est = con.execute("select * from analysis.impact_estimates").df().set_index(["outcome", "estimator"])
        es = con.execute("select * from analysis.event_study").df()
    for key in [("review_hours", CS_ESTIMATOR), ("review_hours", "twfe"), ("prs_merged", "twfe")]:
        row = est.loc[key]
        assert 0 <= row["placebo_p_value"] <= 1 and math.isfinite(row["placebo_estimate"])
        assert 0 < row["pre_trend_p_value"] <= 1
        assert pd.isna(row["withheld_reason"])
        assert row["n_control_units"] > 50 and row["n_cohorts"] == 10
        assert row["model"]
    assert est.loc[("review_hours", CS_ESTIMATOR), "effect_unit"].startswith("log points")
    assert est.loc[("prs_merged", "twfe"), "effect_unit"] == "merged PRs per developer-week"
    # uniform bands: wider than the pointwise ones everywhere, by one common multiplier per series
    for (outcome, estimator), g in es.groupby(["outcome", "estimator"]):
        g = g.dropna(subset=["se"])
        width = g["uniform_ci_high"] - g["uniform_ci_low"]
        pointwise = g["ci_high"] - g["ci_low"]
        assert (width > pointwise).all(), (outcome, estimator)
        ratio = (width / pointwise).to_numpy()
        assert np.allclose(ratio, ratio[0]) and 1.1 < ratio[0] < 1.8, (outcome, estimator, ratio[0])
    crit = est.loc[("review_hours", CS_ESTIMATOR), "uniform_critical_value"]
    n = est.loc[("review_hours", CS_ESTIMATOR), "n_units"]
    assert stats.t.ppf(0.975, n - 1) < crit < stats.norm.ppf(1 - 0.025 / (EVENT_WINDOW[1] - EVENT_WINDOW[0] + 1)) + 0.2


def test_sup_t_critical_value():
    # independent estimates: the max of k |N(0,1)| has the Sidak quantile
    k = 10
    sidak = stats.norm.ppf(0.5 + 0.5 * 0.95 ** (1 / k))
    assert sup_t_critical_value(np.eye(k)) == pytest.approx(sidak, abs=0.03)
    # perfectly correlated estimates: one estimate, the pointwise value
    assert sup_t_critical_value(np.ones((k, k)) * 4.0) == pytest.approx(1.96, abs=0.03)
    assert sup_t_critical_value(np.eye(3), df=10) > sup_t_critical_value(np.eye(3))


def test_fast_cell_path_equals_the_repeated_cross_section_estimator():
    rng = np.random.default_rng(0)
    n = 50
    u1 = np.sort(rng.choice(n, 35, replace=False))
    u0 = np.sort(rng.choice(n, 40, replace=False))
    treated = rng.random(n) < 0.4
    y1, y0 = rng.normal(size=u1.size), rng.normal(size=u0.size)
    att, col = did._dim_cell(y1, y0, u1, u0, treated[u1], treated[u0], n)
    units = np.concatenate([u1, u0])
    for method in ("dr", "reg", "ipw"):
        ref = rc_did(np.concatenate([y1, y0]), np.r_[np.ones(u1.size), np.zeros(u0.size)],
                     treated[units].astype(float), np.ones((units.size, 1)), method)
        assert att == pytest.approx(ref.att, abs=1e-12)
        ref_col = np.bincount(units, weights=ref.inf, minlength=n) * (n / units.size)
        assert col == pytest.approx(ref_col, abs=1e-10)
