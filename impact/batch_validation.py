"""Great Expectations suites that every raw batch passes before it lands.

Why here, at the landing door, and not later in dbt: a batch that lands is read by every build after
it, and a cursor saved after it means the source will not be asked again. A bad page (a key repeated,
a null where the API promises a value, an unknown enum, time running backwards) must therefore stop
before it is written, be kept aside whole for inspection, and leave the cursor where it was, so the
next run asks the source again.

Each entity's suite is derived from its record type (`connectors.records`): the exact column set,
non-null for every field not typed `| None`, plus the rules in `RULES` (unique keys, enums, pairs
of timestamps that must be in order). Only facts the source guarantees are rules here; what real
data legitimately gets wrong (a review before its PR was opened, through clock skew) is flagged by
dbt downstream, never rejected.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import typing
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.records import RAW_ENTITIES

#: how many offending records an error message and the rejection report name, per expectation
SAMPLE = 5


@dataclasses.dataclass(frozen=True)
class EntityRules:
    keys: tuple[str, ...] = ()  # unique together within a batch
    enums: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ordered: tuple[tuple[str, str], ...] = ()  # (earlier, later): later >= earlier where both are set


RULES: dict[str, EntityRules] = {
    "github/pull_requests": EntityRules(
        keys=("id",),
        enums=(("state", ("open", "closed")), ("author_type", ("User", "Bot", "Organization", "Mannequin"))),
        ordered=(("created_at", "updated_at"), ("created_at", "closed_at"), ("created_at", "merged_at")),
    ),
    "github/reviews": EntityRules(
        keys=("id",),
        enums=(("state", ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING")),),
    ),
    "github/pull_request_commits": EntityRules(keys=("repository", "pull_number", "sha")),
    "github/deployments": EntityRules(keys=("id",), ordered=(("created_at", "updated_at"),)),
    "github/deployment_statuses": EntityRules(
        keys=("id",),
        enums=(("state", ("queued", "pending", "in_progress", "success", "failure", "error", "inactive")),),
    ),
    "github/deployment_commits": EntityRules(keys=("deployment_id", "sha")),
    "github/issues": EntityRules(
        keys=("id",),
        enums=(("state", ("open", "closed")),),
        ordered=(("created_at", "updated_at"), ("created_at", "closed_at")),
    ),
    "jira/issues": EntityRules(
        keys=("id",),
        enums=(("status_category", ("new", "indeterminate", "done", "undefined")),),
        ordered=(("created_at", "updated_at"),),
    ),
    "jira/status_transitions": EntityRules(keys=("issue_id", "history_id", "to_status")),
    "pagerduty/incidents": EntityRules(
        keys=("id",),
        enums=(("status", ("triggered", "acknowledged", "resolved")), ("urgency", ("high", "low"))),
        ordered=(("created_at", "resolved_at"), ("created_at", "acknowledged_at")),
    ),
    "anthropic/claude_code_actor_days": EntityRules(
        keys=("date", "actor_type", "actor_id", "terminal_type"),
        enums=(("actor_type", ("user_actor", "api_actor")),),
    ),
    "anthropic/claude_code_model_days": EntityRules(
        keys=("date", "actor_type", "actor_id", "model"),
        enums=(("actor_type", ("user_actor", "api_actor")),),
    ),
    "claude_code/transcript_messages": EntityRules(
        keys=("dedup_key",),
        enums=(("cost_source", ("costUSD", "pricing", "unpriced")),),
    ),
    "org/team_members": EntityRules(keys=("email",)),
}


class BatchRejected(ValueError):
    """A batch failed its suite: it was not landed, it is kept under `raw/_rejected/`, and no cursor moved."""

    def __init__(self, entity: str, failures: list[dict[str, Any]], kept_at: Path) -> None:
        self.entity = entity
        self.failures = failures
        self.kept_at = kept_at
        lines = [f"{entity}: batch rejected by {len(failures)} expectation(s); nothing landed, the cursor was not moved."]
        for failure in failures:
            lines.append(f"  - {failure['expectation']}: {failure['detail']}")
        lines.append(
            f"The batch is kept for inspection at {kept_at} (with a .json report). If the source really "
            "sends this, report it with that file; a re-run asks the source again."
        )
        super().__init__("\n".join(lines))


def _optional_fields(record_type: type) -> set[str]:
    hints = typing.get_type_hints(record_type)
    return {
        field.name
        for field in dataclasses.fields(record_type)
        if type(None) in typing.get_args(hints[field.name])
    }


@functools.cache
def _context():
    """One ephemeral GX context per process: no project folder, no analytics, no progress bars."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batches = context.data_sources.add_pandas("raw_landing").add_dataframe_asset("batch")
    return gx, context, batches.add_batch_definition_whole_dataframe("whole_batch")


@functools.cache
def suite_for(entity: str):
    """The entity's Expectation Suite (built once per process)."""
    gx, context, _ = _context()
    record_type = RAW_ENTITIES[entity]
    names = [field.name for field in dataclasses.fields(record_type)]
    optional = _optional_fields(record_type)
    rules = RULES.get(entity, EntityRules())
    suite = gx.ExpectationSuite(name=f"raw.{entity.replace('/', '.')}")
    suite.add_expectation(gx.expectations.ExpectTableColumnsToMatchSet(column_set=names, exact_match=True))
    for name in names:
        if name not in optional:
            suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=name))
    if len(rules.keys) == 1:
        suite.add_expectation(gx.expectations.ExpectColumnValuesToBeUnique(column=rules.keys[0]))
    elif rules.keys:
        suite.add_expectation(
            gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=list(rules.keys), ignore_row_if="never")
        )
    for column, allowed in rules.enums:
        suite.add_expectation(gx.expectations.ExpectColumnValuesToBeInSet(column=column, value_set=list(allowed)))
    for earlier, later in rules.ordered:
        suite.add_expectation(
            gx.expectations.ExpectColumnPairValuesAToBeGreaterThanB(
                column_A=later, column_B=earlier, or_equal=True, ignore_row_if="either_value_is_missing"
            )
        )
    return context.suites.add(suite)


def suite_size(entity: str) -> int:
    """How many expectations the entity's suite evaluates on a (non-empty) batch."""
    return len(suite_for(entity).expectations)


@dataclasses.dataclass
class EntityValidation:
    """What an entity's suite passed during one sync: the Dagster asset check's metadata.

    A rejected batch is not tallied here: it raises `BatchRejected`, which carries what failed.
    """

    entity: str
    batches: int = 0  # non-empty batches validated (an empty batch has nothing to check and is not run)
    rows: int = 0
    expectations: int = 0  # expectations evaluated, summed over those batches

    def add_passed(self, rows: int) -> None:
        if rows:
            self.batches += 1
            self.rows += rows
            self.expectations += suite_size(self.entity)


def _describe(result, frame, keys: tuple[str, ...]) -> dict[str, Any]:
    config = result.expectation_config
    kwargs = {k: v for k, v in config.kwargs.items() if k in ("column", "column_list", "column_A", "column_B")}
    details = result.result or {}
    indexes = list(details.get("unexpected_index_list") or [])
    records = []
    for index in indexes[:SAMPLE]:
        row = frame.loc[index]
        shown = {key: row[key] for key in keys} if keys else {"row": int(index)}
        for column in ("column", "column_A", "column_B"):
            if column in kwargs and kwargs[column] not in shown:
                shown[kwargs[column]] = row[kwargs[column]]
        records.append({k: (None if v is None or v != v else str(v)) for k, v in shown.items()})
    count = details.get("unexpected_count")
    if config.type == "expect_table_columns_to_match_set":
        observed = details.get("observed_value")
        detail = f"columns {sorted(observed) if observed else observed} differ from the declared schema"
    else:
        where = ", ".join(f"{k}={v}" for k, v in kwargs.items())
        detail = f"{count} record(s) fail on {where}; e.g. {records}"
    return {"expectation": config.type, "kwargs": kwargs, "unexpected_count": count, "records": records, "detail": detail}


def validate_batch(entity: str, table: pa.Table) -> list[dict[str, Any]]:
    """Run the entity's suite on a batch; return the failed expectations (empty when it passes)."""
    if table.num_rows == 0:
        return []
    _, _, batch_definition = _context()
    frame = table.to_pandas()
    batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
    # Pass/fail only first (half the cost); the offending records are worked out only for a failed batch.
    if batch.validate(suite_for(entity), result_format={"result_format": "BOOLEAN_ONLY"}).success:
        return []
    outcome = batch.validate(suite_for(entity), result_format={"result_format": "COMPLETE"})
    keys = RULES.get(entity, EntityRules()).keys
    return [_describe(result, frame, keys) for result in outcome.results if not result.success]


def keep_rejected(raw_root: Path, entity: str, batch_id: str, table: pa.Table, failures: list[dict[str, Any]]) -> Path:
    """Write a rejected batch and its report under `raw/_rejected/<entity>/`, outside what dbt reads."""
    folder = Path(raw_root) / "_rejected" / entity
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{batch_id}.parquet"
    # nulls where the schema forbids them are one reason to be here: keep them, with every field nullable
    relaxed = pa.schema([field.with_nullable(True) for field in table.schema])
    pq.write_table(pa.Table.from_arrays(table.columns, schema=relaxed), path)
    report = {"entity": entity, "batch_id": batch_id, "rows": table.num_rows, "failures": failures}
    (folder / f"{batch_id}.json").write_text(json.dumps(report, indent=2, default=str))
    return path
