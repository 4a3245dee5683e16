"""Which estimate the report leads with: Callaway & Sant'Anna only when enough adopters back it."""

from __future__ import annotations

import pandas as pd

from analysis.report import MIN_TREATED_UNITS_FOR_CS, pick_headline_rows


def _estimates(cs_treated: int) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"outcome": "review_hours", "estimator": "callaway_santanna", "estimate": -0.4, "n_treated_units": cs_treated},
            {"outcome": "review_hours", "estimator": "twfe", "estimate": -0.3, "n_treated_units": 20},
            {"outcome": "prs_merged", "estimator": "twfe", "estimate": 0.1, "n_treated_units": 20},
        ]
    )


def test_small_cohorts_lead_with_two_way_fixed_effects() -> None:
    rows = pick_headline_rows(_estimates(MIN_TREATED_UNITS_FOR_CS - 1))
    assert [(r["outcome"], r["estimator"]) for r in rows] == [("review_hours", "twfe"), ("prs_merged", "twfe")]


def test_enough_adopters_lead_with_callaway_santanna() -> None:
    rows = pick_headline_rows(_estimates(MIN_TREATED_UNITS_FOR_CS))
    assert [(r["outcome"], r["estimator"]) for r in rows] == [
        ("review_hours", "callaway_santanna"), ("prs_merged", "twfe")
    ]
