"""att_gt(..., allow_unbalanced_panel=True): repeated cross-section estimators clustered by unit.

Three kinds of evidence: on a balanced panel without covariates the unbalanced path must give the
panel path's numbers (R `did` documents this for `allow_unbalanced_panel = TRUE`, and the panel path
reproduces R on mpdta); the per-observation influence functions of `rc_did` must be the derivatives
of the estimator (checked against leave-one-out changes); and on a simulated staggered panel with
many missing unit-periods the planted effects must be recovered within their confidence intervals.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import DiDError, att_gt
from analysis.did_drdid import CellError, rc_did

FIX = Path(__file__).parent / "fixtures" / "did"
MPDTA = dict(y="lemp", t="year", unit="countyreal", group="first.treat")


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(FIX / "mpdta.csv")


@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
def test_balanced_panel_without_covariates_matches_the_panel_path(mpdta, method, control):
    panel = att_gt(mpdta, **MPDTA, method=method, control=control)
    rc = att_gt(mpdta, **MPDTA, method=method, control=control, allow_unbalanced_panel=True)
    assert rc.allow_unbalanced_panel and not panel.allow_unbalanced_panel
    assert rc.n_units == panel.n_units == 500 and rc.n_obs == 2500
    np.testing.assert_allclose(rc.table["att"], panel.table["att"], rtol=0, atol=1e-12)
    # clustered by unit, the two periods' observation influence functions add up to the unit's
    np.testing.assert_allclose(rc.table["se"], panel.table["se"], rtol=1e-10)
    for kind in ("simple", "dynamic", "group", "calendar"):
        a, b = panel.aggregate(kind), rc.aggregate(kind)
        assert b.overall_att == pytest.approx(a.overall_att, abs=1e-12)
        assert b.overall_se == pytest.approx(a.overall_se, rel=1e-10)
    # the R headline (simple ATT, never treated, dr) is therefore reproduced by this path too
    if method == "dr" and control == "never_treated":
        assert rc.aggregate("simple").overall_att == pytest.approx(-0.0400, abs=5e-5)


def _rc_sample(n=3000, seed=1):
    """Two repeated cross sections with a covariate that matters for treatment and for the trend."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=n)
    post = (rng.random(n) < 0.45).astype(float)
    d = (rng.random(n) < 1 / (1 + np.exp(-(0.3 * x1 - 0.5)))).astype(float)
    y = 1 + 0.5 * x1 + 0.3 * post + 0.4 * d - 0.2 * d * post + 0.3 * x1 * post + rng.normal(size=n)
    return y, post, d, np.column_stack([np.ones(n), x1])


@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
def test_rc_influence_function_is_the_leave_one_out_derivative(method):
    """IF_i ~= (n - 1) (att - att without i): catches any missing estimation-effect term."""
    y, post, d, x = _rc_sample()
    n = y.size
    full = rc_did(y, post, d, x, method)
    assert abs(full.inf.mean()) < 1e-10
    for i in (0, 7, 123, 2500, 2999):
        keep = np.arange(n) != i
        jackknife = (n - 1) * (full.att - rc_did(y[keep], post[keep], d[keep], x[keep], method).att)
        assert full.inf[i] == pytest.approx(jackknife, rel=0.02, abs=0.01), (method, i)


def test_rc_methods_agree_without_covariates_and_need_all_four_groups():
    y, post, d, x = _rc_sample(n=400, seed=2)
    intercept = x[:, :1]
    ests = [rc_did(y, post, d, intercept, m) for m in ("dr", "reg", "ipw")]
    means = [y[(d == a) & (post == b)].mean() for a in (1, 0) for b in (1, 0)]
    expected = (means[0] - means[1]) - (means[2] - means[3])
    for e in ests:
        assert e.att == pytest.approx(expected, abs=1e-12)
        np.testing.assert_allclose(e.inf, ests[0].inf, atol=1e-10)
    with pytest.raises(CellError, match="no treated observations in the base period"):
        rc_did(y, np.where(d == 1, 1.0, post), d, intercept, "dr")


# ------------------------------------------------------------------ simulated unbalanced panel
N_UNITS, PERIODS = 800, 12
COHORTS = {4: 0.2, 6: 0.2, 9: 0.2}  # share of units first treated in period g; the rest never
EFFECT = {4: -0.30, 6: -0.20, 9: -0.10}  # constant effect per cohort once treated


def simulate_unbalanced(seed: int) -> pd.DataFrame:
    """Staggered adoption, unit effects correlated with the cohort, and ~55% of outcomes missing.

    Missingness is unit-specific (busy units report more often, like developers with more merged
    PRs) but constant over time, so parallel trends hold among the observed: the setting the
    repeated cross-section estimators are valid in. Balancing this panel would keep almost nobody.
    """
    rng = np.random.default_rng(seed)
    u = np.arange(N_UNITS)
    draw = rng.random(N_UNITS)
    edges = np.cumsum(list(COHORTS.values()))
    g = np.select([draw < edges[0], draw < edges[1], draw < edges[2]], list(COHORTS), 0)
    alpha = rng.normal(0, 0.5, N_UNITS) - 0.3 * (g > 0) + 0.02 * g  # cohorts differ in levels
    report = rng.uniform(0.2, 0.7, N_UNITS)  # probability of an observed outcome in a period
    rows = []
    for t in range(1, PERIODS + 1):
        tau = np.where((g > 0) & (t >= g), np.vectorize(lambda c: EFFECT.get(c, 0.0))(g), 0.0)
        y = alpha + 0.05 * t + 0.1 * np.sin(t) + tau + rng.normal(0, 0.6, N_UNITS)
        seen = rng.random(N_UNITS) < report
        rows.append(pd.DataFrame({"unit": u[seen], "t": t, "g": g[seen], "y": y[seen]}))
    return pd.concat(rows, ignore_index=True)


def true_simple_att() -> float:
    """Cohort-share weighted mean of the post-treatment ATT(g,t) (the estimand of aggregate("simple"))."""
    weights = {g: share * (PERIODS - g + 1) for g, share in COHORTS.items()}
    return sum(weights[g] * EFFECT[g] for g in COHORTS) / sum(weights.values())


@pytest.fixture(scope="module")
def simulated():
    data = simulate_unbalanced(seed=11)
    return data, att_gt(data, y="y", t="t", unit="unit", group="g", allow_unbalanced_panel=True)


def test_simulated_unbalanced_panel_recovers_the_planted_effects(simulated):
    data, res = simulated
    assert len(data) < 0.5 * N_UNITS * PERIODS  # most unit-periods are missing
    assert res.n_units == data["unit"].nunique() and res.n_obs == len(data)
    assert res.table["att"].notna().all()  # every cell has treated and comparison observations

    simple = res.aggregate("simple")
    low, high = simple.conf_int()
    assert low < true_simple_att() < high
    # informative, not covering by being huge: over 150 seeds of this design the estimate's standard
    # deviation is 0.059 and the mean reported SE 0.065 (coverage 96%); unit effects are not
    # differenced out by the cross-section estimators, hence wider than a balanced panel would give
    assert 0.04 < simple.overall_se < 0.09

    # three cohort effects tested together: 99% intervals (over 150 seeds each 95% interval covers
    # 94-95% of the time and the cohort estimates are unbiased; this seed puts cohort 4 at 2.1 SE)
    for g, effect in EFFECT.items():
        cohort = res.aggregate("group").table.set_index("egt").loc[g]
        assert abs(cohort["att"] - effect) < 2.576 * cohort["se"], (g, cohort.to_dict())

    dynamic = res.aggregate("dynamic").table.set_index("egt")
    e0_truth = np.average(list(EFFECT.values()), weights=list(COHORTS.values()))
    assert abs(dynamic.loc[0, "att"] - e0_truth) < 1.96 * dynamic.loc[0, "se"]
    pre = res.pretest(on="dynamic")
    assert pre.df == 7 and pre.p_value > 0.01  # e = -7..-1 (cohort 9); parallel trends hold by construction


def test_balanced_path_would_throw_the_simulated_panel_away(simulated):
    data, res = simulated
    with pytest.warns(UserWarning, match="not observed in every period"):
        with pytest.raises(DiDError, match="no unit is observed in every period|no treated units|no never-treated"):
            att_gt(data, y="y", t="t", unit="unit", group="g")


def test_unestimable_cells_are_nan_and_left_out_of_aggregations(simulated):
    data, full = simulated
    # cohort 6 never observed in period 8: its cells with t = 8 (and the pre cell comparing 8 with 7...
    # there is none: 8 > 6) cannot be estimated
    holes = data[~((data["g"] == 6) & (data["t"] == 8))]
    with pytest.warns(UserWarning, match=r"1 of \d+ ATT\(g,t\) not estimable.*group=6, t=8"):
        res = att_gt(holes, y="y", t="t", unit="unit", group="g", allow_unbalanced_panel=True)
    missing = res.table[res.table["att"].isna()]
    assert missing[["group", "t"]].values.tolist() == [[6, 8]]
    assert missing["se"].isna().all()
    simple = res.aggregate("simple")
    assert np.isfinite(simple.overall_att) and np.isfinite(simple.overall_se)
    # the other cells are unchanged except through the comparison group, which is untouched here
    other = res.table.dropna().merge(full.table, on=["group", "t"], suffixes=("", "_full"))
    np.testing.assert_allclose(other["att"], other["att_full"], atol=1e-12)
    dyn = res.aggregate("dynamic").table.set_index("egt")
    assert np.isfinite(dyn["att"]).all()


def test_allow_unbalanced_panel_must_be_a_bool(mpdta):
    with pytest.raises(DiDError, match="allow_unbalanced_panel must be True or False"):
        att_gt(mpdta, **MPDTA, allow_unbalanced_panel="yes")


def test_unbalanced_with_covariates_runs_and_stays_close_to_no_covariates():
    data = simulate_unbalanced(seed=5)
    rng = np.random.default_rng(0)
    data = data.assign(x=rng.normal(size=len(data)))  # pure noise covariate, varying by period
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no cell should fail or be dropped
        for method in ("dr", "reg", "ipw"):
            cov = att_gt(data, y="y", t="t", unit="unit", group="g", covariates=["x"], method=method,
                         allow_unbalanced_panel=True).aggregate("simple")
            plain = att_gt(data, y="y", t="t", unit="unit", group="g", method=method,
                           allow_unbalanced_panel=True).aggregate("simple")
            assert cov.overall_att != plain.overall_att
            assert cov.overall_att == pytest.approx(plain.overall_att, abs=0.5 * plain.overall_se)
