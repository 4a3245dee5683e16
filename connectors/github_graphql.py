"""GitHub pull requests, reviews and commits through the GraphQL API: one request per 100 pull requests.

Why: over REST every pull request costs its own requests (the single-PR read for the size fields, its
reviews, its commits), about four per pull request, so an organisation of thousands of engineers spends
its hourly budget on a few thousand pull requests. One GraphQL query returns a page of 100 pull requests
with their reviews and commits nested, so a full sync costs about one request per 100 pull requests
(and two of the 5,000 hourly GraphQL points per page, by GitHub's cost formula).

The query goes through PyGithub's own requester (`Github.requester.graphql_query`), so the token,
the GraphQL URL (`<api_url>/graphql`, or `/api/graphql` on GitHub Enterprise Server) and the retries on
rate limits and server errors are exactly those of the REST connector. The records are the REST
connector's (`connectors.records`), field for field, so landing and dbt do not know which API ran;
repositories and deployments stay on REST (`GithubConnector`, which this class extends).

Differences from REST this module absorbs: a `Bot` actor's GraphQL login lacks the "[bot]" suffix REST
shows; ids come from `fullDatabaseId` (a BigInt sent as a string: database ids outgrew GraphQL's Int);
state is OPEN/CLOSED/MERGED where REST says open/closed; the ready-for-review time is the PR's
`ReadyForReviewEvent` in `timelineItems` (nested in the same page) where REST reads the issue events. A pull request with more than 100 reviews or
commits gets follow-up queries for the rest of that one connection (rare).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from github import Github, GithubException

from connectors.github import GithubConnector, PullRequestBatch, SOURCE, _first_line
from connectors.http import SourceError
from connectors.records import GithubPullRequest, GithubPullRequestCommit, GithubReview

_ACTOR = "login __typename"
_REVIEW_FIELDS = f"fullDatabaseId author {{ {_ACTOR} }} state submittedAt"
_COMMIT_FIELDS = "commit { oid authoredDate committedDate message author { email user { login } } }"
_PAGE_INFO = "pageInfo { hasNextPage endCursor }"
_READY_ARGS = "itemTypes: [READY_FOR_REVIEW_EVENT], "
_READY_FIELDS = "... on ReadyForReviewEvent { createdAt }"

PULLS_QUERY = f"""
query PullRequests($owner: String!, $name: String!, $first: Int!, $after: String, $nested: Int!) {{
  repository(owner: $owner, name: $name) {{
    pullRequests(first: $first, after: $after, orderBy: {{field: UPDATED_AT, direction: DESC}}) {{
      nodes {{
        fullDatabaseId number title state isDraft author {{ {_ACTOR} }}
        createdAt updatedAt closedAt mergedAt mergeCommit {{ oid }}
        headRefName baseRefName additions deletions changedFiles
        reviews(first: $nested) {{ nodes {{ {_REVIEW_FIELDS} }} {_PAGE_INFO} }}
        commits(first: $nested) {{ nodes {{ {_COMMIT_FIELDS} }} {_PAGE_INFO} }}
        timelineItems({_READY_ARGS}first: $nested) {{ nodes {{ {_READY_FIELDS} }} {_PAGE_INFO} }}
      }}
      {_PAGE_INFO}
    }}
  }}
  rateLimit {{ cost remaining resetAt }}
}}
"""

#: The rest of one pull request's reviews or commits, after the first page the main query returned.
NESTED_QUERY = """
query More($owner: String!, $name: String!, $number: Int!, $first: Int!, $after: String) {{
  repository(owner: $owner, name: $name) {{
    pullRequest(number: $number) {{
      {connection}({arguments}first: $first, after: $after) {{ nodes {{ {fields} }} {page_info} }}
    }}
  }}
}}
"""


#: GitHub's noreply commit address, `<id>+<login>@users.noreply.github.com` (a bot's is `<id>+<app>[bot]@...`)
_NOREPLY = re.compile(r"^\d+\+(?P<login>[^@]+)@users\.noreply\.github\.com$", re.IGNORECASE)


def _commit_login(author: dict[str, Any]) -> str | None:
    """The login REST shows as a commit's author: GraphQL's `GitActor.user` is a User, null for a bot
    (dependabot's commits), whose login is then read from its noreply address as REST resolves it."""
    user = author.get("user")
    if user:
        return user.get("login")
    match = _NOREPLY.match(author.get("email") or "")
    return match.group("login") if match and match.group("login").endswith("[bot]") else None


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _login(actor: dict | None) -> str | None:
    """The REST login: GraphQL names a bot by its app slug, REST appends "[bot]"."""
    if not actor:
        return None
    login = actor.get("login")
    if login and actor.get("__typename") == "Bot" and not login.endswith("[bot]"):
        return login + "[bot]"
    return login


class GithubGraphqlConnector(GithubConnector):
    """`GithubConnector` whose pull requests, reviews and commits are read with GraphQL."""

    def __init__(self, api_url: str, token: str, *, page_size: int = 100, nested_page_size: int = 100,
                 retries: int = 6) -> None:
        super().__init__(api_url, token, retries=retries)
        # The same client settings (auth, URL, retries) minus the pause PyGithub keeps between "writes":
        # it counts every POST as one and waits a second, but a GraphQL query is a read (GitHub asks for
        # that spacing between mutations, which this connector never sends).
        self._graphql = Github(**{**self._github.requester.kwargs, "seconds_between_writes": None})
        if not (1 <= page_size <= 100 and 1 <= nested_page_size <= 100):
            raise ValueError("GraphQL page sizes must be between 1 and 100 (GitHub's node limit)")
        self.page_size = page_size
        self.nested_page_size = nested_page_size
        #: the GraphQL points the last query cost and what remains of the hour's budget
        self.last_rate_limit: dict[str, Any] | None = None

    def _query(self, what: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        """`data` of one GraphQL query; errors become SourceErrors that say what to do."""

        def send() -> dict[str, Any]:
            try:
                _, payload = self._graphql.requester.graphql_query(query, variables)
            except GithubException as error:
                errors = error.data.get("errors") if isinstance(error.data, dict) else None
                if error.status != 400 or not errors:
                    raise
                first = errors[0] if isinstance(errors[0], dict) else {}
                if first.get("type") == "RATE_LIMITED":
                    raise SourceError(
                        SOURCE, f"the GraphQL rate limit is spent while reading {what}",
                        "Run again after the hourly budget resets, or set github.api: rest", url=self.api_url,
                    ) from None
                raise SourceError(
                    SOURCE, f"GitHub refused the GraphQL query for {what}: {first.get('message', errors)}"
                    f" ({first.get('type', 'no type')})",
                    "Check that github.api_url is the REST root (GraphQL is read at <root>/graphql, GHES "
                    "/api/graphql) and that the server supports this query; github.api: rest avoids GraphQL",
                    url=self.api_url,
                ) from None
            data = payload.get("data")
            if not isinstance(data, dict):
                raise ValueError(f"a GraphQL answer without data: {str(payload)[:200]}")
            return data

        data = self._call(what, send)
        if isinstance(data.get("rateLimit"), dict):
            self.last_rate_limit = data["rateLimit"]
        return data

    def pull_requests(self, full_name: str, *, updated_since: dt.datetime | None) -> PullRequestBatch:
        """PRs updated at or after `updated_since` (all when None), newest-updated first, with their
        reviews and commits; paging stops at the first page that reaches past the cursor."""
        owner, name = full_name.split("/", 1)
        batch = PullRequestBatch(repository=full_name)
        after: str | None = None
        while True:
            variables = {"owner": owner, "name": name, "first": self.page_size, "after": after,
                         "nested": self.nested_page_size}
            data = self._query(f"pull requests of {full_name}", PULLS_QUERY, variables)
            repository = data.get("repository")
            if repository is None:
                raise SourceError(SOURCE, f"repository {full_name} was not found over GraphQL",
                                  "Check github.repos / github.orgs and that the token can see it",
                                  url=self.api_url)
            connection = repository["pullRequests"]
            for node in connection["nodes"]:
                updated_at = _time(node["updatedAt"])
                if updated_since is not None and updated_at < updated_since:
                    return batch
                self._add_pull_request(full_name, node, batch)
            if not connection["pageInfo"]["hasNextPage"]:
                return batch
            after = connection["pageInfo"]["endCursor"]

    def _add_pull_request(self, full_name: str, node: dict[str, Any], batch: PullRequestBatch) -> None:
        where = f"pull request {full_name}#{node.get('number')}"
        try:
            record = GithubPullRequest(
                id=int(node["fullDatabaseId"]),
                repository=full_name,
                number=node["number"],
                title=node["title"] or "",
                state="open" if node["state"] == "OPEN" else "closed",
                draft=bool(node["isDraft"]),
                ready_for_review_at=None,  # from timelineItems below
                author_login=_login(node["author"]),
                author_type=(node["author"] or {}).get("__typename"),
                created_at=_time(node["createdAt"]),
                updated_at=_time(node["updatedAt"]),
                closed_at=_time(node["closedAt"]),
                merged_at=_time(node["mergedAt"]),
                merge_commit_sha=(node["mergeCommit"] or {}).get("oid") if node["mergedAt"] else None,
                head_ref=node["headRefName"],
                base_ref=node["baseRefName"],
                additions=node["additions"],
                deletions=node["deletions"],
                changed_files=node["changedFiles"],
            )
            ready = [_time(item["createdAt"]) for item in self._all_nodes(
                full_name, node["number"], "timelineItems", _READY_FIELDS, node["timelineItems"], _READY_ARGS)
                if item.get("createdAt")]
            record = dataclasses.replace(record, ready_for_review_at=min(ready, default=None))
        except (KeyError, TypeError, ValueError) as error:
            raise SourceError(SOURCE, f"an unexpected GraphQL payload for {where} ({type(error).__name__}: {error})",
                              "Report this with the GitHub version; github.api: rest reads the same data",
                              url=self.api_url) from None
        batch.pull_requests.append(record)
        if batch.newest_updated_at is None or record.updated_at > batch.newest_updated_at:
            batch.newest_updated_at = record.updated_at
        for review in self._all_nodes(full_name, record.number, "reviews", _REVIEW_FIELDS, node["reviews"]):
            batch.reviews.append(
                GithubReview(
                    id=int(review["fullDatabaseId"]),
                    repository=full_name,
                    pull_number=record.number,
                    reviewer_login=_login(review["author"]),
                    state=review["state"],
                    submitted_at=_time(review["submittedAt"]),
                )
            )
        for item in self._all_nodes(full_name, record.number, "commits", _COMMIT_FIELDS, node["commits"]):
            commit = item["commit"]
            author = commit.get("author") or {}
            batch.commits.append(
                GithubPullRequestCommit(
                    repository=full_name,
                    pull_number=record.number,
                    sha=commit["oid"],
                    author_login=_commit_login(author),
                    author_email=author.get("email"),
                    authored_at=_time(commit["authoredDate"]),
                    committed_at=_time(commit["committedDate"]),
                    message=_first_line(commit["message"]),
                )
            )

    def _all_nodes(self, full_name: str, number: int, connection: str, fields: str,
                   first_page: dict[str, Any], arguments: str = "") -> Iterator[dict[str, Any]]:
        """The nodes of a nested connection: the page the main query returned, then follow-up pages."""
        yield from first_page["nodes"]
        page_info = first_page["pageInfo"]
        owner, name = full_name.split("/", 1)
        query = NESTED_QUERY.format(connection=connection, arguments=arguments, fields=fields, page_info=_PAGE_INFO)
        while page_info["hasNextPage"]:
            variables = {"owner": owner, "name": name, "number": number, "first": self.nested_page_size,
                         "after": page_info["endCursor"]}
            data = self._query(f"{connection} of {full_name}#{number}", query, variables)
            page = data["repository"]["pullRequest"][connection]
            yield from page["nodes"]
            page_info = page["pageInfo"]
