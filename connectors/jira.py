"""Jira issues and their status changelog through the `jira` library: Cloud (v3) or Data Center (v2).

Which API: Jira Cloud retired `/rest/api/3/search` in 2025; its enhanced JQL search
(`/rest/api/3/search/jql`, `nextPageToken` paging, no `total`) is `JIRA.enhanced_search_issues`, which
the library only runs when `serverInfo` says `deploymentType: "Cloud"`. Data Center keeps
`/rest/api/2/search` (`startAt`/`maxResults`/`total`), the library's `search_issues`. The mode follows
the configuration: an e-mail means Cloud (basic auth, e-mail + API token, REST v3), none means Data
Center (bearer personal access token, REST v2); a server of the other kind is a clear error.

Incremental by `updated`: each scope (a project, or the configured JQL) is read with
`updated >= "yyyy-MM-dd HH:mm" ORDER BY updated ASC, key ASC`. JQL dates have minute precision and are
read in the API user's own time zone (`/myself` -> `timeZone`), so the cursor is rendered in that zone
and floored to the minute: the boundary minute is read again, and staging keeps the latest version of
each issue. Pages come out in `updated` order, so a batch's newest `updated` is a safe cursor.

Field ids differ between sites: story points (`Story Points` on Data Center and company-managed
projects, `Story point estimate` on team-managed ones) and `Sprint` are found by name in `/field` unless
configured. Status categories come from `/status` (the changelog only names statuses).

Explicit deployment link (the convention this project documents for incident reporters): a label
`deployment-<id>` on the issue, where `<id>` is the GitHub deployment id, e.g. `deployment-912345`.
Labels survive both API versions unchanged (the v3 description is a document tree, not text).
The description is read only for a pasted PagerDuty incident link (`pagerduty_incident_id`: one outage
reported in two tools, see connectors.incident_refs); it is not landed.

Retries: the library's own `ResilientSession` retries only 429 and 503, doubles `Retry-After`, and
waits 20 s and more without one, so it is switched off (`max_retries=0`) and every call goes through
`_call`: capped exponential backoff with jitter on 429/5xx, timeouts, dropped connections and
truncated (non-JSON) pages, `Retry-After` honoured. An expired `nextPageToken` (400) restarts the
scope's search from its first page; a page that repeats the previous one is asked for again.
Errors: `JIRAError.__str__` prints the request headers, Authorization included, so it is never
formatted: `SourceError`s are built from its status and Jira's own messages, and raised outside the
`except` block so no traceback chains back to it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import random
import re
import time
import zoneinfo
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import requests
from jira import JIRA, JIRAError

from connectors.http import RETRYABLE_STATUSES, SourceError, redact_url
from connectors.incident_refs import description_text, pagerduty_incident_reference
from connectors.records import JiraIssue, JiraStatusTransition

SOURCE = "jira"
log = logging.getLogger(__name__)
T = TypeVar("T")

STORY_POINT_NAMES = ("story points", "story point estimate")
SPRINT_NAMES = ("sprint",)
DEPLOYMENT_LABEL = re.compile(r"^deployment-(\d+)$", re.IGNORECASE)
SPRINT_STRING = re.compile(r"[\[,]id=(\d+),.*?[\[,]?name=([^,\]]*)")
#: The widest UTC offset (+14:00): the margin taken when the API user's time zone is unknown.
WIDEST_OFFSET = dt.timedelta(hours=14)
BASE_FIELDS = (
    "summary", "issuetype", "project", "status", "priority", "assignee", "reporter", "created", "updated",
    "resolutiondate", "labels", "components", "description",
)


@dataclasses.dataclass
class JiraBatch:
    """Issues of one scope, in `updated` order, with their status transitions."""

    issues: list[JiraIssue] = dataclasses.field(default_factory=list)
    transitions: list[JiraStatusTransition] = dataclasses.field(default_factory=list)
    newest_updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class Catalogue:
    """What the site calls things: custom field ids and the category of each status."""

    story_points_field: str | None
    sprint_field: str | None
    status_category_by_id: dict[str, str]
    status_category_by_name: dict[str, str]


def parse_time(value: str | None) -> dt.datetime | None:
    """Jira's `2026-03-02T10:15:00.000+0100` (or ISO with `Z` / `+01:00`) as an aware UTC datetime."""
    if not value:
        return None
    text = value.strip()
    for pattern in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
        try:
            return dt.datetime.strptime(text, pattern).astimezone(dt.timezone.utc)
        except ValueError:
            continue
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return parsed.astimezone(dt.timezone.utc)


def jql_time(moment: dt.datetime, zone: dt.tzinfo | None) -> str:
    """A cursor as a JQL date, floored to the minute in the API user's zone (unknown: widened by 14 h)."""
    if zone is None:
        local = (moment - WIDEST_OFFSET).astimezone(dt.timezone.utc)
    else:
        local = moment.astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M")


def _latest_sprint(value: Any) -> str | None:
    """The name of the sprint with the highest id: Cloud gives objects, Data Center Greenhopper strings."""
    best: tuple[int, str] | None = None
    for sprint in value or []:
        if isinstance(sprint, dict):
            candidate = (int(sprint.get("id") or 0), str(sprint.get("name") or ""))
        else:
            match = SPRINT_STRING.search(str(sprint))
            if match is None:
                continue
            candidate = (int(match.group(1)), match.group(2))
        if best is None or candidate[0] >= best[0]:
            best = candidate
    return best[1] if best else None


def _account(user: dict | None) -> str | None:
    if not user:
        return None
    return user.get("accountId") or user.get("name") or user.get("key")


def _number(value: Any, key: str, field: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SourceError(
            SOURCE, f"issue {key}: field {field} holds {str(value)[:40]!r}, not a number",
            "Set jira.story_points_field to the id of the numeric story points field (see /rest/api/3/field)",
        ) from None


def parse_issue(
    raw: dict[str, Any], catalogue: Catalogue, incident_types: tuple[str, ...]
) -> tuple[JiraIssue, list[JiraStatusTransition]]:
    """One search result as typed records; a required field missing is a `SourceError` naming the issue."""
    key = str(raw.get("key") or raw.get("id") or "?")
    fields = raw.get("fields")
    if not isinstance(fields, dict):
        raise SourceError(SOURCE, f"issue {key} came back without fields", "Report this with the issue key; the search asked for them")
    try:
        created = parse_time(fields.get("created"))
        updated = parse_time(fields.get("updated"))
        resolved = parse_time(fields.get("resolutiondate"))
    except ValueError as problem:
        raise SourceError(SOURCE, f"issue {key} has an unreadable time ({problem})", "Report this with the issue key") from None
    issue_type = (fields.get("issuetype") or {}).get("name")
    status = fields.get("status") or {}
    if created is None or updated is None or not issue_type or not status.get("name"):
        missing = [n for n, v in (("created", created), ("updated", updated), ("issuetype", issue_type),
                                  ("status", status.get("name"))) if not v]
        raise SourceError(SOURCE, f"issue {key} lacks {', '.join(missing)}", "Report this with the issue key")
    labels = [str(label) for label in fields.get("labels") or []]
    deployments = sorted({int(m.group(1)) for label in labels if (m := DEPLOYMENT_LABEL.match(label))})
    category = (status.get("statusCategory") or {}).get("key") or catalogue.status_category_by_name.get(status["name"], "undefined")
    assignee = fields.get("assignee")
    wanted = {t.casefold() for t in incident_types}
    issue = JiraIssue(
        id=str(raw["id"]),
        key=key,
        project_key=(fields.get("project") or {}).get("key") or key.rsplit("-", 1)[0],
        issue_type=issue_type,
        is_incident=issue_type.casefold() in wanted,
        summary=str(fields.get("summary") or ""),
        status=status["name"],
        status_category=category,
        priority=(fields.get("priority") or {}).get("name"),
        assignee_account_id=_account(assignee),
        assignee_email=(assignee or {}).get("emailAddress") or None,
        reporter_account_id=_account(fields.get("reporter")),
        story_points=_number(fields.get(catalogue.story_points_field), key, catalogue.story_points_field)
        if catalogue.story_points_field
        else None,
        sprint=_latest_sprint(fields.get(catalogue.sprint_field)) if catalogue.sprint_field else None,
        components=",".join(sorted(str(c.get("name")) for c in fields.get("components") or [] if c.get("name"))),
        created_at=created,
        updated_at=updated,
        resolution_date=resolved,
        linked_deployment_id=deployments[0] if len(deployments) == 1 else None,
        pagerduty_incident_id=pagerduty_incident_reference(description_text(fields.get("description"))),
    )
    transitions = []
    for history in (raw.get("changelog") or {}).get("histories") or []:
        for item in history.get("items") or []:
            if item.get("fieldId", item.get("field")) != "status" or not item.get("toString"):
                continue
            at = parse_time(history.get("created"))
            if at is None:
                raise SourceError(SOURCE, f"issue {key}: changelog entry {history.get('id')} has no time", "Report this with the issue key")
            to_id = str(item.get("to") or "")
            transitions.append(
                JiraStatusTransition(
                    issue_id=issue.id,
                    issue_key=key,
                    history_id=str(history["id"]),
                    author_account_id=_account(history.get("author")),
                    created_at=at,
                    from_status=item.get("fromString"),
                    to_status=item["toString"],
                    to_status_category=catalogue.status_category_by_id.get(to_id)
                    or catalogue.status_category_by_name.get(item["toString"]),
                )
            )
    return issue, transitions


class JiraConnector:
    def __init__(
        self,
        url: str,
        token: str,
        email: str | None = None,
        *,
        incident_types: tuple[str, ...] = ("Incident",),
        story_points_field: str | None = None,
        sprint_field: str | None = None,
        page_size: int = 100,
        batch_issues: int = 1000,
        retries: int = 5,
        backoff: float = 0.5,
        backoff_max: float = 60.0,
        timeout: float = 60.0,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.email = email
        self.incident_types = tuple(incident_types)
        self._configured_points = story_points_field
        self._configured_sprint = sprint_field
        self.page_size = page_size
        self.batch_issues = batch_issues
        self.retries = retries
        self.backoff = backoff
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.requests = 0
        self.retried = 0
        self._client: JIRA | None = None
        self._catalogue: Catalogue | None = None
        self._zone: dt.tzinfo | None | bool = False  # False: not asked yet

    @property
    def is_cloud(self) -> bool:
        return self.email is not None

    # --- the client ---

    @property
    def client(self) -> JIRA:
        if self._client is None:
            client = self._call("connecting", self._connect)
            kind = client.deploymentType or "unknown"
            if self.is_cloud and kind != "Cloud":
                raise SourceError(
                    SOURCE, f"the server at {redact_url(self.url)} is Jira {kind}, not Jira Cloud",
                    "Remove jira.email to use a Data Center personal access token as jira.token",
                )
            if not self.is_cloud and kind == "Cloud":
                raise SourceError(
                    SOURCE, f"the server at {redact_url(self.url)} is Jira Cloud",
                    "Set jira.email to the Atlassian account's e-mail and jira.token to its API token",
                )
            self._client = client
        return self._client

    def _connect(self) -> JIRA:
        options: dict[str, Any] = {"check_update": False}
        if self.is_cloud:
            options["rest_api_version"] = "3"
            client = JIRA(server=self.url, basic_auth=(self.email or "", self._token), options=options,
                          max_retries=0, timeout=self.timeout)
        else:
            client = JIRA(server=self.url, token_auth=self._token, options=options, max_retries=0, timeout=self.timeout)
        self.requests += 1  # serverInfo, asked during construction
        client._session.hooks["response"].append(self._counted)
        return client

    def _counted(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.requests += 1

    def _call(self, what: str, fn: Callable[[], T]) -> T:
        """Run one API call with retries; turn what is left into a `SourceError` without secrets."""
        failure: SourceError | None = None
        for attempt in range(self.retries + 1):
            wait: float | None = None
            try:
                return fn()
            except JIRAError as err:
                status = err.status_code or 0
                if status in RETRYABLE_STATUSES and attempt < self.retries:
                    wait = self._retry_after(err)
                else:
                    failure = self._error(what, err, attempt)
            except ValueError:  # the body is not JSON: a truncated transfer, or not the Jira API
                if attempt >= self.retries:
                    failure = SourceError(
                        SOURCE, f"{what}: the answer from {redact_url(self.url)} is not JSON, {attempt + 1} times",
                        "Check that jira.url is the Jira site root (e.g. https://my-org.atlassian.net); "
                        "if it is, the sync can be repeated safely: it resumes from the last saved cursor",
                    )
            except requests.exceptions.RequestException as err:
                if attempt >= self.retries:
                    failure = SourceError(
                        SOURCE, f"{what}: cannot reach {redact_url(self.url)} ({type(err).__name__})",
                        "Check jira.url and the network; the sync can be repeated safely",
                    )
            if failure is not None:
                break
            self.retried += 1
            delay = wait if wait is not None else min(self.backoff_max, self.backoff * 2**attempt)
            log.warning("jira: %s failed, retry %d/%d in %.1fs", what, attempt + 1, self.retries, delay)
            time.sleep(delay * random.uniform(1.0, 1.25))
        assert failure is not None
        raise failure

    def _retry_after(self, err: JIRAError) -> float | None:
        response = err.response
        value = response.headers.get("Retry-After") if response is not None else None
        try:
            return min(self.backoff_max, max(float(value), 0.0)) if value else None
        except ValueError:
            return None

    def _error(self, what: str, err: JIRAError, attempt: int) -> SourceError:
        status = err.status_code
        said = f": {err.text}" if err.text else ""
        url = redact_url(err.url) if err.url else redact_url(self.url)
        if status == 401:
            action = (
                "Check jira.email and jira.token (JIRA_API_TOKEN): Jira Cloud takes the Atlassian account's e-mail "
                "with an API token (id.atlassian.com > Security > API tokens)"
                if self.is_cloud
                else "Check jira.token (JIRA_API_TOKEN): Jira Data Center takes a personal access token "
                "(Profile > Personal Access Tokens) and no jira.email"
            )
            return SourceError(SOURCE, f"{what}: Jira refused the credentials (HTTP 401{said})", action, url=url)
        if status == 403:
            return SourceError(SOURCE, f"{what}: Jira denied access (HTTP 403{said})",
                               "Give the account the Browse Projects permission on the configured projects", url=url)
        if status == 404:
            return SourceError(SOURCE, f"{what}: there is no Jira REST API at {redact_url(self.url)} (HTTP 404)",
                               "Set jira.url to the site root, e.g. https://my-org.atlassian.net or https://jira.example.com, "
                               "without /rest/api", url=url)
        if status == 410:
            return SourceError(SOURCE, f"{what}: this Jira no longer serves that API (HTTP 410{said})",
                               "Upgrade Impact Warehouse; report this with the message", url=url)
        if status == 400:
            return SourceError(SOURCE, f"{what}: Jira rejected the search (HTTP 400{said})",
                               "Check jira.projects (project keys, e.g. PAY) and jira.jql", url=url)
        if status in RETRYABLE_STATUSES:
            return SourceError(SOURCE, f"{what} kept failing after {attempt} retries (HTTP {status}{said})",
                               "Jira is rate limiting or unavailable: run the sync again later; it resumes from the "
                               "last saved cursor and lands nothing twice", url=url)
        return SourceError(SOURCE, f"{what}: HTTP {status}{said}", "Report this with the message", url=url)

    # --- site catalogue ---

    @property
    def zone(self) -> dt.tzinfo | None:
        """The API user's time zone (JQL dates are read in it); None when Jira does not say."""
        if self._zone is False:
            me = self._call("reading /myself", self.client.myself)
            name = (me or {}).get("timeZone")
            try:
                self._zone = zoneinfo.ZoneInfo(name) if name else None
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                self._zone = None
        return self._zone  # type: ignore[return-value]

    @property
    def catalogue(self) -> Catalogue:
        if self._catalogue is None:
            client = self.client
            fields = self._call("reading /field", client.fields)
            statuses = self._call("reading /status", lambda: [status.raw for status in client.statuses()])

            def by_name(names: tuple[str, ...]) -> str | None:
                for wanted in names:
                    for field in fields:
                        if str(field.get("name", "")).casefold() == wanted:
                            return str(field["id"])
                return None

            self._catalogue = Catalogue(
                story_points_field=self._configured_points or by_name(STORY_POINT_NAMES),
                sprint_field=self._configured_sprint or by_name(SPRINT_NAMES),
                status_category_by_id={str(s["id"]): s["statusCategory"]["key"] for s in statuses if s.get("statusCategory")},
                status_category_by_name={s["name"]: s["statusCategory"]["key"] for s in statuses if s.get("statusCategory")},
            )
        return self._catalogue

    # --- reading ---

    def scope_jql(self, *, project: str | None, jql: str | None, updated_since: dt.datetime | None) -> str:
        """The JQL of one incremental read: the scope, the cursor, and the order that makes it resumable."""
        if jql and re.search(r"\border\s+by\b", jql, re.IGNORECASE):
            raise SourceError(SOURCE, "jira.jql contains ORDER BY",
                              "Remove the ORDER BY clause: the sync orders by updated itself to read incrementally")
        clauses = []
        if project:
            clauses.append(f'project = "{project}"')
        if jql:
            clauses.append(f"({jql})")
        if updated_since is not None:
            clauses.append(f'updated >= "{jql_time(updated_since, self.zone)}"')
        return " AND ".join(clauses) + " ORDER BY updated ASC, key ASC"

    def read(
        self, *, project: str | None = None, jql: str | None = None, updated_since: dt.datetime | None = None
    ) -> Iterator[JiraBatch]:
        """Batches of about `batch_issues` issues changed since the cursor, oldest change first."""
        query = self.scope_jql(project=project, jql=jql, updated_since=updated_since)
        scope = f"project {project}" if project else "the configured JQL"
        catalogue = self.catalogue
        batch = JiraBatch()
        for page in self._pages(query, scope):
            for raw in page:
                self._complete_changelog(raw)
                issue, transitions = parse_issue(raw, catalogue, self.incident_types)
                batch.issues.append(issue)
                batch.transitions.extend(transitions)
            if len(batch.issues) >= self.batch_issues:
                yield _finish(batch)
                batch = JiraBatch()
        if batch.issues:
            yield _finish(batch)

    def _pages(self, jql: str, scope: str) -> Iterator[list[dict[str, Any]]]:
        client = self.client
        what = f"searching issues of {scope}"
        restarts = 0
        token: str | None = None
        start = 0
        seen: set[str] = set()
        repeats = 0
        while True:
            if self.is_cloud:
                current = token
                result = self._search_page(
                    what, restarts,
                    lambda: client.enhanced_search_issues(
                        jql, nextPageToken=current, maxResults=self.page_size, fields=self._fields(),
                        expand="changelog", json_result=True,
                    ),
                    has_token=current is not None,
                )
                if result is None:  # the token expired: start the scope again (landing is idempotent)
                    restarts += 1
                    self.retried += 1
                    token, seen = None, set()
                    continue
            else:
                offset = start
                result = self._call(what, lambda: client.search_issues(
                    jql, startAt=offset, maxResults=self.page_size, fields=self._fields(), expand="changelog",
                    json_result=True,
                ))
            issues = list(result.get("issues") or [])
            ids = {str(i.get("id")) for i in issues}
            if issues and (token or start) and ids <= seen and repeats < self.retries:
                repeats += 1  # the previous page again: ask for this one once more
                self.retried += 1
                log.warning("jira: %s: a page repeated the previous one; asking again", what)
                continue
            repeats = 0
            seen |= ids
            if issues:
                yield issues
            if self.is_cloud:
                token = result.get("nextPageToken")
                if not token or result.get("isLast") is True:
                    return
            else:
                start += len(issues)
                total = result.get("total")
                if not issues or (total is not None and start >= int(total)):
                    return

    def _complete_changelog(self, raw: dict[str, Any]) -> None:
        """Replace a truncated embedded changelog by the whole one.

        Search results embed only an issue's most recent histories (Cloud: 40) with `total` saying how many
        there are; the oldest, which hold the first move into In Progress, are the ones left out. Cloud pages
        them from `/issue/{key}/changelog` (which the library has no method for, hence `_get_json`); Data
        Center returns the whole changelog with the issue.
        """
        changelog = raw.get("changelog")
        if not isinstance(changelog, dict):
            return
        histories = list(changelog.get("histories") or [])
        total = int(changelog.get("total") or len(histories))
        if total <= len(histories):
            return
        key = str(raw.get("key"))
        client = self.client
        what = f"reading the changelog of {key}"
        if self.is_cloud:
            histories, start = [], 0
            while True:
                offset = start
                page = self._call(what, lambda: client._get_json(
                    f"issue/{key}/changelog", params={"startAt": offset, "maxResults": 100}))
                values = list(page.get("values") or [])
                histories += values
                start += len(values)
                if not values or page.get("isLast", True) or start >= int(page.get("total") or 0):
                    break
        else:
            full = self._call(what, lambda: client._get_json(f"issue/{key}", params={"expand": "changelog", "fields": "created"}))
            histories = list((full.get("changelog") or {}).get("histories") or [])
        raw["changelog"] = {"startAt": 0, "maxResults": len(histories), "total": len(histories), "histories": histories}

    def _search_page(self, what: str, restarts: int, fn: Callable[[], dict], *, has_token: bool) -> dict | None:
        """One Cloud page; None when Jira refused an expired `nextPageToken` and a restart is allowed."""
        try:
            return self._call(what, fn)
        except SourceError as failure:
            expired = has_token and "HTTP 400" in failure.problem and "token" in failure.problem.lower()
            if not expired:
                raise
            if restarts >= 2:
                raise SourceError(
                    SOURCE, f"{what}: Jira keeps refusing the nextPageToken as expired",
                    "Run the sync again: it resumes from the last saved cursor", url=failure.url,
                ) from None
            log.warning("jira: %s: the page token expired; reading the scope again from its first page", what)
            return None

    def check(self, projects: tuple[str, ...], jql: str | None) -> str:
        """The cheapest proof that the configuration works: who we are, and one issue key per scope."""
        client = self.client
        me = self._call("reading /myself", client.myself) or {}
        for project in projects or (None,):
            query = self.scope_jql(project=project, jql=jql, updated_since=None)
            what = f"searching issues of {f'project {project}' if project else 'the configured JQL'}"
            if self.is_cloud:
                self._call(what, lambda: client.enhanced_search_issues(query, maxResults=1, fields=["key"], json_result=True))
            else:
                self._call(what, lambda: client.search_issues(query, maxResults=1, fields=["key"], json_result=True))
        scopes = f"projects {', '.join(projects)}" if projects else "the configured JQL"
        return (
            f"Jira {client.deploymentType or ''} at {redact_url(self.url)} readable as {me.get('displayName') or 'the token user'}; "
            f"{scopes} searchable"
        )

    def _fields(self) -> list[str]:
        """A fresh list each call: the library rewrites the list it is given in place."""
        catalogue = self.catalogue
        extra = [f for f in (catalogue.story_points_field, catalogue.sprint_field) if f]
        return [*BASE_FIELDS, *extra]


def _finish(batch: JiraBatch) -> JiraBatch:
    """One row per issue and per transition in a batch (a repeated page may bring one twice)."""
    issues: dict[str, JiraIssue] = {}
    for issue in batch.issues:
        if issue.id not in issues or issue.updated_at >= issues[issue.id].updated_at:
            issues[issue.id] = issue
    transitions = {(t.issue_id, t.history_id, t.to_status): t for t in batch.transitions}
    batch.issues = list(issues.values())
    batch.transitions = list(transitions.values())
    batch.newest_updated_at = max(i.updated_at for i in batch.issues) if batch.issues else None
    return batch
