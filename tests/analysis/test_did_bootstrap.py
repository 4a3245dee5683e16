"""Multiplier bootstrap of the Callaway & Sant'Anna aggregations: errors, uniform bands, reproducibility.

Reference: the R-published analytic standard errors on mpdta (fixtures/did/did_r_aggte.csv). The
bootstrap's variance given the data equals the analytic variance, so with B draws the plain standard
deviation of the draws is within a few times 1/sqrt(2B) of the analytic error (relative).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.did import DiDError, att_gt
from analysis.did_bootstrap import multiplier_bootstrap

FIX = Path(__file__).parent / "fixtures" / "did"
B = 2000


@pytest.fixture(scope="module")
def res():
    data = pd.read_csv(FIX / "mpdta.csv")
    return att_gt(data, y="lemp", t="year", unit="countyreal", group="first.treat", control="never_treated")


@pytest.fixture(scope="module")
def r_dynamic() -> pd.DataFrame:
    ref = pd.read_csv(FIX / "did_r_aggte.csv")
    return ref.query("scenario == 'mpdta_nev_dr' and type == 'dynamic'").set_index("egt")


def test_bootstrap_errors_approximate_the_published_analytic_ones(res, r_dynamic):
    agg = res.aggregate("dynamic", bstrap=True, biters=B, seed=20240601)
    table = agg.table.set_index("egt")
    ref = r_dynamic.loc[table.index, "se_egt"]
    # plain SD of the draws: relative Monte Carlo error ~ 1/sqrt(2B) = 1.6%; allow 5 of them
    sd = pd.Series(agg.bootstrap.sd, index=table.index)
    assert ((sd / ref - 1).abs() < 5 / np.sqrt(2 * B)).all(), (sd / ref)
    # the IQR-based errors R reports: MC error ~ 1.17/sqrt(B) = 2.6%, plus up to ~7% for the event
    # times carried by the 20-county 2004 cohort alone (non-normal bootstrap distribution)
    assert ((table["se"] / ref - 1).abs() < 0.15).all(), (table["se"] / ref)
    assert table["se_analytic"].to_numpy() == pytest.approx(ref.to_numpy(), rel=0.01)
    # point estimates are untouched by the bootstrap
    assert table["att"].to_numpy() == pytest.approx(r_dynamic.loc[table.index, "att_egt"].to_numpy(), abs=1e-6)
    assert agg.overall_att == pytest.approx(r_dynamic["overall_att"].iloc[0], abs=1e-6)
    assert agg.overall_se == pytest.approx(r_dynamic["overall_se"].iloc[0], rel=0.15)


def test_uniform_critical_value_exceeds_pointwise_and_stays_below_bonferroni(res):
    agg = res.aggregate("dynamic", bstrap=True, biters=B, seed=7)
    k = len(agg.table)
    assert k == 7
    bonferroni = stats.norm.ppf(1 - 0.05 / (2 * k))  # 2.69 for 7 event times
    assert 1.96 < agg.crit_val < bonferroni + 0.1, agg.crit_val
    half = (agg.table["ci_high"] - agg.table["att"]).to_numpy()
    assert half == pytest.approx(agg.crit_val * agg.table["se"].to_numpy(), rel=1e-12)
    # 2004 cohort: the band at e=2 still excludes zero (as in R's published plot)
    row = agg.table.set_index("egt").loc[2]
    assert row["ci_high"] < 0
    # pointwise bands use the normal quantile
    point = res.aggregate("dynamic", bstrap=True, biters=B, seed=7, cband=False)
    assert point.crit_val == pytest.approx(stats.norm.ppf(0.975))


def test_same_seed_same_bands_other_seed_other_draws(res):
    a = res.aggregate("dynamic", bstrap=True, biters=500, seed=11)
    b = res.aggregate("dynamic", bstrap=True, biters=500, seed=11)
    c = res.aggregate("dynamic", bstrap=True, biters=500, seed=12)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.crit_val == b.crit_val
    assert not np.allclose(a.table["se"], c.table["se"])
    # without bstrap the contract's table is unchanged (egt, att, se) and there is no band
    plain = res.aggregate("dynamic")
    assert list(plain.table.columns) == ["egt", "att", "se"] and np.isnan(plain.crit_val)


def test_mammen_weights_and_clusters():
    rng = np.random.default_rng(0)
    n, k = 400, 3
    inf = rng.normal(size=(n, k)) * np.array([1.0, 2.0, 0.5])
    est = np.zeros(k)
    analytic = np.sqrt((inf**2).sum(axis=0)) / n
    boot = multiplier_bootstrap(est, inf, biters=4000, seed=1, weights="mammen")
    assert boot.sd == pytest.approx(analytic, rel=0.06)
    # clusters of 4 units with identical influence: the cluster sums drive the variance
    codes = np.repeat(np.arange(n // 4), 4)
    same = np.repeat(inf[: n // 4], 4, axis=0)
    clustered = multiplier_bootstrap(est, same, codes, n // 4, biters=4000, seed=1)
    assert clustered.sd == pytest.approx(np.sqrt(((4 * inf[: n // 4]) ** 2).sum(axis=0)) / n, rel=0.06)


def test_bad_bootstrap_arguments_are_clear_errors(res):
    with pytest.raises(DiDError, match="weights must be one of"):
        res.aggregate("dynamic", bstrap=True, weights="gaussian")
    with pytest.raises(DiDError, match="biters must be at least 100"):
        res.aggregate("dynamic", bstrap=True, biters=10)
