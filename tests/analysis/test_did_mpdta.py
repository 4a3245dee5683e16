"""Parity with the R package `did` (Callaway & Sant'Anna) on the mpdta panel.

Reference numbers: tests/analysis/fixtures/did/ (see its README). Points to 1e-6 absolute, standard
errors to 1e-4 absolute or 1% relative.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.did import att_gt

FIX = Path(__file__).parent / "fixtures" / "did"
SCENARIOS = {
    "mpdta_nev_dr": dict(control="never_treated", method="dr"),
    "mpdta_nyt_dr": dict(control="not_yet_treated", method="dr"),
    "mpdta_nev_reg_cov": dict(control="never_treated", method="reg", covariates=["lpop"]),
}
POINT_TOL = 1e-6


def se_close(ours, ref) -> bool:
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    return bool(np.all((np.abs(ours - ref) <= 1e-4) | (np.abs(ours - ref) <= 0.01 * np.abs(ref))))


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(FIX / "mpdta.csv")


@pytest.fixture(scope="module")
def results(mpdta):
    out = {}
    for name, kw in SCENARIOS.items():
        start = time.perf_counter()
        res = att_gt(mpdta, y="lemp", t="year", unit="countyreal", group="first.treat", **kw)
        out[name] = (res, time.perf_counter() - start)
    return out


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_attgt_cells_match_r(results, scenario):
    res, _ = results[scenario]
    ref = pd.read_csv(FIX / "did_r_attgt.csv").query("scenario == @scenario")
    assert list(res.table.columns) == ["group", "t", "att", "se"]
    assert len(res.table) == len(ref) == 12
    merged = res.table.merge(ref, on=["group", "t"], suffixes=("", "_r"), validate="one_to_one")
    assert len(merged) == len(ref)
    np.testing.assert_allclose(merged["att"], merged["att_r"], rtol=0, atol=POINT_TOL)
    assert se_close(merged["se"], merged["se_r"]), merged[["group", "t", "se", "se_r"]]
    assert res.n_units == 500


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize("kind", ["simple", "group", "dynamic", "calendar"])
def test_aggregations_match_r(results, scenario, kind):
    res, _ = results[scenario]
    ref = pd.read_csv(FIX / "did_r_aggte.csv").query("scenario == @scenario and type == @kind")
    agg = res.aggregate(kind)
    assert agg.overall_att == pytest.approx(ref["overall_att"].iloc[0], abs=POINT_TOL)
    assert se_close(agg.overall_se, ref["overall_se"].iloc[0])
    assert list(agg.table.columns) == ["egt", "att", "se"]
    if kind == "simple":
        assert agg.table.empty
        return
    merged = agg.table.merge(ref, on="egt", validate="one_to_one")
    assert len(merged) == len(ref) == len(agg.table)
    np.testing.assert_allclose(merged["att"], merged["att_egt"], rtol=0, atol=POINT_TOL)
    assert se_close(merged["se"], merged["se_egt"]), merged[["egt", "se", "se_egt"]]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_pretest_matches_r(results, scenario):
    res, _ = results[scenario]
    ref = pd.read_csv(FIX / "did_r_pretest.csv").query("scenario == @scenario").iloc[0]
    pre = res.pretest()
    assert pre.df == 5  # pre-treatment cells: (2006: 2004, 2005), (2007: 2004, 2005, 2006)
    assert pre.statistic == pytest.approx(ref["W"], abs=1e-4, rel=1e-6)
    assert pre.p_value == pytest.approx(ref["Wpval"], abs=1e-5)  # R rounds to 5 decimals


def test_headline_numbers(results):
    """The numbers quoted in the reference README."""
    res, _ = results["mpdta_nev_dr"]
    simple, dynamic = res.aggregate("simple"), res.aggregate("dynamic")
    assert round(simple.overall_att, 4) == -0.0400 and round(simple.overall_se, 4) == 0.0120
    assert round(dynamic.overall_att, 4) == -0.0772 and round(dynamic.overall_se, 4) == 0.0200


def test_mpdta_is_fast(results):
    for name, (_, seconds) in results.items():
        assert seconds < 1.0, f"{name} took {seconds:.2f}s"
