"""Jira over its REST wire formats: Cloud v3 (`/rest/api/3`) and Data Center v2 (`/rest/api/2`).

One Jira world (`sandbox.jira_issues`), two faces, because a real organisation runs one or the other:
- `/rest/api/3/...` is a Jira Cloud site: `serverInfo` says `deploymentType: "Cloud"`; search is the
  enhanced JQL search `GET/POST /rest/api/3/search/jql` (`nextPageToken` paging, no `total`, `isLast`;
  unbounded JQL refused; default fields only `id`); the retired `/rest/api/3/search` answers 410;
  users carry `accountId` and hide their e-mail unless they allow it; the description is an
  Atlassian Document Format tree; sprints are objects. Auth: basic (e-mail + API token) or bearer.
- `/rest/api/2/...` is a Data Center server: `deploymentType: "Server"`; search is
  `GET/POST /rest/api/2/search` with `startAt`/`maxResults`/`total`; users carry `name`/`key` and their
  e-mail; the description is a string; sprints are the Greenhopper strings DC still returns. Auth:
  bearer personal access token (or basic).
Times are rendered as Jira does, `2026-03-02T10:15:00.000+0100`, in the site's time zone (the API
user's profile zone, as `myself.timeZone` says): Europe/Berlin for Cloud, America/New_York for Data
Center, so offsets change with daylight saving. JQL dates (`updated >= "2026-03-02 10:15"`) are read in
that zone too, as Jira reads them.

The JQL understood is the subset connectors send: clauses joined by AND on `project` (= / in),
`issuetype`/`type` (= / in), `key` (=), `updated`/`created` (>=, >, <=, <) with "yyyy-MM-dd HH:mm" or
"yyyy-MM-dd", optional parentheses, and `ORDER BY` on updated, created, key, id. Anything else is a
400 with Jira's `errorMessages` body, as is a project that does not exist.
A missing credential is a 401; `JiraApi.revoked_tokens` lets a test make a token be refused the way a
wrong or revoked one is.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import re
import threading
import zoneinfo

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.faults import Fault
from sandbox.jira_issues import STATUSES, JiraHistory, JiraTicket, JiraWorld, generate_jira
from sandbox.organisation import Organisation
from sandbox.rng import stable_sha
from sandbox.web import json_response

CLOUD, DATA_CENTER = "3", "2"
SITE_ZONES = {CLOUD: "Europe/Berlin", DATA_CENTER: "America/New_York"}
#: Custom field ids as each flavour names them (Cloud: "Story point estimate"; DC: "Story Points").
STORY_POINTS_FIELD = {CLOUD: ("customfield_10016", "Story point estimate"), DATA_CENTER: ("customfield_10106", "Story Points")}
SPRINT_FIELD = {CLOUD: "customfield_10020", DATA_CENTER: "customfield_10104"}
CATEGORIES = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
ISSUE_TYPE_IDS = {"Story": "10001", "Task": "10002", "Bug": "10004", "Incident": "10010"}
PRIORITY_IDS = {"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}
RESOLUTION_IDS = {"Done": "10000", "Won't Do": "10001"}
#: Cloud answers at most this many issues a page when fields are requested (fewer than maxResults).
CLOUD_PAGE_CAP = 100
DC_PAGE_CAP = 1000
MAX_RESULTS_LIMIT = 5000
SEARCH_REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
INVALID_TOKEN = "The provided next page token is invalid or expired. Run the search again without nextPageToken."
UNBOUNDED = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
POST_BODY_FIELDS = {
    "jql", "nextPageToken", "maxResults", "fields", "expand", "properties", "fieldsByKeys", "failFast",
    "reconcileIssues", "startAt", "validateQuery",
}

ROUTES = (
    ("serverInfo", "jira.server_info"),
    ("myself", "jira.myself"),
    ("field", "jira.fields"),
    ("status", "jira.statuses"),
    ("search", "jira.search"),
    ("search/jql", "jira.search_jql"),
    ("issue/<key>/changelog", "jira.issue_changelog"),
)
#: Read-only searches Jira also takes as POST (the JQL in a JSON body); the server lets these through.
POST_ENDPOINTS = frozenset({"jira.search", "jira.search_jql"})


def rules() -> list[Rule]:
    return [
        Rule(f"/rest/api/<any('2','3'):version>/{path}", endpoint=endpoint) for path, endpoint in ROUTES
    ]


def error(status: int, *messages: str, headers: dict[str, str] | None = None) -> Response:
    """Jira's error envelope: `{"errorMessages": [...], "errors": {}}`."""
    return json_response({"errorMessages": list(messages), "errors": {}}, status, headers)


def fault_response(fault: Fault) -> Response:
    if fault.kind == "rate_limit":
        reset = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=fault.retry_after or 1)
        headers = {
            "Retry-After": str(fault.retry_after or 1),
            "X-RateLimit-Limit": "100",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%MZ"),
            "RateLimit-Reason": "jira-burst-based",
        }
        return error(429, "Rate limit exceeded.", headers=headers)
    if fault.kind == "server_error":
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
        return error(fault.status or 500, "Internal server error", headers=headers)
    if fault.kind == "expired_cursor":
        return error(400, INVALID_TOKEN)
    raise ValueError(f"jira cannot serve a {fault.kind} fault")


def jira_time(value: dt.datetime, zone: zoneinfo.ZoneInfo) -> str:
    """`2026-03-02T10:15:00.000+0100`: milliseconds and an offset without a colon, in the site's zone."""
    local = value.astimezone(zone)
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


# --- JQL ----------------------------------------------------------------------------------------------


class JqlError(ValueError):
    pass


@dataclasses.dataclass
class Query:
    projects: set[str] | None = None
    issue_types: set[str] | None = None
    keys: set[str] | None = None
    bounds: list[tuple[str, str, dt.datetime]] = dataclasses.field(default_factory=list)  # (field, op, value)
    order: list[tuple[str, bool]] = dataclasses.field(default_factory=list)  # (field, descending)

    @property
    def bounded(self) -> bool:
        return bool(self.projects or self.issue_types or self.keys or self.bounds)


_TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|\'[^\']*\')|(?P<op>>=|<=|!=|=|>|<|\(|\)|,)|(?P<word>[^\s=<>!(),"\']+))')
_ORDERABLE = {"updated", "created", "key", "id"}


def _tokens(text: str) -> list[str]:
    tokens, position = [], 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(f"Error in the JQL Query: the character '{text[position]}' is a reserved JQL character.")
        tokens.append(match.group(0).strip())
        position = match.end()
    return [t for t in tokens if t]


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1].replace('\\"', '"')
    return token


def _jql_time(value: str, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    for pattern in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(value, pattern).replace(tzinfo=zone)
        except ValueError:
            continue
    raise JqlError(
        f"Date value '{value}' for field 'updated' is invalid. Valid formats include: "
        "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'."
    )


def parse_jql(text: str, zone: zoneinfo.ZoneInfo) -> Query:
    """Parse the supported JQL subset, or raise `JqlError` with a message in Jira's words."""
    tokens = _tokens(text)
    lowered = [t.lower() for t in tokens]
    query = Query()
    order_at = next((i for i in range(len(tokens) - 1) if lowered[i] == "order" and lowered[i + 1] == "by"), None)
    where, order = (tokens[:order_at], tokens[order_at + 2 :]) if order_at is not None else (tokens, [])
    where = [t for t in where if t not in ("(", ")")]  # AND-only: grouping changes nothing
    position = 0
    while position < len(where):
        if position > 0:
            if where[position].lower() != "and":
                raise JqlError(
                    f"Error in the JQL Query: Expecting either 'OR' or 'AND' but got '{where[position]}'."
                    if where[position].lower() != "or"
                    else "Error in the JQL Query: the sandbox understands clauses joined by AND only (got 'OR')."
                )
            position += 1
        if position + 2 > len(where):
            raise JqlError("Error in the JQL Query: Expecting a field name, an operator and a value.")
        field_token = where[position]
        field, op = field_token.lower(), where[position + 1].lower()
        position += 2
        if op == "in" or (op == "not" and position < len(where) and where[position].lower() == "in"):
            if op == "not":
                raise JqlError("Error in the JQL Query: the sandbox does not support 'not in'.")
            values = []
            while position < len(where) and where[position] != "," and not (values and where[position].lower() == "and"):
                values.append(_unquote(where[position]))
                position += 1
                if position < len(where) and where[position] == ",":
                    position += 1
            value_set = set(values)
        else:
            if position >= len(where):
                raise JqlError(f"Error in the JQL Query: Expecting a value after '{op}'.")
            value_set = {_unquote(where[position])}
            position += 1
        if field == "project":
            if op not in ("=", "in"):
                raise JqlError(f"The operator '{op}' is not supported by the 'project' field.")
            query.projects = {v.upper() for v in value_set}
        elif field in ("issuetype", "type"):
            if op not in ("=", "in"):
                raise JqlError(f"The operator '{op}' is not supported by the 'issuetype' field.")
            query.issue_types = {v.casefold() for v in value_set}
        elif field in ("key", "issuekey", "issue"):
            if op not in ("=", "in"):
                raise JqlError(f"The operator '{op}' is not supported by the 'key' field.")
            query.keys = {v.upper() for v in value_set}
        elif field in ("updated", "created", "updateddate", "createddate"):
            if op not in (">=", ">", "<=", "<"):
                raise JqlError(f"The operator '{op}' is not supported by the '{field}' field in the sandbox.")
            [value] = value_set
            query.bounds.append((field.removesuffix("date"), op, _jql_time(value, zone)))
        else:
            raise JqlError(f"Field '{_unquote(field_token)}' does not exist or you do not have permission to view it.")
    position = 0
    while position < len(order):
        field = order[position].lower()
        if field not in _ORDERABLE:
            raise JqlError(f"Field '{order[position]}' does not exist or you do not have permission to view it.")
        descending = False
        position += 1
        if position < len(order) and order[position].lower() in ("asc", "desc"):
            descending = order[position].lower() == "desc"
            position += 1
        if position < len(order):
            if order[position] != ",":
                raise JqlError(f"Error in the JQL Query: Expecting ',' but got '{order[position]}'.")
            position += 1
        query.order.append((field, descending))
    return query


# --- the API ------------------------------------------------------------------------------------------


class JiraApi:
    def __init__(self, org: Organisation):
        self.org = org
        #: tokens answered like a wrong or revoked credential (401); tests add to it
        self.revoked_tokens: set[str] = set()
        #: Cloud search embeds only an issue's most recent histories (Jira Cloud: 40); the rest is paged
        #: from /rest/api/3/issue/{key}/changelog. Tests lower it to make every changelog truncated.
        self.changelog_limit = 40
        self._world: JiraWorld | None = None
        self._lock = threading.Lock()

    @property
    def world(self) -> JiraWorld:
        """Built on the first Jira request, so serving the other sources never pays for it."""
        with self._lock:
            if self._world is None:
                self._world = generate_jira(self.org)
                self._projects = {p.key: p for p in self._world.projects}
                self._by_project: dict[str, list[JiraTicket]] = {}
                for issue in self._world.issues:
                    self._by_project.setdefault(issue.project_key, []).append(issue)
            return self._world

    def handle(self, request: Request, endpoint: str, args: dict, fault: Fault | None = None) -> Response:
        version = args.get("version", CLOUD)
        refusal = self._authenticate(request, version)
        if refusal is not None:
            return refusal
        if fault is not None and fault.kind not in ("repeat_page", "malformed_json", "slow"):
            return fault_response(fault)
        base = request.host_url.rstrip("/")
        zone = zoneinfo.ZoneInfo(SITE_ZONES[version])
        name = endpoint.split(".", 1)[1]
        if name == "server_info":
            return json_response(self._server_info(base, version))
        if name == "myself":
            return json_response(self._myself(base, version))
        if name == "fields":
            return json_response(self._fields(version))
        if name == "statuses":
            return json_response([self._status(base, version, n) for _, n, _ in STATUSES])
        if name == "issue_changelog":
            if version == DATA_CENTER:
                return error(404, "null for uri: " + request.base_url)
            return self._changelog_page(request, base, zone, args["key"])
        if name == "search":
            if version == CLOUD:
                return error(410, SEARCH_REMOVED)
            return self._search_dc(request, base, zone, fault)
        if version == DATA_CENTER:
            return error(404, "null for uri: " + request.base_url)
        return self._search_cloud(request, base, zone, fault)

    # --- auth ---

    def _authenticate(self, request: Request, version: str) -> Response | None:
        header = request.headers.get("Authorization", "")
        scheme, _, credential = header.partition(" ")
        token = ""
        if scheme.lower() == "basic":
            try:
                user, _, token = base64.b64decode(credential).decode("utf-8").partition(":")
            except (ValueError, UnicodeDecodeError):
                user = ""
            if not user:
                token = ""
        elif scheme.lower() == "bearer":
            token = credential.strip()
        if not token:
            return error(
                401, "You are not authenticated. Authentication required to perform this operation.",
                headers={"WWW-Authenticate": 'Basic realm="protected-area"'},
            )
        if token in self.revoked_tokens:
            headers = {"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"} if version == DATA_CENTER else {}
            return error(401, "Client must be authenticated to access this resource.", headers=headers)
        return None

    # --- catalogue endpoints ---

    def _server_info(self, base: str, version: str) -> dict:
        if version == CLOUD:
            return {
                "baseUrl": base, "displayUrl": base, "version": "1001.0.0-SNAPSHOT", "versionNumbers": [1001, 0, 0],
                "deploymentType": "Cloud", "buildNumber": 100290, "buildDate": "2026-06-30T00:00:00.000+0200",
                "serverTime": jira_time(self._observed_at(), zoneinfo.ZoneInfo(SITE_ZONES[version])),
                "scmInfo": stable_sha("jira-cloud"), "serverTitle": "Jira", "defaultLocale": {"locale": "en_US"},
                "serverTimeZone": "Etc/UTC",
            }
        return {
            "baseUrl": base, "version": "9.12.15", "versionNumbers": [9, 12, 15], "deploymentType": "Server",
            "buildNumber": 9120015, "buildDate": "2024-10-29T00:00:00.000-0400",
            "serverTime": jira_time(self._observed_at(), zoneinfo.ZoneInfo(SITE_ZONES[version])),
            "scmInfo": stable_sha("jira-dc"), "serverTitle": "Jira",
        }

    def _observed_at(self) -> dt.datetime:
        return self.org.observed_at - dt.timedelta(seconds=1)

    def _myself(self, base: str, version: str) -> dict:
        user = {
            "self": f"{base}/rest/api/{version}/user?accountId=557058:sandbox-integration",
            "displayName": "Impact Warehouse integration",
            "active": True,
            "timeZone": SITE_ZONES[version],
            "locale": "en_US",
        }
        if version == CLOUD:
            user.update({"accountId": "557058:sandbox-integration", "accountType": "atlassian", "emailAddress": ""})
        else:
            user.update({"self": f"{base}/rest/api/2/user?username=impact", "name": "impact", "key": "JIRAUSER10000",
                         "emailAddress": f"impact@{self.org.config.email_domain}"})
        return user

    def _fields(self, version: str) -> list[dict]:
        points_id, points_name = STORY_POINTS_FIELD[version]
        sprint_id = SPRINT_FIELD[version]

        def system(field_id: str, name: str, kind: str, clause: str | None = None) -> dict:
            return {"id": field_id, "key": field_id, "name": name, "custom": False, "orderable": True,
                    "navigable": True, "searchable": True, "clauseNames": [clause or field_id],
                    "schema": {"type": kind, "system": field_id}}

        def custom(field_id: str, name: str, schema: dict) -> dict:
            number = int(field_id.rsplit("_", 1)[1])
            return {"id": field_id, "key": field_id, "name": name, "untranslatedName": name, "custom": True,
                    "orderable": True, "navigable": True, "searchable": True,
                    "clauseNames": [f"cf[{number}]", name], "schema": {**schema, "customId": number}}

        return [
            system("summary", "Summary", "string"),
            system("issuetype", "Issue Type", "issuetype", "type"),
            system("project", "Project", "project"),
            system("status", "Status", "status"),
            system("priority", "Priority", "priority"),
            system("assignee", "Assignee", "user"),
            system("reporter", "Reporter", "user"),
            system("created", "Created", "datetime", "createdDate"),
            system("updated", "Updated", "datetime", "updatedDate"),
            system("resolutiondate", "Resolved", "datetime", "resolved"),
            system("resolution", "Resolution", "resolution"),
            system("labels", "Labels", "array"),
            system("components", "Component/s", "array", "component"),
            system("description", "Description", "string"),
            custom(points_id, points_name, {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}),
            custom(sprint_id, "Sprint", {"type": "array", "items": "json" if version == CLOUD else "string",
                                         "custom": "com.pyxis.greenhopper.jira:gh-sprint"}),
            custom("customfield_10021", "Flagged", {"type": "array", "items": "option",
                                                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multicheckboxes"}),
        ]

    def _status(self, base: str, version: str, name: str) -> dict:
        status_id, category = self._status_of(name)
        category_id, category_name, colour = CATEGORIES[category]
        return {
            "self": f"{base}/rest/api/{version}/status/{status_id}",
            "description": "",
            "iconUrl": f"{base}/images/icons/statuses/generic.png",
            "name": name,
            "untranslatedName": name,
            "id": status_id,
            "statusCategory": {
                "self": f"{base}/rest/api/{version}/statuscategory/{category_id}",
                "id": category_id, "key": category, "colorName": colour, "name": category_name,
            },
        }

    def _status_of(self, name: str) -> tuple[str, str]:
        for status_id, status_name, category in STATUSES:
            if status_name == name:
                return status_id, category
        raise KeyError(name)

    # --- search ---

    def _params(self, request: Request) -> tuple[dict, Response | None]:
        """Search parameters: the query string on GET, the JSON body on POST (as Jira reads them)."""
        if request.method == "GET":
            params: dict = {k: request.args.getlist(k) for k in request.args}
            flat = {k: (v[0] if len(v) == 1 else v) for k, v in params.items()}
            if "fields" in params:
                flat["fields"] = [f for value in params["fields"] for f in value.split(",") if f]
            return flat, None
        if not (request.mimetype or "").endswith("json"):
            return {}, json_response(
                {"title": "Unsupported Media Type", "detail": f"Content-Type '{request.mimetype or 'null'}' is not supported.",
                 "instance": request.path}, 415)
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return {}, error(400, "Invalid request payload. Refer to the REST API documentation and try again.")
        unknown = sorted(set(body) - POST_BODY_FIELDS)
        if unknown:
            return {}, error(400, f"Unrecognized field \"{unknown[0]}\". Refer to the REST API documentation and try again.")
        params = {k: v for k, v in body.items() if v is not None}
        if isinstance(params.get("fields"), str):
            params["fields"] = [f for f in params["fields"].split(",") if f]
        if isinstance(params.get("expand"), list):
            params["expand"] = ",".join(params["expand"])
        return params, None

    def _matching(self, query: Query) -> list[JiraTicket] | Response:
        self.world  # noqa: B018 - builds the indexes on first use
        if query.projects is not None:
            missing = sorted(p for p in query.projects if p not in self._projects)
            if missing:
                return error(400, *[f"The value '{p}' does not exist for the field 'project'." for p in missing])
            pool = [i for p in sorted(query.projects) for i in self._by_project[p]]
        else:
            pool = list(self.world.issues)
        out = []
        for issue in pool:
            if query.issue_types is not None and issue.issue_type.casefold() not in query.issue_types:
                continue
            if query.keys is not None and issue.key not in query.keys:
                continue
            if not all(_compare(issue.updated_at if f == "updated" else issue.created_at, op, v) for f, op, v in query.bounds):
                continue
            out.append(issue)
        for field, descending in reversed(query.order or [("created", True)]):
            out.sort(key=_order_key(field), reverse=descending)
        return out

    def _prepare(self, request: Request, zone: zoneinfo.ZoneInfo, *, cloud: bool):
        params, refusal = self._params(request)
        if refusal is not None:
            return None, None, refusal
        jql = str(params.get("jql") or "")
        try:
            query = parse_jql(jql, zone)
        except JqlError as problem:
            return None, None, error(400, str(problem))
        if cloud and not query.bounded:
            return None, None, error(400, UNBOUNDED)
        try:
            max_results = int(params.get("maxResults", 50))
        except (TypeError, ValueError):
            return None, None, error(400, "maxResults: must be a number.")
        if cloud and not 1 <= max_results <= MAX_RESULTS_LIMIT:
            return None, None, error(400, f"The maxResults parameter must be between 1 and {MAX_RESULTS_LIMIT}.")
        params["maxResults"] = max_results
        params["_jql"] = jql
        return params, query, None

    def _search_cloud(self, request: Request, base: str, zone: zoneinfo.ZoneInfo, fault: Fault | None) -> Response:
        params, query, refusal = self._prepare(request, zone, cloud=True)
        if refusal is not None:
            return refusal
        matches = self._matching(query)
        if isinstance(matches, Response):
            return matches
        fields = params.get("fields") or ["id"]
        if isinstance(fields, str):
            fields = [fields]
        only_ids = set(fields) <= {"id", "key"}
        size = params["maxResults"] if only_ids else min(params["maxResults"], CLOUD_PAGE_CAP)
        offset = 0
        token = params.get("nextPageToken")
        if token:
            offset = _decode_token(str(token), params["_jql"])
            if offset is None:
                return error(400, INVALID_TOKEN)
        chunk = matches[offset : offset + size]
        if fault is not None and fault.kind == "repeat_page" and offset > 0:
            chunk = matches[max(offset - size, 0) : offset]
        expand = {e.strip() for e in str(params.get("expand") or "").split(",") if e.strip()}
        payload: dict = {"issues": [self._issue(base, CLOUD, zone, i, fields, "changelog" in expand) for i in chunk]}
        if offset + size < len(matches):
            payload["nextPageToken"] = _encode_token(params["_jql"], offset + size)
            payload["isLast"] = False
        else:
            payload["isLast"] = True
        return json_response(payload)

    def _search_dc(self, request: Request, base: str, zone: zoneinfo.ZoneInfo, fault: Fault | None) -> Response:
        params, query, refusal = self._prepare(request, zone, cloud=False)
        if refusal is not None:
            return refusal
        matches = self._matching(query)
        if isinstance(matches, Response):
            return matches
        try:
            start_at = max(int(params.get("startAt", 0)), 0)
        except (TypeError, ValueError):
            return error(400, "startAt: must be a number.")
        size = max(0, min(params["maxResults"], DC_PAGE_CAP))
        fields = params.get("fields") or ["*navigable"]
        if isinstance(fields, str):
            fields = [fields]
        chunk = matches[start_at : start_at + size]
        if fault is not None and fault.kind == "repeat_page" and start_at > 0:
            chunk = matches[max(start_at - size, 0) : start_at]
        expand = {e.strip() for e in str(params.get("expand") or "").split(",") if e.strip()}
        return json_response({
            "expand": "schema,names",
            "startAt": start_at,
            "maxResults": size,
            "total": len(matches),
            "issues": [self._issue(base, DATA_CENTER, zone, i, fields, "changelog" in expand) for i in chunk],
        })

    def _changelog_page(self, request: Request, base: str, zone: zoneinfo.ZoneInfo, key: str) -> Response:
        """`GET /rest/api/3/issue/{key}/changelog`: a PageBean of histories, oldest first."""
        self.world  # noqa: B018 - builds the indexes on first use
        issue = next((i for i in self._by_project.get(key.rsplit("-", 1)[0].upper(), []) if i.key == key.upper()
                      or str(i.issue_id) == key), None)
        if issue is None:
            return error(404, "Issue does not exist or you do not have permission to see it.")
        try:
            start = max(int(request.args.get("startAt", 0)), 0)
            size = min(max(int(request.args.get("maxResults", 100)), 1), 100)
        except ValueError:
            return error(400, "startAt and maxResults must be numbers.")
        values = issue.histories[start : start + size]
        last = start + size >= len(issue.histories)
        page = {
            "self": f"{base}/rest/api/3/issue/{key}/changelog?maxResults={size}&startAt={start}",
            "maxResults": size, "startAt": start, "total": len(issue.histories), "isLast": last,
            "values": [self._history(base, CLOUD, zone, h) for h in values],
        }
        if not last:
            page["nextPage"] = f"{base}/rest/api/3/issue/{key}/changelog?maxResults={size}&startAt={start + size}"
        return json_response(page)

    # --- rendering ---

    def _user(self, base: str, version: str, login: str | None) -> dict | None:
        if login is None:
            return None
        developer = self.world.developers[login]
        avatar = f"https://avatar.sandbox.invalid/{stable_sha(login)[:12]}"
        avatars = {size: f"{avatar}?s={size[:2]}" for size in ("48x48", "24x24", "16x16", "32x32")}
        if version == CLOUD:
            user = {
                "self": f"{base}/rest/api/3/user?accountId={developer.jira_account_id}",
                "accountId": developer.jira_account_id,
                "avatarUrls": avatars,
                "displayName": developer.display_name,
                "active": True,
                "timeZone": SITE_ZONES[CLOUD],
                "accountType": "atlassian",
            }
            if int(stable_sha("jira-email-visible", login)[:2], 16) < 192:  # a quarter hide their e-mail
                user["emailAddress"] = developer.email
            return user
        username = developer.email.split("@", 1)[0]
        return {
            "self": f"{base}/rest/api/2/user?username={username}",
            "name": username,
            "key": f"JIRAUSER{developer.user_id + 10_000}",
            "emailAddress": developer.email,
            "avatarUrls": avatars,
            "displayName": developer.display_name,
            "active": True,
            "timeZone": SITE_ZONES[DATA_CENTER],
        }

    def _sprint(self, version: str, sprint_id: int, zone: zoneinfo.ZoneInfo) -> dict | str:
        sprint = self.world.sprints[sprint_id]
        closed = sprint.state == "closed"
        if version == CLOUD:
            out = {"id": sprint.sprint_id, "name": sprint.name, "state": sprint.state, "boardId": sprint.board_id,
                   "goal": "", "startDate": _zulu(sprint.start), "endDate": _zulu(sprint.end)}
            if closed:
                out["completeDate"] = _zulu(sprint.end)
            return out
        def when(value: dt.datetime | None) -> str:
            return "<null>" if value is None else value.astimezone(zone).isoformat(timespec="milliseconds")
        return (
            f"com.atlassian.greenhopper.service.sprint.Sprint@{stable_sha('sprint', sprint_id)[:7]}[id={sprint.sprint_id},"
            f"rapidViewId={sprint.board_id},state={sprint.state.upper()},name={sprint.name},"
            f"startDate={when(sprint.start)},endDate={when(sprint.end)},completeDate={when(sprint.end if closed else None)},"
            f"activatedDate={when(sprint.start)},sequence={sprint.sprint_id},goal=,autoStartStop=false,synced=false]"
        )

    def _issue(
        self, base: str, version: str, zone: zoneinfo.ZoneInfo, issue: JiraTicket, fields: list[str], changelog: bool
    ) -> dict:
        project = self._projects[issue.project_key]
        api = f"{base}/rest/api/{version}"
        status_id, category = self._status_of(issue.status)
        description_text = f"{issue.summary}. Reported in {project.name}."
        if version == CLOUD:
            paragraphs = [{"type": "paragraph", "content": [{"type": "text", "text": description_text}]}]
            if issue.pagerduty_url:  # a pasted link: Jira Cloud keeps it as a link mark on the text
                paragraphs.append({"type": "paragraph", "content": [
                    {"type": "text", "text": "Paged: "},
                    {"type": "text", "text": issue.pagerduty_url, "marks": [{"type": "link", "attrs": {"href": issue.pagerduty_url}}]},
                ]})
            description: object = {"type": "doc", "version": 1, "content": paragraphs}
        else:  # wiki markup
            description = description_text + (f"\n\nPaged: [{issue.pagerduty_url}]" if issue.pagerduty_url else "")
        points_id, _ = STORY_POINTS_FIELD[version]
        category_changes = [h.at for h in issue.transitions]
        everything = {
            "summary": issue.summary,
            "issuetype": {
                "self": f"{api}/issuetype/{ISSUE_TYPE_IDS[issue.issue_type]}", "id": ISSUE_TYPE_IDS[issue.issue_type],
                "description": "", "iconUrl": f"{base}/images/icons/issuetypes/{issue.issue_type.lower()}.svg",
                "name": issue.issue_type, "subtask": False, "hierarchyLevel": 0,
            },
            "project": {
                "self": f"{api}/project/{project.project_id}", "id": str(project.project_id), "key": project.key,
                "name": project.name, "projectTypeKey": "software", "simplified": False,
            },
            "status": self._status(base, version, issue.status),
            "priority": {"self": f"{api}/priority/{PRIORITY_IDS[issue.priority]}", "iconUrl": f"{base}/images/icons/priorities/{issue.priority.lower()}.svg",
                         "name": issue.priority, "id": PRIORITY_IDS[issue.priority]},
            "assignee": self._user(base, version, issue.assignee),
            "reporter": self._user(base, version, issue.reporter),
            "creator": self._user(base, version, issue.reporter),
            "created": jira_time(issue.created_at, zone),
            "updated": jira_time(issue.updated_at, zone),
            "resolutiondate": jira_time(issue.resolution_date, zone) if issue.resolution_date else None,
            "resolution": None if issue.resolution is None else {
                "self": f"{api}/resolution/{RESOLUTION_IDS[issue.resolution]}", "id": RESOLUTION_IDS[issue.resolution],
                "description": "", "name": issue.resolution,
            },
            "statuscategorychangedate": jira_time(category_changes[-1] if category_changes else issue.created_at, zone),
            "labels": list(issue.labels),
            "components": [
                {"self": f"{api}/component/{int(stable_sha(project.key, c)[:6], 16)}", "id": str(int(stable_sha(project.key, c)[:6], 16)), "name": c}
                for c in issue.components
            ],
            "description": description,
            points_id: issue.story_points,
            SPRINT_FIELD[version]: [self._sprint(version, s, zone) for s in issue.sprint_ids] or None,
            "customfield_10021": None,
        }
        if "*all" in fields or "*navigable" in fields:
            chosen = everything
        else:
            chosen = {name: everything[name] for name in fields if name in everything}
        out: dict = {
            "expand": "operations,versionedRepresentations,editmeta,changelog,renderedFields",
            "id": str(issue.issue_id),
            "self": f"{api}/issue/{issue.issue_id}",
            "key": issue.key,
        }
        if changelog:
            kept = issue.histories
            if version == CLOUD and len(kept) > self.changelog_limit:
                kept = kept[len(kept) - self.changelog_limit :]  # the most recent ones; the oldest are left out
            histories = [self._history(base, version, zone, h) for h in kept]
            out["changelog"] = {"startAt": len(issue.histories) - len(kept), "maxResults": len(histories),
                                "total": len(issue.histories), "histories": histories}
        if chosen or not set(fields) <= {"id", "key"}:
            out["fields"] = chosen
        return out

    def _history(self, base: str, version: str, zone: zoneinfo.ZoneInfo, history: JiraHistory) -> dict:
        if history.field == "status":
            item = {
                "field": "status", "fieldtype": "jira", "fieldId": "status",
                "from": self._status_of(history.from_value)[0] if history.from_value else None,
                "fromString": history.from_value,
                "to": self._status_of(history.to_value)[0] if history.to_value else None,
                "toString": history.to_value,
            }
        elif history.field == "assignee":
            before = self.world.developers.get(history.from_value or "")
            after = self.world.developers.get(history.to_value or "")
            item = {
                "field": "assignee", "fieldtype": "jira", "fieldId": "assignee",
                "from": before.jira_account_id if before else None, "fromString": before.display_name if before else None,
                "to": after.jira_account_id if after else None, "toString": after.display_name if after else None,
            }
            if version == CLOUD:
                item.update({"tmpFromAccountId": item["from"], "tmpToAccountId": item["to"]})
        else:
            item = {"field": history.field, "fieldtype": "custom", "fieldId": STORY_POINTS_FIELD[version][0],
                    "from": history.from_value, "fromString": history.from_value,
                    "to": history.to_value, "toString": history.to_value}
        return {
            "id": str(history.history_id),
            "author": self._user(base, version, history.author),
            "created": jira_time(history.at, zone),
            "items": [item],
        }


def _zulu(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


def _compare(value: dt.datetime, op: str, bound: dt.datetime) -> bool:
    if op == ">=":
        return value >= bound
    if op == ">":
        return value > bound
    if op == "<=":
        return value <= bound
    return value < bound


def _order_key(field: str):
    if field == "updated":
        return lambda i: i.updated_at
    if field == "created":
        return lambda i: i.created_at
    if field == "id":
        return lambda i: i.issue_id
    return lambda i: (i.project_key, int(i.key.rsplit("-", 1)[1]))


def _encode_token(jql: str, offset: int) -> str:
    raw = json.dumps({"q": hashlib.sha1(jql.encode()).hexdigest()[:12], "o": offset}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode_token(token: str, jql: str) -> int | None:
    """The offset a token stands for, or None if it is not one this query was given."""
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["q"] != hashlib.sha1(jql.encode()).hexdigest()[:12]:
            return None
        return int(data["o"])
    except (ValueError, KeyError, TypeError):
        return None
