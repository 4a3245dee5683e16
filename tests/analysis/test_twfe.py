"""Two-way fixed effects DiD and event study recover planted effects on simulated panels."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from analysis.twfe import Estimate, EventStudy, twfe_did, twfe_event_study


def simulate_panel(
    *,
    n_units: int = 400,
    n_weeks: int = 40,
    effect: float = -0.2,
    pretrend: float = 0.0,
    adopter_share: float = 0.5,
    keep: float = 0.85,
    seed: int = 0,
) -> pd.DataFrame:
    """Unit x week panel: y = unit effect + week effect + effect * post + pretrend * (weeks to adoption) + noise.

    ``pretrend`` > 0 makes adopters drift (linearly in relative time) before they adopt, which a
    pre-trend test should catch. ``keep`` < 1 drops rows at random (unbalanced panel, like weeks
    without a merged PR). Adoption weeks are staggered, at least 8 weeks (a quarter of the panel if
    shorter) from either end.
    """
    rng = np.random.default_rng(seed)
    unit_effect = rng.normal(2.3, 0.5, n_units)
    week_effect = 0.2 * np.sin(np.arange(n_weeks) / 4.0) + 0.005 * np.arange(n_weeks)
    adopts = rng.random(n_units) < adopter_share
    margin = min(8, n_weeks // 4)
    first = np.where(adopts, rng.integers(margin, n_weeks - margin, n_units), 0)
    unit = np.repeat(np.arange(n_units), n_weeks)
    week = np.tile(np.arange(1, n_weeks + 1), n_units)  # periods 1..n_weeks (0 means never treated)
    g = first[unit]
    treated = g > 0
    post = treated & (week >= g)
    rel = np.where(treated, week - g, 0)
    y = (
        unit_effect[unit]
        + week_effect[week - 1]
        + effect * post
        + pretrend * np.where(treated & (rel < 0), rel, 0)
        + rng.normal(0.0, 0.6, unit.size)
    )
    frame = pd.DataFrame({"developer": unit, "week": week, "adoption_week": np.where(treated, g, np.nan), "y": y})
    return frame[rng.random(len(frame)) < keep].reset_index(drop=True)


ARGS = dict(y="y", unit="developer", time="week", group="adoption_week")


def test_twfe_recovers_planted_effect():
    panel = simulate_panel(effect=-0.2, seed=1)
    est = twfe_did(panel, **ARGS, outcome="log_review")
    assert isinstance(est, Estimate)
    assert est.outcome == "log_review" and est.estimator == "twfe"
    assert est.ci_low < -0.2 < est.ci_high
    assert abs(est.estimate + 0.2) < 0.05
    assert est.p_value < 1e-6
    assert est.ci_low < est.estimate < est.ci_high
    assert 0.005 < est.se < 0.05
    # counts describe the estimation sample
    assert est.n_obs == len(panel)
    assert est.n_units == panel["developer"].nunique()
    post = panel["adoption_week"].notna() & (panel["week"] >= panel["adoption_week"])
    assert est.n_treated_units == panel.loc[post, "developer"].nunique()


def test_twfe_gives_zero_without_effect():
    est = twfe_did(simulate_panel(effect=0.0, seed=2), **ARGS)
    assert est.ci_low < 0.0 < est.ci_high
    assert abs(est.estimate) < 0.04
    assert est.p_value > 0.05


def test_twfe_intervals_have_nominal_coverage():
    """Across 60 simulated organisations the 95% CI covers the truth about 95% of the time."""
    covered = []
    for seed in range(60):
        est = twfe_did(simulate_panel(n_units=150, n_weeks=30, effect=0.1, seed=100 + seed), **ARGS)
        covered.append(est.ci_low < 0.1 < est.ci_high)
    assert np.mean(covered) >= 0.88


def test_twfe_matches_dummy_variable_regression():
    """The within transformation gives the same coefficient as explicit unit and week dummies; the clustered
    SE differs only by the small-sample factor (unit dummies are not counted as parameters, as in reghdfe)."""
    panel = simulate_panel(n_units=60, n_weeks=16, effect=-0.3, seed=3)
    est = twfe_did(panel, **ARGS)
    data = panel.assign(post=(panel["adoption_week"].notna() & (panel["week"] >= panel["adoption_week"])).astype(float))
    fit = smf.ols("y ~ post + C(developer) + C(week)", data=data).fit(
        cov_type="cluster", cov_kwds={"groups": data["developer"]}, use_t=True
    )
    assert est.estimate == pytest.approx(fit.params["post"], abs=1e-10)
    n, g, t = len(data), data["developer"].nunique(), data["week"].nunique()
    k_within, k_dummies = 1 + (t - 1), 1 + (t - 1) + (g - 1) + 1
    factor = np.sqrt((n - k_dummies) / (n - k_within))
    assert est.se == pytest.approx(fit.bse["post"] * factor, rel=1e-8)


def test_dates_are_converted_to_weeks():
    panel = simulate_panel(n_units=120, n_weeks=24, seed=4)
    origin = pd.Timestamp("2025-01-06")
    dated = panel.assign(
        week=origin + pd.to_timedelta((panel["week"] - 1) * 7, unit="D"),
        adoption_week=origin + pd.to_timedelta((panel["adoption_week"] - 1) * 7, unit="D"),  # NaT if never
    )
    a, b = twfe_did(panel, **ARGS), twfe_did(dated, **ARGS)
    assert a.estimate == pytest.approx(b.estimate, abs=1e-12)
    assert a.se == pytest.approx(b.se, abs=1e-12)


def test_missing_outcomes_and_singletons_are_dropped():
    panel = simulate_panel(n_units=100, n_weeks=20, seed=5, keep=1.0)
    panel.loc[panel.index[::7], "y"] = np.nan
    singleton = pd.DataFrame({"developer": [9999], "week": [3], "adoption_week": [np.nan], "y": [1.0]})
    est = twfe_did(pd.concat([panel, singleton], ignore_index=True), **ARGS)
    assert est.n_obs == int(panel["y"].notna().sum())
    assert est.n_units == 100


def test_duplicate_unit_periods_are_rejected():
    panel = simulate_panel(n_units=30, n_weeks=12, seed=6)
    with pytest.raises(ValueError, match="one row per"):
        twfe_did(pd.concat([panel, panel.head(3)]), **ARGS)


def test_event_study_recovers_dynamic_effect_and_passes_pretrend_under_parallel_trends():
    panel = simulate_panel(n_units=600, n_weeks=40, effect=-0.2, seed=7)
    es = twfe_event_study(panel, **ARGS)
    assert isinstance(es, EventStudy)
    table = es.table.set_index("relative_week")
    assert list(table.index) == list(range(-8, 13))
    assert table.loc[-1, "estimate"] == 0.0 and np.isnan(table.loc[-1, "se"])
    post = table.loc[0:12]
    pre = table.loc[[-8, -7, -6, -5, -4, -3, -2]]
    assert (post["ci_low"] < -0.2).mean() >= 0.8 and (post["ci_high"] > -0.2).mean() >= 0.8
    assert abs(post["estimate"].mean() + 0.2) < 0.04
    assert abs(pre["estimate"].mean()) < 0.04
    assert es.pre_trend_df == 7
    assert es.pre_trend_p_value > 0.10
    assert (table["ci_low"].drop(-1) < table["estimate"].drop(-1)).all()


def test_event_study_pretrend_test_rejects_planted_pretrend():
    panel = simulate_panel(n_units=600, n_weeks=40, effect=-0.2, pretrend=0.03, seed=7)
    es = twfe_event_study(panel, **ARGS)
    assert es.pre_trend_p_value < 0.001
    # leads slope upward towards adoption: the earliest lead is clearly below zero
    assert es.table.set_index("relative_week").loc[-7, "ci_high"] < 0


def test_event_study_pretrend_test_has_about_nominal_size():
    """Under parallel trends the 5% test rejects in about 5% of simulated organisations (the clustered
    Wald test runs a little hot with few adopters: about 7% with 150 of them in 300 simulations)."""
    rejections = [
        twfe_event_study(simulate_panel(n_units=300, n_weeks=30, seed=200 + s), **ARGS).pre_trend_p_value < 0.05
        for s in range(60)
    ]
    assert np.mean(rejections) <= 0.15


def test_event_study_matches_dummy_variable_regression():
    panel = simulate_panel(n_units=80, n_weeks=30, effect=-0.2, seed=11)
    es = twfe_event_study(panel, **ARGS)
    rel = (panel["week"] - panel["adoption_week"]).clip(-8, 12)
    data = panel.assign(rel=rel.fillna(-1).astype(int).astype(str))  # never treated: the reference level
    fit = smf.ols("y ~ C(rel, Treatment('-1')) + C(developer) + C(week)", data=data).fit()
    table = es.table.set_index("relative_week")
    for k in (-8, -3, 0, 5, 12):
        assert table.loc[k, "estimate"] == pytest.approx(fit.params[f"C(rel, Treatment('-1'))[T.{k}]"], abs=1e-9)


def test_event_study_bins_the_tails():
    panel = simulate_panel(n_units=200, n_weeks=40, seed=8, keep=1.0)
    es = twfe_event_study(panel, **ARGS)
    rel = panel["week"] - panel["adoption_week"]
    table = es.table.set_index("relative_week")
    assert table.loc[-8, "n_treated_units"] == panel.loc[rel <= -8, "developer"].nunique()
    assert table.loc[12, "n_treated_units"] == panel.loc[rel >= 12, "developer"].nunique()
    assert table.loc[0, "n_treated_units"] == panel.loc[rel == 0, "developer"].nunique()


def test_event_study_needs_never_treated_units():
    panel = simulate_panel(n_units=100, n_weeks=30, adopter_share=1.0, seed=9)
    with pytest.raises(ValueError, match="never-treated"):
        twfe_event_study(panel, **ARGS)


def test_fast_enough_for_a_thousand_developers_over_a_year():
    panel = simulate_panel(n_units=1000, n_weeks=52, seed=10)
    started = time.perf_counter()
    est = twfe_did(panel, **ARGS)
    es = twfe_event_study(panel, **ARGS)
    elapsed = time.perf_counter() - started
    assert est.n_units == 1000 and es.n_obs == len(panel)
    assert elapsed < 10.0, f"TWFE on 1,000 x 52 took {elapsed:.1f}s"
