"""Raw landing: typed records written as immutable Parquet batches that dbt reads as sources.

Layout: `<raw_root>/<source>/<entity>/<batch_id>.parquet`, one file per batch, each with the entity's
full schema plus `_batch_id` and `_extracted_at`. A batch is named by a hash of its records, so landing
the same records twice replaces one file instead of adding a second, and a file appears only whole
(written to a temporary name, then renamed). Staging keeps the latest version of each key, so batches
that overlap (a PR synced again after a late review) never double count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from connectors.records import RAW_ENTITIES, arrow_schema
from impact.batch_validation import BatchRejected, keep_rejected, validate_batch

BATCH_ID = "_batch_id"
EXTRACTED_AT = "_extracted_at"


@dataclasses.dataclass(frozen=True)
class LandedBatch:
    entity: str
    batch_id: str
    path: Path
    rows: int
    #: the newest time any landed record carries (UTC; None for an empty batch or an entity without times),
    #: which is how fresh the landed data is: the asset's freshness metadata
    newest_record_at: dt.datetime | None = None


def _to_utc_wall_time(value: object) -> object:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: connectors must hand over timezone-aware times")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def records_table(entity: str, records: Iterable[object]) -> pa.Table:
    """Arrow table of an entity's records with the entity's declared schema (even when empty)."""
    record_type = RAW_ENTITIES[entity]
    schema = arrow_schema(record_type)
    columns: dict[str, list[object]] = {name: [] for name in schema.names}
    for record in records:
        if not isinstance(record, record_type):
            raise TypeError(f"{entity}: expected {record_type.__name__}, got {type(record).__name__}")
        for name in schema.names:
            columns[name].append(_to_utc_wall_time(getattr(record, name)))
    return pa.Table.from_pydict(columns, schema=schema)


def newest_record_time(table: pa.Table) -> dt.datetime | None:
    """The latest value of any timestamp or date column of a batch, as an aware UTC datetime."""
    newest = None
    for field, column in zip(table.schema, table.columns):
        if not (pa.types.is_timestamp(field.type) or pa.types.is_date(field.type)):
            continue
        value = pc.max(column).as_py()
        if value is None:
            continue
        if not isinstance(value, dt.datetime):  # a date: the start of its UTC day
            value = dt.datetime.combine(value, dt.time())
        value = value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)
        newest = value if newest is None else max(newest, value)
    return newest


def _batch_id(table: pa.Table) -> str:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()[:24]


def land_batch(
    raw_root: Path, entity: str, records: Iterable[object], extracted_at: dt.datetime
) -> LandedBatch:
    """Validate one batch of an entity, then write it atomically and return where it landed.

    A batch that fails its Great Expectations suite is not written: it is kept under `_rejected/` and
    `BatchRejected` is raised, so the caller never advances its cursor past it.
    """
    table = records_table(entity, records)
    batch_id = _batch_id(table)
    failures = validate_batch(entity, table)
    if failures:
        raise BatchRejected(entity, failures, keep_rejected(raw_root, entity, batch_id, table, failures))
    newest = newest_record_time(table)
    extracted = _to_utc_wall_time(extracted_at)
    table = table.append_column(BATCH_ID, pa.array([batch_id] * table.num_rows, pa.string()))
    table = table.append_column(
        EXTRACTED_AT, pa.array([extracted] * table.num_rows, pa.timestamp("us"))
    )
    folder = Path(raw_root) / entity
    folder.mkdir(parents=True, exist_ok=True)
    final_path = folder / f"{batch_id}.parquet"
    temp_path = folder / f".{batch_id}.{os.getpid()}.tmp"
    pq.write_table(table, temp_path)
    os.replace(temp_path, final_path)
    return LandedBatch(
        entity=entity, batch_id=batch_id, path=final_path, rows=table.num_rows, newest_record_at=newest,
    )


def ensure_entity_folders(raw_root: Path) -> None:
    """Give every raw entity at least an empty batch, so dbt sources resolve before a source syncs; and an
    empty batch of the current schema where no landed file has a column added since (read with
    union_by_name, one file carrying it is enough for older files to read it as null)."""
    for entity, record_type in RAW_ENTITIES.items():
        folder = Path(raw_root) / entity
        files = sorted(folder.glob("*.parquet"), key=lambda path: path.stat().st_mtime, reverse=True)  # newest first
        wanted = set(arrow_schema(record_type).names)
        if not files or not any(wanted <= set(pq.read_schema(path).names) for path in files):
            land_batch(raw_root, entity, [], dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc))
