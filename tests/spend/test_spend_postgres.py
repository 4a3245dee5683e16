"""The AI spend marts are portable: the same hand-made landing built on PostgreSQL gives the rows the
DuckDB build gives (skips without PostgreSQL server binaries, fails under CI=true)."""

from __future__ import annotations

import datetime as dt
import math
import os
import subprocess
from decimal import Decimal
from pathlib import Path

import psycopg2
import pytest

from impact.postgres_loader import load_raw_to_postgres
from tests.dbt.conftest import PostgresServer, postgres_server  # noqa: F401 - the server fixture
from tests.spend.conftest import DBT, REPO_ROOT, SpendBuild

MARTS = {"mart_ai_developer_day_spend": "developer_id, date_day", "mart_ai_budget": "scope_kind, scope, month_start",
         "mart_ai_spend_alerts": "alert_id"}


def _value(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return value


def test_spend_marts_match_on_postgres(spend_build: SpendBuild, postgres_server: PostgresServer,  # noqa: F811
                                       tmp_path: Path) -> None:
    load_raw_to_postgres(spend_build.raw, postgres_server.dsn)
    env = {**os.environ, **postgres_server.env, "IMPACT_RAW_DIR": str(spend_build.raw), "DO_NOT_TRACK": "1",
           "IMPACT_WAREHOUSE": str(tmp_path / "unused.duckdb")}
    result = subprocess.run(
        [str(DBT), "build", "--target", "postgres", "--project-dir", "dbt_project", "--profiles-dir", "dbt_profiles",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs"),
         "--select", "+mart_ai_spend_alerts", "+mart_ai_budget", "--indirect-selection", "cautious"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:]
    connection = psycopg2.connect(postgres_server.dsn)
    try:
        for mart, order in MARTS.items():
            with connection.cursor() as cursor:
                cursor.execute(f"select * from marts.{mart} order by {order}")
                names = [column[0] for column in cursor.description]
                postgres = [dict(zip(names, map(_value, row))) for row in cursor.fetchall()]
            duck = [{k: _value(v) for k, v in row.items()}
                    for row in spend_build.rows(f"select * from marts.{mart} order by {order}")]
            assert len(postgres) == len(duck) > 0, mart
            for left, right in zip(duck, postgres):
                assert list(left) == list(right), mart
                for name in left:
                    a, b = left[name], right[name]
                    same = math.isclose(a, b, abs_tol=1e-9) if isinstance(a, float) and isinstance(b, float) else a == b
                    assert same, f"{mart}.{name}: duckdb {a!r} != postgres {b!r}"
    finally:
        connection.close()
