"""Raw landing -> PostgreSQL: copy every raw entity's Parquet batches into `<schema>.<source>__<entity>`.

PostgreSQL cannot read Parquet, so the dbt sources of the `postgres` target read tables that this module
fills from the same landing `impact.landing` writes (`<raw_root>/<source>/<entity>/*.parquet`). Each
entity becomes one table (e.g. `raw.github__pull_requests`) with the entity's columns in PostgreSQL types
(bigint, double precision, boolean, text, date, timestamp without time zone: UTC wall time, as in the
Parquet files) plus `_batch_id` and `_extracted_at`. All tables are dropped and rebuilt in one
transaction, so dbt sees either the previous load or the new one. Files are copied one record batch at a
time (COPY ... FROM STDIN in CSV), so memory stays bounded by the batch size, not the landing size.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq
from psycopg2 import sql

from connectors.records import RAW_ENTITIES, arrow_schema
from impact.landing import BATCH_ID, EXTRACTED_AT

#: Rows per COPY: one Parquet record batch at a time.
COPY_BATCH_ROWS = 50_000


@dataclass(frozen=True)
class LoadedTable:
    entity: str
    table: str  # schema-qualified name, e.g. raw.github__pull_requests
    files: int
    rows: int


def table_name(entity: str) -> str:
    """The table name of a raw entity: `github/pull_requests` -> `github__pull_requests`."""
    source, name = entity.split("/")
    return f"{source}__{name}"


def postgres_type(arrow_type: pa.DataType) -> str:
    """The PostgreSQL column type that holds an Arrow type of the landing without loss."""
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_integer(arrow_type):
        return "bigint"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp with time zone" if arrow_type.tz else "timestamp without time zone"
    if pa.types.is_date(arrow_type):
        return "date"
    raise TypeError(f"no PostgreSQL type for Arrow type {arrow_type}")


def entity_columns(entity: str, files: list[Path]) -> list[tuple[str, pa.DataType]]:
    """The entity's declared columns and landing lineage, then any extra column an older or newer batch has."""
    columns: dict[str, pa.DataType] = {field.name: field.type for field in arrow_schema(RAW_ENTITIES[entity])}
    columns[BATCH_ID] = pa.string()
    columns[EXTRACTED_AT] = pa.timestamp("us")
    for path in files:
        for field in pq.read_schema(path):
            if field.name not in columns:
                columns[field.name] = field.type
    return list(columns.items())


def _csv_chunks(path: Path) -> Iterator[tuple[list[str], bytes, int]]:
    """(column names, CSV bytes, row count) per record batch of a Parquet file. Strings are always quoted
    and nulls left empty, so COPY tells an empty string from a null."""
    parquet = pq.ParquetFile(path)
    for batch in parquet.iter_batches(batch_size=COPY_BATCH_ROWS):
        if batch.num_rows == 0:
            continue
        buffer = io.BytesIO()
        pa_csv.write_csv(batch, buffer, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
        yield batch.schema.names, buffer.getvalue(), batch.num_rows


@contextmanager
def _connection(dsn_or_conn: Any) -> Iterator[Any]:
    if isinstance(dsn_or_conn, str):
        import psycopg2

        connection = psycopg2.connect(dsn_or_conn)
        try:
            yield connection
        finally:
            connection.close()
    else:
        yield dsn_or_conn


def load_raw_to_postgres(raw_dir: Path | str, dsn_or_conn: Any, schema: str = "raw") -> list[LoadedTable]:
    """Replace `<schema>.<source>__<entity>` for every raw entity with the rows of its Parquet batches,
    all in one transaction (committed on success, rolled back on any error). An entity without files
    gets an empty table of its declared columns. The views of an earlier dbt build that read these tables
    are dropped with them (run `dbt build` after a load, as the pipeline does). Returns what was loaded,
    in RAW_ENTITIES order."""
    raw_root = Path(raw_dir)
    loaded: list[LoadedTable] = []
    with _connection(dsn_or_conn) as connection:
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
                for entity in RAW_ENTITIES:
                    files = sorted((raw_root / entity).glob("*.parquet"))
                    table = sql.Identifier(schema, table_name(entity))
                    columns = entity_columns(entity, files)
                    # cascade: dbt's staging views over the raw tables (and the views over those) go with them;
                    # the dbt build that follows every load recreates them. Marts are tables and stay.
                    cursor.execute(sql.SQL("drop table if exists {} cascade").format(table))
                    cursor.execute(sql.SQL("create table {} ({})").format(table, sql.SQL(", ").join(
                        sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(postgres_type(arrow_type)))
                        for name, arrow_type in columns
                    )))
                    rows = 0
                    for path in files:
                        for names, data, count in _csv_chunks(path):
                            copy = sql.SQL("copy {} ({}) from stdin with (format csv)").format(
                                table, sql.SQL(", ").join(sql.Identifier(name) for name in names))
                            cursor.copy_expert(copy.as_string(connection), io.BytesIO(data))
                            rows += count
                    loaded.append(LoadedTable(entity, f"{schema}.{table_name(entity)}", len(files), rows))
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
    return loaded
