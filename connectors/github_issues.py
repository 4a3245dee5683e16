"""GitHub issues labelled as incidents (`incidents.github_labels`), as `GithubIssue` records, via PyGithub.

Why per label: GitHub's `labels` filter wants issues carrying *all* the listed labels, while any one of
the configured labels makes an incident; so each label is listed on its own (`state=all`, `since` the
repository's cursor) and the results are merged by issue id.

The issues endpoint lists pull requests too (a hotfix PR labelled "incident" among them): those carry a
`pull_request` key and are skipped. The key is read from the listed payload itself, because PyGithub's
`Issue.pull_request` fetches the single issue again whenever the key is absent (one request per issue).

Authors: the deleted-user placeholder "ghost" becomes null (like PR authors); bot logins are kept
("github-actions[bot]" opening an issue from an alerting workflow is who reported it).

The explicit deployment link: an incident issue names the deployment that caused it in its body, as a
deployment URL (".../repos/<owner>/<repo>/deployments/<id>", API or web form) or a line
"Deployment: <id>" (also "Deployment: #<id>"); `linked_deployment_id` is the first such id, else null.
Likewise a pasted PagerDuty incident link lands as `pagerduty_incident_id` (the same outage reported twice;
see connectors.incident_refs); the body itself is not landed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable

from connectors.github import GHOST_LOGIN, GithubConnector
from connectors.incident_refs import pagerduty_incident_reference
from connectors.records import GithubIssue

DEPLOYMENT_URL = re.compile(r"/deployments/(\d+)\b")
DEPLOYMENT_LINE = re.compile(r"^\s*(?:\*\*)?deployment(?:\*\*)?\s*:\s*(?:\*\*)?\s*#?(\d+)\s*$", re.IGNORECASE | re.MULTILINE)


def linked_deployment(body: str | None) -> int | None:
    """The deployment id an issue body names, if it names one."""
    if not body:
        return None
    for pattern in (DEPLOYMENT_URL, DEPLOYMENT_LINE):
        match = pattern.search(body)
        if match:
            return int(match.group(1))
    return None


def is_pull_request(issue) -> bool:  # noqa: ANN001 - github.Issue.Issue
    """True for a PR listed among issues, without the extra request `Issue.pull_request` would make."""
    raw = getattr(issue, "_rawData", None)
    if isinstance(raw, dict):
        return raw.get("pull_request") is not None
    return issue.pull_request is not None


def _listed(issue, field: str):  # noqa: ANN001 - github.Issue.Issue
    """A field as listed, None when the listing left it out: PyGithub would fetch the issue again for it."""
    raw = getattr(issue, "_rawData", None)
    return raw.get(field) if isinstance(raw, dict) else getattr(issue, field)


@dataclasses.dataclass
class IssueBatch:
    repository: str
    issues: list[GithubIssue] = dataclasses.field(default_factory=list)
    pull_requests_skipped: int = 0
    newest_updated_at: dt.datetime | None = None


class GithubIncidentIssues:
    """Reads incident issues through a `GithubConnector` (its client, repository cache and error wording)."""

    def __init__(self, connector: GithubConnector) -> None:
        self.connector = connector

    def issues(self, full_name: str, labels: Iterable[str], *, updated_since: dt.datetime | None) -> IssueBatch:
        """Issues carrying any of `labels`, updated at or after `updated_since` (all when None)."""
        batch = IssueBatch(full_name)
        wanted = [label for label in labels if label]
        if not wanted:
            return batch
        repo = self.connector._repo(full_name)  # noqa: SLF001 - same package: share the repository cache
        found: dict[int, GithubIssue] = {}

        def read() -> None:
            found.clear()  # a malformed page reads it all again
            batch.pull_requests_skipped = 0
            for label in wanted:
                arguments: dict[str, object] = {"state": "all", "labels": [label], "sort": "updated", "direction": "asc"}
                if updated_since is not None:
                    arguments["since"] = updated_since
                for issue in repo.get_issues(**arguments):
                    if is_pull_request(issue):
                        batch.pull_requests_skipped += 1
                        continue
                    found[issue.id] = self._record(full_name, issue)

        self.connector._call(f"incident issues of {full_name}", read)  # noqa: SLF001
        batch.issues = sorted(found.values(), key=lambda i: i.number)
        batch.newest_updated_at = max((i.updated_at for i in batch.issues), default=None)
        return batch

    @staticmethod
    def _record(full_name: str, issue) -> GithubIssue:  # noqa: ANN001 - github.Issue.Issue
        login = issue.user.login if issue.user is not None else None
        return GithubIssue(
            id=issue.id,
            repository=full_name,
            number=issue.number,
            title=issue.title or "",
            state=issue.state,
            state_reason=_listed(issue, "state_reason"),
            author_login=None if login in (None, GHOST_LOGIN) else login,
            labels=",".join(sorted(label.name for label in issue.labels)),
            created_at=issue.created_at,
            updated_at=issue.updated_at,
            closed_at=issue.closed_at,
            linked_deployment_id=linked_deployment(issue.body),
            pagerduty_incident_id=pagerduty_incident_reference(issue.body),
        )
