"""Landing is atomic, typed and idempotent: the same records land once, an empty batch keeps columns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from connectors.records import GithubReview, arrow_schema
from impact.landing import ensure_entity_folders, land_batch

UTC = dt.timezone.utc


def _review(review_id: int, state: str = "APPROVED") -> GithubReview:
    return GithubReview(review_id, "hoco/api", 7, "ana", state, dt.datetime(2026, 2, 3, 10, 0, tzinfo=UTC))


def test_same_records_land_once(tmp_path: Path) -> None:
    first = land_batch(tmp_path, "github/reviews", [_review(1), _review(2)], dt.datetime(2026, 3, 1, tzinfo=UTC))
    second = land_batch(tmp_path, "github/reviews", [_review(1), _review(2)], dt.datetime(2026, 3, 2, tzinfo=UTC))
    assert first.path == second.path
    assert list((tmp_path / "github/reviews").iterdir()) == [first.path]
    rows = duckdb.sql(f"select id, _extracted_at from read_parquet('{first.path}') order by id").fetchall()
    assert rows == [(1, dt.datetime(2026, 3, 2)), (2, dt.datetime(2026, 3, 2))]


def test_changed_records_land_as_new_batch(tmp_path: Path) -> None:
    land_batch(tmp_path, "github/reviews", [_review(1)], dt.datetime(2026, 3, 1, tzinfo=UTC))
    land_batch(tmp_path, "github/reviews", [_review(1, "DISMISSED")], dt.datetime(2026, 3, 2, tzinfo=UTC))
    assert len(list((tmp_path / "github/reviews").glob("*.parquet"))) == 2


def test_times_are_stored_as_utc_wall_time(tmp_path: Path) -> None:
    plus_one = dt.timezone(dt.timedelta(hours=1))
    review = GithubReview(1, "hoco/api", 7, "ana", "APPROVED", dt.datetime(2026, 2, 3, 11, 0, tzinfo=plus_one))
    batch = land_batch(tmp_path, "github/reviews", [review], dt.datetime(2026, 3, 1, tzinfo=UTC))
    [(submitted,)] = duckdb.sql(f"select submitted_at from read_parquet('{batch.path}')").fetchall()
    assert submitted == dt.datetime(2026, 2, 3, 10, 0)


def test_naive_times_are_refused(tmp_path: Path) -> None:
    review = GithubReview(1, "hoco/api", 7, "ana", "APPROVED", dt.datetime(2026, 2, 3, 11, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        land_batch(tmp_path, "github/reviews", [review], dt.datetime(2026, 3, 1, tzinfo=UTC))
    assert not list((tmp_path / "github/reviews").glob("*"))


def test_empty_entities_get_their_schema(tmp_path: Path) -> None:
    ensure_entity_folders(tmp_path)
    columns = duckdb.sql(
        f"select * from read_parquet('{tmp_path}/github/reviews/*.parquet')"
    ).columns
    assert columns == arrow_schema(GithubReview).names + ["_batch_id", "_extracted_at"]
