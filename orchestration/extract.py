"""Extraction assets: one per source, each a thin wrapper over `impact.sync`.

Each asset reports the sync's counts as materialisation metadata and, as asset checks, whether every
batch passed its Great Expectations suite (`orchestration.raw_checks`).
"""

from collections.abc import Callable, Iterator

from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from impact.batch_validation import BatchRejected
from impact.sync import (
    SyncSummary,
    TranscriptSyncSummary,
    sync_claude_code,
    sync_claude_otel,
    sync_claude_transcripts,
    sync_github,
    sync_jira,
    sync_team_mapping,
)
from impact.sync_incidents import sync_github_incidents, sync_pagerduty
from orchestration.raw_checks import check_specs, materialization_metadata, passed_results, rejected_result
from orchestration.resources import ImpactConfigResource

Outcome = Iterator[MaterializeResult | AssetCheckResult]


def _materialize(
    source: str, sync: Callable[[], SyncSummary], *, counts_requests: bool = True,
    extra: Callable[[SyncSummary], dict[str, MetadataValue]] | None = None,
) -> Outcome:
    """Run a sync; yield its metadata and one passed check per entity, or the failed check and re-raise."""
    try:
        summary = sync()
    except BatchRejected as error:
        # the failed check is recorded before the step fails, so the UI shows which suite rejected what
        yield rejected_result(error)
        raise
    metadata = materialization_metadata(summary, counts_requests=counts_requests)
    if extra is not None:
        metadata.update(extra(summary))
    yield MaterializeResult(metadata=metadata, check_results=passed_results(source, summary.validation))


@asset(
    key=AssetKey(["raw", "org"]),
    check_specs=check_specs("org"),
    group_name="extract",
    owners=["team:data-platform"],
    kinds={"python", "parquet"},
    description="The configured team mapping file (people, their identities across tools, and teams), landed as raw Parquet.",
)
def raw_org(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> Outcome:
    yield from _materialize("org", lambda: sync_team_mapping(impact_config.load()), counts_requests=False)


@asset(
    key=AssetKey(["raw", "github"]),
    check_specs=check_specs("github"),
    group_name="extract",
    owners=["team:data-platform"],
    kinds={"github", "parquet"},
    description=(
        "GitHub pull requests (incremental by updated_at), reviews, PR commits, deployments with their "
        "statuses, and the commits each successful production deployment shipped (compare API)."
    ),
)
def raw_github(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> Outcome:
    yield from _materialize("github", lambda: sync_github(
        impact_config.load(), full_refresh=impact_config.full_refresh, logger=context.log))


@asset(
    key=AssetKey(["raw", "jira"]),
    check_specs=check_specs("jira"),
    group_name="extract",
    owners=["team:data-platform"],
    kinds={"jira", "parquet"},
    description=(
        "Jira issues of the configured projects or JQL (type, priority, assignee, story points, sprint, "
        "components) and every status transition from their changelog; Cloud enhanced JQL search or Data "
        "Center search, incremental by `updated` with one cursor per project. Incident-type issues feed incidents."
    ),
)
def raw_jira(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> Outcome:
    yield from _materialize("jira", lambda: sync_jira(
        impact_config.load(), full_refresh=impact_config.full_refresh, logger=context.log))


@asset(
    key=AssetKey(["raw", "pagerduty"]),
    check_specs=check_specs("pagerduty"),
    group_name="extract",
    owners=["team:data-platform"],
    kinds={"pagerduty", "parquet"},
    description=(
        "PagerDuty incidents (REST API v2): created, acknowledged, resolved, service, urgency, priority and the "
        "deployment named by the incident key. Read by creation time in 30-day windows; recent and still-open "
        "incidents are read again each run and only new or changed ones are landed."
    ),
)
def raw_pagerduty(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> Outcome:
    yield from _materialize("pagerduty", lambda: sync_pagerduty(
        impact_config.load(), full_refresh=impact_config.full_refresh, logger=context.log))


@asset(
    key=AssetKey(["raw", "github_incidents"]),
    check_specs=check_specs("github_incidents"),
    group_name="extract",
    owners=["team:data-platform"],
    kinds={"github", "parquet"},
    description=(
        "GitHub issues carrying one of incidents.github_labels (pull requests listed among them are skipped), "
        "incremental per repository by updated_at; the deployment an issue body names is kept as its explicit link."
    ),
)
def raw_github_incidents(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> Outcome:
    yield from _materialize("github_incidents", lambda: sync_github_incidents(
        impact_config.load(), full_refresh=impact_config.full_refresh, logger=context.log))


@asset(
    key=AssetKey(["raw", "anthropic"]),
    check_specs=check_specs("anthropic"),
    group_name="extract",
    owners=["team:data-platform"],
    kinds={"python", "parquet"},
    description=(
        "Anthropic Admin API Claude Code analytics report: per actor and day, sessions, lines, commits, "
        "PRs, edit decisions, and per-model tokens and estimated cost. Recent days are re-read each run."
    ),
)
def raw_anthropic(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> Outcome:
    yield from _materialize("anthropic", lambda: sync_claude_code(
        impact_config.load(), full_refresh=impact_config.full_refresh, logger=context.log))


@asset(
    key=AssetKey(["raw", "claude_code"]),
    check_specs=check_specs("claude_code"),
    group_name="extract",
    owners=["team:data-platform"],
    kinds={"python", "parquet"},
    description=(
        "Claude Code local session transcripts (projects/**/*.jsonl from the configured folders): each "
        "counted API response once, with its tokens, cost, session, cwd and git branch. Unchanged files "
        "are not read again; folders matching nobody in the team mapping are landed and reported."
    ),
)
def raw_claude_code(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> Outcome:
    def transcript_counts(summary: TranscriptSyncSummary) -> dict[str, MetadataValue]:
        return {
            "files_read": MetadataValue.int(summary.files_read),
            "files_unchanged": MetadataValue.int(summary.files_unchanged),
            "responses_read": MetadataValue.int(summary.responses_read),
            "unmatched_folders": MetadataValue.json(summary.unmatched_folders),
            "invalid_lines": MetadataValue.int(len(summary.invalid_lines)),
        }

    yield from _materialize(
        "claude_code",
        lambda: sync_claude_transcripts(impact_config.load(), full_refresh=impact_config.full_refresh, logger=context.log),
        counts_requests=False, extra=transcript_counts,
    )


@asset(
    key=AssetKey(["raw", "claude_code_otel"]),
    check_specs=check_specs("claude_code_otel"),
    group_name="extract",
    owners=["team:data-platform"],
    kinds={"opentelemetry", "parquet"},
    description=(
        "Claude Code OpenTelemetry metrics from the collector's OTLP JSON export files (claude_code.otel_exports): "
        "tokens, cost, sessions, lines, commits, PRs, edit decisions and active time, summed per series and UTC "
        "day; cumulative series differenced, points written twice counted once."
    ),
)
def raw_claude_code_otel(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> Outcome:
    yield from _materialize("claude_code_otel", lambda: sync_claude_otel(impact_config.load(), logger=context.log),
                            counts_requests=False)
