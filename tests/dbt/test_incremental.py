"""Incremental facts equal a full build (fct_reviews, fct_ai_usage_daily), on DuckDB and PostgreSQL.

The fixture landing is built once (the facts' first, full build), then new batches land as a later sync
would bring them: a new review, a review landed again with a new state, a restated Admin API actor-day
with a new model, a new actor-day, and a batch extracted before the table's watermark but landed after
it (a slow parallel extraction: the lookback must catch it). An incremental build follows; then the team
mapping gains a person, which changes identity resolution for old rows, and a second incremental build
follows. The result must equal a fresh full build of the same landing, row for row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectors.records import ClaudeCodeActorDay, ClaudeCodeModelDay, GithubReview, TeamMember
from impact.landing import land_batch
from tests.dbt.warehouse_target import Target, copy_landing

FACTS = ("fct_reviews", "fct_ai_usage_daily")
SELECT = ["--select", "+fct_reviews", "+fct_ai_usage_daily"]
SECOND_SYNC = dt.datetime(2024, 4, 2, tzinfo=dt.timezone.utc)  # the fixture's last sync is 2024-04-01
SLOW_EXTRACTION = dt.datetime(2024, 3, 31, tzinfo=dt.timezone.utc)  # 24 h before the watermark


def utc(day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(2024, 3, day, hour, tzinfo=dt.timezone.utc)


def land_second_sync(raw_root: Path) -> None:
    land_batch(raw_root, "github/reviews", [
        GithubReview(5008, "hoco/api", 2, "Carol-C", "CHANGES_REQUESTED", utc(12, 10)),  # new
        GithubReview(5006, "hoco/api", 3, "bob", "DISMISSED", utc(18, 8)),  # landed again, new state
    ], SECOND_SYNC)
    land_batch(raw_root, "github/reviews", [
        GithubReview(5009, "hoco/api", 1, "Carol-C", "COMMENTED", utc(5, 11)),
    ], SLOW_EXTRACTION)
    land_batch(raw_root, "anthropic/claude_code_actor_days", [
        ClaudeCodeActorDay(dt.date(2024, 3, 12), "user_actor", "alice@hoco.io", "org-1", "api", "vscode", 5, 160, 20, 2,
                           1, 31, 3),  # restated
        ClaudeCodeActorDay(dt.date(2024, 3, 22), "user_actor", "bob@hoco.io", "org-1", "api", "vscode", 1, 5, 0, 0, 0,
                           2, 0),  # new
    ], SECOND_SYNC)
    land_batch(raw_root, "anthropic/claude_code_model_days", [
        ClaudeCodeModelDay(dt.date(2024, 3, 12), "user_actor", "alice@hoco.io", "claude-haiku-4", 10, 20, 30, 4, 9.0),
        ClaudeCodeModelDay(dt.date(2024, 3, 22), "user_actor", "bob@hoco.io", "claude-sonnet-4", 10, 20, 30, 4, 0.2),
    ], SECOND_SYNC)


def land_mapping_change(raw_root: Path) -> None:
    """The contractor joins the mapping: their old actor-day must now resolve to them."""
    land_batch(raw_root, "org/team_members", [
        TeamMember("contractor@external.dev", "Con Tractor", "payments", "Payments", "eng", "con-t", None, "engineer", None),
    ], SECOND_SYNC + dt.timedelta(hours=1))


@pytest.mark.parametrize("target", ["duckdb", "postgres"])
def test_incremental_build_equals_a_full_build(target: str, raw_landing: Path, tmp_path: Path,
                                               request: pytest.FixtureRequest) -> None:
    postgres = request.getfixturevalue("postgres_server") if target == "postgres" else None
    raw_root = copy_landing(raw_landing, tmp_path)
    incremental = Target(target, tmp_path / "incremental", raw_root, postgres, "impact_incremental", SELECT)
    incremental.run()
    before = {fact: incremental.rows(fact) for fact in FACTS}

    land_second_sync(raw_root)
    incremental.run()
    assert "coalesce(max(extracted_at)" in incremental.compiled("fct_reviews")  # the incremental path ran
    land_mapping_change(raw_root)
    incremental.run()

    full = Target(target, tmp_path / "full", raw_root, postgres, "impact_full", SELECT)
    full.run()
    for fact in FACTS:
        assert incremental.rows(fact) == full.rows(fact), fact
        assert incremental.rows(fact) != before[fact], fact  # the new batches did change it
    reviews = {row[1]: row for row in full.rows("fct_reviews")}  # source_id is the second column
    assert {5008, 5009} <= set(reviews) and reviews[5006][6] == "DISMISSED"


def test_lookback_is_what_catches_a_late_landed_batch(raw_landing: Path, tmp_path: Path) -> None:
    """Without the lookback, a batch extracted before the watermark but landed after it is missed."""
    raw_root = copy_landing(raw_landing, tmp_path)
    warehouse = Target("duckdb", tmp_path / "no_lookback", raw_root, select=SELECT)
    warehouse.run()
    land_second_sync(raw_root)
    warehouse.run("--vars", "{incremental_lookback_hours: 0}")
    source_ids = {row[1] for row in warehouse.rows("fct_reviews")}
    assert 5008 in source_ids and 5009 not in source_ids
