"""GitHub pull requests, reviews, commits and deployments through PyGithub.

PyGithub follows `Link` pagination and completes objects lazily; this module decides what to read
and turns the objects into typed records. Pull requests are read newest-updated first and paging
stops at the cursor, so an incremental run costs a handful of requests plus the changed PRs.
When a draft became ready for review comes from one paginated stream per repository (the repository's
issue events, newest first, read down to the same cursor), not a request per PR.
Deployments are read whole on every run (their statuses change after creation), and for each
successful deployment to a production environment the commits it shipped are taken from
`compare(previous successful deployment...this one)`: that is what ties a merged PR to the
deployment that first delivered it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import requests
from github import Auth, Github, GithubException, GithubRetry
from github.Repository import Repository

from connectors.http import SourceError
from connectors.records import (
    GithubDeployment,
    GithubDeploymentCommit,
    GithubDeploymentStatus,
    GithubPullRequest,
    GithubPullRequestCommit,
    GithubReview,
)

SOURCE = "github"
log = logging.getLogger(__name__)
T = TypeVar("T")
#: reads of one call when GitHub's 200 answer is not JSON (a truncated transfer), before giving up
MALFORMED_ATTEMPTS = 3


class _MalformedPage(Exception):
    """GitHub answered 200 with a body that is not JSON."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail



@dataclass
class PullRequestBatch:
    """The pull requests of one repository changed since a cursor, with their reviews and commits."""

    repository: str
    pull_requests: list[GithubPullRequest] = field(default_factory=list)
    reviews: list[GithubReview] = field(default_factory=list)
    commits: list[GithubPullRequestCommit] = field(default_factory=list)
    newest_updated_at: dt.datetime | None = None


#: A deployment may still change (a status arrives late) for this long after it was created.
SETTLE_WINDOW = dt.timedelta(days=2)
SETTLED_STATES = frozenset({"success", "failure", "error"})


@dataclass(frozen=True)
class KnownDeployment:
    """What an earlier run landed about a deployment: enough to skip or pair it without re-reading."""

    id: int
    sha: str
    environment: str
    succeeded_at: dt.datetime | None
    settled: bool
    created_at: dt.datetime = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


@dataclass
class DeploymentBatch:
    repository: str
    deployments: list[GithubDeployment] = field(default_factory=list)
    statuses: list[GithubDeploymentStatus] = field(default_factory=list)
    commits: list[GithubDeploymentCommit] = field(default_factory=list)


#: the login GitHub shows for a deleted account
GHOST_LOGIN = "ghost"


def _login(user: object | None) -> str | None:
    """A deleted account lands as null, however GitHub shows it (REST's "ghost" user or a null user),
    as the GraphQL path lands it: "ghost" is nobody, and must never match a person or a team."""
    login = getattr(user, "login", None) if user is not None else None
    return None if login == GHOST_LOGIN else login


def _first_line(message: str | None) -> str:
    return (message or "").splitlines()[0] if message else ""


class _CountingToken(Auth.Token):
    """A token that counts the requests it signs.

    PyGithub signs every request it sends (pages, lazy completions, GraphQL queries) through its `Auth`,
    the one per-request hook it offers; the REST path reports its request count from here, like the
    Jira and PagerDuty connectors do from their own sessions. Requests PyGithub repeats by itself (202
    and 301 re-sends, urllib3 retries) are not counted again.
    """

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.signed = 0

    def authentication(self, headers: dict) -> None:
        self.signed += 1
        super().authentication(headers)


class GithubConnector:
    """Reads the configured repositories of one GitHub (github.com or Enterprise Server)."""

    def __init__(self, api_url: str, token: str, *, per_page: int = 100, retries: int = 6) -> None:
        self.api_url = api_url.rstrip("/")
        self._token = _CountingToken(token)
        self._github = Github(
            base_url=self.api_url,
            auth=self._token,
            per_page=per_page,
            retry=GithubRetry(total=retries, backoff_factor=0.5),
            seconds_between_requests=None,
            timeout=60,
        )
        self._repositories: dict[str, Repository] = {}

    @property
    def requests(self) -> int:
        """Requests sent so far, REST and GraphQL (a client built from `requester.kwargs` shares the token)."""
        return self._token.signed

    def _call(self, what: str, action: Callable[[], T], *, repository: str | None = None) -> T:
        """Run a PyGithub call and turn its failures into errors that say what to do.

        A 200 whose body is not JSON is almost always a transfer cut short, so the call is made again (it
        only reads) up to MALFORMED_ATTEMPTS times before the run stops with an error that says so."""
        for attempt in range(1, MALFORMED_ATTEMPTS + 1):
            try:
                return self._call_once(what, action)
            except _MalformedPage as malformed:
                if attempt == MALFORMED_ATTEMPTS:
                    raise SourceError(
                        SOURCE, f"GitHub's answer to {what} was not valid JSON {attempt} times in a row "
                        f"({malformed.detail}): a cut-off transfer, or a proxy answering instead of the API",
                        "Run again (nothing is lost: cursors move only after landing); if it persists, check "
                        "that github.api_url is the REST API root (https://api.github.com or https://HOST/api/v3)",
                        url=self.api_url,
                    ) from None
                log.warning("github: %s: answer was not valid JSON (%s); reading it again (%d of %d)",
                            what, malformed.detail, attempt + 1, MALFORMED_ATTEMPTS)
                time.sleep(min(2.0, 0.25 * 2 ** attempt))
        raise AssertionError("unreachable")

    def _call_once(self, what: str, action: Callable[[], T]) -> T:
        try:
            return action()
        except json.JSONDecodeError as error:
            raise _MalformedPage(f"{error.msg} at character {error.pos}") from None
        except GithubException as error:
            status = error.status
            if status == 401:
                raise SourceError(
                    SOURCE, f"the token was refused while reading {what} (HTTP 401)",
                    "Set GITHUB_TOKEN to a valid token with read access to the repositories",
                    url=self.api_url,
                ) from None
            if status == 404:
                raise SourceError(
                    SOURCE, f"{what} was not found (HTTP 404)",
                    "Check github.repos / github.orgs spelling and that the token can see them; for "
                    "GitHub Enterprise Server github.api_url must end in /api/v3",
                    url=self.api_url,
                ) from None
            if status == 403:
                raise SourceError(
                    SOURCE, f"access to {what} was forbidden or rate limited after waiting (HTTP 403)",
                    "Give the token the repo scope (or read access for fine-grained tokens), or run later",
                    url=self.api_url,
                ) from None
            raise SourceError(
                SOURCE, f"HTTP {status} while reading {what} after retries",
                "Try again later; the run can be repeated safely", url=self.api_url,
            ) from None
        except requests.RequestException as error:
            # Retries exhausted (GithubRetry raises requests' RetryError) or the connection failed.
            reason = getattr(getattr(error.args[0], "reason", None), "args", [None])[0] if error.args else None
            raise SourceError(
                SOURCE, f"reading {what} kept failing after retries ({reason or type(error).__name__})",
                "Check github.api_url and GitHub's status, then run again; the run can be repeated safely",
                url=self.api_url,
            ) from None
        except (ValueError, KeyError, TypeError) as error:
            raise SourceError(
                SOURCE, f"an unexpected payload while reading {what} ({type(error).__name__}: {error})",
                "Check that github.api_url is the REST API root (https://api.github.com or https://HOST/api/v3)",
                url=self.api_url,
            ) from None

    # --- repositories -----------------------------------------------------------------------------

    def repositories(self, repos: Iterable[str], orgs: Iterable[str]) -> list[str]:
        """Full names of the repositories to sync: the listed ones plus every repository of the orgs."""
        for full_name in repos:
            repo = self._call(f"repository {full_name}", lambda n=full_name: self._github.get_repo(n))
            self._repositories[repo.full_name] = repo
        for org in orgs:
            org_repos = self._call(
                f"organisation {org}",
                lambda o=org: list(self._github.get_organization(o).get_repos(type="all")),
            )
            self._repositories.update((repo.full_name, repo) for repo in org_repos)
        return sorted(self._repositories)

    def rate_limit(self) -> tuple[int, int]:
        """(remaining, limit) of the primary rate limit, from the last response's headers."""
        return self._github.rate_limiting

    def _repo(self, full_name: str) -> Repository:
        """The repository object listed earlier, or read once now."""
        if full_name not in self._repositories:
            self._repositories[full_name] = self._call(
                f"repository {full_name}", lambda: self._github.get_repo(full_name)
            )
        return self._repositories[full_name]

    # --- pull requests ------------------------------------------------------------------------------

    def pull_requests(self, full_name: str, *, updated_since: dt.datetime | None) -> PullRequestBatch:
        """PRs updated at or after `updated_since` (all when None), with their reviews and commits."""
        repo = self._repo(full_name)
        def read() -> PullRequestBatch:  # a fresh batch per attempt: a malformed page reads it all again
            batch = PullRequestBatch(repository=full_name)
            pulls = []
            for pr in repo.get_pulls(state="all", sort="updated", direction="desc"):
                if updated_since is not None and pr.updated_at < updated_since:
                    break
                pulls.append(pr)
            if not pulls:  # a quiet day: no PR changed, so no ready time to look up
                return batch
            # A PR is marked ready after it is opened, so reading the events back to the oldest re-read PR's
            # creation finds every re-read PR's ready time, however long before the cursor it happened
            # (a PR re-read for a late review must not land without the ready time it was landed with).
            since = None if updated_since is None else min(pr.created_at for pr in pulls)
            ready = self._ready_for_review_times(repo, since)
            for pr in pulls:
                self._read_pull_request(full_name, pr, batch, ready.get(pr.number))
            return batch

        return self._call(f"pull requests of {full_name}", read)

    @staticmethod
    def _ready_for_review_times(repo: Repository, since: dt.datetime | None) -> dict[int, dt.datetime]:
        """Issue number -> earliest `ready_for_review` event at or after `since` (all when None), from the
        repository's issue events: one paginated stream per repository instead of a timeline per PR.
        The stream comes newest first, so reading stops at `since`.
        """
        ready: dict[int, dt.datetime] = {}
        for event in repo.get_issues_events():
            if since is not None and event.created_at < since:
                break
            if event.event == "ready_for_review" and event.issue is not None:
                number = event.issue.number
                ready[number] = min(ready.get(number, event.created_at), event.created_at)
        return ready

    def _read_pull_request(self, full_name: str, pr, batch: PullRequestBatch,  # noqa: ANN001
                           ready_for_review_at: dt.datetime | None = None) -> None:
        author = pr.user
        batch.pull_requests.append(
            GithubPullRequest(
                id=pr.id,
                repository=full_name,
                number=pr.number,
                title=pr.title or "",
                state=pr.state,
                draft=bool(pr.draft),
                ready_for_review_at=ready_for_review_at,
                author_login=_login(author),
                author_type=getattr(author, "type", None) if _login(author) is not None else None,
                created_at=pr.created_at,
                updated_at=pr.updated_at,
                closed_at=pr.closed_at,
                merged_at=pr.merged_at,
                merge_commit_sha=pr.merge_commit_sha if pr.merged_at else None,
                head_ref=pr.head.ref,
                base_ref=pr.base.ref,
                # The list endpoint lacks the size fields: reading them fetches the single PR once.
                additions=pr.additions,
                deletions=pr.deletions,
                changed_files=pr.changed_files,
            )
        )
        if batch.newest_updated_at is None or pr.updated_at > batch.newest_updated_at:
            batch.newest_updated_at = pr.updated_at
        for review in pr.get_reviews():
            batch.reviews.append(
                GithubReview(
                    id=review.id,
                    repository=full_name,
                    pull_number=pr.number,
                    reviewer_login=_login(review.user),
                    state=review.state,
                    submitted_at=review.submitted_at,
                )
            )
        for commit in pr.get_commits():
            git_commit = commit.commit
            batch.commits.append(
                GithubPullRequestCommit(
                    repository=full_name,
                    pull_number=pr.number,
                    sha=commit.sha,
                    author_login=_login(commit.author),
                    author_email=git_commit.author.email if git_commit.author else None,
                    authored_at=git_commit.author.date,
                    committed_at=git_commit.committer.date,
                    message=_first_line(git_commit.message),
                )
            )

    # --- deployments --------------------------------------------------------------------------------

    def deployments(
        self,
        full_name: str,
        *,
        production_environments: Iterable[str],
        known: Mapping[int, KnownDeployment] | None = None,
        settle_window: dt.timedelta = SETTLE_WINDOW,
    ) -> DeploymentBatch:
        """New and unsettled deployments with their statuses, and what each new success shipped.

        `known` holds what earlier runs landed. A deployment whose final status was already landed
        is not read again, and the newest-first list is paged only down to `settle_window` before
        the oldest deployment that might still change, so a quiet day costs one or two requests.
        """
        repo = self._repo(full_name)
        known = known or {}
        production = {e.lower() for e in production_environments}
        horizon = _listing_horizon(known, settle_window)

        def read() -> DeploymentBatch:  # a fresh batch per attempt: a malformed page reads it all again
            batch = DeploymentBatch(repository=full_name)
            for deployment in repo.get_deployments():
                if horizon is not None and deployment.created_at < horizon:
                    break
                previous = known.get(deployment.id)
                if previous is not None and previous.settled:
                    continue
                batch.deployments.append(
                    GithubDeployment(
                        id=deployment.id,
                        repository=full_name,
                        sha=deployment.sha,
                        ref=deployment.ref,
                        environment=deployment.environment,
                        creator_login=_login(deployment.creator),
                        created_at=deployment.created_at,
                        updated_at=deployment.updated_at,
                    )
                )
                for status in deployment.get_statuses():
                    batch.statuses.append(
                        GithubDeploymentStatus(
                            id=status.id,
                            deployment_id=deployment.id,
                            repository=full_name,
                            state=status.state,
                            created_at=status.created_at,
                        )
                    )
            batch.commits.extend(self._shipped_commits(repo, full_name, batch, production, known))
            return batch

        batch = self._call(f"deployments of {full_name}", read)
        return batch

    def _shipped_commits(
        self,
        repo: Repository,
        full_name: str,
        batch: DeploymentBatch,
        production: set[str],
        known: Mapping[int, KnownDeployment],
    ) -> Iterator[GithubDeploymentCommit]:
        """Commits between consecutive successful deployments of each production environment.

        Only pairs whose later deployment succeeded in this batch are compared: earlier pairs were
        compared by the run that first saw their success.
        """
        successes = {d.id: d for d in known.values() if d.succeeded_at is not None}
        first_success: dict[int, dt.datetime] = {}
        for status in batch.statuses:
            if status.state == "success":
                earlier = first_success.get(status.deployment_id)
                first_success[status.deployment_id] = min(earlier, status.created_at) if earlier else status.created_at
        newly_succeeded: set[int] = set()
        for deployment in batch.deployments:
            succeeded_at = first_success.get(deployment.id)
            if succeeded_at is not None and deployment.id not in successes:
                successes[deployment.id] = KnownDeployment(
                    deployment.id, deployment.sha, deployment.environment, succeeded_at, settled=True
                )
                newly_succeeded.add(deployment.id)
        by_environment: dict[str, list[KnownDeployment]] = {}
        for success in successes.values():
            if success.environment.lower() in production:
                by_environment.setdefault(success.environment, []).append(success)
        for environment, ordered in by_environment.items():
            ordered.sort(key=lambda d: (d.succeeded_at, d.id))
            for previous, current in zip(ordered, ordered[1:]):
                if current.id not in newly_succeeded or previous.sha == current.sha:
                    continue
                for commit in repo.compare(previous.sha, current.sha).commits:
                    yield GithubDeploymentCommit(
                        deployment_id=current.id,
                        repository=full_name,
                        environment=environment,
                        previous_deployment_id=previous.id,
                        sha=commit.sha,
                    )


def _listing_horizon(known: Mapping[int, KnownDeployment], settle_window: dt.timedelta) -> dt.datetime | None:
    """How far back the newest-first deployment list must be read; None reads it all."""
    if not known:
        return None
    unsettled = [d.created_at for d in known.values() if not d.settled]
    oldest_open = min(unsettled) if unsettled else max(d.created_at for d in known.values())
    return oldest_open - settle_window
