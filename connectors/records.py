"""Typed raw records: the landing contract between connectors and the dbt staging layer.

Each dataclass is one raw entity. Connectors yield them, `impact.landing` writes them to Parquet with
the Arrow schema derived from the annotations (so an empty batch still has its columns), and dbt's
staging models read them as sources. Field names follow the source API where it has one, so a row can
be traced back to the payload it came from. Connectors hand over timezone-aware datetimes; landing stores them as UTC
wall time (naive Parquet timestamps), which DuckDB, PostgreSQL and Spark all read the same way.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing

import pyarrow as pa


# --- GitHub ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class GithubPullRequest:
    """One pull request as the single-PR endpoint describes it (the list lacks size fields)."""

    id: int
    repository: str  # owner/name
    number: int
    title: str
    state: str  # open | closed
    draft: bool  # a draft now (GitHub keeps the flag on a draft closed without being marked ready)
    author_login: str | None  # None for deleted ("ghost") users
    author_type: str | None  # User | Bot
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    merged_at: dt.datetime | None
    merge_commit_sha: str | None
    head_ref: str
    base_ref: str
    additions: int
    deletions: int
    changed_files: int
    #: the first `ready_for_review` event of a PR opened as draft; None if never one. An incremental REST
    #: sync sees only events since its cursor, so a later version may lack it: staging keeps the earliest
    ready_for_review_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class GithubReview:
    id: int
    repository: str
    pull_number: int
    reviewer_login: str | None
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    submitted_at: dt.datetime | None  # None for a pending review


@dataclasses.dataclass(frozen=True)
class GithubPullRequestCommit:
    repository: str
    pull_number: int
    sha: str
    author_login: str | None
    author_email: str | None
    authored_at: dt.datetime
    committed_at: dt.datetime
    message: str


@dataclasses.dataclass(frozen=True)
class GithubDeployment:
    id: int
    repository: str
    sha: str
    ref: str
    environment: str
    creator_login: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class GithubDeploymentStatus:
    id: int
    deployment_id: int
    repository: str
    state: str  # queued | in_progress | success | failure | error | inactive
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True)
class GithubDeploymentCommit:
    """A commit a successful deployment shipped: compare(previous successful deployment, this one)."""

    deployment_id: int
    repository: str
    environment: str
    previous_deployment_id: int
    sha: str


@dataclasses.dataclass(frozen=True)
class GithubIssue:
    """An issue carrying one of the configured incident labels (`incidents.github_labels`).

    Only labelled issues are synced (the issues endpoint filters by label), so every row is an incident
    report; pull requests, which the same endpoint returns, are skipped.
    """

    id: int
    repository: str  # owner/name
    number: int
    title: str
    state: str  # open | closed
    state_reason: str | None  # completed | not_planned | reopened
    author_login: str | None
    labels: str  # the issue's label names, sorted, joined with ","
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    linked_deployment_id: int | None  # explicit link written in the body, see connectors.github_issues
    #: the PagerDuty incident whose link the body pastes (connectors.incident_refs): the same outage
    pagerduty_incident_id: str | None = None


# --- Jira --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class JiraIssue:
    """One Jira issue of the configured projects / JQL, as the search returns it (fields flattened)."""

    id: str
    key: str
    project_key: str
    issue_type: str
    is_incident: bool  # issue_type is one of `incidents.jira_issue_types`
    summary: str
    status: str
    status_category: str  # new | indeterminate | done (statusCategory.key)
    priority: str | None
    assignee_account_id: str | None
    assignee_email: str | None  # Cloud hides it unless the user allows; DC shows it
    reporter_account_id: str | None
    story_points: float | None
    sprint: str | None  # the latest sprint's name
    components: str  # names, sorted, joined with ","
    created_at: dt.datetime
    updated_at: dt.datetime
    resolution_date: dt.datetime | None
    linked_deployment_id: int | None  # explicit link, see connectors.jira
    #: the PagerDuty incident whose link the description pastes (connectors.incident_refs): the same outage
    pagerduty_incident_id: str | None = None


@dataclasses.dataclass(frozen=True)
class JiraStatusTransition:
    """One status change from an issue's changelog (`expand=changelog`): the item with field "status"."""

    issue_id: str
    issue_key: str
    history_id: str
    author_account_id: str | None
    created_at: dt.datetime
    from_status: str | None
    to_status: str
    to_status_category: str | None  # from the /status catalogue; None when the status is unknown there


# --- PagerDuty ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class PagerdutyIncident:
    id: str
    incident_number: int
    title: str
    status: str  # triggered | acknowledged | resolved
    urgency: str  # high | low
    priority: str | None  # priority.summary, e.g. P1
    service_id: str
    service_name: str
    created_at: dt.datetime
    updated_at: dt.datetime | None
    acknowledged_at: dt.datetime | None  # earliest acknowledgement
    resolved_at: dt.datetime | None
    html_url: str | None
    linked_deployment_id: int | None  # explicit link, see connectors.pagerduty


# --- Anthropic Admin API: Claude Code analytics report ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClaudeCodeActorDay:
    """One record of the report: an actor's Claude Code activity on one UTC day."""

    date: dt.date
    actor_type: str  # user_actor | api_actor
    actor_id: str  # email_address for user_actor, api_key_name for api_actor
    organization_id: str
    customer_type: str
    terminal_type: str | None
    num_sessions: int
    lines_added: int
    lines_removed: int
    commits: int
    pull_requests: int
    edits_accepted: int  # edit + multi_edit + write + notebook_edit tools
    edits_rejected: int


@dataclasses.dataclass(frozen=True)
class ClaudeCodeModelDay:
    """One entry of a record's model_breakdown; cost converted from cents to USD."""

    date: dt.date
    actor_type: str
    actor_id: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    estimated_cost_usd: float


# --- Claude Code local session transcripts ----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClaudeTranscriptMessage:
    """One API response from Claude Code's session transcripts (`projects/**/*.jsonl`), counted once.

    The line kept is the response's final one (largest `output_tokens`) across every file read; see
    `connectors.claude_transcripts` for the rule. A later sync may land the same `dedup_key` again with a
    larger `output_tokens` (a response that was still streaming): readers keep, per `dedup_key`, the row
    with the largest `output_tokens` (then the latest `_extracted_at`).
    """

    developer: str  # the identity the configuration gives: `developer:` or the person folder's name
    developer_email: str | None  # resolved through the team mapping; None when the folder matched nobody
    session_id: str
    message_id: str | None
    request_id: str | None
    uuid: str | None  # of the line kept
    dedup_key: str  # "<message.id>|<requestId>", "<message.id>|" without requestId, "uuid:<uuid>" without both
    timestamp: dt.datetime  # UTC, of the line kept
    model: str
    is_sidechain: bool  # subagent work
    agent_id: str | None
    cwd: str | None  # which checkout: ties the response to a repository
    git_branch: str | None  # ties it to a pull request's head branch
    version: str | None  # Claude Code version that wrote the line
    stop_reason: str | None  # null on a streaming snapshot
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    cache_creation_5m_tokens: int | None  # null when the line has no 5m/1h split (older versions)
    cache_creation_1h_tokens: int | None
    cost_usd: float | None  # null only when the model has no price
    cost_source: str  # costUSD (the line's own) | pricing (connectors/data/model_pricing.csv) | unpriced
    file: str  # path relative to the configured folder
    line: int  # 1-based line number in that file


# --- Claude Code OpenTelemetry exports ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ClaudeOtelUsage:
    """One Claude Code telemetry series summed over a UTC day, from OTLP JSON metric exports.

    A series is a metric with its attributes (session, model, `type`, tool, decision). Delta points
    are summed; cumulative points are turned into per-interval differences first; a point written
    twice (a collector retry) counts once. Every run lands the aggregate of every export file read,
    so staging keeps, per key, the row of the latest `_extracted_at`.
    """

    date: dt.date
    user_email: str | None
    user_account_uuid: str | None
    organization_id: str | None
    session_id: str | None
    metric: str  # e.g. claude_code.token.usage (prefix kept as exported)
    model: str | None
    kind: str | None  # the `type` attribute: input | output | cacheRead | cacheCreation, added | removed, user | cli
    tool_name: str | None
    decision: str | None  # accept | reject
    value: float  # tokens, USD, seconds or a count, as the metric's unit says
    unit: str | None
    points: int  # distinct data points summed
    first_point_at: dt.datetime
    last_point_at: dt.datetime
    file: str  # the export file of the latest point (relative to its configured folder)


# --- Organisation (the configured team mapping) ----------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TeamMember:
    """One row of the team mapping file: the identities that belong to one person."""

    email: str
    display_name: str
    team_id: str
    team_name: str
    parent_team_id: str | None
    github_login: str | None
    jira_account_id: str | None
    role: str | None
    seniority: str | None


@dataclasses.dataclass(frozen=True)
class AiBudget:
    """One monthly AI budget of the configuration (`budgets.teams/roles/people`), landed each sync.

    Budgets are configuration, not history: staging keeps only the budgets of the latest sync, the one
    that landed the latest `AiAlertThresholds` row (an empty budget list lands no row to date itself by).
    """

    scope_kind: str  # team | role | person
    scope: str  # team id, role name, or the person's e-mail / GitHub login as configured
    monthly_usd: float


@dataclasses.dataclass(frozen=True)
class RepoPath:
    """One `claude_code.repo_paths` entry: a local checkout path (or glob) and the repository it holds."""

    path_pattern: str  # as configured, `~` kept; `*` and `?` are wildcards
    repository: str  # owner/name


@dataclasses.dataclass(frozen=True)
class AiAlertThresholds:
    """The `alerts` thresholds of the configuration: one row per sync, which also dates the snapshot."""

    developer_day_usd: float
    session_usd: float


# --- Arrow schemas ---------------------------------------------------------------------------------

_SCALARS: dict[type, pa.DataType] = {
    int: pa.int64(),
    float: pa.float64(),
    bool: pa.bool_(),
    str: pa.string(),
    dt.datetime: pa.timestamp("us"),  # UTC wall time; Parquet keeps no zone so every engine reads it alike
    dt.date: pa.date32(),
}


def _arrow_type(annotation: object) -> tuple[pa.DataType, bool]:
    """Return the Arrow type of an annotation and whether it admits null."""
    args = typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        non_null = [a for a in args if a is not type(None)]
        return _SCALARS[non_null[0]], True
    return _SCALARS[typing.cast(type, annotation)], False


def arrow_schema(record_type: type) -> pa.Schema:
    """The Parquet schema of a record type, used for every batch so that empty batches keep columns."""
    hints = typing.get_type_hints(record_type)
    fields = []
    for field in dataclasses.fields(record_type):
        arrow_type, nullable = _arrow_type(hints[field.name])
        fields.append(pa.field(field.name, arrow_type, nullable=nullable))
    return pa.schema(fields)


#: Raw entity name (the folder under the landing root and the dbt source table) -> record type.
RAW_ENTITIES: dict[str, type] = {
    "github/pull_requests": GithubPullRequest,
    "github/reviews": GithubReview,
    "github/pull_request_commits": GithubPullRequestCommit,
    "github/deployments": GithubDeployment,
    "github/deployment_statuses": GithubDeploymentStatus,
    "github/deployment_commits": GithubDeploymentCommit,
    "github/issues": GithubIssue,
    "jira/issues": JiraIssue,
    "jira/status_transitions": JiraStatusTransition,
    "pagerduty/incidents": PagerdutyIncident,
    "anthropic/claude_code_actor_days": ClaudeCodeActorDay,
    "anthropic/claude_code_model_days": ClaudeCodeModelDay,
    "claude_code/transcript_messages": ClaudeTranscriptMessage,
    "claude_code/otel_usage": ClaudeOtelUsage,
    "org/team_members": TeamMember,
    "org/ai_budgets": AiBudget,
    "org/repo_paths": RepoPath,
    "org/ai_alert_thresholds": AiAlertThresholds,
}
