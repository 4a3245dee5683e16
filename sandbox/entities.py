"""The sandbox's world as plain immutable values.

The generator produces these, the HTTP layer renders them into each API's wire format and the ground
truth derives its metrics from them: one source of facts, so what is served and what is expected
cannot drift apart. All datetimes are timezone-aware UTC with whole seconds.
"""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True, slots=True)
class Team:
    team_id: str
    name: str
    parent_team_id: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Developer:
    login: str
    user_id: int
    email: str
    display_name: str
    team_id: str
    seniority: str  # junior | mid | senior
    role: str
    jira_account_id: str | None
    busyness: float  # multiplier on the PR rate
    review_shift: float  # developer-level shift of log review hours
    planned_adoption_week: dt.date | None  # Monday of the adoption week, None if never
    terminal_type: str


@dataclasses.dataclass(frozen=True, slots=True)
class Repository:
    repo_id: int
    name: str
    full_name: str
    team_id: str
    description: str
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Commit:
    sha: str
    author_login: str
    author_name: str
    author_email: str
    authored_at: dt.datetime
    committed_at: dt.datetime
    message: str
    parent_sha: str | None = None
    committer_login: str | None = None  # None: same as the author
    committer_name: str | None = None
    committer_email: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Review:
    review_id: int
    reviewer_login: str
    state: str  # COMMENTED | CHANGES_REQUESTED | APPROVED
    submitted_at: dt.datetime
    commit_id: str


@dataclasses.dataclass(frozen=True, slots=True)
class PullRequest:
    pr_id: int
    repository: str
    number: int
    title: str
    author_login: str
    head_ref: str
    base_ref: str
    created_at: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    merged_at: dt.datetime | None
    merge_commit_sha: str | None
    additions: int
    deletions: int
    changed_files: int
    commits: tuple[Commit, ...]
    reviews: tuple[Review, ...]
    is_treated: bool  # author had adopted Claude Code by created_at (the planted effect applies)
    opened_as_draft: bool = False
    #: the `ready_for_review` event of a PR opened as draft; None if never a draft or still one
    ready_for_review_at: dt.datetime | None = None
    #: the PR this one reverts (title `Revert "<title>"`, head `revert-<n>-<branch>`), else None
    reverted_pr_number: int | None = None
    body: str | None = None  # None: "<title>."

    @property
    def is_draft(self) -> bool:
        """GitHub's `draft` flag now: opened as draft and never marked ready (kept when closed)."""
        return self.opened_as_draft and self.ready_for_review_at is None

    @property
    def is_bot(self) -> bool:
        return self.author_login.endswith("[bot]")

    @property
    def state(self) -> str:
        return "closed" if self.closed_at is not None else "open"

    @property
    def head_sha(self) -> str:
        return self.commits[-1].sha


@dataclasses.dataclass(frozen=True, slots=True)
class DeploymentStatus:
    status_id: int
    state: str  # in_progress | success | failure
    created_at: dt.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Deployment:
    deployment_id: int
    repository: str
    environment: str  # production | staging
    sha: str
    ref: str
    created_at: dt.datetime
    statuses: tuple[DeploymentStatus, ...]  # oldest first

    @property
    def final_state(self) -> str:
        return self.statuses[-1].state

    @property
    def deployed_at(self) -> dt.datetime | None:
        """When the deployment's status became success (DESIGN section 5)."""
        for status in self.statuses:
            if status.state == "success":
                return status.created_at
        return None

    @property
    def updated_at(self) -> dt.datetime:
        return self.statuses[-1].created_at


@dataclasses.dataclass(frozen=True, slots=True)
class ModelUsage:
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    cost_cents: int


@dataclasses.dataclass(frozen=True, slots=True)
class UsageDay:
    """One Claude Code analytics record: one developer's use on one UTC day."""

    date: dt.date
    email: str
    terminal_type: str
    sessions: int
    lines_added: int
    lines_removed: int
    commits: int
    pull_requests: int
    tool_actions: tuple[tuple[str, int, int], ...]  # (tool, accepted, rejected)
    models: tuple[ModelUsage, ...]

    @property
    def edits_accepted(self) -> int:
        return sum(accepted for _, accepted, _ in self.tool_actions)

    @property
    def edits_rejected(self) -> int:
        return sum(rejected for _, _, rejected in self.tool_actions)


@dataclasses.dataclass(frozen=True, slots=True)
class Incident:
    """A production incident, reported through exactly one source (PagerDuty, a GitHub issue, or Jira).

    The generator decides the cause first (a deployment, or nothing) and then which tool the owning team
    reports incidents in, so the ground truth knows the true link while each source shows only what that
    tool would show (an explicit deployment reference only where `explicit_link`).
    """

    incident_id: str  # sandbox-wide stable id, e.g. "INC-0042"
    source: str  # pagerduty | github | jira
    repository: str  # owner/name of the service's repository
    service: str  # the service name (the repository's name)
    title: str
    urgency: str  # high | low
    created_at: dt.datetime
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None  # None while still open at the horizon
    caused_by_deployment_id: int | None  # the true cause; None for incidents no deployment caused
    explicit_link: bool  # the source record names the deployment (else linking must infer it)
