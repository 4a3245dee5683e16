"""A warehouse under test for the incremental-build tests: one DuckDB file or PostgreSQL database, built
from a raw landing with `dbt run` of selected models, read back row by row in a stable order so that an
incremental build and a full build compare equal exactly when their rows do."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from impact.postgres_loader import load_raw_to_postgres
from tests.dbt.conftest import SERVICE_REPOSITORIES, PostgresServer, run_dbt


class Target:
    """Build the selected models of one warehouse (a DuckDB file or a PostgreSQL database) from a landing."""

    def __init__(self, name: str, root: Path, raw_root: Path, postgres: PostgresServer | None = None,
                 database: str | None = None, select: list[str] | None = None) -> None:
        self.name, self.root, self.raw_root, self.postgres, self.database = name, root, raw_root, postgres, database
        self.select = select or []
        self.warehouse = root / "impact.duckdb"
        self.env = {**os.environ, "IMPACT_RAW_DIR": str(raw_root), "IMPACT_WAREHOUSE": str(self.warehouse),
                    "DO_NOT_TRACK": "1", "IMPACT_PAGERDUTY_SERVICE_REPOSITORIES": json.dumps(SERVICE_REPOSITORIES)}
        if postgres is not None:
            import psycopg2

            connection = psycopg2.connect(postgres.dsn)
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f"create database {database}")
            connection.close()
            self.env.update({**postgres.env, "IMPACT_PG_DATABASE": str(database)})

    @property
    def dsn(self) -> str:
        assert self.postgres is not None
        return f"host={self.postgres.host} port={self.postgres.port} user={self.postgres.user} dbname={self.database}"

    def run(self, *extra: str) -> None:
        if self.postgres is not None:
            load_raw_to_postgres(self.raw_root, self.dsn)
        result = run_dbt(["run", "--target", self.name, *self.select, *extra], self.env, self.root / "target",
                         self.root / "logs")
        assert result.returncode == 0, result.stdout[-4000:]

    def compiled(self, model: str) -> str:
        return next((self.root / "target" / "compiled").rglob(f"{model}.sql")).read_text()

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        sql = f"select * from marts.{table}"
        if self.postgres is not None:
            import psycopg2

            with psycopg2.connect(self.dsn) as connection, connection.cursor() as cursor:
                cursor.execute(sql)
                found = cursor.fetchall()
            connection.close()
        else:
            import duckdb

            with duckdb.connect(str(self.warehouse), read_only=True) as connection:
                found = connection.execute(sql).fetchall()
        return sorted(found, key=lambda row: tuple((value is None, str(value)) for value in row))


def copy_landing(raw_landing: Path, root: Path) -> Path:
    raw_root = root / "raw"
    shutil.copytree(raw_landing, raw_root)
    return raw_root


def copy_landing(raw_landing: Path, root: Path) -> Path:
    raw_root = root / "raw"
    shutil.copytree(raw_landing, raw_root)
    return raw_root
