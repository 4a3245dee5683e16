"""PagerDuty REST API v2 over the sandbox's incidents reported in PagerDuty, served under `/pagerduty`.

The real base is https://api.pagerduty.com; the one-port sandbox serves the same paths under
`/pagerduty` (so `pagerduty.api_url = <sandbox>/pagerduty`), where they cannot clash with GitHub's or
Anthropic's routes. What clients rely on behaves as PagerDuty documents it:

- `GET /incidents`: `since` / `until` (ISO 8601, on the incident's creation time; without them the last
  30 days before "now", the sandbox's horizon; at most 6 months apart, else 400 code 2005),
  `date_range=all`, `statuses[]`, `service_ids[]`, `urgencies[]`, `sort_by` (`created_at`,
  `incident_number`, each `:asc`/`:desc`), `time_zone` (times rendered in that zone; UTC otherwise),
  classic pagination `offset` / `limit` (default 25, at most 100) with `more`, and `total` only when
  `total=true` (null otherwise). `GET /incidents/{id}`, `GET /services`, `GET /services/{id}` too.
- Auth: `Authorization: Token token=<key>` (or `Bearer <oauth token>`); missing or empty -> 401
  `{"error": {"message": "Authentication Failed", "code": 2006}}`. Unknown ids -> 404 code 2100.
- Incident objects as the API gives them: `id`, `type: incident`, `summary` "[#n] title", `self`,
  `html_url`, `incident_number`, `title`, `status`, `urgency`, `created_at`, `updated_at`,
  `last_status_change_at`, `resolved_at`, `service` (a `service_reference`), `priority` (null for some),
  `assignments` and `acknowledgements` (both empty unless the incident is currently acknowledged, as the
  API documents: a resolved incident's acknowledgement time needs its log entries), `incident_key`.
- The explicit deployment link: PagerDuty has no deployment field. Incidents triggered by a deployment
  verification check carry the check's dedup key as `incident_key`: "deploy-<GitHub deployment id>";
  other incidents have an opaque 32-hex key. `connectors.pagerduty` reads the id back from it.
- Faults (`sandbox.faults`, source "pagerduty"): 429 with `Retry-After` and the rate-limit error body,
  500/502/503/504, slow answers, a truncated page, and a page (offset > 0) that repeats the previous
  page's incidents.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.clock import horizon
from sandbox.entities import Incident
from sandbox.faults import Fault
from sandbox.incidents import (
    pagerduty_id, pagerduty_incident_id, pagerduty_incident_numbers, pagerduty_service_id, team_tool,
)
from sandbox.organisation import Organisation
from sandbox.rng import Stream, stable_sha
from sandbox.web import json_response

PREFIX = "/pagerduty"
ROUTES = (
    ("/incidents", "pagerduty.incidents.list"),
    ("/incidents/<incident_id>", "pagerduty.incidents.get"),
    ("/services", "pagerduty.services.list"),
    ("/services/<service_id>", "pagerduty.services.get"),
)
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_RANGE = dt.timedelta(days=184)  # "6 months"
STATUSES = ("triggered", "acknowledged", "resolved")
URGENCIES = ("high", "low")
#: the response headers PagerDuty sends with every REST answer (per-minute limits)
RATE_HEADERS = {"ratelimit-limit": "960", "ratelimit-remaining": "959", "ratelimit-reset": "60"}


def rules() -> list[Rule]:
    return [Rule(PREFIX + path, endpoint=endpoint) for path, endpoint in ROUTES]


def error(status: int, message: str, code: int, errors: list[str] | None = None, headers: dict | None = None) -> Response:
    body: dict = {"message": message, "code": code}
    if errors:
        body["errors"] = errors
    return json_response({"error": body}, status, {**RATE_HEADERS, **(headers or {})})


def not_found() -> Response:
    return error(404, "Not Found", 2100)


def fault_response(fault: Fault) -> Response:
    if fault.kind == "rate_limit":
        headers = {"Retry-After": str(fault.retry_after or 1), "ratelimit-remaining": "0",
                   "ratelimit-reset": str(fault.retry_after or 1)}
        return error(429, "Rate Limit Exceeded", 2020, headers=headers)
    if fault.kind == "server_error":
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return error(fault.status or 500, "Internal Error", 2000, headers=headers)
    raise ValueError(f"pagerduty cannot serve a {fault.kind} fault")


def _token(request: Request) -> str:
    header = request.headers.get("Authorization", "").strip()
    if header.lower().startswith("token "):
        rest = header[6:].strip()
        return rest[6:].strip() if rest.lower().startswith("token=") else ""
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return ""


def _parse_time(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace(" ", "+"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed


class PagerdutyApi:
    def __init__(self, org: Organisation):
        self.org = org
        self.now = horizon(org.config)
        self.web = f"https://{org.github_org}.pagerduty.com"
        self.incidents = [i for i in org.incidents if i.source == "pagerduty"]
        self.numbers = pagerduty_incident_numbers(org.incidents)
        self.by_id = {pagerduty_incident_id(i): i for i in self.incidents}
        repos = {r.full_name: r for r in org.repository_details}
        self.repos = repos
        reporting = sorted({i.repository for i in self.incidents} | {
            r.full_name for r in org.repository_details if _team_uses_pagerduty(org, r.team_id)
        })
        self.services = {pagerduty_service_id(name): repos[name] for name in reporting}
        self.team_logins: dict[str, list[str]] = {}
        self.names = {d.login: d.display_name for d in org.developers}
        for developer in org.developers:
            self.team_logins.setdefault(developer.team_id, []).append(developer.login)

    # --- request lifecycle ---

    def handle(self, request: Request, endpoint: str, args: dict, fault: Fault | None = None) -> Response:
        if not _token(request):
            return error(401, "Authentication Failed", 2006)
        if fault is not None and fault.kind not in ("repeat_page", "malformed_json", "slow"):
            return fault_response(fault)
        zone_name = request.args.get("time_zone") or "UTC"
        try:
            zone = zoneinfo.ZoneInfo(zone_name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return error(400, "Invalid Input Provided", 2001, [f"Time zone {zone_name!r} is not a valid time zone"])
        api_root = request.host_url.rstrip("/") + PREFIX
        context = _Render(self, api_root, zone)
        if endpoint == "pagerduty.incidents.get":
            incident = self.by_id.get(args["incident_id"])
            return not_found() if incident is None else self._ok({"incident": context.incident(incident)})
        if endpoint == "pagerduty.services.get":
            repo = self.services.get(args["service_id"])
            return not_found() if repo is None else self._ok({"service": context.service(args["service_id"])})
        paging = _paging(request)
        if isinstance(paging, Response):
            return paging
        offset, limit, want_total = paging
        if endpoint == "pagerduty.services.list":
            ids = sorted(self.services, key=lambda s: self.services[s].name)
            return self._page("services", [context.service(s) for s in ids], offset, limit, want_total, fault)
        selected = self._select(request)
        if isinstance(selected, Response):
            return selected
        return self._page("incidents", selected, offset, limit, want_total, fault, render=context.incident)

    def _ok(self, payload: dict) -> Response:
        return json_response(payload, 200, dict(RATE_HEADERS))

    def _page(self, key, items, offset, limit, want_total, fault, render=None) -> Response:
        chunk = items[offset : offset + limit]
        if fault is not None and fault.kind == "repeat_page":
            # The listing shifted between two requests: the previous page's items at this offset.
            chunk = items[max(offset - limit, 0) : offset]
        return self._ok(
            {
                key: [render(item) for item in chunk] if render else list(chunk),
                "limit": limit,
                "offset": offset,
                "more": offset + limit < len(items),
                "total": len(items) if want_total else None,
            }
        )

    def _select(self, request: Request) -> list[Incident] | Response:
        statuses = request.args.getlist("statuses[]") or request.args.getlist("statuses")
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown:
            return error(400, "Invalid Input Provided", 2001, [f"Statuses {unknown[0]!r} is not a valid status"])
        urgencies = request.args.getlist("urgencies[]") or request.args.getlist("urgencies")
        if any(u not in URGENCIES for u in urgencies):
            return error(400, "Invalid Input Provided", 2001, ["Urgencies must be high or low"])
        services = set(request.args.getlist("service_ids[]") or request.args.getlist("service_ids"))
        if request.args.get("date_range") == "all":
            since, until = None, None
        else:
            try:
                until = _parse_time(request.args["until"]) if request.args.get("until") else self.now
                since = _parse_time(request.args["since"]) if request.args.get("since") else until - dt.timedelta(days=30)
            except ValueError:
                return error(400, "Invalid 'since' or 'until' Parameter Values", 2004)
            if until <= since or until - since > MAX_RANGE:
                return error(400, "Invalid Query Date Range", 2005, ["The date range must be positive and at most 6 months"])
        chosen = []
        for incident in self.incidents:
            if since is not None and not (since <= incident.created_at < until):
                continue
            if statuses and _status(incident) not in statuses:
                continue
            if urgencies and incident.urgency not in urgencies:
                continue
            if services and pagerduty_service_id(incident.repository) not in services:
                continue
            chosen.append(incident)
        sort_by = request.args.get("sort_by", "created_at:asc")
        field, _, direction = sort_by.partition(":")
        if field not in ("created_at", "incident_number") or direction not in ("", "asc", "desc"):
            return error(400, "Invalid Input Provided", 2001, [f"Sort by {sort_by!r} is not supported"])
        chosen.sort(key=lambda i: (i.created_at, self.numbers[i.incident_id]), reverse=direction == "desc")
        return chosen


def _team_uses_pagerduty(org: Organisation, team_id: str) -> bool:
    return team_tool(org.config, org.seed, team_id) == "pagerduty"


def _paging(request: Request) -> tuple[int, int, bool] | Response:
    try:
        offset = int(request.args.get("offset", 0))
        limit = int(request.args.get("limit", DEFAULT_LIMIT))
    except ValueError:
        return error(400, "Invalid Input Provided", 2001, ["Offset and limit must be integers"])
    if offset < 0 or limit < 1:
        return error(400, "Invalid Input Provided", 2001, ["Offset must be >= 0 and limit >= 1"])
    return offset, min(limit, MAX_LIMIT), request.args.get("total", "false").lower() == "true"


def _status(incident: Incident) -> str:
    if incident.resolved_at is not None:
        return "resolved"
    if incident.acknowledged_at is not None:
        return "acknowledged"
    return "triggered"


class _Render:
    """Payloads for one request: URLs on the request's API root, times in the requested zone."""

    def __init__(self, api: PagerdutyApi, root: str, zone: dt.tzinfo):
        self.api, self.root, self.zone = api, root, zone

    def time(self, value: dt.datetime | None) -> str | None:
        if value is None:
            return None
        local = value.astimezone(self.zone)
        text = local.strftime("%Y-%m-%dT%H:%M:%S%z")
        if text.endswith("+0000"):
            return text[:-5] + "Z"
        return text[:-2] + ":" + text[-2:]

    def reference(self, kind: str, object_id: str, summary: str, web_path: str | None) -> dict:
        plural = {"service": "services", "user": "users", "escalation_policy": "escalation_policies",
                  "team": "teams", "priority": "priorities"}[kind]
        payload = {
            "id": object_id,
            "type": f"{kind}_reference",
            "summary": summary,
            "self": f"{self.root}/{plural}/{object_id}",
            "html_url": f"{self.api.web}/{web_path}/{object_id}" if web_path else None,
        }
        return payload

    def service_reference(self, repository: str) -> dict:
        name = repository.split("/", 1)[1]
        return self.reference("service", pagerduty_service_id(repository), name, "service-directory")

    def team_reference(self, team_id: str) -> dict:
        return self.reference("team", pagerduty_id("team", team_id), team_id.title(), "teams")

    def user_reference(self, login: str) -> dict:
        return self.reference("user", pagerduty_id("user", login), self.api.names.get(login, login), "users")

    def service(self, service_id: str) -> dict:
        repo = self.api.services[service_id]
        return {
            "id": service_id,
            "type": "service",
            "summary": repo.name,
            "self": f"{self.root}/services/{service_id}",
            "html_url": f"{self.api.web}/service-directory/{service_id}",
            "name": repo.name,
            "description": repo.description,
            "status": "active",
            "created_at": self.time(repo.created_at),
            "updated_at": self.time(repo.created_at),
            "auto_resolve_timeout": None,
            "acknowledgement_timeout": 1800,
            "alert_creation": "create_alerts_and_incidents",
            "escalation_policy": self.reference(
                "escalation_policy", pagerduty_id("policy", repo.team_id), f"{repo.team_id.title()} on-call",
                "escalation_policies",
            ),
            "teams": [self.team_reference(repo.team_id)],
            "integrations": [],
        }

    def incident(self, incident: Incident) -> dict:
        api = self.api
        incident_id = pagerduty_incident_id(incident)
        number = api.numbers[incident.incident_id]
        status = _status(incident)
        repo = api.repos[incident.repository]
        stream = Stream(api.org.seed, "pagerduty-incident", incident.incident_id)
        responder = stream.choice(sorted(api.team_logins.get(repo.team_id, ["ghost"])))
        changed = incident.resolved_at or incident.acknowledged_at or incident.created_at
        priority = None
        if not stream.chance(0.15):  # some incidents never get a priority set
            level = stream.choice(("P1", "P2") if incident.urgency == "high" else ("P3", "P4"))
            priority = {**self.reference("priority", pagerduty_id("priority", level), level, None), "type": "priority"}
            priority.pop("html_url")
            priority.update(name=level, color={"P1": "a8171c", "P2": "eb6016", "P3": "f9b406", "P4": "555555"}[level])
        explicit = incident.caused_by_deployment_id if incident.explicit_link else None
        acknowledged = status == "acknowledged"
        return {
            "id": incident_id,
            "type": "incident",
            "summary": f"[#{number}] {incident.title}",
            "self": f"{self.root}/incidents/{incident_id}",
            "html_url": f"{api.web}/incidents/{incident_id}",
            "incident_number": number,
            "title": incident.title,
            "description": incident.title,
            "created_at": self.time(incident.created_at),
            "updated_at": self.time(changed),
            "status": status,
            "incident_key": f"deploy-{explicit}" if explicit else stable_sha("dedup", incident.incident_id)[:32],
            "service": self.service_reference(incident.repository),
            "assignments": (
                [{"at": self.time(incident.created_at), "assignee": self.user_reference(responder)}]
                if status != "resolved" else []
            ),
            "assigned_via": "escalation_policy",
            "last_status_change_at": self.time(changed),
            "last_status_change_by": (
                self.user_reference(responder) if status != "triggered" else self.service_reference(incident.repository)
            ),
            "first_trigger_log_entry": {
                "id": "R" + stable_sha("log", incident.incident_id)[:25].upper(),
                "type": "trigger_log_entry_reference",
                "summary": "Triggered through the API",
                "self": f"{self.root}/log_entries/R{stable_sha('log', incident.incident_id)[:25].upper()}",
                "html_url": f"{api.web}/incidents/{incident_id}/log_entries/R{stable_sha('log', incident.incident_id)[:25].upper()}",
            },
            "alert_counts": {
                "all": 1,
                "triggered": 0 if status == "resolved" else 1,
                "resolved": 1 if status == "resolved" else 0,
            },
            "pending_actions": [],
            "is_mergeable": True,
            "incident_type": {"name": "incident_default"},
            "escalation_policy": self.reference(
                "escalation_policy", pagerduty_id("policy", repo.team_id), f"{repo.team_id.title()} on-call",
                "escalation_policies",
            ),
            "teams": [self.team_reference(repo.team_id)],
            "acknowledgements": (
                [{"at": self.time(incident.acknowledged_at), "acknowledger": self.user_reference(responder)}]
                if acknowledged else []
            ),
            "basic_alert_grouping": None,
            "alert_grouping": None,
            "urgency": incident.urgency,
            "priority": priority,
            "resolved_at": self.time(incident.resolved_at),
            "resolve_reason": None,
        }
