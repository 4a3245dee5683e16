"""The causal panel's medians and change failure rate against the sandbox's ground truth (`small`).

Why here: the developer-week medians (log of the median review, pickup and lead-time hours) and the
per-developer change failure rate are new outcomes of `marts.mart_ai_impact_panel`; computing them
from the ground truth's per-PR durations and per-deployment change failures shows the SQL groups the
right PRs into the right weeks (created week for durations, first-deployment week for changes).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from tests.conftest import read_truth


def _monday(times: pd.Series) -> pd.Series:
    return times.dt.to_period("W-SUN").dt.start_time


def _panel(warehouse) -> pd.DataFrame:
    panel = warehouse.execute(
        "select d.github_login as author_login, p.week_start, p.log_review_hours_p50, p.log_pickup_hours_p50, "
        "p.log_lead_time_hours_p50, p.changes_deployed, p.changes_failed, p.change_failure_rate "
        "from marts.mart_ai_impact_panel p join marts.dim_developer d using (developer_id)"
    ).df()
    panel["week_start"] = pd.to_datetime(panel["week_start"])
    return panel.set_index(["author_login", "week_start"]).sort_index()


def test_panel_medians_equal_ground_truth(warehouse, truth: Path) -> None:
    panel = _panel(warehouse)
    prs = read_truth(truth, "pull_requests")
    # not the bots, nor a deleted account's PRs (GitHub no longer says whose they are)
    prs = prs[prs["author_login"].isin(panel.index.get_level_values("author_login")) & ~prs["author_account_deleted"]]
    prs["week_start"] = _monday(prs["created_at"])
    merged = prs[prs["merged_at"].notna()]
    for column, frame, hours in (
        ("log_review_hours_p50", merged, "review_hours"),
        ("log_pickup_hours_p50", prs, "pickup_hours"),
        ("log_lead_time_hours_p50", prs, "lead_time_hours"),
    ):
        medians = frame.dropna(subset=[hours]).groupby(["author_login", "week_start"])[hours].median()
        expected = np.log(medians[medians > 0])
        actual = panel[column].dropna()
        assert set(actual.index) == set(expected.index), column
        np.testing.assert_allclose(actual.sort_index(), expected.sort_index(), atol=1e-9, err_msg=column)


def test_panel_change_failure_rate_equals_ground_truth(warehouse, truth: Path) -> None:
    prs = read_truth(truth, "pull_requests").dropna(subset=["first_deployed_at"])
    prs = prs[~prs["author_account_deleted"]]  # nobody's changes in the panel
    deployments = read_truth(truth, "deployments")
    shipped = deployments[(deployments["environment"] == "production") & deployments["deployed_at"].notna()]
    # a PR's first deployment: the repository's successful production deployment at its first_deployed_at
    prs = prs.merge(
        shipped[["repository", "deployed_at", "is_change_failure"]],
        left_on=["repository", "first_deployed_at"], right_on=["repository", "deployed_at"], how="left",
        validate="many_to_one",
    )
    assert prs["is_change_failure"].notna().all()
    prs["week_start"] = _monday(prs["first_deployed_at"])
    expected = prs.groupby(["author_login", "week_start"]).agg(
        deployed=("number", "size"), failed=("is_change_failure", "sum")
    )
    panel = _panel(warehouse)
    expected = expected[expected.index.isin(panel.index)]  # weeks after the panel's last PR week drop out
    actual = panel[panel["changes_deployed"] > 0]
    assert set(actual.index) == set(expected.index)
    actual, expected = actual.sort_index(), expected.sort_index()
    assert (actual["changes_deployed"].to_numpy() == expected["deployed"].to_numpy()).all()
    assert (actual["changes_failed"].to_numpy() == expected["failed"].to_numpy()).all()
    np.testing.assert_allclose(actual["change_failure_rate"], expected["failed"] / expected["deployed"], atol=1e-12)
    assert expected["failed"].sum() > 0  # the sandbox has change failures, so the test can fail
    assert panel.loc[panel["changes_deployed"] == 0, "change_failure_rate"].isna().all()
