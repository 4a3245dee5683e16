"""Faults on demand: what a connector meets in production, served when a test asks for it.

Why: retries, backoff and rate-limit waits are the code paths that never run against a healthy
server, so they rot unless something can make them run on purpose, at a known request, every time.

Two ways to say where faults go, combinable in one `FaultPlan`:

- **script**: `(match, nth, fault)` entries. `match` is an endpoint name or glob (`"github.pulls.list"`,
  `"github.pulls.*"`, `"anthropic.claude_code_usage"`) or, when it contains a `/`, a glob on the
  request path (`"/repos/*/pulls"`; the GHES `/api/v3` prefix is ignored). `nth` is 1-based and counts
  the requests that match *and that the fault can apply to* (a `repeat_page` can only apply to a
  page after the first, an `expired_cursor` only to a request carrying a cursor), from the moment the
  plan was installed. `times` consecutive such requests get the fault (to outlast a retry budget).
- **rates**: per source, a probability that a request gets one of that source's fault kinds. The draw
  is a hash of (seed, source, method + path + query, how many times that exact request was seen), so
  the same request sequence gives the same faults on any machine and whatever the threads'
  interleaving, and a retry of a faulted request is a fresh draw. The kinds drawn from are
  `rate_faults[source]` (default: GitHub secondary limit 403, 429, 500, 502, 503; Anthropic 429, 500,
  502, 503); a drawn page fault that cannot apply to the request (page 1) leaves it healthy.

Scripted entries win over rates. Every injected fault is recorded in `FaultPlan.fired`.

A third knob rewrites healthy answers instead of failing them: `patches`, `RecordPatch`es that add
fields to, or drop fields from, every record of a matching 200 JSON answer. `schema_drift(source)` is
the API changing its schema under a connector (an unknown extra field on every record, an optional
field the docs allow to be absent left out); `bad_records(source)` is a page whose records break a
promise of the API (time running backwards, an enum value outside the documented set, two records for
one key), which the landing's Great Expectations suite must catch. What was patched is counted in
`FaultPlan.patched` (endpoint -> records).

Responses follow the providers' documentation:
- GitHub "Rate limits for the REST API": exceeding the primary limit answers 403 or 429 with
  `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (epoch seconds); a secondary limit answers 403
  or 429 with a message saying so and possibly `retry-after`. PyGithub recognises the secondary
  message by its prefix "You have exceeded a secondary rate limit" (github/Requester.py).
- Anthropic "Errors": `{"type": "error", "error": {"type", "message"}, "request_id"}`; 429
  `rate_limit_error` (with `retry-after`), 500 `api_error`, 529 `overloaded_error`, 400
  `invalid_request_error`. Anthropic documents no wording for an expired `page` cursor: ours is
  invalid_request_error with a message naming the `page` parameter.
- PagerDuty REST v2 (`sandbox.pagerduty_api`): `{"error": {"message", "code"}}`; 429 "Rate Limit Exceeded"
  with `Retry-After`, 5xx "Internal Error" (code 2000). Its pages are offsets, so `repeat_page` applies to
  a request with `offset` > 0; a path glob starting with `/pagerduty/` selects this source.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import threading
from collections import Counter
from typing import Any, Iterable, Sequence

from werkzeug.wrappers import Request

SOURCES = ("github", "anthropic", "pagerduty", "jira")
KINDS = (
    "rate_limit",  # 429 + Retry-After
    "secondary_rate_limit",  # GitHub: 403 (or 429) + Retry-After + the documented message
    "primary_rate_limit",  # GitHub: 403 (or 429), X-RateLimit-Remaining 0, X-RateLimit-Reset
    "server_error",  # 500 / 502 / 503 / 504 (Anthropic also 529 overloaded)
    "slow",  # answer normally after `delay` seconds
    "malformed_json",  # 200 whose body is cut in half (a truncated transfer)
    "repeat_page",  # the previous page's items again, with this page's Link / next_page
    "expired_cursor",  # Anthropic: 400 invalid_request_error for the `page` cursor
)
#: Which kinds each source can serve (GitHub pages by number, so it has no cursor to expire).
SUPPORTED = {
    "github": frozenset(KINDS) - {"expired_cursor"},
    "anthropic": frozenset(KINDS) - {"secondary_rate_limit", "primary_rate_limit"},
    # PagerDuty pages by offset (a page after the first has offset > 0); no cursor, no GitHub-style limits.
    "pagerduty": frozenset({"rate_limit", "server_error", "slow", "malformed_json", "repeat_page"}),
    # Jira: Cloud pages by `nextPageToken` (which can expire: 400), Data Center by `startAt`.
    "jira": frozenset(KINDS) - {"secondary_rate_limit", "primary_rate_limit"},
}
SERVER_ERROR_STATUSES = {
    "github": (500, 502, 503, 504), "anthropic": (500, 502, 503, 504, 529), "pagerduty": (500, 502, 503, 504),
    "jira": (500, 502, 503, 504),
}
#: Kinds that only make sense on a page after the first.
PAGE_KINDS = frozenset({"repeat_page", "expired_cursor"})


@dataclasses.dataclass(frozen=True)
class Fault:
    """One fault to inject. Build it with the class methods; the fields say what gets advertised."""

    kind: str
    status: int | None = None  # the HTTP status, for kinds that answer with an error
    retry_after: int | None = None  # seconds advertised in Retry-After
    reset_in: int = 1  # seconds from now to X-RateLimit-Reset (primary_rate_limit)
    delay: float = 0.0  # seconds to wait before answering (slow)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(KINDS)}")

    @classmethod
    def rate_limit(cls, retry_after: int = 1) -> "Fault":
        return cls("rate_limit", 429, retry_after=retry_after)

    @classmethod
    def secondary_rate_limit(cls, retry_after: int | None = 1, status: int = 403) -> "Fault":
        """GitHub's secondary limit; `retry_after=None` leaves the header out (GitHub may)."""
        _check_status(status, (403, 429))
        return cls("secondary_rate_limit", status, retry_after=retry_after)

    @classmethod
    def primary_rate_limit(cls, reset_in: int = 1, status: int = 403) -> "Fault":
        _check_status(status, (403, 429))
        return cls("primary_rate_limit", status, reset_in=reset_in)

    @classmethod
    def server_error(cls, status: int = 500, retry_after: int | None = None) -> "Fault":
        _check_status(status, (500, 502, 503, 504, 529))
        return cls("server_error", status, retry_after=retry_after)

    @classmethod
    def slow(cls, seconds: float) -> "Fault":
        return cls("slow", delay=seconds)

    @classmethod
    def malformed_json(cls) -> "Fault":
        return cls("malformed_json")

    @classmethod
    def repeat_page(cls) -> "Fault":
        return cls("repeat_page")

    @classmethod
    def expired_cursor(cls) -> "Fault":
        return cls("expired_cursor", 400)


def _check_status(status: int, allowed: Sequence[int]) -> None:
    if status not in allowed:
        raise ValueError(f"status {status} is not one of {list(allowed)}")


@dataclasses.dataclass(frozen=True)
class ScriptedFault:
    match: str  # endpoint name or glob, or (with a "/") a path glob
    nth: int  # 1-based, among matching requests the fault can apply to
    fault: Fault
    times: int = 1

    def __post_init__(self) -> None:
        if self.nth < 1 or self.times < 1:
            raise ValueError("nth and times count from 1")

    @property
    def source(self) -> str:
        if "/" in self.match:
            if self.match.lstrip("*").startswith("/pagerduty/"):
                return "pagerduty"
            if self.match.lstrip("*").startswith("/rest/api/"):
                return "jira"
            return "anthropic" if self.match.lstrip("*").startswith("/v1/") else "github"
        return self.match.split(".", 1)[0]


@dataclasses.dataclass(frozen=True)
class FiredFault:
    source: str
    endpoint: str
    path: str  # path and query as requested
    kind: str
    status: int | None


DEFAULT_RATE_FAULTS: dict[str, tuple[Fault, ...]] = {
    "github": (
        Fault.secondary_rate_limit(),
        Fault.rate_limit(),
        Fault.server_error(500),
        Fault.server_error(502),
        Fault.server_error(503),
    ),
    "anthropic": (Fault.rate_limit(), Fault.server_error(500), Fault.server_error(502), Fault.server_error(503)),
    "pagerduty": (Fault.rate_limit(), Fault.server_error(500), Fault.server_error(502), Fault.server_error(503)),
    "jira": (Fault.rate_limit(), Fault.server_error(500), Fault.server_error(502), Fault.server_error(503)),
}


#: The unknown field schema drift adds to every record (a nested object, the hardest shape to ignore).
DRIFT_FIELD = "x_sandbox_added_field"
DRIFT_VALUE: dict[str, Any] = {"introduced": "2026-07", "values": [1, 2]}


@dataclasses.dataclass(frozen=True)
class RecordPatch:
    """Rewrite every record of matching healthy JSON answers (status 200).

    `match` is an endpoint name or glob (as in `ScriptedFault`, without path globs); `records` the dotted
    path from the body to the list of records ("" when the body is the list; a body that is one object is
    one record); `add` sets fields (dotted paths reach into nested objects, creating them); `drop`
    removes fields (dotted paths; a missing one is no error).
    """

    match: str
    records: str = ""
    add: tuple[tuple[str, Any], ...] = ()
    drop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if "/" in self.match:
            raise ValueError("a RecordPatch matches endpoint names, not paths")
        if self.source not in SOURCES:
            raise ValueError(f"unknown patch source {self.source!r}; known: {', '.join(SOURCES)}")

    @property
    def source(self) -> str:
        return self.match.split(".", 1)[0]

    def apply(self, body: Any) -> int:
        """Patch `body` in place; the number of records patched."""
        found = _get(body, self.records) if self.records else body
        records = found if isinstance(found, list) else [found] if isinstance(found, dict) else []
        for record in records:
            if not isinstance(record, dict):
                continue
            for path in self.drop:
                _drop(record, path)
            for path, value in self.add:
                _set(record, path, json.loads(json.dumps(value)))  # a fresh copy per record
        return sum(isinstance(r, dict) for r in records)


def _get(body: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(body, dict):
            return None
        body = body.get(part)
    return body


def _set(record: dict, path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        child = record.get(part)
        if not isinstance(child, dict):
            child = record[part] = {}
        record = child
    record[last] = value


def _drop(record: dict, path: str) -> None:
    *parents, last = path.split(".")
    parent = _get(record, ".".join(parents)) if parents else record
    if isinstance(parent, dict):
        parent.pop(last, None)


def _drift(match: str, records: str, drop: str, extra_at: str = "") -> RecordPatch:
    field = f"{extra_at}.{DRIFT_FIELD}" if extra_at else DRIFT_FIELD
    return RecordPatch(match, records, add=((field, DRIFT_VALUE),), drop=(drop,) if drop else ())


#: Per source: which optional field schema drift leaves out (fields the providers document as absent
#: in some answers), and where it adds the unknown one.
SCHEMA_DRIFT: dict[str, tuple[RecordPatch, ...]] = {
    # GitHub: `merge_commit_sha` is null until GitHub has computed the merge commit; `state_reason` is
    # one of the issue fields GitHub added later and leaves out on older servers (GHES).
    "github": (
        _drift("github.pulls.list", "", "merge_commit_sha"),
        _drift("github.pulls.get", "", "merge_commit_sha"),
        _drift("github.pulls.reviews", "", ""),
        _drift("github.issues.list", "", "state_reason"),
        _drift("github.issues.get", "", "state_reason"),
        # GraphQL answers exactly the selection: drift there is a nullable field answered null.
        RecordPatch("github.graphql", "data.repository.pullRequests.nodes",
                    add=((DRIFT_FIELD, DRIFT_VALUE), ("mergeCommit", None))),
    ),
    # Jira: `priority` is absent when the field is hidden from the project's screens.
    "jira": (
        _drift("jira.search_jql", "issues", "fields.priority", extra_at="fields"),
        _drift("jira.search", "issues", "fields.priority", extra_at="fields"),
    ),
    # PagerDuty: `priority` is only present on accounts with incident priorities enabled.
    "pagerduty": (_drift("pagerduty.incidents.list", "incidents", "priority"),),
    # Anthropic: `terminal_type` is only reported when Claude Code knows the terminal.
    "anthropic": (_drift("anthropic.claude_code_usage", "data", "terminal_type"),),
}

#: Per source: a page of records that break a promise of the API (what the landing's GE suite catches).
BAD_RECORDS: dict[str, tuple[RecordPatch, ...]] = {
    # time running backwards: an issue closed before it was opened, a pull request created after its
    # last update (REST pull requests have the `repeat_page` fault: page 1's items twice)
    "github": (
        RecordPatch("github.issues.list", "", add=(("closed_at", "2001-01-01T00:00:00Z"),)),
        RecordPatch("github.graphql", "data.repository.pullRequests.nodes",
                    add=(("createdAt", "2099-01-01T00:00:00Z"),)),
    ),
    # an issue created after its last update
    "jira": tuple(
        RecordPatch(endpoint, "issues", add=(("fields.created", "2099-01-01T00:00:00.000+0000"),))
        for endpoint in ("jira.search_jql", "jira.search")
    ),
    # a status outside the documented triggered | acknowledged | resolved
    "pagerduty": (RecordPatch("pagerduty.incidents.list", "incidents", add=(("status", "snoozed"),)),),
    # every record of a day attributed to one actor: two records for one (date, actor) key
    "anthropic": (
        RecordPatch("anthropic.claude_code_usage", "data", add=(
            ("actor", {"type": "user_actor", "email_address": "misattributed@hoco.io"}), ("terminal_type", "vscode"),
        )),
    ),
}


def schema_drift(*sources: str) -> tuple[RecordPatch, ...]:
    """The schema-drift patches of the given sources (every source when none is given)."""
    return tuple(p for source in (sources or tuple(SCHEMA_DRIFT)) for p in SCHEMA_DRIFT[source])


def bad_records(*sources: str) -> tuple[RecordPatch, ...]:
    """The bad-record patches of the given sources (every source when none is given)."""
    return tuple(p for source in (sources or tuple(BAD_RECORDS)) for p in BAD_RECORDS[source])


class FaultPlan:
    """Where and which faults the sandbox injects; install with `SandboxServer(faults=...)` or
    `server.faults = plan` (installing restarts the plan's counting)."""

    def __init__(
        self,
        script: Iterable[ScriptedFault | tuple] = (),
        *,
        rates: dict[str, float] | None = None,
        rate_faults: dict[str, Sequence[Fault]] | None = None,
        seed: int = 0,
        patches: Iterable[RecordPatch] = (),
    ):
        self.script = tuple(s if isinstance(s, ScriptedFault) else ScriptedFault(*s) for s in script)
        self.patches = tuple(patches)
        self.rates = dict(rates or {})
        kinds = {**DEFAULT_RATE_FAULTS, **(rate_faults or {})}
        self.rate_faults = {source: tuple(faults) for source, faults in kinds.items()}
        self.seed = seed
        for entry in self.script:
            _validate(entry.source, entry.fault)
        for source, rate in self.rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate for {source} must be between 0 and 1, got {rate}")
            if not self.rate_faults.get(source):
                raise ValueError(f"no fault kinds given for {source}")
            for fault in self.rate_faults[source]:
                _validate(source, fault)
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget what was seen and fired: counting starts again from the next request."""
        with self._lock:
            self._matched: Counter[int] = Counter()  # script index -> matching applicable requests seen
            self._seen: Counter[str] = Counter()  # source + request key -> occurrences
            self.fired: list[FiredFault] = []
            self.patched: Counter[str] = Counter()  # endpoint -> records rewritten by `patches`

    def decide(self, source: str, endpoint: str, request: Request) -> Fault | None:
        """The fault this request gets, if any; records it in `fired`."""
        path = request.full_path.rstrip("?")
        with self._lock:
            chosen = None
            for index, entry in enumerate(self.script):
                if entry.source != source or not _matches(entry.match, endpoint, request.path):
                    continue
                if not applies(entry.fault, request):
                    continue
                self._matched[index] += 1
                if chosen is None and entry.nth <= self._matched[index] < entry.nth + entry.times:
                    chosen = entry.fault
            rate = self.rates.get(source, 0.0)
            if chosen is None and rate > 0.0:
                key = f"{source} {request.method} {path}"
                self._seen[key] += 1
                draw = _unit(self.seed, key, self._seen[key], "draw")
                if draw < rate:
                    faults = self.rate_faults[source]
                    candidate = faults[int(_unit(self.seed, key, self._seen[key], "kind") * len(faults))]
                    if applies(candidate, request):
                        chosen = candidate
            if chosen is not None:
                self.fired.append(FiredFault(source, endpoint, path, chosen.kind, chosen.status))
            return chosen

    def patch(self, endpoint: str, body: bytes) -> bytes | None:
        """The body of a healthy JSON answer with this plan's record patches applied (None: unchanged)."""
        chosen = [p for p in self.patches if fnmatch.fnmatchcase(endpoint, p.match)]
        if not chosen:
            return None
        try:
            payload = json.loads(body)
        except ValueError:
            return None
        count = sum(p.apply(payload) for p in chosen)
        with self._lock:
            self.patched[endpoint] += count
        return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

    def fired_kinds(self) -> Counter[str]:
        with self._lock:
            return Counter(f.kind for f in self.fired)


def applies(fault: Fault, request: Request) -> bool:
    """Page faults need a page to act on: a GitHub `page` >= 2 (REST) or `after` cursor (GraphQL), an
    Anthropic `page` cursor, a Jira page token or start, a PagerDuty offset."""
    if fault.kind not in PAGE_KINDS:
        return True
    if request.path.startswith("/rest/api/"):  # Jira: a nextPageToken (Cloud) or startAt > 0 (Data Center)
        return _jira_page(fault, request)
    if request.path.startswith("/pagerduty/"):  # PagerDuty: offset pagination
        offset = request.args.get("offset", "0")
        return offset.isdigit() and int(offset) > 0
    if request.path.endswith("/graphql"):  # GitHub GraphQL: a query for a page after the first (`after` cursor)
        body = request.get_json(silent=True)
        variables = body.get("variables") if isinstance(body, dict) else None
        return fault.kind == "repeat_page" and isinstance(variables, dict) and bool(variables.get("after"))
    page = request.args.get("page", "")
    if request.path.startswith("/v1/"):
        return bool(page)
    return page.isdigit() and int(page) >= 2


def _jira_page(fault: Fault, request: Request) -> bool:
    params = request.get_json(silent=True) if request.method == "POST" else request.args
    if not isinstance(params, dict) and not hasattr(params, "get"):
        return False
    if params.get("nextPageToken"):
        return True
    start = str(params.get("startAt") or "0")
    return fault.kind == "repeat_page" and start.isdigit() and int(start) > 0


def _validate(source: str, fault: Fault) -> None:
    if source not in SOURCES:
        raise ValueError(f"unknown fault source {source!r}; known: {', '.join(SOURCES)}")
    if fault.kind not in SUPPORTED[source]:
        raise ValueError(f"{source} cannot serve a {fault.kind} fault")
    if fault.kind == "server_error" and fault.status not in SERVER_ERROR_STATUSES[source]:
        raise ValueError(f"{source} does not answer server errors with {fault.status}")


def _matches(pattern: str, endpoint: str, path: str) -> bool:
    if "/" not in pattern:
        return fnmatch.fnmatchcase(endpoint, pattern)
    stripped = path.removeprefix("/api/v3") if path.startswith("/api/v3/") else path
    return fnmatch.fnmatchcase(stripped, pattern)


def _unit(*parts: object) -> float:
    """A deterministic uniform draw in [0, 1) from a hash (no RNG state shared between threads)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64
