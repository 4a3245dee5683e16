"""Fixed-effects Poisson GLM for counts: equals statsmodels' GLM with dummies, recovers a planted
multiplicative effect, and is written in natural units (PRs per week and percent)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from analysis.estimates import OUTCOMES, estimate_outcome_poisson
from analysis.poisson import poisson_did
from panels import quick_panel

MERGED = next(o for o in OUTCOMES if o.name == "prs_merged")


def test_equals_statsmodels_glm_with_unit_and_week_dummies():
    panel = quick_panel(60, 16, rate_ratio=1.2, seed=11)
    fit = poisson_did(panel, y="prs_merged", unit="developer_id", time="_week", group="_adoption_week")
    data = panel.assign(post=(panel["_week"] >= panel["_adoption_week"]).astype(float))
    dummies = pd.get_dummies(data[["developer_id", "_week"]].astype(str), drop_first=True).astype(float)
    exog = sm.add_constant(pd.concat([data[["post"]], dummies], axis=1))
    glm = sm.GLM(data["prs_merged"], exog, family=sm.families.Poisson()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(data["developer_id"])[0]}
    )
    assert fit.coef == pytest.approx(glm.params["post"], abs=1e-8)
    # the jackknife (CR3) error is of the size of statsmodels' cluster-robust (CR1) one, not smaller
    assert glm.bse["post"] * 0.9 < fit.se < glm.bse["post"] * 1.5
    assert fit.n_units == 60 and fit.n_obs == len(panel)


def test_one_step_jackknife_matches_refitting_without_each_developer():
    panel = quick_panel(40, 16, rate_ratio=1.2, seed=15)
    kw = dict(y="prs_merged", unit="developer_id", time="_week", group="_adoption_week")
    fit = poisson_did(panel, **kw)
    devs = panel["developer_id"].unique()
    loo = np.array([poisson_did(panel[panel["developer_id"] != d], **kw).coef for d in devs])
    g = len(devs)
    exact = math.sqrt((g - 1) / g * np.sum((loo - loo.mean()) ** 2))
    assert fit.se == pytest.approx(exact, rel=0.05)


@pytest.mark.parametrize("ratio", [1.0, 1.25])
def test_recovers_a_planted_multiplicative_effect(ratio):
    panel = quick_panel(400, 30, rate_ratio=ratio, seed=12)
    fit = poisson_did(panel, y="prs_merged", unit="developer_id", time="_week", group="_adoption_week")
    assert fit.ci_low < math.log(ratio) < fit.ci_high
    assert fit.coef == pytest.approx(math.log(ratio), abs=0.04)
    mid, lo, hi = fit.pct()
    assert lo < 100 * (ratio - 1) < hi and mid == pytest.approx(100 * math.expm1(fit.coef))
    if ratio > 1:
        assert fit.p_value < 0.001


def test_natural_units_row_fields():
    panel = quick_panel(300, 30, rate_ratio=1.25, seed=13)
    est, extra = estimate_outcome_poisson(panel, MERGED)
    pre = panel[panel["_adoption_week"].notna() & (panel["_week"] < panel["_adoption_week"])]
    baseline = pre["prs_merged"].mean()
    assert extra["baseline_mean"] == pytest.approx(baseline)
    assert est.estimator == "poisson_glm"
    # estimate in merged PRs per developer-week at the adopters' baseline, effect_pct in percent
    assert est.estimate == pytest.approx(baseline * extra["effect_pct"] / 100)
    assert est.ci_low < baseline * 0.25 < est.ci_high
    assert extra["effect_pct_ci_low"] < 25 < extra["effect_pct_ci_high"]
    assert extra["effect_unit"] == "merged PRs per developer-week"
    assert "rate ratio" in extra["model"]
    assert 0 <= extra["placebo_p_value"] <= 1 and extra["placebo_p_value"] > 0.01
    assert extra["withheld_reason"] is None


def test_bad_counts_are_clear_errors():
    panel = quick_panel(30, 16, seed=14)
    with pytest.raises(ValueError, match="negative values"):
        poisson_did(panel.assign(prs_merged=-1), y="prs_merged", unit="developer_id", time="_week",
                    group="_adoption_week")
    with pytest.raises(ValueError, match="no variation in adoption"):
        poisson_did(panel.assign(_adoption_week=np.nan), y="prs_merged", unit="developer_id", time="_week",
                    group="_adoption_week")
