"""Faults on demand, observed over HTTP the way a connector meets them (status, headers, body)."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests
from github import Auth, Github
from github.Requester import Requester

from sandbox.anthropic_api import EXPIRED_CURSOR_MESSAGE
from sandbox.faults import DRIFT_FIELD, DRIFT_VALUE, Fault, FaultPlan, RecordPatch, ScriptedFault, bad_records, schema_drift
from sandbox.server import SandboxServer

REPO = "hoco/payments-service"
PULLS = f"/repos/{REPO}/pulls"
USAGE = "/v1/organizations/usage_report/claude_code"
GH = {"Authorization": "token t"}
ANT = {"x-api-key": "sk-ant-admin01-sandbox", "anthropic-version": "2023-06-01"}
BUSY_DAY = "2026-05-20"  # a weekday after most adoptions: several records, so limit=2 pages


@pytest.fixture(scope="module")
def faulty(org):
    """A server of its own: faults installed here never reach the session-wide sandbox."""
    with SandboxServer(org) as running:
        yield running


@pytest.fixture()
def server_(faulty):
    faulty.faults = None
    faulty.reset_counts()
    yield faulty
    faulty.faults = None


def get(server, path, headers=GH, **params):
    return requests.get(server.url + path, headers=headers, params=params, timeout=10)


def install(server, *script, **kwargs) -> FaultPlan:
    server.faults = FaultPlan(script, **kwargs)
    return server.faults


# --- each kind, GitHub ---


def test_github_429_with_retry_after(server_):
    install(server_, ("github.pulls.list", 1, Fault.rate_limit(retry_after=1)))
    response = get(server_, PULLS, state="all")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "1"
    assert int(response.headers["X-RateLimit-Remaining"]) > 0  # not the primary limit
    assert Requester.isSecondaryRateLimitError(response.json()["message"])
    assert get(server_, PULLS, state="all").status_code == 200  # only the first


def test_github_secondary_rate_limit_is_403_with_documented_message(server_):
    install(server_, ("github.pulls.list", 1, Fault.secondary_rate_limit(retry_after=2)))
    response = get(server_, PULLS)
    body = response.json()
    assert response.status_code == 403 and response.headers["Retry-After"] == "2"
    assert body["message"].startswith("You have exceeded a secondary rate limit. Please wait a few minutes")
    assert body["documentation_url"].endswith("#about-secondary-rate-limits")
    assert Requester.isSecondaryRateLimitError(body["message"]) and not Requester.isPrimaryRateLimitError(body["message"])
    assert "X-GitHub-Request-Id" in response.headers


@pytest.mark.parametrize("status", [403, 429])
def test_github_primary_rate_limit_exhausted(server_, status):
    install(server_, ("github.repos.get", 1, Fault.primary_rate_limit(reset_in=5, status=status)))
    before = int(time.time())
    response = get(server_, f"/repos/{REPO}")
    assert response.status_code == status
    assert response.headers["X-RateLimit-Remaining"] == "0"
    assert before + 5 <= int(response.headers["X-RateLimit-Reset"]) <= int(time.time()) + 5
    assert "Retry-After" not in response.headers  # the reset time is the signal
    assert Requester.isPrimaryRateLimitError(response.json()["message"])


@pytest.mark.parametrize("status", [500, 502, 503])
def test_github_server_errors(server_, status):
    install(server_, ("github.pulls.get", 1, Fault.server_error(status)))
    response = get(server_, f"{PULLS}/3")
    assert response.status_code == status
    assert response.json()["message"] == {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}[status]
    assert get(server_, f"{PULLS}/3").json()["number"] == 3


def test_slow_response_still_answers(server_):
    install(server_, ("github.repos.get", 1, Fault.slow(0.4)))
    started = time.perf_counter()
    slow = get(server_, f"/repos/{REPO}")
    took = time.perf_counter() - started
    assert slow.status_code == 200 and slow.json()["full_name"] == REPO and took >= 0.4
    started = time.perf_counter()
    get(server_, f"/repos/{REPO}")
    assert time.perf_counter() - started < 0.4


def test_malformed_json_is_the_healthy_page_cut_short(server_):
    install(server_, ("github.pulls.list", 1, Fault.malformed_json()))
    broken = get(server_, PULLS, state="all", page=2)
    healthy = get(server_, PULLS, state="all", page=2)
    assert broken.status_code == 200 and broken.headers["Content-Type"].startswith("application/json")
    with pytest.raises(requests.exceptions.JSONDecodeError):
        broken.json()
    assert len(healthy.content) > 1000
    assert broken.content == healthy.content[: len(healthy.content) // 2]
    assert broken.headers["Link"] == healthy.headers["Link"]


def test_github_repeated_page(server_):
    install(server_, ("/repos/*/pulls", 1, Fault.repeat_page()))
    first = get(server_, PULLS, state="all", page=1)  # not countable: nothing before page 1
    repeated = get(server_, PULLS, state="all", page=2)
    again = get(server_, PULLS, state="all", page=2)
    numbers = [p["number"] for p in first.json()]
    assert len(numbers) == 30
    assert [p["number"] for p in repeated.json()] == numbers
    assert 'page=3>; rel="next"' in repeated.headers["Link"]  # page 2's own links
    assert [p["number"] for p in again.json()] != numbers
    assert [(f.kind, f.path) for f in server_.faults.fired] == [("repeat_page", f"{PULLS}?state=all&page=2")]


# --- each kind, Anthropic ---


def test_anthropic_429_rate_limit_error(server_):
    install(server_, ("anthropic.claude_code_usage", 1, Fault.rate_limit(retry_after=1)))
    response = get(server_, USAGE, ANT, starting_at=BUSY_DAY)
    body = response.json()
    assert response.status_code == 429 and response.headers["retry-after"] == "1"
    assert body["type"] == "error" and body["error"]["type"] == "rate_limit_error"
    assert body["request_id"] == response.headers["request-id"]
    assert response.headers["anthropic-ratelimit-requests-remaining"] == "0"


@pytest.mark.parametrize(("status", "kind"), [(500, "api_error"), (502, "api_error"), (503, "api_error"), (529, "overloaded_error")])
def test_anthropic_server_errors(server_, status, kind):
    install(server_, (USAGE, 1, Fault.server_error(status)))
    response = get(server_, USAGE, ANT, starting_at=BUSY_DAY)
    assert response.status_code == status and response.json()["error"]["type"] == kind


def test_anthropic_expired_cursor_only_hits_requests_with_a_cursor(server_):
    install(server_, ("anthropic.claude_code_usage", 1, Fault.expired_cursor()))
    first = get(server_, USAGE, ANT, starting_at=BUSY_DAY, limit=2)
    assert first.status_code == 200 and first.json()["has_more"]
    expired = get(server_, USAGE, ANT, starting_at=BUSY_DAY, limit=2, page=first.json()["next_page"])
    assert expired.status_code == 400
    assert expired.json()["error"] == {"type": "invalid_request_error", "message": EXPIRED_CURSOR_MESSAGE}
    retried = get(server_, USAGE, ANT, starting_at=BUSY_DAY, limit=2, page=first.json()["next_page"])
    assert retried.status_code == 200


def test_anthropic_repeated_page_and_malformed_page(server_):
    install(server_, ("anthropic.claude_code_usage", 1, Fault.repeat_page()), ("anthropic.claude_code_usage", 4, Fault.malformed_json()))
    first = get(server_, USAGE, ANT, starting_at=BUSY_DAY, limit=2).json()
    second = get(server_, USAGE, ANT, starting_at=BUSY_DAY, limit=2, page=first["next_page"])
    healthy = get(server_, USAGE, ANT, starting_at=BUSY_DAY, limit=2, page=first["next_page"]).json()
    assert second.json()["data"] == first["data"]  # the first page again...
    assert second.json()["next_page"] == healthy["next_page"]  # ...with the second page's cursor
    assert healthy["data"] != first["data"]
    with pytest.raises(requests.exceptions.JSONDecodeError):
        get(server_, USAGE, ANT, starting_at=BUSY_DAY, limit=2).json()  # fourth matching request


# --- scripting, rates, runtime control ---


def test_script_fires_exactly_where_scripted(server_):
    plan = install(
        server_,
        ScriptedFault("github.pulls.list", nth=3, fault=Fault.server_error(502), times=2),
        ("/repos/*/deployments", 2, Fault.server_error(503)),
    )
    statuses = []
    for _ in range(6):
        statuses.append(get(server_, PULLS).status_code)
        assert get(server_, f"/repos/{REPO}").status_code == 200  # other endpoints untouched
    assert statuses == [200, 200, 502, 502, 200, 200]
    deployments = [get(server_, "/api/v3/repos/hoco/api/deployments").status_code for _ in range(3)]
    assert deployments == [200, 503, 200]  # the path glob ignores the GHES prefix
    assert [(f.endpoint, f.status) for f in plan.fired] == [
        ("github.pulls.list", 502), ("github.pulls.list", 502), ("github.deployments.list", 503)
    ]
    counts = server_.request_counts
    assert counts["github.pulls.list"] == 6 and counts["github.repos.get"] == 6 and counts["github.deployments.list"] == 3


def statuses_under(server, plan: FaultPlan) -> list[int]:
    server.faults = plan
    out = []
    for page in range(1, 6):
        for _ in range(20):
            out.append(get(server, PULLS, state="all", page=page).status_code)
    for _ in range(20):
        out.append(get(server, USAGE, ANT, starting_at=BUSY_DAY).status_code)
    return out


def test_rate_plan_is_deterministic_for_a_seed(server_):
    first = statuses_under(server_, FaultPlan(rates={"github": 0.25}, seed=7))
    second = statuses_under(server_, FaultPlan(rates={"github": 0.25}, seed=7))
    other_seed = statuses_under(server_, FaultPlan(rates={"github": 0.25}, seed=8))
    assert first == second
    assert first != other_seed
    github, anthropic = first[:100], first[100:]
    assert set(anthropic) == {200}  # no rate for anthropic: untouched
    assert 10 <= sum(s != 200 for s in github) <= 40
    assert set(github) <= {200, 403, 429, 500, 502, 503} and len(set(github)) >= 4


def test_rate_plan_can_choose_kinds_per_source(server_):
    plan = FaultPlan(rates={"anthropic": 1.0}, rate_faults={"anthropic": [Fault.server_error(529)]})
    server_.faults = plan
    assert get(server_, USAGE, ANT, starting_at=BUSY_DAY).status_code == 529
    assert get(server_, PULLS).status_code == 200
    assert plan.fired_kinds() == {"server_error": 1}


def test_faults_can_be_changed_between_syncs_and_counts_reset(server_, org):
    assert get(server_, f"/repos/{REPO}").status_code == 200
    server_.faults = FaultPlan([("github.repos.get", 1, Fault.server_error(500))])
    assert get(server_, f"/repos/{REPO}").status_code == 500  # counting starts at installation
    server_.faults = None
    assert get(server_, f"/repos/{REPO}").status_code == 200
    assert server_.request_counts == {"github.repos.get": 3}
    server_.reset_counts()
    assert server_.request_counts == {}


def test_pygithub_rides_out_a_scripted_secondary_limit(server_, truth):
    """Unmodified PyGithub (GithubRetry) honours Retry-After and still lists every PR."""
    install(server_, ("github.pulls.list", 2, Fault.secondary_rate_limit(retry_after=1)))
    gh = Github(base_url=server_.url, auth=Auth.Token("t"), per_page=100, seconds_between_requests=0)
    started = time.perf_counter()
    pulls = list(gh.get_repo(REPO).get_pulls(state="all"))
    rows = truth("pull_requests.csv")
    pages = -(-len(pulls) // 100)
    assert len(pulls) == (rows["repository"] == REPO).sum()
    assert server_.request_counts["github.pulls.list"] == pages + 1  # the faulted page, read twice
    assert time.perf_counter() - started >= 1.0


def test_impossible_plans_fail_loudly():
    with pytest.raises(ValueError, match="anthropic cannot serve a secondary_rate_limit"):
        FaultPlan([("anthropic.claude_code_usage", 1, Fault.secondary_rate_limit())])
    with pytest.raises(ValueError, match="github cannot serve a expired_cursor"):
        FaultPlan([("/repos/*/pulls", 1, Fault.expired_cursor())])
    with pytest.raises(ValueError, match="529"):
        FaultPlan([("github.pulls.list", 1, Fault.server_error(529))])
    with pytest.raises(ValueError):
        FaultPlan(rates={"github": 1.5})
    with pytest.raises(ValueError):
        Fault("teapot")


# --- conditional requests ---


def test_strong_etag_and_free_304(server_):
    response = get(server_, PULLS, state="all", page=2)
    etag = response.headers["ETag"]
    assert etag == '"' + hashlib.sha256(response.content).hexdigest() + '"'  # strong, from the body
    other_page = get(server_, PULLS, state="all", page=3)
    assert other_page.headers["ETag"] != etag
    used = int(other_page.headers["X-RateLimit-Used"])

    for header in (etag, f"W/{etag}", f'"stale", {etag}', "*"):
        again = get(server_, PULLS, {**GH, "If-None-Match": header}, state="all", page=2)
        assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
        assert int(again.headers["X-RateLimit-Used"]) == used  # free, as GitHub documents
    changed = get(server_, PULLS, {**GH, "If-None-Match": '"stale"'}, state="all", page=2)
    assert changed.status_code == 200 and changed.content == response.content
    assert server_.request_counts == {"github.pulls.list": 3, "github.pulls.list#304": 4}


def test_304s_do_not_spend_the_hourly_budget(org):
    with SandboxServer(org, rate_limit=2) as small:
        session = requests.Session()
        session.headers.update(GH)
        first = session.get(f"{small.url}/repos/{REPO}")
        etag = first.headers["ETag"]
        conditional = [session.get(f"{small.url}/repos/{REPO}", headers={"If-None-Match": etag}).status_code for _ in range(5)]
        assert conditional == [304] * 5
        assert session.get(f"{small.url}/repos/{REPO}/pulls").status_code == 200  # the second paid request
        assert session.get(f"{small.url}/repos/{REPO}/pulls").status_code == 403
        assert small.request_counts == {"github.repos.get": 1, "github.repos.get#304": 5, "github.pulls.list": 2}


# --- record patches: schema drift and bad records ---

PD = {"Authorization": "Token token=t", "Accept": "application/vnd.pagerduty+json;version=2"}
PD_PAGE = {"since": "2026-01-05T00:00:00Z", "until": "2026-03-01T00:00:00Z", "limit": 3}


def test_schema_drift_adds_the_unknown_field_and_drops_the_optional_one_on_every_record(server_):
    healthy = get(server_, "/pagerduty/incidents", PD, **PD_PAGE).json()
    plan = install(server_, patches=schema_drift("pagerduty"))
    drifted = get(server_, "/pagerduty/incidents", PD, **PD_PAGE).json()
    assert len(drifted["incidents"]) == len(healthy["incidents"]) == 3
    for before, after in zip(healthy["incidents"], drifted["incidents"]):
        assert "priority" in before and "priority" not in after
        assert after[DRIFT_FIELD] == DRIFT_VALUE
        assert {k: v for k, v in after.items() if k != DRIFT_FIELD} == {k: v for k, v in before.items() if k != "priority"}
    assert drifted["more"] == healthy["more"]  # the envelope is left alone
    assert plan.patched == {"pagerduty.incidents.list": 3}


def test_patches_reach_nested_fields_and_spare_error_answers(server_):
    plan = install(server_, patches=schema_drift("jira"))
    body = {"jql": "project = PLAT ORDER BY updated ASC", "fields": ["priority", "summary"], "maxResults": 2}
    page = requests.post(server_.url + "/rest/api/3/search/jql", json=body, auth=("a@hoco.io", "t"), timeout=10).json()
    assert [sorted(issue["fields"]) for issue in page["issues"]] == [sorted(["summary", DRIFT_FIELD])] * 2
    install(server_, ("pagerduty.incidents.list", 1, Fault.rate_limit()), patches=bad_records("pagerduty"))
    refused = get(server_, "/pagerduty/incidents", PD, **PD_PAGE)
    assert refused.status_code == 429 and DRIFT_FIELD not in refused.text and "snoozed" not in refused.text
    bad = get(server_, "/pagerduty/incidents", PD, **PD_PAGE).json()
    assert {incident["status"] for incident in bad["incidents"]} == {"snoozed"}
    assert plan.patched == {"jira.search_jql": 2}


def test_record_patches_refuse_what_they_cannot_do():
    with pytest.raises(ValueError, match="unknown patch source 'gitlab'"):
        RecordPatch("gitlab.merge_requests")
    with pytest.raises(ValueError, match="endpoint names, not paths"):
        RecordPatch("/repos/*/pulls")
