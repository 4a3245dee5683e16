"""Behaviour of analysis.did beyond the R parity numbers: simulated panels, input handling, options."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import DiDError, att_gt
from analysis.did_drdid import panel_did

FIX = Path(__file__).parent / "fixtures" / "did"
COLS = dict(y="lemp", t="year", unit="countyreal", group="first.treat")


def simulate(n=600, periods=8, effect=0.5, seed=0, cohorts=(4, 6, 8), never_share=0.3,
             anticipation_effect=0.0, covariate_trend=0.0):
    """Staggered panel: unit and period effects, a homogeneous effect from the first treated period on.

    ``covariate_trend`` makes the trend depend on a time-invariant covariate whose distribution
    differs across cohorts (so unconditional parallel trends fail, conditional ones hold).
    ``anticipation_effect`` is added one period before treatment.
    """
    rng = np.random.default_rng(seed)
    never = rng.random(n) < never_share
    g = np.where(never, 0, rng.choice(cohorts, size=n)).astype(float)
    x = rng.normal(size=n) + 0.3 * (g > 0) + 0.03 * g  # moderate selection: good overlap
    alpha = rng.normal(size=n) + 0.5 * x
    t = np.arange(1, periods + 1)
    gg, tt = np.meshgrid(g, t, indexing="ij")
    y = (alpha[:, None] + 0.2 * tt + covariate_trend * x[:, None] * tt
         + effect * ((gg > 0) & (tt >= gg)) + anticipation_effect * ((gg > 0) & (tt == gg - 1))
         + rng.normal(scale=0.5, size=(n, periods)))
    return pd.DataFrame({
        "unit": np.repeat(np.arange(n), periods), "t": np.tile(t, n), "g": np.repeat(g, periods),
        "x": np.repeat(x, periods), "y": y.ravel(), "team": np.repeat(np.arange(n) // 6, periods),
    })


SIM = dict(y="y", t="t", unit="unit", group="g")


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(FIX / "mpdta.csv")


# -- recovering a known effect ------------------------------------------------------------------
@pytest.mark.parametrize("control", ["never_treated", "not_yet_treated"])
@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
def test_recovers_homogeneous_effect(control, method):
    df = simulate(seed=3, covariate_trend=0.3)
    res = att_gt(df, **SIM, control=control, method=method, covariates=["x"])
    for kind in ("simple", "group", "dynamic", "calendar"):
        agg = res.aggregate(kind)
        assert abs(agg.overall_att - 0.5) < 4 * agg.overall_se, (kind, agg.overall_att, agg.overall_se)
        assert 0 < agg.overall_se < 0.2
    dyn = res.aggregate("dynamic").table
    pre = dyn[dyn["egt"] < 0]
    assert (np.abs(pre["att"]) < 4 * pre["se"]).all()
    pt = res.pretest()
    assert pt.df == int((res.table["t"] < res.table["group"]).sum()) and pt.p_value > 0.001


def test_covariates_fix_conditional_parallel_trends():
    """Trends depend on x and x differs by cohort: without x the estimate is biased, with x it is not."""
    df = simulate(n=1500, seed=5, covariate_trend=0.3)
    biased = att_gt(df, **SIM).aggregate("simple")
    fixed = att_gt(df, **SIM, covariates="x").aggregate("simple")
    assert abs(biased.overall_att - 0.5) > 6 * biased.overall_se
    assert abs(fixed.overall_att - 0.5) < 4 * fixed.overall_se


def test_methods_coincide_without_covariates(mpdta):
    tables = [att_gt(mpdta, **COLS, method=m).table for m in ("dr", "reg", "ipw")]
    for other in tables[1:]:
        pd.testing.assert_frame_equal(tables[0], other, rtol=1e-10, atol=1e-12)


def test_simple_difference_in_means(mpdta):
    """Without covariates ATT(g,t) is the 2x2 difference of mean changes."""
    res = att_gt(mpdta, **COLS)
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.drop_duplicates("countyreal").set_index("countyreal")["first.treat"]
    d = wide[2006] - wide[2003]  # cohort 2004, t=2006: base period 2003
    expected = d[g == 2004].mean() - d[g == 0].mean()
    got = res.table.query("group == 2004 and t == 2006")["att"].iloc[0]
    assert got == pytest.approx(expected, abs=1e-12)
    d = wide[2005] - wide[2004]  # cohort 2007, t=2005 (pre-period): base period 2004
    got = res.table.query("group == 2007 and t == 2005")["att"].iloc[0]
    assert got == pytest.approx(d[g == 2007].mean() - d[g == 0].mean(), abs=1e-12)


@pytest.mark.parametrize("method", ["dr", "reg", "ipw"])
def test_influence_function_matches_jackknife(method):
    """The analytic influence function (with the estimation effect of the nuisance models) agrees
    with the leave-one-out jackknife: IF_i ~= (n - 1) * (att - att_(-i))."""
    rng = np.random.default_rng(11)
    n = 300
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    d = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x1 - 0.5 * x2)))).astype(float)
    dy = 1 + 0.7 * x1 + 0.4 * x2 + 0.5 * x1**2 + 0.6 * d + rng.normal(size=n)
    x = np.column_stack([np.ones(n), x1, x2])
    full = panel_did(dy, d, x, method)
    keep = np.ones(n, bool)
    jack = np.empty(n)
    for i in range(n):
        keep[i] = False
        jack[i] = (n - 1) * (full.att - panel_did(dy[keep], d[keep], x[keep], method).att)
        keep[i] = True
    assert np.corrcoef(full.inf, jack)[0, 1] > 0.995
    se_if = np.sqrt(np.mean(full.inf**2) / n)
    se_jack = np.sqrt(np.mean(jack**2) / n)
    assert se_if == pytest.approx(se_jack, rel=0.05)


# -- input conventions ---------------------------------------------------------------------------
def test_group_nan_and_zero_are_the_same(mpdta):
    nan_df = mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(0, np.nan)})
    a, b = att_gt(mpdta, **COLS), att_gt(nan_df, **COLS)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.aggregate("dynamic").overall_se == b.aggregate("dynamic").overall_se


def test_cohort_after_last_period_is_never_treated(mpdta):
    late = mpdta.assign(**{"first.treat": mpdta["first.treat"].replace(0, 2050)})
    pd.testing.assert_frame_equal(att_gt(mpdta, **COLS).table, att_gt(late, **COLS).table)


def test_units_treated_in_first_period_are_dropped(mpdta):
    ids = mpdta.loc[mpdta["first.treat"] == 0, "countyreal"].unique()[:20]
    early = mpdta.assign(**{"first.treat": np.where(mpdta["countyreal"].isin(ids), 2003, mpdta["first.treat"])})
    with pytest.warns(UserWarning, match="20 units already treated in the first period"):
        res = att_gt(early, **COLS)
    ref = att_gt(mpdta[~mpdta["countyreal"].isin(ids)], **COLS)
    pd.testing.assert_frame_equal(res.table, ref.table)
    assert res.n_units == 480


def test_unbalanced_units_are_dropped(mpdta):
    holey = mpdta.drop(index=mpdta.index[(mpdta["countyreal"] == 8001) & (mpdta["year"] == 2005)])
    with pytest.warns(UserWarning, match="1 units not observed in every period"):
        res = att_gt(holey, **COLS)
    ref = att_gt(mpdta[mpdta["countyreal"] != 8001], **COLS)
    pd.testing.assert_frame_equal(res.table, ref.table)


def test_row_order_and_column_types_do_not_matter(mpdta):
    shuffled = mpdta.sample(frac=1.0, random_state=1).assign(countyreal=lambda d: "c" + d["countyreal"].astype(str))
    pd.testing.assert_frame_equal(att_gt(mpdta, **COLS).table, att_gt(shuffled, **COLS).table)


def test_not_yet_treated_without_never_treated(mpdta):
    """R's rule: the last cohort becomes the comparison group and later periods are dropped."""
    treated_only = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(DiDError, match="no never-treated units"):
        att_gt(treated_only, **COLS, control="never_treated")
    res = att_gt(treated_only, **COLS, control="not_yet_treated")
    assert sorted(res.table["group"].unique()) == [2004, 2006]
    assert res.table["t"].max() == 2006
    assert np.isfinite(res.aggregate("simple").overall_se)


# -- errors --------------------------------------------------------------------------------------
def test_missing_column_is_named(mpdta):
    with pytest.raises(DiDError, match="'lemp2'"):
        att_gt(mpdta, **{**COLS, "y": "lemp2"})
    with pytest.raises(DiDError, match="'nope'"):
        att_gt(mpdta, **COLS, covariates=["lpop", "nope"])
    with pytest.raises(DiDError, match="'region'"):
        att_gt(mpdta, **COLS, cluster="region")


def test_no_never_treated_units(mpdta):
    with pytest.raises(DiDError, match="no never-treated units"):
        att_gt(mpdta[mpdta["first.treat"] != 0], **COLS)


@pytest.mark.parametrize("kwargs, message", [
    (dict(method="ols"), "method must be one of"),
    (dict(control="everyone"), "control must be one of"),
    (dict(anticipation=-1), "anticipation"),
])
def test_bad_options(mpdta, kwargs, message):
    with pytest.raises(DiDError, match=message):
        att_gt(mpdta, **COLS, **kwargs)


def test_bad_panels(mpdta):
    with pytest.raises(DiDError, match="more than one row per"):
        att_gt(pd.concat([mpdta, mpdta.head(1)]), **COLS)
    varying = mpdta.assign(**{"first.treat": np.where(mpdta["year"] == 2003, 2007, mpdta["first.treat"])})
    with pytest.raises(DiDError, match="varies within a unit"):
        att_gt(varying, **COLS)
    with pytest.raises(DiDError, match="must be numeric"):
        att_gt(mpdta.assign(year=mpdta["year"].astype(str)), **COLS)
    with pytest.raises(DiDError, match="unknown"):
        att_gt(mpdta, **COLS).aggregate("unknown")


def test_small_cell_error_names_the_cell(mpdta):
    # a covariate constant among the never treated: the outcome regression cannot be fitted
    bad = mpdta.assign(z=np.where(mpdta["first.treat"] == 0, 1.0, mpdta["lpop"]))
    with pytest.raises(DiDError, match=r"cell \(group=2004, t=2004, base period 2003\).*comparison units"):
        att_gt(bad, **COLS, covariates="z", method="reg")


# -- options -------------------------------------------------------------------------------------
def test_cluster_option(mpdta):
    base = att_gt(mpdta, **COLS)
    same = att_gt(mpdta.assign(cid=mpdta["countyreal"] * 10), **COLS, cluster="cid")
    pd.testing.assert_frame_equal(base.table, same.table)
    coarse = att_gt(mpdta.assign(state=mpdta["countyreal"] // 1000), **COLS, cluster="state")
    assert coarse.n_clusters == mpdta["countyreal"].floordiv(1000).nunique() < base.n_clusters == 500
    np.testing.assert_allclose(coarse.table["att"], base.table["att"])
    assert not np.allclose(coarse.table["se"], base.table["se"])
    with pytest.raises(DiDError, match="varies within a unit"):
        att_gt(mpdta.assign(cid=mpdta["year"]), **COLS, cluster="cid")


def test_anticipation():
    df = simulate(n=2000, seed=7, anticipation_effect=0.4)
    naive = att_gt(df, **SIM).aggregate("dynamic")
    res = att_gt(df, **SIM, anticipation=1)
    dyn = res.aggregate("dynamic")
    # without allowing for anticipation the base period g-1 is already affected: biased
    e0 = naive.table.set_index("egt").loc[0]
    assert abs(e0["att"] - 0.5) > 5 * e0["se"]
    # with anticipation=1 the base period is g-2: event time -1 shows the anticipation, e>=0 the effect
    tab = dyn.table.set_index("egt")
    assert abs(tab.loc[-1, "att"] - 0.4) < 4 * tab.loc[-1, "se"]
    for e in (0, 1, 2):
        assert abs(tab.loc[e, "att"] - 0.5) < 4 * tab.loc[e, "se"]
    assert abs(dyn.overall_att - 0.5) < 4 * dyn.overall_se


def test_pretest_on_dynamic_and_confidence_interval(mpdta):
    res = att_gt(mpdta, **COLS)
    pt = res.pretest(on="dynamic")
    assert pt.df == 3 and 0 <= pt.p_value <= 1
    lo, hi = res.aggregate("simple").conf_int()
    assert lo < -0.0400 < hi


def test_large_weekly_panel_is_fast():
    rng = np.random.default_rng(2)
    n, weeks = 1000, 52
    g = rng.choice(np.r_[np.zeros(15), np.arange(5, 50)], size=n).astype(float)
    t = np.arange(1, weeks + 1)
    y = rng.normal(size=(n, 1)) + 0.01 * t + 0.3 * ((g[:, None] > 0) & (t >= g[:, None])) + rng.normal(size=(n, weeks))
    df = pd.DataFrame({"unit": np.repeat(np.arange(n), weeks), "t": np.tile(t, n),
                       "g": np.repeat(g, weeks), "y": y.ravel()})
    start = time.perf_counter()
    res = att_gt(df, **SIM, control="not_yet_treated")
    aggs = {k: res.aggregate(k) for k in ("simple", "group", "dynamic", "calendar")}
    pre = res.pretest(on="dynamic")
    elapsed = time.perf_counter() - start
    assert elapsed < 10, f"took {elapsed:.1f}s"
    assert abs(aggs["simple"].overall_att - 0.3) < 4 * aggs["simple"].overall_se
    assert np.isfinite(pre.statistic)
    # more pre-treatment cells than units: the cell-level test is reported as not available
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cells = res.pretest()
    assert np.isnan(cells.statistic) and "singular" in cells.note
