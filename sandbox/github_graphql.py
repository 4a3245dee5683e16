"""GitHub's GraphQL API (v4), the subset a pull-request sync reads, at `POST /graphql` (GHES: `/api/graphql`).

Why a real (if small) parser and executor rather than matching the connector's query text: a connector
is only tested if the server answers what the query *asks*, so a renamed field, a missing selection or
a wrong argument fails here the way it fails on github.com. The schema subset follows GitHub's
GraphQL reference:

- `repository(owner:, name:)` -> `Repository` (null plus a `NOT_FOUND` error when unknown), with
  `pullRequests(first|last, after|before, orderBy: {field: CREATED_AT|UPDATED_AT, direction}, states)`
  and `pullRequest(number:)`;
- `PullRequest`: databaseId, fullDatabaseId (BigInt, a string: ids outgrew Int), number, title, state (OPEN/CLOSED/MERGED), isDraft, author, createdAt,
  updatedAt, closedAt, mergedAt, merged, mergeCommit{oid}, headRefName, baseRefName, additions,
  deletions, changedFiles, `reviews(first, after)`, `commits(first, after)` (at most 250 commits, as
  GitHub caps a pull request's commit list);
- `PullRequest.timelineItems(first|last, after, itemTypes: [READY_FOR_REVIEW_EVENT, MERGED_EVENT,
  CLOSED_EVENT])`: the union `PullRequestTimelineItems`, whose members are read through inline fragments
  (`... on ReadyForReviewEvent { createdAt actor { login } }`); the only fragments this sandbox accepts;
- `PullRequestReview`: databaseId, fullDatabaseId, author, state, submittedAt; `PullRequestCommit.commit`: oid,
  authoredDate, committedDate, message, messageHeadline, `author`/`committer` (GitActor: name, email,
  date, user{login});
- actors answer `login` and `__typename`; a `Bot`'s login has no "[bot]" suffix (the REST API adds it);
- connections: `nodes`, `edges{cursor node}`, `pageInfo{hasNextPage endCursor hasPreviousPage
  startCursor}`, `totalCount`; `first`/`last` are required and at most 100;
- `rateLimit{cost limit remaining used resetAt nodeCount}`: the cost is GitHub's documented estimate
  (the requests every connection needs at its `first`, summed, divided by 100, at least 1), charged to a
  separate hourly "graphql" budget reported in the `X-RateLimit-*` headers.

Errors come back as GitHub sends them: HTTP 200 with `{"data": ..., "errors": [{"message", "type",
"path", "locations"}]}` for query problems, 401 without a token, and the REST faults of
`sandbox.faults` (source "github") as HTTP errors; `repeat_page` serves, on a query with an `after`
cursor, the previous page's nodes again under the asked page's pageInfo.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import threading
import time
from typing import Any, Callable

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.entities import Commit, PullRequest, Review
from sandbox.faults import Fault
from sandbox.github_api import _token  # the same Authorization parsing as REST
from sandbox.github_payloads import BOT, ORG_ID, node_id
from sandbox.organisation import Organisation
from sandbox.pull_requests import BOTS
from sandbox.web import iso, json_body, json_response

ENDPOINT = "github.graphql"
DOCS = "https://docs.github.com/graphql"
MAX_PAGE = 100
MAX_PR_COMMITS = 250


def rules() -> list[Rule]:
    return [Rule(path, endpoint=ENDPOINT) for path in ("/graphql", "/api/graphql")]


# --- parsing -------------------------------------------------------------------------------------------


class GraphqlError(Exception):
    """A query the server refuses; `type` and `path` end up in the error object."""

    def __init__(self, message: str, type_: str | None = None, path: list | None = None,
                 line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message, self.type, self.path, self.line, self.column = message, type_, path, line, column

    def as_dict(self) -> dict:
        error: dict[str, Any] = {"message": self.message}
        if self.type:
            error["type"] = self.type
        if self.path:
            error["path"] = self.path
        if self.line is not None:
            error["locations"] = [{"line": self.line, "column": self.column}]
        return error


_TOKEN = re.compile(
    r"""(?P<skip>[\s,]+|\#[^\n]*)
      | (?P<spread>\.\.\.)
      | (?P<punct>[!$():=@\[\]{}|])
      | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
      | (?P<string>"(?:[^"\\\n]|\\.)*")
      | (?P<name>[_A-Za-z][_0-9A-Za-z]*)""",
    re.VERBOSE,
)


@dataclasses.dataclass(frozen=True)
class Token:
    kind: str  # punct | number | string | name | spread | end
    text: str
    line: int
    column: int


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    position, line, line_start = 0, 1, 0
    while position < len(source):
        match = _TOKEN.match(source, position)
        if match is None:
            raise GraphqlError(f"Parse error on {source[position]!r} at [{line}, {position - line_start + 1}]",
                               line=line, column=position - line_start + 1)
        kind, text = match.lastgroup or "", match.group()
        if kind != "skip":
            tokens.append(Token(kind, text, line, position - line_start + 1))
        for index, char in enumerate(text):
            if char == "\n":
                line, line_start = line + 1, position + index + 1
        position = match.end()
    tokens.append(Token("end", "", line, position - line_start + 1))
    return tokens


@dataclasses.dataclass(frozen=True)
class Variable:
    name: str


@dataclasses.dataclass(frozen=True)
class Enum:
    name: str


@dataclasses.dataclass
class Field:
    name: str
    alias: str | None
    arguments: dict[str, Any]
    selections: list["Field"] | None
    line: int
    column: int

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclasses.dataclass
class InlineFragment(Field):
    """`... on Type { fields }`: its fields apply only when the object is of `type_condition`."""

    type_condition: str = ""


@dataclasses.dataclass
class Operation:
    kind: str  # query (mutations and subscriptions are refused)
    variables: dict[str, tuple[str, Any]]  # name -> (type text, default value or None)
    selections: list[Field]


class _Parser:
    """Recursive descent over GraphQL's executable grammar (no fragments, no directives)."""

    def __init__(self, source: str):
        self.tokens = tokenize(source)
        self.index = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def _error(self, token: Token) -> GraphqlError:
        shown = "end of file" if token.kind == "end" else repr(token.text)
        return GraphqlError(f"Parse error on {shown} at [{token.line}, {token.column}]",
                            line=token.line, column=token.column)

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect(self, text: str) -> Token:
        token = self.advance()
        if token.text != text or token.kind in ("string",):
            raise self._error(token)
        return token

    def name(self) -> Token:
        token = self.advance()
        if token.kind != "name":
            raise self._error(token)
        return token

    def document(self) -> Operation:
        operations = [self.operation()]
        while self.peek.kind != "end":
            operations.append(self.operation())
        if len(operations) > 1:
            raise GraphqlError("This sandbox answers documents with exactly one operation")
        return operations[0]

    def operation(self) -> Operation:
        token = self.peek
        if token.text == "{":
            return Operation("query", {}, self.selection_set())
        kind = self.name()
        if kind.text not in ("query", "mutation", "subscription"):
            raise self._error(kind)
        if self.peek.kind == "name":
            self.advance()  # the operation's name
        variables: dict[str, tuple[str, Any]] = {}
        if self.peek.text == "(":
            self.advance()
            while self.peek.text != ")":
                self.expect("$")
                name = self.name().text
                self.expect(":")
                type_text = self.type_reference()
                default = None
                if self.peek.text == "=":
                    self.advance()
                    default = self.value(constant=True)
                variables[name] = (type_text, default)
            self.advance()
        if self.peek.text == "@":
            raise GraphqlError("Directives are not supported by this sandbox")
        return Operation(kind.text, variables, self.selection_set())

    def type_reference(self) -> str:
        if self.peek.text == "[":
            self.advance()
            inner = self.type_reference()
            self.expect("]")
            text = f"[{inner}]"
        else:
            text = self.name().text
        if self.peek.text == "!":
            self.advance()
            text += "!"
        return text

    def selection_set(self) -> list[Field]:
        self.expect("{")
        fields: list[Field] = []
        while self.peek.text != "}":
            if self.peek.kind == "spread":
                fields.append(self.inline_fragment())
                continue
            fields.append(self.field())
        self.advance()
        if not fields:
            raise self._error(self.tokens[self.index - 1])
        return fields

    def inline_fragment(self) -> InlineFragment:
        spread = self.advance()
        if self.peek.text != "on" or self.peek.kind != "name":
            raise GraphqlError("Named fragments are not supported by this sandbox (inline `... on Type` are)",
                               line=spread.line, column=spread.column)
        self.advance()
        condition = self.name()
        selections = self.selection_set()
        return InlineFragment(f"... on {condition.text}", None, {}, selections, spread.line, spread.column,
                              type_condition=condition.text)

    def field(self) -> Field:
        first = self.name()
        alias, name = None, first
        if self.peek.text == ":":
            self.advance()
            alias, name = first.text, self.name()
        arguments: dict[str, Any] = {}
        if self.peek.text == "(":
            self.advance()
            while self.peek.text != ")":
                argument = self.name().text
                self.expect(":")
                arguments[argument] = self.value(constant=False)
            self.advance()
        if self.peek.text == "@":
            raise GraphqlError("Directives are not supported by this sandbox")
        selections = self.selection_set() if self.peek.text == "{" else None
        return Field(name.text, alias, arguments, selections, name.line, name.column)

    def value(self, constant: bool) -> Any:
        token = self.advance()
        if token.text == "$" and token.kind == "punct":
            if constant:
                raise self._error(token)
            return Variable(self.name().text)
        if token.kind == "number":
            return float(token.text) if any(c in token.text for c in ".eE") else int(token.text)
        if token.kind == "string":
            return json.loads(token.text)
        if token.kind == "name":
            literals = {"true": True, "false": False, "null": None}
            return literals[token.text] if token.text in literals else Enum(token.text)
        if token.text == "[":
            items = []
            while self.peek.text != "]":
                items.append(self.value(constant))
            self.advance()
            return items
        if token.text == "{":
            fields = {}
            while self.peek.text != "}":
                key = self.name().text
                self.expect(":")
                fields[key] = self.value(constant)
            self.advance()
            return fields
        raise self._error(token)


def parse(source: str) -> Operation:
    """The one operation of a GraphQL document; GraphqlError on a syntax error."""
    return _Parser(source).document()


def _resolve_value(value: Any, variables: dict[str, Any]) -> Any:
    """An argument with its variables substituted and enum values as their names."""
    if isinstance(value, Variable):
        if value.name not in variables:
            raise GraphqlError(f"Variable ${value.name} is used but not defined", "UNDEFINED_VARIABLE")
        return variables[value.name]
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, list):
        return [_resolve_value(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: _resolve_value(item, variables) for key, item in value.items()}
    return value


# --- cost ------------------------------------------------------------------------------------------

CONNECTIONS = frozenset({"pullRequests", "reviews", "commits", "timelineItems"})


def query_cost(selections: list[Field], variables: dict[str, Any]) -> int:
    """GitHub's estimate: requests to fill every connection at its `first`/`last`, / 100, at least 1."""

    def walk(fields: list[Field], multiplier: int) -> int:
        total = 0
        for field in fields:
            inner = multiplier
            if field.name in CONNECTIONS:
                total += multiplier
                size = field.arguments.get("first", field.arguments.get("last"))
                inner = multiplier * int(_resolve_value(size, variables) or 1)
            if field.selections:
                total += walk(field.selections, inner)
        return total

    return max(1, round(walk(selections, 1) / 100))


# --- execution -------------------------------------------------------------------------------------


def _cursor(offset: int) -> str:
    return base64.b64encode(f"cursor:v2:{offset}".encode()).decode()


def _offset(cursor: str, path: list) -> int:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
        if not text.startswith("cursor:v2:"):
            raise ValueError
        return int(text.removeprefix("cursor:v2:"))
    except (ValueError, UnicodeDecodeError):
        raise GraphqlError(f"`{cursor}` does not appear to be a valid cursor.", "INVALID_CURSOR_ARGUMENTS", path) from None


@dataclasses.dataclass
class Actor:
    login: str


@dataclasses.dataclass
class Page:
    """One slice of a connection: the items and where they sit in the whole list."""

    items: list
    start: int
    total: int


class _Executor:
    """Resolves a parsed query against the organisation, one GraphQL type per `_type_*` method."""

    def __init__(self, api: "GithubGraphqlApi", variables: dict[str, Any], cost: dict):
        self.api = api
        self.variables = variables
        self.rate = cost
        #: errors that leave the rest of the answer standing (an unknown repository is null plus an error)
        self.api_errors: list[GraphqlError] = []
        #: the `repeat_page` fault: the first connection read after a cursor serves the previous page's
        #: items again under this page's pageInfo (what a listing shifting under the reader looks like)
        self.repeat_page = False

    def select(self, type_name: str, obj: Any, fields: list[Field] | None, path: list) -> Any:
        if obj is None:
            return None
        if fields is None:
            raise GraphqlError(f"Field must have selections (field '{path[-1]}' returns {type_name} but has no "
                               "selections.)", "MISSING_SELECTIONS", path)
        resolver: Callable = getattr(self, "_type_" + type_name)
        result: dict[str, Any] = {}
        for field in fields:
            if isinstance(field, InlineFragment):
                concrete = self._typename(type_name, obj)
                if field.type_condition in (concrete, type_name):
                    result.update(self.select(concrete, obj, field.selections, path))
                continue
            args = {k: _resolve_value(v, self.variables) for k, v in field.arguments.items()}
            here = path + [field.key]
            if field.name == "__typename":
                result[field.key] = self._typename(type_name, obj)
                continue
            value = resolver(obj, field, args, here)
            result[field.key] = value
        return result

    def scalar(self, field: Field, value: Any, path: list) -> Any:
        if field.selections is not None:
            raise GraphqlError(f"Selections can't be made on scalars (field '{field.name}' returns a scalar)",
                               "SELECTIONS_ON_SCALAR", path)
        return value

    def unknown(self, type_name: str, field: Field, path: list) -> GraphqlError:
        return GraphqlError(f"Field '{field.name}' doesn't exist on type '{type_name}'", "undefinedField", path,
                            field.line, field.column)

    def _typename(self, type_name: str, obj: Any) -> str:
        if type_name == "PullRequestTimelineItems":
            return TIMELINE_TYPES[obj.event]
        if type_name == "Actor":
            if obj.login.endswith("[bot]"):
                return "Bot"
            return "Organization" if obj.login == self.api.org.github_org else "User"
        return type_name

    # Query

    def _type_Query(self, obj, field, args, path):
        if field.name == "repository":
            owner, name = args.get("owner"), args.get("name")
            if not isinstance(owner, str) or not isinstance(name, str):
                raise GraphqlError("Field 'repository' is missing required arguments: owner, name",
                                   "missingRequiredArguments", path)
            repo = self.api.org_renderer_repos.get(f"{owner}/{name}".lower())
            if repo is None:
                self.api_errors.append(GraphqlError(
                    f"Could not resolve to a Repository with the name '{owner}/{name}'.", "NOT_FOUND", path,
                    field.line, field.column))
                return None
            return self.select("Repository", repo, field.selections, path)
        if field.name == "rateLimit":
            return self.select("RateLimit", self.rate, field.selections, path)
        raise self.unknown("Query", field, path)

    def _type_RateLimit(self, obj, field, args, path):
        if field.name in ("cost", "limit", "remaining", "used", "resetAt", "nodeCount"):
            return self.scalar(field, obj[field.name], path)
        raise self.unknown("RateLimit", field, path)

    def _type_Repository(self, repo, field, args, path):
        simple = {
            "id": node_id("R", repo.repo_id), "databaseId": repo.repo_id, "name": repo.name,
            "nameWithOwner": repo.full_name, "createdAt": iso(repo.created_at),
        }
        if field.name in simple:
            return self.scalar(field, simple[field.name], path)
        if field.name == "pullRequests":
            pulls = list(self.api.org.pull_requests[repo.full_name])
            states = args.get("states")
            if states:
                pulls = [pr for pr in pulls if _pr_state(pr) in states]
            order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
            key_field = order.get("field")
            if key_field not in ("CREATED_AT", "UPDATED_AT"):
                raise GraphqlError(f"Argument 'orderBy' has an invalid value (field: {key_field}); this sandbox "
                                   "orders by CREATED_AT or UPDATED_AT", "argumentLiteralsIncompatible", path)
            attribute = "updated_at" if key_field == "UPDATED_AT" else "created_at"
            pulls.sort(key=lambda pr: (getattr(pr, attribute), pr.number), reverse=order.get("direction") == "DESC")
            return self.connection("PullRequest", pulls, field, args, path)
        if field.name == "pullRequest":
            pr = self.api.pulls.get((repo.full_name.lower(), args.get("number")))
            if pr is None:
                self.api_errors.append(GraphqlError(
                    f"Could not resolve to a PullRequest with the number of {args.get('number')}.", "NOT_FOUND",
                    path, field.line, field.column))
            return self.select("PullRequest", pr, field.selections, path)
        raise self.unknown("Repository", field, path)

    def connection(self, node_type: str, items: list, field: Field, args: dict, path: list) -> dict | None:
        first, last = args.get("first"), args.get("last")
        if first is None and last is None:
            raise GraphqlError(f"You must provide a `first` or `last` value to properly paginate the "
                               f"`{field.name}` connection.", "MISSING_PAGINATION_BOUNDARIES", path)
        for bound_name, bound in (("first", first), ("last", last)):
            if bound is not None and not (isinstance(bound, int) and 0 <= bound <= MAX_PAGE):
                raise GraphqlError(f"Requesting {bound} records on the `{field.name}` connection exceeds the "
                                   f"`{bound_name}` limit of {MAX_PAGE} records.", "EXCESSIVE_PAGINATION", path)
        start, end = 0, len(items)
        if args.get("after") is not None:
            start = min(_offset(args["after"], path) + 1, len(items))
        if args.get("before") is not None:
            end = max(min(_offset(args["before"], path), end), start)
        if first is not None:
            end = min(end, start + first)
        if last is not None:
            start = max(start, end - last)
        served = items[start:end]
        if self.repeat_page and args.get("after") is not None and start > 0:
            self.repeat_page = False
            served = items[max(0, start - (end - start)):start]
        page = Page(served, start, len(items))
        return self.select(node_type + "Connection", (node_type, page), field.selections, path)

    def _type_PullRequestConnection(self, obj, field, args, path):
        return self._connection_field("PullRequestConnection", obj, field, path)

    _type_PullRequestReviewConnection = lambda self, obj, field, args, path: self._connection_field(  # noqa: E731
        "PullRequestReviewConnection", obj, field, path)
    _type_PullRequestCommitConnection = lambda self, obj, field, args, path: self._connection_field(  # noqa: E731
        "PullRequestCommitConnection", obj, field, path)
    _type_PullRequestTimelineItemsConnection = lambda self, obj, field, args, path: self._connection_field(  # noqa: E731
        "PullRequestTimelineItemsConnection", obj, field, path)

    def _connection_field(self, type_name: str, obj, field: Field, path: list):
        node_type, page = obj
        if field.name == "nodes":
            return [self.select(node_type, item, field.selections, path + [i]) for i, item in enumerate(page.items)]
        if field.name == "edges":
            return [self.select(node_type + "Edge", (node_type, page.start + i, item), field.selections, path + [i])
                    for i, item in enumerate(page.items)]
        if field.name == "pageInfo":
            return self.select("PageInfo", page, field.selections, path)
        if field.name == "totalCount":
            return self.scalar(field, page.total, path)
        raise self.unknown(type_name, field, path)

    def _edge(self, type_name: str, obj, field: Field, path: list):
        node_type, position, item = obj
        if field.name == "cursor":
            return self.scalar(field, _cursor(position), path)
        if field.name == "node":
            return self.select(node_type, item, field.selections, path)
        raise self.unknown(type_name, field, path)

    _type_PullRequestEdge = lambda self, obj, field, args, path: self._edge("PullRequestEdge", obj, field, path)  # noqa: E731
    _type_PullRequestReviewEdge = lambda self, obj, field, args, path: self._edge(  # noqa: E731
        "PullRequestReviewEdge", obj, field, path)
    _type_PullRequestCommitEdge = lambda self, obj, field, args, path: self._edge(  # noqa: E731
        "PullRequestCommitEdge", obj, field, path)
    _type_PullRequestTimelineItemsEdge = lambda self, obj, field, args, path: self._edge(  # noqa: E731
        "PullRequestTimelineItemsEdge", obj, field, path)

    def _type_PageInfo(self, page: Page, field, args, path):
        empty = not page.items
        values = {
            "hasNextPage": page.start + len(page.items) < page.total,
            "hasPreviousPage": page.start > 0,
            "endCursor": None if empty else _cursor(page.start + len(page.items) - 1),
            "startCursor": None if empty else _cursor(page.start),
        }
        if field.name in values:
            return self.scalar(field, values[field.name], path)
        raise self.unknown("PageInfo", field, path)

    def _type_PullRequest(self, pr: PullRequest, field, args, path):
        merged = pr.merged_at is not None
        simple = {
            "id": node_id("PR", pr.pr_id), "databaseId": pr.pr_id, "fullDatabaseId": str(pr.pr_id), "number": pr.number, "title": pr.title,
            "state": _pr_state(pr), "isDraft": pr.is_draft, "createdAt": iso(pr.created_at),
            "updatedAt": iso(pr.updated_at), "closedAt": iso(pr.closed_at), "mergedAt": iso(pr.merged_at),
            "merged": merged, "headRefName": pr.head_ref, "baseRefName": pr.base_ref, "additions": pr.additions,
            "deletions": pr.deletions, "changedFiles": pr.changed_files, "closed": pr.closed_at is not None,
        }
        if field.name in simple:
            return self.scalar(field, simple[field.name], path)
        if field.name == "author":
            return self.select("Actor", self._actor(pr.author_login), field.selections, path)
        if field.name == "mergeCommit":
            return self.select("Commit", _MergeCommit(pr.merge_commit_sha) if merged else None, field.selections, path)
        if field.name == "reviews":
            return self.connection("PullRequestReview", list(pr.reviews), field, args, path)
        if field.name == "commits":
            return self.connection("PullRequestCommit", list(pr.commits[:MAX_PR_COMMITS]), field, args, path)
        if field.name == "timelineItems":
            wanted = args.get("itemTypes")
            unknown = [t for t in wanted or () if t not in ITEM_TYPES.values()]
            if unknown:
                raise GraphqlError(f"Argument 'itemTypes' has an invalid value ({unknown[0]}); this sandbox knows "
                                   f"{', '.join(sorted(ITEM_TYPES.values()))}", "argumentLiteralsIncompatible", path)
            items = [e for e in _timeline(pr) if not wanted or ITEM_TYPES[e.event] in wanted]
            return self.connection("PullRequestTimelineItems", items, field, args, path)
        raise self.unknown("PullRequest", field, path)

    def _type_PullRequestTimelineItems(self, obj, field, args, path):
        raise GraphqlError(f"Selections can't be made directly on unions (see selections on "
                           f"PullRequestTimelineItems): use `... on {TIMELINE_TYPES[obj.event]}`",
                           "selectionMismatch", path, field.line, field.column)

    def _timeline_event(self, type_name: str, event: "_TimelineEvent", field, args, path):
        simple = {"id": node_id(type_name, f"{event.number}-{event.event}"), "createdAt": iso(event.created_at)}
        if field.name in simple:
            return self.scalar(field, simple[field.name], path)
        if field.name == "actor":
            return self.select("Actor", self._actor(event.actor_login), field.selections, path)
        raise self.unknown(type_name, field, path)

    _type_ReadyForReviewEvent = lambda self, obj, field, args, path: self._timeline_event(  # noqa: E731
        "ReadyForReviewEvent", obj, field, args, path)
    _type_MergedEvent = lambda self, obj, field, args, path: self._timeline_event(  # noqa: E731
        "MergedEvent", obj, field, args, path)
    _type_ClosedEvent = lambda self, obj, field, args, path: self._timeline_event(  # noqa: E731
        "ClosedEvent", obj, field, args, path)

    def _type_PullRequestReview(self, review: Review, field, args, path):
        simple = {
            "id": node_id("PRR", review.review_id), "databaseId": review.review_id,
            "fullDatabaseId": str(review.review_id), "state": review.state,
            "submittedAt": iso(review.submitted_at), "createdAt": iso(review.submitted_at),
        }
        if field.name in simple:
            return self.scalar(field, simple[field.name], path)
        if field.name == "author":
            return self.select("Actor", self._actor(review.reviewer_login), field.selections, path)
        raise self.unknown("PullRequestReview", field, path)

    def _type_PullRequestCommit(self, commit: Commit, field, args, path):
        if field.name == "commit":
            return self.select("Commit", commit, field.selections, path)
        if field.name == "id":
            return self.scalar(field, node_id("PRC", commit.sha), path)
        raise self.unknown("PullRequestCommit", field, path)

    def _type_Commit(self, commit, field, args, path):
        if isinstance(commit, _MergeCommit):
            if field.name == "oid":
                return self.scalar(field, commit.oid, path)
            raise GraphqlError(f"The sandbox only knows a merge commit's oid (asked for '{field.name}')",
                               "undefinedField", path)
        simple = {
            "oid": commit.sha, "authoredDate": iso(commit.authored_at), "committedDate": iso(commit.committed_at),
            "message": commit.message, "messageHeadline": commit.message.splitlines()[0] if commit.message else "",
        }
        if field.name in simple:
            return self.scalar(field, simple[field.name], path)
        if field.name == "author":
            who = (commit.author_name, commit.author_email, commit.authored_at, commit.author_login)
            return self.select("GitActor", who, field.selections, path)
        if field.name == "committer":
            who = (
                commit.committer_name or commit.author_name, commit.committer_email or commit.author_email,
                commit.committed_at, commit.committer_login or commit.author_login,
            )
            return self.select("GitActor", who, field.selections, path)
        raise self.unknown("Commit", field, path)

    def _type_GitActor(self, who, field, args, path):
        name, email, date, login = who
        simple = {"name": name, "email": email, "date": iso(date)}
        if field.name in simple:
            return self.scalar(field, simple[field.name], path)
        if field.name == "user":
            # GitActor.user is a User: a bot (or web-flow's GitHub identity) is no User, so null.
            is_user = login and not login.endswith("[bot]")
            return self.select("Actor", self._actor(login) if is_user else None, field.selections, path)
        raise self.unknown("GitActor", field, path)

    def _actor(self, login: str) -> Actor | None:
        """GraphQL answers null for a deleted account (REST shows the ghost user instead)."""
        return None if login in self.api.org.deleted_logins else Actor(login)

    def _type_Actor(self, actor: Actor, field, args, path):
        if field.name == "login":
            # GraphQL names a bot by its app slug; REST appends "[bot]".
            return self.scalar(field, actor.login.removesuffix("[bot]"), path)
        if field.name == "databaseId":
            bot_id = BOT["id"] if actor.login == BOT["login"] else BOTS.get(actor.login, (None,))[0]
            return self.scalar(field, bot_id or self.api.user_ids.get(actor.login, ORG_ID), path)
        if field.name == "url":
            return self.scalar(field, f"https://github.com/{actor.login}", path)
        raise self.unknown(self._typename("Actor", actor), field, path)


@dataclasses.dataclass(frozen=True)
class _MergeCommit:
    oid: str


@dataclasses.dataclass(frozen=True)
class _TimelineEvent:
    number: int
    event: str  # ready_for_review | merged | closed (the REST event names)
    actor_login: str
    created_at: Any


TIMELINE_TYPES = {"ready_for_review": "ReadyForReviewEvent", "merged": "MergedEvent", "closed": "ClosedEvent"}
ITEM_TYPES = {"ready_for_review": "READY_FOR_REVIEW_EVENT", "merged": "MERGED_EVENT", "closed": "CLOSED_EVENT"}


def _timeline(pr: PullRequest) -> list[_TimelineEvent]:
    """The PR's timeline events this sandbox knows, oldest first (the REST issue events, per PR)."""
    events = []
    if pr.ready_for_review_at is not None:
        events.append(_TimelineEvent(pr.number, "ready_for_review", pr.author_login, pr.ready_for_review_at))
    if pr.merged_at is not None:
        events.append(_TimelineEvent(pr.number, "merged", pr.author_login, pr.merged_at))
    if pr.closed_at is not None:
        events.append(_TimelineEvent(pr.number, "closed", pr.author_login, pr.closed_at))
    return events


def _pr_state(pr: PullRequest) -> str:
    if pr.merged_at is not None:
        return "MERGED"
    return "CLOSED" if pr.closed_at is not None else "OPEN"


class PointLimiter:
    """GitHub's GraphQL budget: points per token per hour (a query costs `query_cost` points)."""

    def __init__(self, limit: int):
        self.limit = limit
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def take(self, token: str, points: int) -> tuple[bool, int, int]:
        """(allowed, used after this query, reset epoch)."""
        now = int(time.time())
        with self._lock:
            reset, used = self._windows.get(token, (now + 3600, 0))
            if reset <= now:
                reset, used = now + 3600, 0
            if used + points > self.limit:
                self._windows[token] = (reset, used)
                return False, used, reset
            self._windows[token] = (reset, used + points)
            return True, used + points, reset


class GithubGraphqlApi:
    """Answers `POST /graphql`; `rest` is the REST API of the same world (token, faults, renderer)."""

    def __init__(self, org: Organisation, rest, rate_limit: int | None = None):  # noqa: ANN001
        self.org = org
        self.rest = rest
        self.org_renderer_repos = rest.render.repos
        self.pulls = rest.pulls
        self.user_ids = rest.render.user_ids
        self.limiter = PointLimiter(rate_limit if rate_limit is not None else rest.limiter.limit)

    def handle(self, request: Request, endpoint: str, args: dict, fault: Fault | None = None) -> Response:
        if request.method != "POST":
            return json_response({"message": "GraphQL queries are sent with POST", "documentation_url": DOCS}, 405)
        token = _token(request)
        if not token:
            return json_response({"message": "This endpoint requires you to be authenticated.",
                                  "documentation_url": DOCS}, 401)
        if fault is not None and fault.kind not in ("malformed_json", "slow", "repeat_page"):
            _, used, reset = self.limiter.take(token, 0)
            response = self.rest._fault_response(fault, request, self.limiter.limit, used, reset)
            response.headers["X-RateLimit-Resource"] = "graphql"
            return response
        try:
            body = json.loads(request.get_data(as_text=True) or "null")
        except ValueError:
            return json_response({"message": "Problems parsing JSON", "documentation_url": DOCS}, 400)
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return json_response({"errors": [{"message": "A query attribute must be specified and must be a string."}]})
        variables = body.get("variables") or {}
        if not isinstance(variables, dict):
            return json_response({"errors": [{"message": "Variables are invalid JSON."}]})
        try:
            operation = parse(body["query"])
            if operation.kind != "query":
                raise GraphqlError(f"This sandbox is read-only: {operation.kind} is not supported")
            values = {name: variables.get(name, default) for name, (_, default) in operation.variables.items()}
            for name, (type_text, _) in operation.variables.items():
                if type_text.endswith("!") and values[name] is None:
                    raise GraphqlError(f"Variable ${name} of type {type_text} was provided invalid value",
                                       "INVALID_VARIABLE")
            cost = query_cost(operation.selections, values)
        except GraphqlError as error:
            return json_response({"errors": [error.as_dict()]})
        allowed, used, reset = self.limiter.take(token, cost)
        headers = _rate_headers(self.limiter.limit, used, reset)
        if not allowed:
            return json_response({"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user "
                                              "ID 1."}]}, 200, headers)
        rate = {"cost": cost, "limit": self.limiter.limit, "remaining": max(self.limiter.limit - used, 0),
                "used": used, "resetAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset)), "nodeCount": 0}
        executor = _Executor(self, values, rate)
        executor.repeat_page = fault is not None and fault.kind == "repeat_page"
        try:
            data = executor.select("Query", object(), operation.selections, [])
        except GraphqlError as error:
            return json_response({"errors": [error.as_dict()]}, 200, headers)
        payload: dict[str, Any] = {"data": data}
        if executor.api_errors:
            payload["errors"] = [error.as_dict() for error in executor.api_errors]
        return Response(json_body(payload), status=200, headers=headers, content_type="application/json; charset=utf-8")


def _rate_headers(limit: int, used: int, reset: int) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(max(limit - used, 0)),
        "X-RateLimit-Reset": str(reset),
        "X-RateLimit-Used": str(used),
        "X-RateLimit-Resource": "graphql",
    }
