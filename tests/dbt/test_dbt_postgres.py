"""The PostgreSQL path: impact.postgres_loader copies the Parquet landing into typed `raw` tables, and the
marts `dbt build --target postgres` makes hold the same rows and numbers as DuckDB's. The exact values of
the awkward cases are asserted on both targets by tests/dbt/test_dbt_build.py (parametrized by target).
Without PostgreSQL server binaries these tests skip, and fail under CI=true (see conftest)."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg2
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from connectors.records import RAW_ENTITIES, GithubReview, TeamMember
from impact.landing import ensure_entity_folders, land_batch
from impact.postgres_loader import load_raw_to_postgres, postgres_type, table_name

if TYPE_CHECKING:
    from tests.dbt.conftest import DbtRun, PostgresServer

TOLERANCE = 1e-9
MARTS = ("dim_date", "dim_developer", "dim_repository", "dim_team", "fct_ai_sessions", "fct_ai_usage_daily", "fct_deployments",
         "fct_pull_requests", "fct_reviews", "mart_ai_impact_panel", "fct_incidents", "fct_issues", "mart_dora_weekly",
         "mart_ai_cost_efficiency", "mart_unmatched_identities")


def query(server: PostgresServer, sql: str) -> list[tuple[Any, ...]]:
    connection = psycopg2.connect(server.dsn)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall()
    finally:
        connection.close()


def column_types(server: PostgresServer, schema: str, table: str) -> dict[str, str]:
    return dict(query(server, "select column_name, data_type from information_schema.columns "
                              f"where table_schema = '{schema}' and table_name = '{table}'"))


# --- the server fixture ----------------------------------------------------------------------------


def test_missing_server_binaries_fail_under_ci_and_skip_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.dbt.conftest import require_postgres_bin_dir

    nowhere = "/nonexistent/postgresql/*/bin/initdb"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="apt-get install postgresql"):
        require_postgres_bin_dir(nowhere)
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install postgresql"):
        require_postgres_bin_dir(nowhere)


# --- the loader ------------------------------------------------------------------------------------


def test_loader_creates_one_typed_table_per_entity(postgres_server: PostgresServer, raw_landing: Path) -> None:
    loaded = load_raw_to_postgres(raw_landing, postgres_server.dsn, schema="loader_types")
    assert [table.table for table in loaded] == [f"loader_types.{table_name(entity)}" for entity in RAW_ENTITIES]
    rows = {table.entity: table.rows for table in loaded}
    assert rows["github/pull_requests"] == 7  # PR 1 landed twice: staging, not the loader, deduplicates
    assert rows["anthropic/claude_code_actor_days"] == 14

    assert column_types(postgres_server, "loader_types", "github__pull_requests") == {
        "id": "bigint", "repository": "text", "number": "bigint", "title": "text", "state": "text",
        "draft": "boolean", "author_login": "text", "author_type": "text",
        "created_at": "timestamp without time zone", "updated_at": "timestamp without time zone",
        "closed_at": "timestamp without time zone", "merged_at": "timestamp without time zone",
        "merge_commit_sha": "text", "head_ref": "text", "base_ref": "text", "additions": "bigint",
        "deletions": "bigint", "changed_files": "bigint", "ready_for_review_at": "timestamp without time zone",
        "_batch_id": "text",
        "_extracted_at": "timestamp without time zone",
    }
    model_days = column_types(postgres_server, "loader_types", "anthropic__claude_code_model_days")
    assert (model_days["date"], model_days["estimated_cost_usd"]) == ("date", "double precision")


def test_loader_keeps_nulls_empty_strings_and_exact_values(postgres_server: PostgresServer, tmp_path: Path) -> None:
    extracted = dt.datetime(2024, 4, 1, 12, 30, 15, 123456, tzinfo=dt.timezone.utc)
    land_batch(tmp_path, "org/team_members", [
        TeamMember("a@x.io", 'Quote "and, comma"\nnewline', "t", "", None, None, None, None, None),
    ], extracted)
    land_batch(tmp_path, "github/reviews", [
        GithubReview(2**53 + 1, "o/r", 1, None, "PENDING", None),
        GithubReview(7, "o/r", 1, "bob", "APPROVED", dt.datetime(2024, 3, 1, 23, 59, 59, 999999, tzinfo=dt.timezone.utc)),
    ], extracted)
    loaded = {table.entity: table for table in load_raw_to_postgres(tmp_path, postgres_server.dsn, schema="loader_values")}
    assert loaded["github/deployments"].rows == 0 and loaded["github/deployments"].files == 0  # table made anyway

    (member,) = query(postgres_server, "select display_name, team_name, parent_team_id, _extracted_at "
                                       "from loader_values.org__team_members")
    assert member == ('Quote "and, comma"\nnewline', "", None, extracted.replace(tzinfo=None))
    reviews = query(postgres_server, "select id, reviewer_login, submitted_at from loader_values.github__reviews order by id")
    assert reviews == [(7, "bob", dt.datetime(2024, 3, 1, 23, 59, 59, 999999)), (2**53 + 1, None, None)]


def test_loader_round_trips_doubles_exactly(postgres_server: PostgresServer, tmp_path: Path) -> None:
    values = [0.1, 1 / 3, 2.0**-40, 1e300, -0.0, 123456789.123456789]
    folder = tmp_path / "anthropic" / "claude_code_model_days"
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"estimated_cost_usd": pa.array(values, pa.float64())}), folder / "batch.parquet")
    load_raw_to_postgres(tmp_path, postgres_server.dsn, schema="loader_doubles")
    found = [row[0] for row in query(postgres_server, "select estimated_cost_usd "
                                                      "from loader_doubles.anthropic__claude_code_model_days")]
    assert sorted(found) == sorted(values)


def test_loader_replaces_tables_in_one_transaction(postgres_server: PostgresServer, tmp_path: Path) -> None:
    early = dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc)
    land_batch(tmp_path, "github/reviews", [GithubReview(1, "o/r", 1, "a", "COMMENTED", early)], early)
    ensure_entity_folders(tmp_path)
    load_raw_to_postgres(tmp_path, postgres_server.dsn, schema="loader_replace")
    load_raw_to_postgres(tmp_path, postgres_server.dsn, schema="loader_replace")  # again: replaced, not appended
    assert query(postgres_server, "select count(*) from loader_replace.github__reviews") == [(1,)]

    # a corrupt batch of a later entity: the whole load rolls back, the earlier tables are untouched
    land_batch(tmp_path, "github/reviews", [GithubReview(2, "o/r", 1, "b", "APPROVED", early)], early)
    (tmp_path / "org" / "team_members" / "broken.parquet").write_bytes(b"not parquet")
    with pytest.raises(Exception):
        load_raw_to_postgres(tmp_path, postgres_server.dsn, schema="loader_replace")
    assert query(postgres_server, "select count(*) from loader_replace.github__reviews") == [(1,)]

    connection = psycopg2.connect(postgres_server.dsn)  # an open connection is used, and left open
    try:
        (tmp_path / "org" / "team_members" / "broken.parquet").unlink()
        load_raw_to_postgres(tmp_path, connection, schema="loader_replace")
        assert not connection.closed
    finally:
        connection.close()
    assert query(postgres_server, "select count(*) from loader_replace.github__reviews") == [(2,)]


def test_postgres_types_cover_the_landing_schema() -> None:
    assert postgres_type(pa.timestamp("us")) == "timestamp without time zone"
    assert postgres_type(pa.date32()) == "date"
    with pytest.raises(TypeError):
        postgres_type(pa.list_(pa.int64()))


# --- both targets agree ----------------------------------------------------------------------------


def _normalised(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _sort_key(row: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((value is None, f"{value:.6f}" if isinstance(value, float) else str(value)) for value in row)


def _same(left: Any, right: Any) -> bool:
    if isinstance(left, float) and isinstance(right, float):
        return math.isclose(left, right, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return (left is None and right is None) or (type(left) is type(right) and left == right)


@pytest.mark.parametrize("mart", MARTS)
def test_marts_hold_the_same_rows_on_both_targets(mart: str, dbt_build: DbtRun, dbt_build_postgres: DbtRun) -> None:
    builds = {"duckdb": dbt_build, "postgres": dbt_build_postgres}
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
    for target, build in builds.items():
        assert build.result.returncode == 0, f"{target}: " + build.result.stdout[-4000:]
        found = build.rows(f"select * from marts.{mart}")
        assert found, f"{target}: marts.{mart} is empty"
        names = list(found[0])
        values = [tuple(_normalised(row[name]) for name in names) for row in found]
        tables[target] = (names, sorted(values, key=_sort_key))
    (duck_names, duck_rows), (pg_names, pg_rows) = tables["duckdb"], tables["postgres"]
    assert duck_names == pg_names
    assert len(duck_rows) == len(pg_rows)
    for duck_row, pg_row in zip(duck_rows, pg_rows):
        differing = {name: (left, right) for name, left, right in zip(duck_names, duck_row, pg_row)
                     if not _same(left, right)}
        assert not differing, f"marts.{mart}: {differing}"
