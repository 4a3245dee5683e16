"""Cohort comparison: matching improves balance, the table is written, and it says it is descriptive."""

from __future__ import annotations

import duckdb
import numpy as np
import pytest

from analysis.cohorts import COHORT_COLUMNS, CohortError, DESCRIPTIVE_NOTE, compare_cohorts, write_cohort_comparison
from panels import quick_panel


@pytest.fixture(scope="module")
def comparison():
    return compare_cohorts(quick_panel(300, 30, review_effect=-0.25, seed=21))


def test_matching_improves_balance(comparison):
    bal = comparison.balance.set_index("variable")
    # adopters are busier and more senior in this panel: clear imbalance before matching
    assert bal.loc["pre_prs_merged", "smd_before"] > 0.3
    assert bal.loc["seniority_senior", "smd_before"] > 0.3
    # exact matching on seniority removes it; the propensity score shrinks the activity gap
    for v in ("seniority_junior", "seniority_mid", "seniority_senior"):
        assert bal.loc[v, "smd_after"] == pytest.approx(0.0, abs=1e-12)
    assert bal["smd_after"].abs().max() < 0.5 * bal["smd_before"].abs().max()
    assert abs(bal.loc["pre_prs_merged", "smd_after"]) < 0.5 * abs(bal.loc["pre_prs_merged", "smd_before"])
    # every adopter has a match, every match is a non-adopter
    panel_adopters = comparison.matches["adopter"].nunique()
    assert panel_adopters == len(comparison.matches)
    assert not set(comparison.matches["control"]) & set(comparison.matches["adopter"])


def test_outcome_difference_has_an_interval(comparison):
    out = comparison.outcomes.set_index("variable")
    review = out.loc["review_hours"]
    # review time: same person/week structure, only the planted cut differs
    assert review["ci_low"] < -0.25 < review["ci_high"]
    assert review["difference_pct"] == pytest.approx(100 * np.expm1(review["difference"]))
    assert review["n_matched_controls"] <= review["n_adopters"]


def test_written_table_says_descriptive(tmp_path, comparison):
    path = tmp_path / "w.duckdb"
    write_cohort_comparison(path, comparison)
    with duckdb.connect(str(path), read_only=True) as con:
        table = con.execute("select * from analysis.cohort_comparison").df()
    assert list(table.columns) == list(COHORT_COLUMNS)
    assert set(table["section"]) == {"balance", "outcome"}
    assert (table["note"] == DESCRIPTIVE_NOTE).all() and "not causal" in DESCRIPTIVE_NOTE
    assert table["method"].str.contains("nearest neighbour").all()


def test_without_non_adopters_is_a_clear_error():
    panel = quick_panel(40, 20, adopter_share=1.0, seed=22)
    with pytest.raises(CohortError, match="0 non-adopter"):
        compare_cohorts(panel)
