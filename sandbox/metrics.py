"""DESIGN section 5's metric definitions applied directly to the generated world.

This is the independent answer key the pipeline's marts are checked against: it reads the same facts
the HTTP layer serves (reviews, commits, deployment statuses, main's history) and applies the
definitions literally, without any of the pipeline's code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import defaultdict
from typing import Iterable

from sandbox.entities import Commit, Deployment, PullRequest


def adoption_week(usage_dates: Iterable[dt.date]) -> dt.date | None:
    """Monday of the first of the first two consecutive ISO weeks with use on at least 2 days each."""
    days_per_week: dict[dt.date, set[dt.date]] = defaultdict(set)
    for day in usage_dates:
        days_per_week[day - dt.timedelta(days=day.weekday())].add(day)
    active = sorted(monday for monday, days in days_per_week.items() if len(days) >= 2)
    active_set = set(active)
    for monday in active:
        if monday + dt.timedelta(weeks=1) in active_set:
            return monday
    return None


def hours(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    """A stage's length; null when an end is missing or the stage would be negative."""
    if start is None or end is None or end < start:
        return None
    return (end - start).total_seconds() / 3600


@dataclasses.dataclass(frozen=True)
class DeploymentLinks:
    first_deployed_at: dict[str, dt.datetime]  # merge commit sha -> deployed_at
    change_count: dict[int, int]  # deployment id -> merged PRs it shipped first (non-baseline successes)


def link_deployments(main_commits: list[Commit], deployments: list[Deployment]) -> DeploymentLinks:
    """First successful production deployment of each merge commit; the first one is a baseline."""
    position = {commit.sha: index for index, commit in enumerate(main_commits)}
    successes = sorted(
        (d for d in deployments if d.environment == "production" and d.deployed_at is not None),
        key=lambda d: (d.deployed_at, d.deployment_id),
    )
    first_deployed: dict[str, dt.datetime] = {}
    counts: dict[int, int] = {}
    for previous, current in zip(successes, successes[1:]):
        start, stop = position[previous.sha] + 1, position[current.sha] + 1
        # After a rollback the next deployment ships the rolled-back commits again; they count where they
        # first reached production, not twice (fct_deployments.change_count: PRs shipped *first*).
        shipped = [c.sha for c in main_commits[start:stop] if c.sha not in first_deployed]
        counts[current.deployment_id] = len(shipped)
        for sha in shipped:
            first_deployed[sha] = current.deployed_at
    return DeploymentLinks(first_deployed, counts)


@dataclasses.dataclass(frozen=True)
class PullRequestFacts:
    pr: PullRequest
    first_commit_at: dt.datetime
    first_review_at: dt.datetime | None
    first_deployed_at: dt.datetime | None
    review_count: int

    @property
    def review_ready_at(self) -> dt.datetime | None:
        """When the PR asked for review: its ready-for-review event if opened as draft (None while still a
        draft), else its creation. Coding ends and pickup starts here, so coding + pickup + review = cycle."""
        if self.pr.opened_as_draft:
            return self.pr.ready_for_review_at
        return self.pr.created_at

    @property
    def coding_hours(self) -> float | None:
        return hours(self.first_commit_at, self.review_ready_at)

    @property
    def pickup_hours(self) -> float | None:
        return hours(self.review_ready_at, self.first_review_at)

    @property
    def review_hours(self) -> float | None:
        return hours(self.first_review_at, self.pr.merged_at)

    @property
    def deploy_hours(self) -> float | None:
        return hours(self.pr.merged_at, self.first_deployed_at)

    @property
    def cycle_hours(self) -> float | None:
        return hours(self.first_commit_at, self.pr.merged_at)

    @property
    def lead_time_hours(self) -> float | None:
        return hours(self.first_commit_at, self.first_deployed_at)


def pull_request_facts(pr: PullRequest, links: DeploymentLinks, deleted: frozenset[str] = frozenset()) -> PullRequestFacts:
    """`deleted`: logins of deleted accounts. A deleted author's comment on their own PR reaches the API as
    the ghost on the ghost's PR, which no one can tell from a colleague's review, so it counts as one here
    too: this truth describes what the data can show."""
    others = [r for r in pr.reviews if r.reviewer_login != pr.author_login or pr.author_login in deleted]
    return PullRequestFacts(
        pr=pr,
        first_commit_at=min(c.authored_at for c in pr.commits),
        first_review_at=min((r.submitted_at for r in others), default=None),
        first_deployed_at=links.first_deployed_at.get(pr.merge_commit_sha) if pr.merge_commit_sha else None,
        review_count=len(others),
    )
