"""Extraction runs: read a source through its connector, land the batches, then advance the cursor.

These functions are what the Dagster extraction assets call; they hold the ordering that makes a sync
safe to interrupt (land first, save the cursor second) and report what they did for the asset's
metadata. No Dagster import here, so they run and test on their own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import logging
from collections import Counter
from collections.abc import Iterable

from connectors.claude_code import ClaudeCodeAnalyticsClient
import duckdb

from connectors.claude_transcripts import (
    TranscriptFolder, TranscriptReader, identity_index, person_folders, session_files,
)

from connectors.github import SETTLED_STATES, GithubConnector, KnownDeployment
from connectors.jira import JiraConnector
from connectors.github_graphql import GithubGraphqlConnector
from connectors.team_mapping import read_team_mapping
from connectors.records import AiAlertThresholds, AiBudget, RepoPath
from impact.config import ImpactConfig
from impact.batch_validation import EntityValidation
from impact.landing import land_batch
from impact.sync_state import SyncState

log = logging.getLogger(__name__)


@dataclasses.dataclass
class SyncSummary:
    source: str
    rows: Counter[str] = dataclasses.field(default_factory=Counter)
    batches: int = 0
    requests: int = 0
    cursors: dict[str, str] = dataclasses.field(default_factory=dict)
    #: per entity, what its Great Expectations suite passed (shown as Dagster asset checks)
    validation: dict[str, EntityValidation] = dataclasses.field(default_factory=dict)
    #: per entity, the newest time a landed record carries (the asset's freshness)
    newest_record_at: dict[str, dt.datetime] = dataclasses.field(default_factory=dict)

    def land(self, config: ImpactConfig, entity: str, records: Iterable[object], now: dt.datetime) -> None:
        batch = land_batch(config.raw_dir, entity, records, now)
        self.rows[entity] += batch.rows
        self.batches += 1
        self.validation.setdefault(entity, EntityValidation(entity)).add_passed(batch.rows)
        if batch.newest_record_at is not None:
            self.newest_record_at[entity] = max(self.newest_record_at.get(entity, batch.newest_record_at),
                                                batch.newest_record_at)


def _state(config: ImpactConfig) -> SyncState:
    return SyncState(config.raw_dir / "_state" / "cursors.json")


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def sync_team_mapping(config: ImpactConfig) -> SyncSummary:
    summary = SyncSummary("teams")
    members = read_team_mapping(config.teams_file) if config.teams_file else []
    now = _utc_now()
    summary.land(config, "org/team_members", members, now)
    land_ai_settings(config, summary, now)
    return summary


def land_ai_settings(config: ImpactConfig, summary: SyncSummary, now: dt.datetime) -> None:
    """Budgets, `claude_code.repo_paths` and alert thresholds as raw org entities, all stamped `now`.

    They are configuration, landed so the marts can join them like any data (and so a Postgres or Spark
    build sees the same values). The thresholds row is always written: staging keeps the budgets and
    repo paths landed with the latest thresholds row, so removing a budget from the config removes it.
    """
    budgets = config.budgets
    summary.land(config, "org/ai_budgets", [
        AiBudget(scope_kind=kind, scope=scope, monthly_usd=float(amount))
        for kind, pairs in (("team", budgets.teams), ("role", budgets.roles), ("person", budgets.people))
        for scope, amount in pairs
    ], now)
    repo_paths = config.claude_code.repo_paths if config.claude_code else ()
    summary.land(config, "org/repo_paths", [RepoPath(path_pattern=p, repository=r) for p, r in repo_paths], now)
    summary.land(config, "org/ai_alert_thresholds", [AiAlertThresholds(
        developer_day_usd=float(config.alerts.developer_day_usd), session_usd=float(config.alerts.session_usd),
    )], now)


def sync_github(config: ImpactConfig, *, full_refresh: bool = False, logger: logging.Logger = log) -> SyncSummary:
    """Pull requests (incremental by `updated_at`) and deployments of every configured repository."""
    summary = SyncSummary("github")
    if config.github is None:
        return summary
    settings = config.github
    # github.api: graphql reads pull requests, reviews and commits ~100 per request; deployments stay REST.
    connector_class = GithubGraphqlConnector if settings.api == "graphql" else GithubConnector
    connector = connector_class(settings.api_url, settings.token.reveal())
    state = _state(config)
    repositories = connector.repositories(settings.repos, settings.orgs)
    logger.info("github: %d repositories to sync", len(repositories))
    backfill_from = dt.datetime.combine(config.start_date, dt.time(), dt.timezone.utc)
    for index, repository in enumerate(repositories, start=1):
        cursor_key = f"github:pulls:{repository}"
        cursor = None if full_refresh else state.get(cursor_key)
        since = dt.datetime.fromisoformat(cursor) if cursor else backfill_from
        now = _utc_now()
        pulls = connector.pull_requests(repository, updated_since=since)
        summary.land(config, "github/pull_requests", pulls.pull_requests, now)
        summary.land(config, "github/reviews", pulls.reviews, now)
        summary.land(config, "github/pull_request_commits", pulls.commits, now)
        if pulls.newest_updated_at is not None:
            state.save(cursor_key, pulls.newest_updated_at.isoformat())
        deployments = connector.deployments(
            repository,
            production_environments=settings.production_environments,
            known=None if full_refresh else known_deployments(config, repository),
        )
        summary.land(config, "github/deployments", deployments.deployments, now)
        summary.land(config, "github/deployment_statuses", deployments.statuses, now)
        summary.land(config, "github/deployment_commits", deployments.commits, now)
        logger.info(
            "github: [%d/%d] %s: %d pull requests changed since %s, %d deployments",
            index, len(repositories), repository, len(pulls.pull_requests), since.isoformat(),
            len(deployments.deployments),
        )
    summary.requests = connector.requests
    summary.cursors = {k: v for k, v in state.as_dict().items() if k.startswith("github:")}
    return summary


def known_deployments(config: ImpactConfig, repository: str) -> dict[int, KnownDeployment]:
    """What earlier runs landed about a repository's deployments, read back from the landing."""
    folders = [config.raw_dir / "github" / name for name in ("deployments", "deployment_statuses")]
    if not all(any(folder.glob("*.parquet")) for folder in folders):
        return {}
    settled = ", ".join(f"'{state}'" for state in sorted(SETTLED_STATES))
    rows = duckdb.execute(
        f"""
        with deployments as (
            select distinct id, sha, environment, created_at
            from read_parquet('{folders[0]}/*.parquet') where repository = $repository
        ),
        statuses as (
            select deployment_id,
                   min(created_at) filter (where state = 'success') as succeeded_at,
                   bool_or(state in ({settled})) as settled
            from read_parquet('{folders[1]}/*.parquet') where repository = $repository
            group by deployment_id
        )
        select d.id, d.sha, d.environment, d.created_at, s.succeeded_at, coalesce(s.settled, false)
        from deployments d left join statuses s on s.deployment_id = d.id
        """,
        {"repository": repository},
    ).fetchall()
    utc = dt.timezone.utc
    return {
        row[0]: KnownDeployment(
            id=row[0], sha=row[1], environment=row[2], created_at=row[3].replace(tzinfo=utc),
            succeeded_at=row[4].replace(tzinfo=utc) if row[4] else None, settled=bool(row[5]),
        )
        for row in rows
    }


#: issues landed per batch at most (several small projects share one)
JIRA_LANDING_BATCH = 5_000


def sync_jira(config: ImpactConfig, *, full_refresh: bool = False, logger: logging.Logger = log) -> SyncSummary:
    """Jira issues and status transitions, incremental by `updated`, one cursor per project (or per JQL).

    Batches come oldest change first, so the cursor is saved after each landed batch: a crash re-reads
    from the last landed batch, and the boundary minute is always read again (staging keeps the latest).
    """
    summary = SyncSummary("jira")
    if config.jira is None:
        return summary
    settings = config.jira
    connector = JiraConnector(
        settings.url, settings.token.reveal(), settings.email, incident_types=config.incidents.jira_issue_types,
        story_points_field=settings.story_points_field, sprint_field=settings.sprint_field,
    )
    state = _state(config)
    if settings.projects:
        scopes = [(f"jira:project:{project}", project) for project in settings.projects]
    else:
        digest = hashlib.sha1((settings.jql or "").encode()).hexdigest()[:12]
        scopes = [(f"jira:jql:{digest}", None)]
    backfill_from = dt.datetime.combine(config.start_date, dt.time(), dt.timezone.utc)
    # Small projects share a landed batch (each batch's validation has a fixed cost); the cursors a batch
    # covers are saved right after it lands, never before.
    pending: list = []
    pending_transitions: list = []
    pending_cursors: dict[str, str] = {}

    def flush() -> None:
        if pending:
            now = _utc_now()
            latest: dict[str, object] = {}
            for issue in pending:  # an issue changed during the sync can come twice: keep its latest
                if issue.id not in latest or issue.updated_at >= latest[issue.id].updated_at:
                    latest[issue.id] = issue
            transitions = {(t.issue_id, t.history_id, t.to_status): t for t in pending_transitions}
            summary.land(config, "jira/issues", list(latest.values()), now)
            summary.land(config, "jira/status_transitions", list(transitions.values()), now)
        for key, value in pending_cursors.items():
            state.save(key, value)
        pending.clear(), pending_transitions.clear(), pending_cursors.clear()

    for index, (cursor_key, project) in enumerate(scopes, start=1):
        cursor = None if full_refresh else state.get(cursor_key)
        since = dt.datetime.fromisoformat(cursor) if cursor else backfill_from
        issues = 0
        for batch in connector.read(project=project, jql=settings.jql, updated_since=since):
            pending.extend(batch.issues)
            pending_transitions.extend(batch.transitions)
            if batch.newest_updated_at is not None:
                pending_cursors[cursor_key] = batch.newest_updated_at.isoformat()
            issues += len(batch.issues)
            if len(pending) >= JIRA_LANDING_BATCH:
                flush()
        logger.info(
            "jira: [%d/%d] %s: %d issues changed since %s", index, len(scopes), project or "jql", issues,
            since.isoformat(),
        )
    flush()
    summary.requests = connector.requests
    summary.cursors = {k: v for k, v in state.as_dict().items() if k.startswith("jira:")}
    logger.info("jira: %d requests (%d retried)", connector.requests, connector.retried)
    return summary


#: Analytics report days landed per batch.
DAYS_PER_BATCH = 31


def sync_claude_code(
    config: ImpactConfig, *, full_refresh: bool = False, today: dt.date | None = None,
    logger: logging.Logger = log,
) -> SyncSummary:
    """The analytics report day by day; recent days are read again because they still change."""
    summary = SyncSummary("anthropic")
    if config.anthropic is None:
        return summary
    settings = config.anthropic
    client = ClaudeCodeAnalyticsClient(settings.api_url, settings.admin_key.reveal())
    state = _state(config)
    cursor_key = "anthropic:claude_code:last_day"
    last_day = config.end_date or (today or _utc_now().date()) - dt.timedelta(days=1)
    cursor = None if full_refresh else state.get(cursor_key)
    first_day = config.start_date
    if cursor:
        first_day = max(first_day, dt.date.fromisoformat(cursor) - dt.timedelta(days=settings.reread_days - 1))
    total_days = (last_day - first_day).days + 1
    actor_days: list = []
    model_days: list = []

    def land_chunk(through: dt.date) -> None:
        # Days are landed a month at a time (each batch is validated, and validation has a fixed cost), and
        # the cursor moves only after both entities of the chunk landed: a crash re-reads at most a chunk.
        now = _utc_now()
        summary.land(config, "anthropic/claude_code_actor_days", actor_days, now)
        summary.land(config, "anthropic/claude_code_model_days", model_days, now)
        state.save(cursor_key, through.isoformat())
        actor_days.clear()
        model_days.clear()

    pending: dt.date | None = None  # the last day read and not landed yet
    for number, day in enumerate(client.read_days(first_day, last_day), start=1):
        actor_days.extend(day.actor_days)
        model_days.extend(day.model_days)
        summary.requests += day.requests
        pending = day.date
        if number % DAYS_PER_BATCH == 0:
            land_chunk(day.date)
            pending = None
            logger.info("anthropic: %d/%d days read (through %s)", number, total_days, day.date)
    if pending is not None:
        land_chunk(pending)
        logger.info("anthropic: all %d days read (through %s)", total_days, pending)
    summary.cursors = {cursor_key: state.get(cursor_key) or ""}
    return summary


TRANSCRIPTS_ENTITY = "claude_code/transcript_messages"
TRANSCRIPT_FILES_KEY = "claude_transcripts:files"


@dataclasses.dataclass
class TranscriptSyncSummary(SyncSummary):
    """What a transcripts sync read, and what it could not attribute or parse (never silently dropped)."""

    files_read: int = 0
    files_unchanged: int = 0
    responses_read: int = 0
    #: person folders (or configured developers) matching no identity of the team mapping: still landed,
    #: with developer_email null
    unmatched_folders: list[str] = dataclasses.field(default_factory=list)
    #: "file:line: reason" of every line skipped as invalid JSON (a truncated last line among them)
    invalid_lines: list[str] = dataclasses.field(default_factory=list)


def _landed_transcript_keys(config: ImpactConfig) -> dict[str, int]:
    """dedup_key -> largest output_tokens already landed, read back from the landing."""
    folder = config.raw_dir / TRANSCRIPTS_ENTITY
    if not any(folder.glob("*.parquet")):
        return {}
    rows = duckdb.execute(
        f"select dedup_key, max(output_tokens) from read_parquet('{folder}/*.parquet') group by dedup_key"
    ).fetchall()
    return {key: int(tokens) for key, tokens in rows}


def sync_claude_transcripts(
    config: ImpactConfig, *, full_refresh: bool = False, logger: logging.Logger = log
) -> TranscriptSyncSummary:
    """Land each API response of the configured transcript folders once.

    Files unchanged since the last sync (same size and mtime) are not read again; changed and new files
    are read whole and deduplicated across files, and only responses not landed yet, or landed with a
    smaller `output_tokens` (a response that was still streaming), are landed, in one batch. So a re-run
    lands nothing new, and a session file that grew adds only its new responses. The file list is saved
    after the batch has landed; a crash in between re-reads those files and finds their responses
    landed already.
    """
    summary = TranscriptSyncSummary("claude_transcripts")
    if config.claude_code is None or not config.claude_code.transcripts:
        return summary
    members = read_team_mapping(config.teams_file) if config.teams_file else None
    index = identity_index(members) if members is not None else None
    people, summary.unmatched_folders = person_folders(
        [TranscriptFolder(entry.path, entry.developer) for entry in config.claude_code.transcripts], index
    )
    for identity in summary.unmatched_folders:
        logger.warning("claude transcripts: %s matches nobody in the team mapping; landed without an email", identity)
    state = _state(config)
    landed = _landed_transcript_keys(config)
    # Nothing landed (a fresh or wiped landing folder): read every file, whatever the saved list says.
    known: dict[str, str] = (
        {} if full_refresh or not landed else json.loads(state.get(TRANSCRIPT_FILES_KEY) or "{}")
    )
    reader = TranscriptReader()
    current: dict[str, str] = {}
    for person in people:
        for path in session_files(person):
            stat = path.stat()
            name, signature = str(path.resolve()), f"{stat.st_size}:{stat.st_mtime_ns}"
            current[name] = signature
            if known.get(name) == signature:
                summary.files_unchanged += 1
                continue
            reader.add_file(path, person)
    summary.files_read = reader.files
    summary.responses_read = len(reader.best)
    summary.invalid_lines = [str(line) for line in reader.invalid]
    for line in summary.invalid_lines:
        logger.warning("claude transcripts: skipped %s", line)
    new = [record for record in reader.records() if record.output_tokens > landed.get(record.dedup_key, -1)]
    folder = config.raw_dir / TRANSCRIPTS_ENTITY
    if new or not any(folder.glob("*.parquet")):
        summary.land(config, TRANSCRIPTS_ENTITY, new, _utc_now())
    state.save(TRANSCRIPT_FILES_KEY, json.dumps(current, sort_keys=True))
    summary.cursors = {TRANSCRIPT_FILES_KEY: f"{len(current)} files"}
    logger.info(
        "claude transcripts: %d files read (%d unchanged), %d responses, %d landed, %d invalid lines, %d unmatched",
        summary.files_read, summary.files_unchanged, summary.responses_read, len(new), len(summary.invalid_lines),
        len(summary.unmatched_folders),
    )
    return summary


def sync_claude_otel(config: ImpactConfig, *, logger: logging.Logger = log) -> SyncSummary:
    """Land the day totals of every series in the configured OpenTelemetry export files.

    Export files are small beside transcripts and a collector may append to the newest one, so every run
    reads them all and lands the whole aggregate as one batch (the same files give the same batch, which
    lands once); staging keeps, per key, the row of the latest run.
    """
    from connectors.claude_otel import read_otel_exports

    summary = SyncSummary("claude_otel")
    if config.claude_code is None or not config.claude_code.otel_exports:
        return summary
    records, read = read_otel_exports(config.claude_code.otel_exports)
    logger.info(
        "claude otel: %d files, %d lines, %d points (%d written twice, counted once), %d non-Claude metrics skipped",
        read.files, read.lines, read.points, read.duplicate_points, read.skipped_metrics,
    )
    summary.land(config, "claude_code/otel_usage", records, _utc_now())
    summary.cursors = {"files": str(read.files), "points": str(read.points)}
    return summary
