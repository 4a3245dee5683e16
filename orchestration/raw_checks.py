"""The Great Expectations batch suites as Dagster asset checks, and the extraction assets' metadata.

Wiring only: the suites run inside `impact.landing.land_batch` on every batch, before it lands, so the
checks cannot run after the asset as separate ops (a bad batch must never land first). Instead each
extraction asset declares one check per raw entity it lands (`<source>_<entity>_batches_valid`) and
reports its result from the asset body: passed, with what the suite evaluated in this run, or failed,
with the rejected batch kept under `raw/_rejected/` and the expectations it broke (the asset fails too,
as the batch did not land and no cursor moved).
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetKey, MetadataValue

from impact.batch_validation import BatchRejected, EntityValidation
from impact.sync import SyncSummary

#: raw entities landed by each extraction asset (keyed by the asset key's last part)
ENTITIES: dict[str, tuple[str, ...]] = {
    "org": ("org/team_members", "org/ai_budgets", "org/repo_paths", "org/ai_alert_thresholds"),
    "github": (
        "github/pull_requests", "github/reviews", "github/pull_request_commits",
        "github/deployments", "github/deployment_statuses", "github/deployment_commits",
    ),
    "github_incidents": ("github/issues",),
    "jira": ("jira/issues", "jira/status_transitions"),
    "pagerduty": ("pagerduty/incidents",),
    "anthropic": ("anthropic/claude_code_actor_days", "anthropic/claude_code_model_days"),
    "claude_code": ("claude_code/transcript_messages",),
    "claude_code_otel": ("claude_code/otel_usage",),
}


def check_name(entity: str) -> str:
    """`github/pull_requests` -> `github_pull_requests_batches_valid`."""
    return f"{entity.replace('/', '_')}_batches_valid"


def check_specs(source: str) -> list[AssetCheckSpec]:
    """One check per raw entity of an extraction asset `raw/<source>`."""
    return [
        AssetCheckSpec(
            name=check_name(entity),
            asset=AssetKey(["raw", source]),
            description=(
                f"Every {entity} batch of the run passed its Great Expectations suite (schema, non-null and "
                "unique keys, enums, times in order) before landing; a failing batch is kept under "
                f"raw/_rejected/{entity}/ and not landed."
            ),
        )
        for entity in ENTITIES[source]
    ]


def passed_results(source: str, validation: Mapping[str, EntityValidation]) -> list[AssetCheckResult]:
    """A passed check per entity of the source, with what its suite evaluated in this run."""
    results = []
    for entity in ENTITIES[source]:
        tally = validation.get(entity, EntityValidation(entity))
        results.append(AssetCheckResult(
            check_name=check_name(entity),
            passed=True,
            description=(
                f"{tally.batches} batch(es), {tally.rows} rows passed" if tally.batches
                else "no non-empty batch in this run: nothing to validate"
            ),
            metadata={
                "batches_validated": MetadataValue.int(tally.batches),
                "rows_validated": MetadataValue.int(tally.rows),
                "expectations_evaluated": MetadataValue.int(tally.expectations),
            },
        ))
    return results


def rejected_result(error: BatchRejected) -> AssetCheckResult:
    """The failed check of the entity whose batch the suite rejected."""
    return AssetCheckResult(
        check_name=check_name(error.entity),
        passed=False,
        severity=AssetCheckSeverity.ERROR,
        description=str(error),
        metadata={
            "rejected_batch": MetadataValue.path(str(error.kept_at)),
            "rejection_report": MetadataValue.path(str(error.kept_at.with_suffix(".json"))),
            "failed_expectations": MetadataValue.json([
                {"expectation": f["expectation"], "kwargs": f["kwargs"], "unexpected_count": f["unexpected_count"],
                 "records": f["records"]}
                for f in error.failures
            ]),
        },
    )


def materialization_metadata(summary: SyncSummary, *, counts_requests: bool = True) -> dict[str, MetadataValue]:
    """Rows per entity, batches, requests sent, cursor values and the newest record time landed."""
    metadata: dict[str, MetadataValue] = {
        f"rows/{entity}": MetadataValue.int(count) for entity, count in sorted(summary.rows.items())
    }
    metadata["dagster/row_count"] = MetadataValue.int(sum(summary.rows.values()))
    metadata["batches"] = MetadataValue.int(summary.batches)
    if counts_requests:
        metadata["requests"] = MetadataValue.int(summary.requests)
    if summary.cursors:
        metadata["cursors"] = MetadataValue.json(dict(sorted(summary.cursors.items())))
    if summary.newest_record_at:
        metadata["newest_record_at"] = MetadataValue.timestamp(max(summary.newest_record_at.values()))
    return metadata
