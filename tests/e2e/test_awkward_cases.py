"""The awkward GitHub cases through the whole pipeline (`impact demo`), against the sandbox's ground truth.

Drafts: pickup runs from ready-for-review, not from creation. Bots: in the facts, out of developer metrics.
Reverts: each names the PR it reverts. Self-reviews: an author's comment on their own PR is no pickup.
Deleted accounts (ghosts): their PRs ship and keep true stages, but are nobody's work.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from tests.conftest import read_truth

pytestmark = pytest.mark.e2e


def _pull_requests(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> pd.DataFrame:
    """fct_pull_requests joined to pull_requests.csv on (repository, number); built columns end in `_built`."""
    expected = read_truth(truth, "pull_requests")
    built = warehouse.execute(
        "select repository_full_name as repository, number, * exclude (repository_full_name, number) "
        "from marts.fct_pull_requests"
    ).df()
    merged = expected.merge(built, on=["repository", "number"], how="outer", indicator=True, suffixes=("", "_built"))
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both", ["repository", "number"]]
    return merged


def _same_hours(built: pd.Series, expected: pd.Series, what: str) -> None:
    assert (built.isna() == expected.isna()).all(), what
    known = expected.notna()
    np.testing.assert_allclose(built[known], expected[known], atol=1e-9, err_msg=what)


def test_drafts_pickup_counts_from_ready_for_review(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    prs = _pull_requests(warehouse, truth)
    assert (prs["is_draft_built"] == prs["is_draft"]).all() and prs["is_draft"].sum() > 5
    assert (prs["ready_for_review_at_built"].isna() == prs["ready_for_review_at"].isna()).all()
    ready = prs[prs["ready_for_review_at"].notna()]
    assert len(ready) > 50 and (ready["ready_for_review_at_built"] == ready["ready_for_review_at"]).all()
    assert (ready["review_ready_at"] == ready["ready_for_review_at"]).all()
    reviewed = ready[ready["first_review_at"].notna()]
    from_ready = (reviewed["first_review_at"] - reviewed["ready_for_review_at"]).dt.total_seconds() / 3600
    _same_hours(reviewed["pickup_hours_built"], from_ready, "pickup of drafts")
    from_created = (reviewed["first_review_at"] - reviewed["created_at"]).dt.total_seconds() / 3600
    assert (reviewed["pickup_hours_built"] < from_created - 1e-6).all()  # not from creation
    _same_hours(prs["pickup_hours_built"], prs["pickup_hours"], "pickup")
    _same_hours(prs["coding_hours_built"], prs["coding_hours"], "coding")
    # still a draft: not yet asking for review, so no coding end and no pickup
    still = prs[prs["is_draft"]]
    assert still["review_ready_at"].isna().all() and still["pickup_hours_built"].isna().all()


def test_bots_stay_in_the_facts_but_out_of_developer_metrics(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    prs = _pull_requests(warehouse, truth)
    assert (prs["is_bot_built"] == prs["is_bot"]).all() and prs["is_bot"].sum() > 50
    bots = prs[prs["is_bot"]]
    assert set(bots["author_login"]) == {"dependabot[bot]", "renovate[bot]"}
    assert bots["author_developer_id"].isna().all()  # nobody's work
    _same_hours(bots["review_hours_built"], bots["review_hours"], "bots' review hours")  # kept in the facts
    people = prs[~prs["is_bot"] & ~prs["author_account_deleted"]]  # a deleted account is nobody GitHub names
    assert people["author_developer_id"].notna().all()
    [(opened, merged)] = warehouse.execute(
        "select sum(prs_opened), sum(prs_merged) from marts.mart_ai_impact_panel"
    ).fetchall()
    assert (opened, merged) == (len(people), people["merged_at"].notna().sum())
    [(listed,)] = warehouse.execute(
        "select count(*) from marts.mart_unmatched_identities where is_bot and identity_value like '%[bot]'"
    ).fetchall()
    assert listed >= 2  # listed as bots, not as people who could not be matched


def test_deleted_accounts_ship_changes_but_are_nobodys_work(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    """A developer who left and deleted their GitHub account: GitHub shows their PRs as the ghost's (REST) or
    authorless (GraphQL). The PRs stay in the facts with true stages; no developer gets them, "ghost" is
    never taken for a person, and the developer stays in the mapping (their e-mail still names them)."""
    prs = _pull_requests(warehouse, truth)
    ghosts = prs[prs["author_account_deleted"]]
    assert len(ghosts) > 20 and ghosts["author_login"].nunique() == 1
    assert ghosts["author_login_built"].isna().all() and ghosts["author_developer_id"].isna().all()
    assert not ghosts["is_bot_built"].any()
    for stage in ("coding_hours", "pickup_hours", "review_hours", "deploy_hours", "lead_time_hours"):
        _same_hours(ghosts[f"{stage}_built"], ghosts[stage], f"ghosts' {stage}")
    assert (ghosts["review_count_built"] == ghosts["review_count"]).all()
    [login] = set(ghosts["author_login"])
    [(in_mapping, panel_prs)] = warehouse.execute(
        "select count(*), coalesce(sum(p.prs_opened), 0) from marts.dim_developer d "
        "left join marts.mart_ai_impact_panel p using (developer_id) where d.github_login = ?", [login],
    ).fetchall()
    assert in_mapping >= 1 and panel_prs == 0
    [(ghost_listed,)] = warehouse.execute(
        "select count(*) from marts.mart_unmatched_identities where lower(identity_value) = 'ghost'"
    ).fetchall()
    assert ghost_listed == 0


def test_reverts_name_the_pull_request_they_revert(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    prs = _pull_requests(warehouse, truth)
    assert (prs["is_revert_built"] == prs["is_revert"]).all() and prs["is_revert"].sum() > 20
    assert (prs["reverted_pr_number_built"].fillna(-1) == prs["reverted_pr_number"].fillna(-1)).all()
    merged_reverts = prs[prs["is_revert"] & prs["merged_at"].notna()]
    expected = merged_reverts.groupby(["repository", "reverted_pr_number"])["number"].min()
    expected.index = expected.index.set_levels(expected.index.levels[1].astype(int), level=1)
    built = prs[prs["is_reverted"]].set_index(["repository", "number"])["reverted_by_pr_number"]
    assert built.astype(int).to_dict() == expected.to_dict() and len(built) > 20


def test_self_reviews_are_neither_pickup_nor_reviews(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    prs = _pull_requests(warehouse, truth)
    own = warehouse.execute(
        "select p.repository_full_name as repository, p.number, count(*) as own_reviews, "
        "min(r.submitted_at) as first_own_review_at, min(r.state) as state "
        "from marts.fct_reviews r join marts.fct_pull_requests p using (pull_request_id) "
        "where r.is_author_review group by all"
    ).df()
    merged = prs.merge(own, on=["repository", "number"], how="left")
    assert (merged["own_reviews"].fillna(0) == merged["self_review_count"]).all()
    assert set(own["state"]) == {"COMMENTED"} and len(own) > 50
    with_own = merged[merged["own_reviews"].notna()]
    assert (with_own["first_own_review_at"] < with_own["first_review_at_built"]).all()  # came first ...
    assert (with_own["first_review_at_built"] == with_own["first_review_at"]).all()  # ... yet pickup ends later
    assert (with_own["review_count_built"] == with_own["review_count"]).all()
    _same_hours(with_own["pickup_hours_built"], with_own["pickup_hours"], "pickup with a self-review")


def test_report_counts_people_not_bots(demo, warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    """The report's merged-PR count (and so its cost per merged PR) is people's work: bot PRs stay out."""
    from datetime import datetime

    from analysis.report import build_report_context

    workdir, _ = demo
    context = build_report_context(workdir / "warehouse" / "impact.duckdb")
    start = datetime.strptime(context["period"]["start"], "%d %b %Y")
    end = datetime.strptime(context["period"]["end"], "%d %b %Y") + pd.Timedelta(days=1)
    expected = read_truth(truth, "pull_requests")
    merged_at = pd.to_datetime(expected["merged_at"], utc=True).dt.tz_localize(None)
    in_period = merged_at.notna() & (merged_at >= start) & (merged_at < end)
    bots = expected["is_bot"].astype(str).str.lower().isin(["true", "1"])
    assert bots[in_period].sum() > 0, "the demo period holds bot PRs, or this test proves nothing"
    assert context["population"]["merged_prs"] == int((in_period & ~bots).sum())
