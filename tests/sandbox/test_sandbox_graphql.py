"""The sandbox's GitHub GraphQL subset: parsing, answers, pagination, cost, errors, served over HTTP."""

from __future__ import annotations

import base64

import pytest
import requests

from sandbox.github_graphql import Enum, GraphqlError, Variable, parse, query_cost, tokenize

AUTH = {"Authorization": "bearer sandbox-token"}
PULLS = """
query($owner: String!, $name: String!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequests(first: 100, after: $after, orderBy: {field: UPDATED_AT, direction: ASC}) {
      nodes {
        databaseId number state author { login __typename }
        updatedAt mergeCommit { oid }
        reviews(first: 100) { nodes { databaseId author { login } state submittedAt } }
        commits(first: 100) { nodes { commit { oid author { email user { login } } } } }
      }
      pageInfo { hasNextPage endCursor }
    }
  }
  rateLimit { cost remaining resetAt }
}
"""


def _post(server, query: str, variables: dict | None = None, path: str = "/graphql", headers=AUTH):
    return requests.post(server.url + path, json={"query": query, "variables": variables or {}}, headers=headers,
                         timeout=30)


def _repo(org):
    owner, name = org.repositories[0].split("/")
    return {"owner": owner, "name": name}


# --- the parser ---


def test_tokenizer_skips_commas_comments_and_whitespace() -> None:
    tokens = tokenize('query { a(x: 1, y: "s") # note\n b }')
    assert [t.text for t in tokens] == ["query", "{", "a", "(", "x", ":", "1", "y", ":", '"s"', ")", "b", "}", ""]
    assert tokens[-2].line == 2


def test_parser_reads_variables_aliases_arguments_and_nesting() -> None:
    operation = parse(
        'query Q($n: Int! = 3, $ids: [ID!]) { top: repository(owner: "o", name: $x) '
        '{ pullRequests(first: $n, orderBy: {field: UPDATED_AT, direction: DESC}, states: [OPEN, MERGED]) '
        "{ nodes { number } } } }"
    )
    assert operation.kind == "query"
    assert operation.variables == {"n": ("Int!", 3), "ids": ("[ID!]", None)}
    [repository] = operation.selections
    assert (repository.alias, repository.name, repository.key) == ("top", "repository", "top")
    assert repository.arguments == {"owner": "o", "name": Variable("x")}
    [pulls] = repository.selections
    assert pulls.arguments["orderBy"] == {"field": Enum("UPDATED_AT"), "direction": Enum("DESC")}
    assert pulls.arguments["states"] == [Enum("OPEN"), Enum("MERGED")]
    assert pulls.selections[0].selections[0].name == "number"


@pytest.mark.parametrize("source", ["{ a ", "query { }", "{ a(x: ) }", "{ a } }", "{ ...F }"])
def test_parser_rejects_broken_documents_with_a_location(source: str) -> None:
    with pytest.raises(GraphqlError):
        parse(source)


def test_cost_follows_githubs_formula() -> None:
    # 1 request for the pull requests + 100 for their reviews + 100 for their commits = 201 -> 2 points.
    assert query_cost(parse(PULLS).selections, {}) == 2
    assert query_cost(parse("{ rateLimit { cost } }").selections, {}) == 1
    nested = "{ repository(owner: \"o\", name: \"n\") { pullRequests(first: $f) { nodes { reviews(first: 50) { totalCount } } } } }"
    assert query_cost(parse(nested).selections, {"f": 100}) == 1  # (1 + 100) / 100 rounds to 1


# --- over HTTP ---


def test_pull_requests_page_with_cursors_in_updated_order(server, org) -> None:
    repo = _repo(org)
    expected = sorted(org.pull_requests[org.repositories[0]], key=lambda pr: (pr.updated_at, pr.number))
    seen, after, requests_made = [], None, 0
    while True:
        response = _post(server, PULLS, {**repo, "after": after})
        requests_made += 1
        assert response.status_code == 200
        assert response.headers["X-RateLimit-Resource"] == "graphql"
        body = response.json()
        assert "errors" not in body
        assert body["data"]["rateLimit"]["cost"] == 2
        connection = body["data"]["repository"]["pullRequests"]
        seen.extend(connection["nodes"])
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    assert [node["number"] for node in seen] == [pr.number for pr in expected]
    assert requests_made == (len(expected) + 99) // 100
    first, node = expected[0], seen[0]
    assert node["databaseId"] == first.pr_id
    assert node["author"] == {"login": first.author_login, "__typename": "User"}
    assert node["state"] == ("MERGED" if first.merged_at else "CLOSED" if first.closed_at else "OPEN")
    assert (node["mergeCommit"] or {}).get("oid") == (first.merge_commit_sha if first.merged_at else None)
    assert [r["databaseId"] for r in node["reviews"]["nodes"]] == [r.review_id for r in first.reviews]
    assert [c["commit"]["oid"] for c in node["commits"]["nodes"]] == [c.sha for c in first.commits]
    assert node["commits"]["nodes"][0]["commit"]["author"]["user"]["login"] == first.commits[0].author_login


def test_first_last_and_before_slice_a_connection(server, org) -> None:
    repo = _repo(org)
    query = """query($owner: String!, $name: String!, $before: String) { repository(owner: $owner, name: $name) {
      pullRequests(last: 2, before: $before) { edges { cursor node { number } } totalCount
        pageInfo { hasPreviousPage hasNextPage startCursor } } } }"""
    data = _post(server, query, repo).json()["data"]["repository"]["pullRequests"]
    pulls = sorted(org.pull_requests[org.repositories[0]], key=lambda pr: (pr.created_at, pr.number))
    assert data["totalCount"] == len(pulls)
    assert [e["node"]["number"] for e in data["edges"]] == [pr.number for pr in pulls[-2:]]
    assert data["pageInfo"] == {"hasPreviousPage": True, "hasNextPage": False, "startCursor": data["edges"][0]["cursor"]}
    earlier = _post(server, query, {**repo, "before": data["pageInfo"]["startCursor"]}).json()
    assert [e["node"]["number"] for e in earlier["data"]["repository"]["pullRequests"]["edges"]] == [
        pr.number for pr in pulls[-4:-2]
    ]


def test_ghes_path_answers_the_same(server, org) -> None:
    query = "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { nameWithOwner } }"
    body = _post(server, query, _repo(org), path="/api/graphql").json()
    assert body == {"data": {"repository": {"nameWithOwner": org.repositories[0]}}}


def test_unknown_repository_is_null_with_a_not_found_error(server, org) -> None:
    body = _post(server, "{ repository(owner: \"nobody\", name: \"nothing\") { name } }").json()
    assert body["data"] == {"repository": None}
    [error] = body["errors"]
    assert error["type"] == "NOT_FOUND"
    assert error["path"] == ["repository"]
    assert "nobody/nothing" in error["message"]


@pytest.mark.parametrize(
    ("query", "kind", "words"),
    [
        ("{ repository(owner: \"o\", name: \"n\") { name } ", None, "Parse error on end of file"),
        ("{ rateLimit { bogus } }", "undefinedField", "Field 'bogus' doesn't exist on type 'RateLimit'"),
        ("{ viewer { login } }", "undefinedField", "doesn't exist on type 'Query'"),
        ("REPO { pullRequests { totalCount } } }", "MISSING_PAGINATION_BOUNDARIES", "must provide a `first`"),
        ("REPO { pullRequests(first: 101) { totalCount } } }", "EXCESSIVE_PAGINATION", "exceeds the `first` limit"),
        ("REPO { pullRequests(first: 1, after: \"zz\") { totalCount } } }", "INVALID_CURSOR_ARGUMENTS", "valid cursor"),
        ("mutation { addStar(input: {}) { clientMutationId } }", None, "read-only"),
    ],
)
def test_bad_queries_answer_githubs_error_shape(server, org, query: str, kind: str | None, words: str) -> None:
    if query.startswith("REPO"):
        owner, name = org.repositories[0].split("/")
        query = query.replace("REPO", f'{{ repository(owner: "{owner}", name: "{name}")')
    response = _post(server, query)
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert words in error["message"]
    assert error.get("type") == kind


def test_token_required_and_post_only(server) -> None:
    assert _post(server, "{ rateLimit { cost } }", headers={}).status_code == 401
    assert requests.get(server.url + "/graphql", headers=AUTH, timeout=10).status_code == 405


def test_bots_lose_the_rest_suffix(server) -> None:
    from sandbox.github_graphql import Actor, _Executor

    executor = _Executor(server.app.github_graphql, {}, {})
    fields = parse("{ login __typename }").selections
    assert executor.select("Actor", Actor("github-actions[bot]"), fields, []) == {
        "login": "github-actions", "__typename": "Bot",
    }


def test_points_budget_is_spent_by_cost_and_refused_when_gone(org) -> None:
    from sandbox.server import SandboxServer

    with SandboxServer(org, rate_limit=3) as tight:
        first = _post(tight, PULLS, _repo(org))
        assert first.headers["X-RateLimit-Used"] == "2"
        assert first.headers["X-RateLimit-Remaining"] == "1"
        refused = _post(tight, PULLS, _repo(org))
        assert refused.status_code == 200
        assert refused.json()["errors"][0]["type"] == "RATE_LIMITED"
        assert refused.headers["X-RateLimit-Remaining"] == "1"


def test_cursors_are_opaque_base64(server, org) -> None:
    query = "query($owner: String!, $name: String!) { repository(owner: $owner, name: $name) { pullRequests(first: 1) { pageInfo { endCursor } } } }"
    cursor = _post(server, query, _repo(org)).json()["data"]["repository"]["pullRequests"]["pageInfo"]["endCursor"]
    assert base64.b64decode(cursor).startswith(b"cursor:v2:")
