"""What a sync reports about its batches: freshness of what landed, and what the suites validated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from connectors.records import AiBudget, GithubReview
from impact.batch_validation import BatchRejected, suite_size
from impact.config import parse_config
from impact.landing import land_batch
from impact.sync import SyncSummary

UTC = dt.timezone.utc


def _review(review_id: int, submitted: dt.datetime | None) -> GithubReview:
    return GithubReview(review_id, "hoco/api", 7, "ana", "APPROVED", submitted)


def test_newest_record_time_is_the_latest_time_landed_in_utc(tmp_path: Path) -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    batch = land_batch(tmp_path, "github/reviews", [
        _review(1, dt.datetime(2026, 2, 3, 10, 0, tzinfo=UTC)),
        _review(2, dt.datetime(2026, 2, 4, 13, 30, tzinfo=plus_two)),  # 11:30 UTC: the newest
        _review(3, None),
    ], dt.datetime(2026, 3, 1, tzinfo=UTC))  # the extraction time is not a record's time
    assert batch.newest_record_at == dt.datetime(2026, 2, 4, 11, 30, tzinfo=UTC)


def test_no_newest_record_time_for_an_empty_batch_or_an_entity_without_times(tmp_path: Path) -> None:
    now = dt.datetime(2026, 3, 1, tzinfo=UTC)
    assert land_batch(tmp_path, "github/reviews", [], now).newest_record_at is None
    budgets = land_batch(tmp_path, "org/ai_budgets", [AiBudget(scope_kind="team", scope="data", monthly_usd=800.0)], now)
    assert budgets.rows == 1 and budgets.newest_record_at is None


def test_summary_tallies_validated_batches_and_freshness_per_entity(tmp_path: Path) -> None:
    config = parse_config({"start_date": "2026-01-01", "warehouse": str(tmp_path / "impact.duckdb")})
    summary = SyncSummary("github")
    summary.land(config, "github/reviews", [_review(1, dt.datetime(2026, 2, 3, tzinfo=UTC))], dt.datetime.now(UTC))
    summary.land(config, "github/reviews", [], dt.datetime.now(UTC))  # nothing to validate
    summary.land(config, "github/reviews", [_review(2, dt.datetime(2026, 2, 1, tzinfo=UTC)),
                                            _review(3, dt.datetime(2026, 2, 2, tzinfo=UTC))], dt.datetime.now(UTC))
    tally = summary.validation["github/reviews"]
    assert (tally.batches, tally.rows) == (2, 3)
    assert suite_size("github/reviews") >= 3  # schema, non-null keys, unique id, enum at least
    assert tally.expectations == 2 * suite_size("github/reviews")
    assert summary.newest_record_at == {"github/reviews": dt.datetime(2026, 2, 3, tzinfo=UTC)}
    assert summary.rows["github/reviews"] == 3 and summary.batches == 3

    with pytest.raises(BatchRejected):  # a rejected batch is not tallied as validated
        summary.land(config, "github/reviews", [_review(4, None), _review(4, None)], dt.datetime.now(UTC))
    assert (summary.validation["github/reviews"].batches, summary.rows["github/reviews"]) == (2, 3)
