"""End to end: the demo's Claude Code session transcripts, through the transcripts connector and dbt, against
the sandbox's answer key (transcript_usage.csv: one row per counted response; transcript_daily.csv: per
developer x UTC day x model, cost rounded to the cent).

The `demo`, `warehouse` and `truth` fixtures come from tests/e2e/conftest.py (one demo run for all e2e tests).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest


pytestmark = pytest.mark.e2e
TOKENS = ["input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens"]
HALF_CENT = 0.005 + 1e-9


def _usage(truth_dir: Path) -> pd.DataFrame:
    return pd.read_csv(truth_dir / "transcript_usage.csv")


def test_daily_transcript_totals_equal_ground_truth(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    expected = pd.read_csv(truth / "transcript_daily.csv", parse_dates=False)
    found = warehouse.execute(
        """
        select
            developer_email as email,
            strftime(cast(message_at as date), '%Y-%m-%d') as date,
            model,
            count(*) as responses,
            sum(input_tokens) as input_tokens,
            sum(output_tokens) as output_tokens,
            sum(cache_creation_tokens) as cache_creation_tokens,
            sum(cache_read_tokens) as cache_read_tokens,
            sum(cost_usd) as cost_usd
        from staging.stg_claude_code__transcript_messages
        group by 1, 2, 3
        """
    ).df()
    key = ["email", "date", "model"]
    merged = expected.merge(found, on=key, how="outer", suffixes=("_truth", "_found"), indicator=True)
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"developer-day-models on one side only:\n{missing[key + ['_merge']].head(20)}"
    assert len(merged) == len(expected) > 0
    for column in ["responses", *TOKENS]:
        differing = merged[merged[f"{column}_truth"].astype("int64") != merged[f"{column}_found"].astype("int64")]
        assert differing.empty, f"{column} differs:\n{differing[key + [f'{column}_truth', f'{column}_found']].head(20)}"
    cost_gap = (merged["cost_usd_truth"] - merged["cost_usd_found"]).abs()
    assert (cost_gap <= HALF_CENT).all(), merged.loc[cost_gap > HALF_CENT, key + ["cost_usd_truth", "cost_usd_found"]]


def test_sessions_and_their_cost_equal_ground_truth(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    usage = _usage(truth)
    expected = usage.groupby("session_id").agg(
        cost_usd=("cost_usd", "sum"), output_tokens=("output_tokens", "sum"), responses=("message_id", "size"),
        sidechain_cost_usd=("cost_usd", lambda costs: costs[usage.loc[costs.index, "is_sidechain"].astype(bool)].sum()),
    )
    found = warehouse.execute(
        "select session_id, cost_usd, output_tokens, message_count as responses, sidechain_cost_usd,"
        " active_hours, span_hours from marts.fct_ai_sessions"
    ).df().set_index("session_id")
    assert len(found) == len(expected) > 0
    assert set(found.index) == set(expected.index)
    joined = expected.merge(found, left_index=True, right_index=True, suffixes=("_truth", "_found"))
    assert (joined["responses_truth"] == joined["responses_found"]).all()
    assert (joined["output_tokens_truth"] == joined["output_tokens_found"]).all()
    assert ((joined["cost_usd_truth"] - joined["cost_usd_found"]).abs() < 1e-6).all()
    assert ((joined["sidechain_cost_usd_truth"] - joined["sidechain_cost_usd_found"]).abs() < 1e-6).all()
    assert ((found["active_hours"] >= 0) & (found["active_hours"] <= found["span_hours"] + 1e-9)).all()


def test_share_of_transcript_cost_attributed_to_pull_requests(warehouse: duckdb.DuckDBPyConnection) -> None:
    total, attributed, on_pull_requests, lines_with_repository = warehouse.execute(
        """
        select
            (select sum(cost_usd) from intermediate.int_ai_session_lines),
            (select sum(cost_usd) from intermediate.int_ai_session_lines where pull_request_id is not null),
            (select sum(ai_cost_usd) from marts.fct_pull_requests),
            (select avg(case when repository_id is not null then 1.0 else 0.0 end) from intermediate.int_ai_session_lines)
        """
    ).fetchone()
    share = attributed / total
    print(f"transcript cost attributed to pull requests: {share:.1%} of ${total:,.2f} "
          f"(lines tied to a repository: {lines_with_repository:.1%})")
    assert abs(on_pull_requests - attributed) < 1e-6  # fct_pull_requests sums exactly the attributed lines
    assert 0 < share < 1
