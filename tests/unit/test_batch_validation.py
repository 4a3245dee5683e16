"""Every raw batch passes its Great Expectations suite before it lands; a failing one is kept aside."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from connectors.records import GithubPullRequest, GithubReview, RAW_ENTITIES
from impact.batch_validation import BatchRejected, suite_for
from impact.landing import land_batch

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 3, 1, tzinfo=UTC)


def _pull(pr_id: int, **overrides: object) -> GithubPullRequest:
    fields: dict[str, object] = dict(
        id=pr_id, repository="hoco/api", number=pr_id, title="t", state="closed", draft=False,
        author_login="ana", author_type="User",
        created_at=dt.datetime(2026, 2, 1, 9, tzinfo=UTC), updated_at=dt.datetime(2026, 2, 2, 9, tzinfo=UTC),
        closed_at=dt.datetime(2026, 2, 2, 9, tzinfo=UTC), merged_at=dt.datetime(2026, 2, 2, 9, tzinfo=UTC),
        merge_commit_sha="abc", head_ref="feature", base_ref="main", additions=1, deletions=1, changed_files=1,
    )
    fields.update(overrides)
    return GithubPullRequest(**fields)  # type: ignore[arg-type]


def test_every_entity_has_a_suite_with_its_schema() -> None:
    for entity in RAW_ENTITIES:
        suite = suite_for(entity)
        kinds = [expectation.expectation_type for expectation in suite.expectations]
        assert kinds[0] == "expect_table_columns_to_match_set", entity
    pull_suite = suite_for("github/pull_requests")
    kinds = [e.expectation_type for e in pull_suite.expectations]
    assert "expect_column_values_to_be_unique" in kinds
    assert "expect_column_values_to_be_in_set" in kinds
    assert "expect_column_pair_values_a_to_be_greater_than_b" in kinds


def test_a_good_batch_lands(tmp_path: Path) -> None:
    batch = land_batch(tmp_path, "github/pull_requests", [_pull(1), _pull(2)], NOW)
    assert batch.rows == 2 and batch.path.exists()
    assert not (tmp_path / "_rejected").exists()


def test_duplicate_key_is_rejected_kept_aside_and_named(tmp_path: Path) -> None:
    with pytest.raises(BatchRejected) as caught:
        land_batch(tmp_path, "github/pull_requests", [_pull(1), _pull(2), _pull(2, title="again")], NOW)
    error = caught.value
    message = str(error)
    assert "github/pull_requests" in message and "expect_column_values_to_be_unique" in message
    assert "'id': '2'" in message  # the offending record is named by its key
    assert not list((tmp_path / "github" / "pull_requests").glob("*.parquet"))  # nothing landed
    assert error.kept_at.exists() and error.kept_at.parent == tmp_path / "_rejected" / "github" / "pull_requests"
    report = json.loads(error.kept_at.with_suffix(".json").read_text())
    assert report["rows"] == 3
    [failure] = report["failures"]
    assert failure["expectation"] == "expect_column_values_to_be_unique" and failure["unexpected_count"] == 2


def test_unknown_enum_and_time_running_backwards_are_both_reported(tmp_path: Path) -> None:
    bad = _pull(
        3, state="merged",
        created_at=dt.datetime(2026, 2, 5, tzinfo=UTC), updated_at=dt.datetime(2026, 2, 4, tzinfo=UTC),
    )
    with pytest.raises(BatchRejected) as caught:
        land_batch(tmp_path, "github/pull_requests", [_pull(1), bad], NOW)
    failed = {(f["expectation"], tuple(sorted(f["kwargs"].values()))) for f in caught.value.failures}
    assert ("expect_column_values_to_be_in_set", ("state",)) in failed
    assert ("expect_column_pair_values_a_to_be_greater_than_b", ("created_at", "updated_at")) in failed
    # closed_at and merged_at (Feb 2) also precede created_at (Feb 5): each pair is its own finding
    assert len(caught.value.failures) == 4


def test_null_in_a_required_field_is_rejected(tmp_path: Path) -> None:
    review = GithubReview(1, "hoco/api", 7, "ana", None, None)  # type: ignore[arg-type]
    with pytest.raises(BatchRejected) as caught:
        land_batch(tmp_path, "github/reviews", [review], NOW)
    [failure] = caught.value.failures
    assert failure["expectation"] == "expect_column_values_to_not_be_null"
    assert failure["kwargs"] == {"column": "state"}
