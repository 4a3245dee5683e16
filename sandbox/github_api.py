"""GitHub REST v3 routes over the sandbox's world, at the root and under /api/v3 (GHES layout).

Behaves like the real service where clients depend on it: token required (401 otherwise), 404 for
unknown repositories, page-number pagination with Link headers, per-token hourly rate-limit headers
(403 when spent), strong ETags with 304 answers to If-None-Match that do not count against the limit,
and the faults of `sandbox.faults` (rate limits, server errors, repeated pages) when a plan asks.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from urllib.parse import urlencode

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.entities import Commit
from sandbox.faults import Fault
from sandbox.clock import HOUR, horizon
from sandbox.github_payloads import GithubRenderer, IssueEvent, IssueView, Roots
from sandbox.incidents import (
    ALERT_BOT, duplicate_issue_numbers, duplicate_reports, github_issue_author, github_issue_numbers,
    pagerduty_incident_url,
)
from sandbox.organisation import Organisation
from sandbox.pull_requests import BOTS, root_sha
from sandbox.rng import Stream, stable_sha
from sandbox.web import int_arg, json_body, json_response, paginate

PREFIXES = ("", "/api/v3")
#: Generous by default: a full sync of the small preset alone takes ~5,000 requests (GitHub's hourly
#: limit for a token), and a session-wide sandbox serves several syncs. Pass `rate_limit=5000` to
#: reproduce a real token's budget, or a tiny one to exercise 403 handling.
DEFAULT_RATE_LIMIT = 1_000_000
#: issue ids (a PR listed among issues has an issue id besides its PR id): base + repo index * 100,000 + number
ISSUE_ID_BASE = 40_000_000
DOCS = "https://docs.github.com/rest"
RATE_LIMIT_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
SECONDARY_DOCS = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
)
ROUTES = (
    ("/orgs/<org>", "github.orgs.get"),
    ("/orgs/<org>/repos", "github.orgs.repos"),
    ("/users/<login>", "github.users.get"),
    ("/repos/<owner>/<repo>", "github.repos.get"),
    ("/repos/<owner>/<repo>/pulls", "github.pulls.list"),
    ("/repos/<owner>/<repo>/pulls/<int:number>", "github.pulls.get"),
    ("/repos/<owner>/<repo>/pulls/<int:number>/reviews", "github.pulls.reviews"),
    ("/repos/<owner>/<repo>/pulls/<int:number>/commits", "github.pulls.commits"),
    ("/repos/<owner>/<repo>/commits/<ref>", "github.commits.get"),
    ("/repos/<owner>/<repo>/compare/<path:basehead>", "github.compare"),
    ("/repos/<owner>/<repo>/deployments", "github.deployments.list"),
    ("/repos/<owner>/<repo>/issues", "github.issues.list"),
    ("/repos/<owner>/<repo>/issues/<int:number>", "github.issues.get"),
    ("/repos/<owner>/<repo>/issues/events", "github.issues.events"),
    ("/repos/<owner>/<repo>/deployments/<int:deployment_id>", "github.deployments.get"),
    ("/repos/<owner>/<repo>/deployments/<int:deployment_id>/statuses", "github.deployments.statuses"),
)


class NotFound(Exception):
    pass


def rules() -> list[Rule]:
    return [Rule(prefix + path, endpoint=endpoint) for prefix in PREFIXES for path, endpoint in ROUTES]


class RateLimiter:
    """A fixed hourly window per token, like GitHub's primary limit."""

    def __init__(self, limit: int):
        self.limit = limit
        self._windows: dict[str, tuple[int, int]] = {}  # token -> (reset epoch, used)
        self._lock = threading.Lock()

    def peek(self, token: str) -> tuple[int, int]:
        now = int(time.time())
        with self._lock:
            reset, used = self._windows.get(token, (now + 3600, 0))
            if reset <= now:
                reset, used = now + 3600, 0
            self._windows[token] = (reset, used)
            return reset, used

    def spend(self, token: str) -> None:
        with self._lock:
            reset, used = self._windows[token]
            self._windows[token] = (reset, used + 1)


class GithubApi:
    def __init__(self, org: Organisation, rate_limit: int = DEFAULT_RATE_LIMIT):
        self.org = org
        self.render = GithubRenderer(org)
        self.limiter = RateLimiter(rate_limit)
        self.pulls = {
            (name.lower(), pr.number): pr for name, pulls in org.pull_requests.items() for pr in pulls
        }
        self.main_position = {
            name.lower(): {c.sha: i for i, c in enumerate(commits)} for name, commits in org.main_commits.items()
        }
        self.pr_commits = {
            name.lower(): {c.sha: c for pr in pulls for c in pr.commits} for name, pulls in org.pull_requests.items()
        }
        self._issue_views: dict[str, list[IssueView]] | None = None
        self._issue_events: dict[str, tuple[list[IssueEvent], dict[int, IssueView]]] = {}
        self._issue_lock = threading.Lock()

    @property
    def issue_views(self) -> dict[str, list[IssueView]]:
        """Built on the first issues request (every PR is listed among issues: seconds for `medium`)."""
        with self._issue_lock:
            if self._issue_views is None:
                self._issue_views = issue_views(self.org, self.render.pull_labels)
            return self._issue_views

    # --- request lifecycle ---

    def handle(self, request: Request, endpoint: str, args: dict, fault: Fault | None = None) -> Response:
        """Answer one routed request; `fault` (from the fault plan) replaces or bends the answer."""
        token = _token(request)
        if not token:
            return json_response({"message": "Requires authentication", "documentation_url": DOCS}, 401)
        reset, used = self.limiter.peek(token)
        limit = self.limiter.limit
        if used >= limit:
            return _primary_limit_response(403, limit, reset, request)
        if fault is not None and fault.kind not in ("repeat_page", "malformed_json", "slow"):
            return self._fault_response(fault, request, limit, used, reset)
        prefix = "/api/v3" if request.path.startswith("/api/v3/") else ""
        host = request.host_url.rstrip("/")
        roots = Roots(api=host + prefix, html=host)
        handler = getattr(self, "_" + endpoint.split(".", 1)[1].replace(".", "_"))
        try:
            payload, link = handler(request, roots, **args)
            if fault is not None and fault.kind == "repeat_page":
                # The listing shifted between two requests: this page's Link, the previous page's items.
                payload, _ = handler(_with_page(request, int_arg(request, "page", 2) - 1), roots, **args)
        except NotFound:
            payload, link, status = {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, None, 404
        else:
            status = 200
        body = json_body(payload)
        etag = '"' + hashlib.sha256(body).hexdigest() + '"'  # strong: a function of the exact bytes
        if status == 200 and _none_match(request.headers.get("If-None-Match", ""), etag):
            # GitHub: a 304 to a correctly authorised conditional request is free of the primary limit.
            return Response(status=304, headers={**_rate_headers(limit, used, reset), "ETag": etag})
        self.limiter.spend(token)
        headers = _rate_headers(limit, used + 1, reset)
        headers["ETag"] = etag
        headers["X-GitHub-Api-Version-Selected"] = "2022-11-28"
        headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        if status == 200:
            headers["Cache-Control"] = "private, max-age=60, s-maxage=60"
            headers["Vary"] = "Accept, Authorization, Cookie"
        if link:
            headers["Link"] = link
        return Response(body, status=status, headers=headers, content_type="application/json; charset=utf-8")

    def _fault_response(self, fault: Fault, request: Request, limit: int, used: int, reset: int) -> Response:
        """The error answers of `sandbox.faults`, shaped as GitHub documents them."""
        if fault.kind == "primary_rate_limit":
            return _primary_limit_response(fault.status or 403, limit, int(time.time()) + fault.reset_in, request)
        headers = {**_rate_headers(limit, used, reset), "X-GitHub-Request-Id": _request_id(request)}
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        if fault.kind in ("rate_limit", "secondary_rate_limit"):
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. "
                f"If you reach out to GitHub Support for help, please include the request ID {_request_id(request)}."
            )
            return json_response({"message": message, "documentation_url": SECONDARY_DOCS}, fault.status or 429, headers)
        if fault.kind == "server_error":
            status = fault.status or 500
            return json_response({"message": HTTP_STATUS_CODES[status], "status": str(status)}, status, headers)
        raise ValueError(f"github cannot serve a {fault.kind} fault")

    def _repo(self, owner: str, repo: str):
        found = self.render.repos.get(f"{owner}/{repo}".lower())
        if found is None:
            raise NotFound
        return found

    def _pull(self, owner: str, repo: str, number: int):
        found = self.pulls.get((f"{owner}/{repo}".lower(), number))
        if found is None:
            raise NotFound
        return found

    # --- endpoints: each returns (payload, Link header or None) ---

    def _orgs_get(self, request, roots, org):
        if org.lower() != self.org.github_org:
            raise NotFound
        return self.render.organization(roots), None

    def _orgs_repos(self, request, roots, org):
        if org.lower() != self.org.github_org:
            raise NotFound
        sort = request.args.get("sort", "created")
        key = (lambda r: r.full_name) if sort == "full_name" else (lambda r: r.created_at)
        direction = request.args.get("direction", "asc" if sort == "full_name" else "desc")
        repos = sorted(self.org.repository_details, key=key, reverse=direction == "desc")
        page, link = paginate(request, repos)
        return [self.render.repository(roots, r) for r in page], link

    def _users_get(self, request, roots, login):
        known = {d.login for d in self.org.developers} | {self.org.github_org, "web-flow", "github-actions[bot]", "ghost"}
        known |= set(BOTS)
        if login not in known:
            raise NotFound
        return self.render.user_detail(roots, login), None

    def _repos_get(self, request, roots, owner, repo):
        return self.render.repository(roots, self._repo(owner, repo)), None

    def _pulls_list(self, request, roots, owner, repo):
        found = self._repo(owner, repo)
        state = request.args.get("state", "open")
        pulls = [pr for pr in self.org.pull_requests[found.full_name] if state == "all" or pr.state == state]
        if "base" in request.args:
            pulls = [pr for pr in pulls if pr.base_ref == request.args["base"]]
        if "head" in request.args:
            pulls = [pr for pr in pulls if f"{self.org.github_org}:{pr.head_ref}" == request.args["head"]]
        sort = request.args.get("sort", "created")
        direction = request.args.get("direction", "desc" if sort == "created" else "asc")
        if sort == "updated":
            pulls.sort(key=lambda pr: (pr.updated_at, pr.number))
        else:
            pulls.sort(key=lambda pr: (pr.created_at, pr.number))
        if direction == "desc":
            pulls.reverse()
        page, link = paginate(request, pulls)
        return [self.render.pull(roots, found, pr, full=False) for pr in page], link

    def _pulls_get(self, request, roots, owner, repo, number):
        found = self._repo(owner, repo)
        return self.render.pull(roots, found, self._pull(owner, repo, number), full=True), None

    def _pulls_reviews(self, request, roots, owner, repo, number):
        found = self._repo(owner, repo)
        pr = self._pull(owner, repo, number)
        page, link = paginate(request, pr.reviews)
        return [self.render.review(roots, found, pr, r) for r in page], link

    def _pulls_commits(self, request, roots, owner, repo, number):
        found = self._repo(owner, repo)
        pr = self._pull(owner, repo, number)
        page, link = paginate(request, pr.commits[:250])
        return [self.render.commit(roots, found, c) for c in page], link

    def _resolve(self, full_name: str, ref: str) -> int:
        """Position of a ref on main: -1 for main's root commit; NotFound when not on main."""
        positions = self.main_position[full_name.lower()]
        if ref in ("main", "HEAD"):
            return len(positions) - 1
        if ref == root_sha(full_name) or (len(ref) >= 7 and root_sha(full_name).startswith(ref)):
            return -1
        if ref in positions:
            return positions[ref]
        if len(ref) >= 7:
            for sha, position in positions.items():
                if sha.startswith(ref):
                    return position
        raise NotFound

    def _main_commit(self, full_name: str, position: int) -> Commit:
        if position >= 0:
            return self.org.main_commits[full_name][position]
        created = self.render.repos[full_name.lower()].created_at
        return Commit(
            sha=root_sha(full_name),
            author_login="web-flow",
            author_name="GitHub",
            author_email="noreply@github.com",
            authored_at=created,
            committed_at=created,
            message="Initial commit",
        )

    def _commits_get(self, request, roots, owner, repo, ref):
        found = self._repo(owner, repo)
        commit = self.pr_commits[found.full_name.lower()].get(ref)
        if commit is None:
            commit = self._main_commit(found.full_name, self._resolve(found.full_name, ref))
        payload = self.render.commit(roots, found, commit)
        payload.update(stats={"total": 0, "additions": 0, "deletions": 0}, files=[])
        return payload, None

    def _compare(self, request, roots, owner, repo, basehead):
        found = self._repo(owner, repo)
        if "..." not in basehead:
            raise NotFound
        base_ref, head_ref = basehead.split("...", 1)
        base, head = self._resolve(found.full_name, base_ref), self._resolve(found.full_name, head_ref)
        name = found.full_name
        commits = [self._main_commit(name, p) for p in range(base + 1, head + 1)]
        status = "identical" if base == head else ("ahead" if head > base else "behind")
        url = f"{roots.api}/repos/{name}/compare/{basehead}"
        html = f"{roots.html}/{name}/compare/{basehead}"
        if "page" in request.args or "per_page" in request.args:
            page, link = paginate(request, commits)
        else:
            page, link = commits[:250], None  # GitHub: up to 250 commits unless paging is asked for
        base_commit = self.render.commit(roots, found, self._main_commit(name, base))
        merge_base = base_commit if head >= base else self.render.commit(roots, found, self._main_commit(name, head))
        payload = {
            "url": url,
            "html_url": html,
            "permalink_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "base_commit": base_commit,
            "merge_base_commit": merge_base,
            "status": status,
            "ahead_by": max(head - base, 0),
            "behind_by": max(base - head, 0),
            "total_commits": len(commits),
            "commits": [self.render.commit(roots, found, c) for c in page],
            "files": [],
        }
        return payload, link

    def _deployments_list(self, request, roots, owner, repo):
        found = self._repo(owner, repo)
        deployments = list(reversed(self.org.deployments[found.full_name]))  # newest first
        for field in ("environment", "sha", "ref", "task"):
            wanted = request.args.get(field)
            if wanted:
                deployments = [d for d in deployments if (getattr(d, field) if field != "task" else "deploy") == wanted]
        page, link = paginate(request, deployments)
        return [self.render.deployment(roots, found, d) for d in page], link

    def _issues_list(self, request, roots, owner, repo):
        """Issues and pull requests (GitHub lists both), filtered by state, labels (all of them) and since."""
        found = self._repo(owner, repo)
        items = self.issue_views[found.full_name]
        state = request.args.get("state", "open")
        if state != "all":
            items = [i for i in items if i.state == state]
        wanted = {name.strip() for name in request.args.get("labels", "").split(",") if name.strip()}
        if wanted:
            items = [i for i in items if wanted <= set(i.labels)]
        if request.args.get("since"):
            try:
                since = dt.datetime.fromisoformat(request.args["since"].replace("Z", "+00:00"))
            except ValueError:
                since = None
            if since is not None:
                since = since if since.tzinfo else since.replace(tzinfo=dt.timezone.utc)
                items = [i for i in items if i.updated_at >= since]
        sort = request.args.get("sort", "created")
        key = {"updated": lambda i: (i.updated_at, i.number), "comments": lambda i: (i.comments, i.number)}.get(
            sort, lambda i: (i.created_at, i.number)
        )
        items = sorted(items, key=key, reverse=request.args.get("direction", "desc") == "desc")
        page, link = paginate(request, items)
        return [self.render.issue(roots, found, i) for i in page], link

    def _issues_events(self, request, roots, owner, repo):
        """Every issue and PR event of the repository, newest first (no filters, as on GitHub)."""
        found = self._repo(owner, repo)
        with self._issue_lock:
            cached = self._issue_events.get(found.full_name)
        if cached is None:
            views = {item.number: item for item in self.issue_views[found.full_name]}
            cached = (issue_events(found.full_name, self.org.pull_requests[found.full_name], views.values()), views)
            with self._issue_lock:
                self._issue_events[found.full_name] = cached
        events, views = cached
        page, link = paginate(request, events)
        return [self.render.issue_event(roots, found, e, views[e.number]) for e in page], link

    def _issues_get(self, request, roots, owner, repo, number):
        found = self._repo(owner, repo)
        for item in self.issue_views[found.full_name]:
            if item.number == number:
                return self.render.issue(roots, found, item), None
        raise NotFound

    def _deployment(self, owner, repo, deployment_id):
        found = self._repo(owner, repo)
        for deployment in self.org.deployments[found.full_name]:
            if deployment.deployment_id == deployment_id:
                return found, deployment
        raise NotFound

    def _deployments_get(self, request, roots, owner, repo, deployment_id):
        found, deployment = self._deployment(owner, repo, deployment_id)
        return self.render.deployment(roots, found, deployment), None

    def _deployments_statuses(self, request, roots, owner, repo, deployment_id):
        found, deployment = self._deployment(owner, repo, deployment_id)
        page, link = paginate(request, list(reversed(deployment.statuses)))  # newest first
        return [self.render.deployment_status(roots, found, deployment, s) for s in page], link


def issue_events(full_name: str, pulls, views) -> list[IssueEvent]:  # noqa: ANN001
    """A repository's issue events, newest first: each draft's `ready_for_review`, each merge (`merged`
    then `closed` at the same second, as GitHub records a merge) and each other close."""
    events: list[IssueEvent] = []

    def add(number: int, kind: str, actor: str, when: dt.datetime, commit_id: str | None = None) -> None:
        event_id = 6_000_000_000 + int(stable_sha("issue-event", full_name, number, kind)[:8], 16)
        events.append(IssueEvent(event_id, number, kind, actor, when, commit_id))

    for pr in pulls:
        if pr.ready_for_review_at is not None:
            add(pr.number, "ready_for_review", pr.author_login, pr.ready_for_review_at)
        if pr.merged_at is not None:
            add(pr.number, "merged", pr.author_login, pr.merged_at, pr.merge_commit_sha)
        if pr.closed_at is not None:
            add(pr.number, "closed", pr.author_login, pr.closed_at)
    for item in views:
        if item.pull_request_merged_at is False and item.closed_at is not None:
            add(item.number, "closed", item.author_login, item.closed_at)
    order = {"ready_for_review": 0, "merged": 1, "closed": 2}
    events.sort(key=lambda e: (e.created_at, order.get(e.event, 3), e.number), reverse=True)
    return events


def issue_views(org: Organisation, pull_labels: dict[tuple[str, int], tuple[str, ...]]) -> dict[str, list[IssueView]]:
    """Per repository, what the issues endpoints list: every PR, and the incident issues of teams that
    report incidents in GitHub (numbered after the PRs; see `sandbox.incidents.github_issue_numbers`)."""
    end = horizon(org.config)
    index = {repo.full_name: n for n, repo in enumerate(org.repository_details)}
    team_of = {repo.full_name: repo.team_id for repo in org.repository_details}
    logins: dict[str, list[str]] = {}
    for developer in org.developers:
        logins.setdefault(developer.team_id, []).append(developer.login)
    views: dict[str, list[IssueView]] = {name: [] for name in org.repositories}
    for name, pulls in org.pull_requests.items():
        for pr in pulls:
            views[name].append(
                IssueView(
                    issue_id=ISSUE_ID_BASE + index[name] * 100_000 + pr.number,
                    number=pr.number, title=pr.title, body=pr.body if pr.body is not None else f"{pr.title}.", state=pr.state, state_reason=None,
                    author_login=pr.author_login, labels=pull_labels.get((name, pr.number), ()), comments=0,
                    created_at=pr.created_at, updated_at=pr.updated_at, closed_at=pr.closed_at,
                    pull_request_merged_at=pr.merged_at, pull_request_draft=pr.is_draft,
                )
            )
    numbers = github_issue_numbers(org.incidents, org.pull_requests)
    seen: set[str] = set()
    for incident in org.incidents:
        if incident.source != "github":
            continue
        number = numbers[incident.incident_id]
        stream = Stream(org.seed, "incident-issue", incident.incident_id)
        closed = incident.resolved_at
        updated = closed or incident.acknowledged_at or incident.created_at
        if closed is not None and stream.chance(0.3):  # a postmortem comment after closing
            later = closed + dt.timedelta(seconds=stream.integer(HOUR, 72 * HOUR))
            updated = later if later < end else updated
        lines = [
            f"**Impact:** {incident.title}",
            f"**Detected:** {incident.created_at.strftime('%Y-%m-%d %H:%M UTC')}",
            f"**Service:** {incident.service}",
        ]
        if incident.explicit_link:
            lines += ["", f"Deployment: https://api.github.com/repos/{incident.repository}/deployments/"
                      f"{incident.caused_by_deployment_id}"]
        views[incident.repository].append(
            IssueView(
                issue_id=ISSUE_ID_BASE + index[incident.repository] * 100_000 + number,
                number=number,
                title=incident.title,
                body="\n".join(lines),
                state="closed" if closed else "open",
                state_reason="completed" if closed else None,
                author_login=github_issue_author(
                    org.seed, incident, logins.get(team_of[incident.repository], []), incident.repository not in seen
                ),
                labels=tuple(sorted(("incident", f"severity:{incident.urgency}"))),
                comments=stream.integer(1, 6),
                created_at=incident.created_at,
                updated_at=updated,
                closed_at=closed,
            )
        )
        seen.add(incident.repository)
    _add_duplicate_reports(org, views, index, logins, team_of)
    return views


def _add_duplicate_reports(org: Organisation, views: dict[str, list[IssueView]], index: dict[str, int],
                           logins: dict[str, list[str]], team_of: dict[str, str]) -> None:
    """Second reports of PagerDuty-paged outages opened as GitHub issues (`sandbox.incidents.DuplicateReport`):
    a responder's issue in the service's repository, some pasting the PagerDuty incident's link."""
    reports = [r for r in duplicate_reports(org.config, org.seed, org.incidents) if r.tool == "github"]
    by_id = {incident.incident_id: incident for incident in org.incidents}
    numbers = duplicate_issue_numbers(org.incidents, org.pull_requests, reports)
    for report in reports:
        incident = by_id[report.incident_id]
        stream = Stream(org.seed, "incident-duplicate-issue", incident.incident_id)
        lines = [
            f"**Impact:** {incident.title}",
            f"**Noticed:** {report.created_at.strftime('%Y-%m-%d %H:%M UTC')}",
            f"**Service:** {incident.service}",
        ]
        if report.names_pagerduty:
            lines += ["", f"Paged in PagerDuty: {pagerduty_incident_url(org.github_org, incident)}"]
        team = sorted(logins.get(team_of[incident.repository], []))
        number = numbers[incident.incident_id]
        views[incident.repository].append(
            IssueView(
                issue_id=ISSUE_ID_BASE + index[incident.repository] * 100_000 + number,
                number=number,
                title=incident.title,
                body="\n".join(lines),
                state="closed" if report.resolved_at else "open",
                state_reason="completed" if report.resolved_at else None,
                author_login=stream.choice(team) if team else ALERT_BOT,
                labels=tuple(sorted(("incident", f"severity:{incident.urgency}"))),
                comments=stream.integer(0, 4),
                created_at=report.created_at,
                updated_at=report.resolved_at or report.created_at,
                closed_at=report.resolved_at,
            )
        )


def _token(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() in ("token", "bearer") else ""


def _primary_limit_response(status: int, limit: int, reset: int, request: Request) -> Response:
    """The primary (hourly) limit is spent: remaining 0 and the reset time, no Retry-After."""
    message = (
        "API rate limit exceeded for user ID 1. If you reach out to GitHub Support for help, please include "
        f"the request ID {_request_id(request)}."
    )
    headers = {**_rate_headers(limit, limit, reset), "X-GitHub-Request-Id": _request_id(request)}
    return json_response({"message": message, "documentation_url": RATE_LIMIT_DOCS, "status": str(status)}, status, headers)


def _request_id(request: Request) -> str:
    """GitHub-looking request id (five hex groups), stable per request path."""
    digest = stable_sha("request", request.full_path).upper()
    return ":".join((digest[0:4], digest[4:8], digest[8:15], digest[15:22], digest[22:30]))


def _none_match(header: str, etag: str) -> bool:
    """If-None-Match uses weak comparison (RFC 9110 13.1.2): `W/` is ignored, `*` matches anything."""
    candidates = [c.strip() for c in header.split(",") if c.strip()]
    return any(c == "*" or c.removeprefix("W/") == etag.removeprefix("W/") for c in candidates)


def _with_page(request: Request, page: int) -> Request:
    """The same request asking for another page."""
    query = [(k, v) for k, v in request.args.items(multi=True) if k != "page"] + [("page", str(page))]
    return Request({**request.environ, "QUERY_STRING": urlencode(query)})


def _rate_headers(limit: int, used: int, reset: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(limit - used, 0)),
        "X-RateLimit-Reset": str(reset),
        "X-RateLimit-Used": str(used),
        "X-RateLimit-Resource": "core",
    }
