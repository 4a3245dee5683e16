"""The sandbox's Jira: Cloud v3 and Data Center v2 wire formats, paging, changelog, errors, determinism."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo

import pytest
import requests
from jira import JIRA

from sandbox.faults import Fault, FaultPlan
from sandbox.jira_issues import STATUS_CATEGORY, generate_jira, jira_truth, project_key
from sandbox.organisation import generate_organisation
from sandbox.server import SandboxServer

AUTH = ("someone@hoco.io", "api-token")
JIRA_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")
BERLIN, NEW_YORK = zoneinfo.ZoneInfo("Europe/Berlin"), zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def world(org):
    return generate_jira(org)


@pytest.fixture()
def faulty(server):
    yield server
    server.faults = None


def _get(server, path: str, auth=AUTH, **params) -> requests.Response:
    return requests.get(server.url + path, params=params, auth=auth, timeout=30)


def _utc(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(dt.timezone.utc)


def test_project_keys_follow_team_names() -> None:
    taken: set[str] = set()
    assert [project_key(n, taken) for n in ("platform", "design-system", "platform-2", "ci", "platform")] == [
        "PLAT", "DS", "PLAT2", "CI", "PLAT3",
    ]


def test_server_info_says_cloud_on_v3_and_server_on_v2(server) -> None:
    cloud = _get(server, "/rest/api/3/serverInfo").json()
    dc = _get(server, "/rest/api/2/serverInfo").json()
    assert cloud["deploymentType"] == "Cloud" and dc["deploymentType"] == "Server"
    assert JIRA_TIME.match(cloud["serverTime"]) and cloud["versionNumbers"][0] == 1001
    assert _get(server, "/rest/api/3/myself").json()["timeZone"] == "Europe/Berlin"
    me = _get(server, "/rest/api/2/myself").json()
    assert me["timeZone"] == "America/New_York" and "accountId" not in me and me["name"] == "impact"


def test_missing_or_revoked_credentials_get_401(server) -> None:
    for version in ("2", "3"):
        anonymous = _get(server, f"/rest/api/{version}/myself", auth=None)
        assert anonymous.status_code == 401
        assert anonymous.json()["errorMessages"] == [
            "You are not authenticated. Authentication required to perform this operation."
        ]
    server.app.jira.revoked_tokens.add("old-token")
    try:
        refused = _get(server, "/rest/api/3/myself", auth=("someone@hoco.io", "old-token"))
        assert refused.status_code == 401 and refused.json()["errors"] == {}
        bearer = requests.get(server.url + "/rest/api/2/myself", headers={"Authorization": "Bearer old-token"}, timeout=30)
        assert bearer.status_code == 401 and bearer.headers["X-Seraph-LoginReason"] == "AUTHENTICATED_FAILED"
        assert requests.get(
            server.url + "/rest/api/2/myself", headers={"Authorization": "Bearer pat-1"}, timeout=30
        ).status_code == 200
    finally:
        server.app.jira.revoked_tokens.clear()


def test_field_and_status_catalogues(server) -> None:
    cloud_fields = {f["name"]: f for f in _get(server, "/rest/api/3/field").json()}
    assert cloud_fields["Story point estimate"]["id"] == "customfield_10016"
    assert cloud_fields["Sprint"]["id"] == "customfield_10020"
    assert cloud_fields["Sprint"]["schema"]["custom"] == "com.pyxis.greenhopper.jira:gh-sprint"
    assert "Story Points" in {f["name"] for f in _get(server, "/rest/api/2/field").json()}
    statuses = {s["name"]: s for s in _get(server, "/rest/api/3/status").json()}
    assert {n: s["statusCategory"]["key"] for n, s in statuses.items()} == STATUS_CATEGORY
    assert statuses["In Progress"]["statusCategory"]["name"] == "In Progress"


def test_enhanced_search_pages_by_next_page_token_until_is_last(server, world) -> None:
    expected = sorted(world.project_issues("PLAT"), key=lambda i: (i.updated_at, int(i.key.split("-")[1])))
    jql = 'project = PLAT ORDER BY updated ASC, key ASC'
    keys, token, pages = [], None, 0
    while True:
        params = {"jql": jql, "maxResults": 40, "fields": "key,updated"}
        if token:
            params["nextPageToken"] = token
        page = _get(server, "/rest/api/3/search/jql", **params).json()
        pages += 1
        assert "total" not in page and "startAt" not in page
        keys += [issue["key"] for issue in page["issues"]]
        token = page.get("nextPageToken")
        if page["isLast"]:
            assert token is None
            break
        assert len(page["issues"]) == 40
    assert keys == [i.key for i in expected]
    assert pages == -(-len(expected) // 40)


def test_enhanced_search_defaults_to_ids_and_caps_pages(server) -> None:
    bare = _get(server, "/rest/api/3/search/jql", jql="project = DATA", maxResults=500).json()
    assert set(bare["issues"][0]) == {"expand", "id", "self", "key"}
    assert len(bare["issues"]) > 100  # ids only: maxResults is honoured
    full = _get(server, "/rest/api/3/search/jql", jql="project = DATA", maxResults=500, fields="*all").json()
    assert len(full["issues"]) == 100 and full["isLast"] is False  # with fields Jira serves fewer


def test_post_search_reads_the_json_body(server) -> None:
    body = {"jql": "project = MOBI ORDER BY key ASC", "maxResults": 5, "fields": ["summary"], "expand": "changelog"}
    posted = requests.post(server.url + "/rest/api/3/search/jql", json=body, auth=AUTH, timeout=30)
    got = _get(server, "/rest/api/3/search/jql", jql=body["jql"], maxResults=5, fields="summary", expand="changelog")
    assert posted.status_code == 200 and posted.json() == got.json()
    assert [i["key"] for i in posted.json()["issues"]] == [f"MOBI-{n}" for n in range(1, 6)]
    no_json = requests.post(server.url + "/rest/api/3/search/jql", data="jql=x", auth=AUTH, timeout=30,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert no_json.status_code == 415
    unknown = requests.post(server.url + "/rest/api/3/search/jql", json={**body, "startAtt": 1}, auth=AUTH, timeout=30)
    assert unknown.status_code == 400 and "startAtt" in unknown.json()["errorMessages"][0]


def test_data_center_search_pages_by_start_at_with_total(server, world) -> None:
    expected = world.project_issues("PAYM")
    first = _get(server, "/rest/api/2/search", jql="project = PAYM ORDER BY key ASC", startAt=0, maxResults=50).json()
    assert first["total"] == len(expected) and first["startAt"] == 0 and first["maxResults"] == 50
    keys, start = [], 0
    while start < first["total"]:
        page = _get(server, "/rest/api/2/search", jql="project = PAYM ORDER BY key ASC", startAt=start, maxResults=50).json()
        keys += [i["key"] for i in page["issues"]]
        start += len(page["issues"])
    assert keys == [f"PAYM-{n}" for n in range(1, len(expected) + 1)]
    issue = page["issues"][0]["fields"]
    assert isinstance(issue["description"], str)
    assert issue["assignee"] is None or ("name" in issue["assignee"] and "emailAddress" in issue["assignee"])


def test_changelog_and_times_carry_the_site_offset(server, world) -> None:
    by_key = {i.key: i for i in world.issues}
    jql = 'project = PLAT AND created >= "2026-03-01" ORDER BY key ASC'  # spans both daylight saving changes
    cloud = _get(server, "/rest/api/3/search/jql", jql=jql, maxResults=100, fields="*all", expand="changelog").json()["issues"]
    dc = _get(server, "/rest/api/2/search", jql=jql, maxResults=100, fields="*all", expand="changelog").json()["issues"]
    assert [i["key"] for i in cloud] == [i["key"] for i in dc]
    status_ids = {s["name"]: s["id"] for s in _get(server, "/rest/api/3/status").json()}
    offsets = set()
    transitions = 0
    for cloud_issue, dc_issue in zip(cloud, dc):
        truth = by_key[cloud_issue["key"]]
        for issue, zone in ((cloud_issue, BERLIN), (dc_issue, NEW_YORK)):
            created = issue["fields"]["created"]
            assert JIRA_TIME.match(created)
            assert _utc(created) == truth.created_at
            assert created[-5:] == truth.created_at.astimezone(zone).strftime("%z")
            offsets.add(created[-5:])
        histories = cloud_issue["changelog"]["histories"]
        assert cloud_issue["changelog"]["total"] == len(histories) == len(truth.histories)
        status_items = [(h, item) for h in histories for item in h["items"] if item["field"] == "status"]
        for (history, item), expected in zip(status_items, truth.transitions):
            assert _utc(history["created"]) == expected.at
            assert (item["fromString"], item["toString"]) == (expected.from_value, expected.to_value)
            assert (item["from"], item["to"]) == (status_ids[expected.from_value], status_ids[expected.to_value])
            transitions += 1
        assert len(status_items) == len(truth.transitions)
    assert {"+0100", "+0200", "-0500", "-0400"} <= offsets  # daylight saving time moves the offset
    assert transitions > 100


def test_updated_bound_is_read_in_the_users_zone(server, world) -> None:
    issues = sorted(world.project_issues("DATA"), key=lambda i: i.updated_at)
    local = issues[len(issues) // 2].updated_at.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M")
    bound = dt.datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=BERLIN)
    expected = {i.key for i in world.project_issues("DATA") if i.updated_at >= bound}
    got = _get(server, "/rest/api/3/search/jql", jql=f'project = DATA AND updated >= "{local}"', maxResults=1000).json()
    assert {i["key"] for i in got["issues"]} == expected and expected
    dc_bound = bound.replace(tzinfo=NEW_YORK)
    dc_expected = {i.key for i in world.project_issues("DATA") if i.updated_at >= dc_bound}
    dc = _get(server, "/rest/api/2/search", jql=f'project = DATA AND updated >= "{local}"', maxResults=1000).json()
    assert {i["key"] for i in dc["issues"]} == dc_expected != expected


@pytest.mark.parametrize(
    ("path", "jql", "message"),
    [
        ("/rest/api/3/search/jql", "project = PLAT OR project = DATA", "OR"),
        ("/rest/api/3/search/jql", "projekt = PLAT", "Field 'projekt' does not exist"),
        ("/rest/api/3/search/jql", "project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("/rest/api/3/search/jql", "ORDER BY updated", "Unbounded JQL queries are not allowed here"),
        ("/rest/api/3/search/jql", 'project = PLAT AND updated >= "yesterday"', "Date value 'yesterday'"),
        ("/rest/api/2/search", "project in (PLAT, NOPE)", "The value 'NOPE' does not exist"),
    ],
)
def test_jql_the_sandbox_does_not_understand_is_a_400(server, path: str, jql: str, message: str) -> None:
    response = _get(server, path, jql=jql)
    assert response.status_code == 400
    assert message in response.json()["errorMessages"][0]


def test_retired_search_and_foreign_tokens(server) -> None:
    gone = _get(server, "/rest/api/3/search", jql="project = PLAT")
    assert gone.status_code == 410 and "/rest/api/3/search/jql" in gone.json()["errorMessages"][0]
    first = _get(server, "/rest/api/3/search/jql", jql="project = PLAT", maxResults=5).json()
    other = _get(server, "/rest/api/3/search/jql", jql="project = DATA", maxResults=5, nextPageToken=first["nextPageToken"])
    assert other.status_code == 400 and "token" in other.json()["errorMessages"][0]


def test_the_jira_library_reads_both_flavours(server, world) -> None:
    cloud = JIRA(server=server.url, basic_auth=AUTH, options={"rest_api_version": "3"}, max_retries=0)
    assert cloud._is_cloud
    issues = cloud.enhanced_search_issues("project = PLAT ORDER BY key ASC", maxResults=0, expand="changelog")
    assert [i.key for i in issues] == [i.key for i in sorted(world.project_issues("PLAT"), key=lambda i: int(i.key[5:]))]
    assert issues[0].fields.status.statusCategory.key in ("new", "indeterminate", "done")
    posted = cloud.enhanced_search_issues("project = PLAT ORDER BY key ASC", maxResults=0, use_post=True)
    assert [i.key for i in posted] == [i.key for i in issues]
    dc = JIRA(server=server.url, token_auth="pat", max_retries=0)
    assert not dc._is_cloud
    dc_issues = dc.search_issues("project = PLAT ORDER BY key ASC", maxResults=0, expand="changelog")
    assert dc_issues.total == len(issues) and [i.key for i in dc_issues] == [i.key for i in issues]


def test_faults_answer_in_jiras_shapes(faulty) -> None:
    faulty.faults = FaultPlan([
        ("jira.search_jql", 1, Fault.rate_limit(retry_after=2)),
        ("jira.search_jql", 1, Fault.expired_cursor()),  # counts only requests that carry a token
    ])
    limited = _get(faulty, "/rest/api/3/search/jql", jql="project = PLAT", maxResults=5)
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    first = _get(faulty, "/rest/api/3/search/jql", jql="project = PLAT", maxResults=5).json()
    expired = _get(faulty, "/rest/api/3/search/jql", jql="project = PLAT", maxResults=5, nextPageToken=first["nextPageToken"])
    assert expired.status_code == 400 and "next page token" in expired.json()["errorMessages"][0]
    assert faulty.faults.fired_kinds() == {"rate_limit": 1, "expired_cursor": 1}


def test_incidents_reported_in_jira_are_incident_issues(org, world) -> None:
    reported = [i for i in org.incidents if i.source == "jira"]
    # (second reports of PagerDuty-paged outages are Incident issues too: tests/sandbox/test_sandbox_incident_duplicates.py)
    incident_issues = {i.incident_id: i for i in world.issues if i.issue_type == "Incident" and i.duplicate_of is None}
    assert set(incident_issues) == {i.incident_id for i in reported}
    team_of_repo = {r.full_name: r.team_id for r in org.repository_details}
    project_of_team = {p.team_id: p.key for p in world.projects}
    for incident in reported:
        issue = incident_issues[incident.incident_id]
        assert issue.project_key == project_of_team[team_of_repo[incident.repository]]
        assert issue.created_at == incident.created_at
        assert issue.resolved_at == (incident.resolved_at if incident.resolved_at and incident.resolved_at < org.observed_at else None)
        linked = incident.explicit_link and incident.caused_by_deployment_id is not None
        assert (f"deployment-{incident.caused_by_deployment_id}" in issue.labels) == linked


def test_world_is_deterministic_and_realistic(org, world) -> None:
    again = generate_jira(generate_organisation(preset="small", seed=org.seed))
    assert again == world
    assert jira_truth(again) == jira_truth(world)
    other = generate_jira(generate_organisation(preset="small", seed=org.seed + 1))
    assert [i.created_at for i in other.issues] != [i.created_at for i in world.issues]
    statuses = {i.status for i in world.issues}
    assert statuses == {"To Do", "In Progress", "In Review", "Done"}
    reopened = [i for i in world.issues if [h.to_value for h in i.transitions].count("Done") > 1
                or any(h.from_value == "Done" for h in i.transitions)]
    assert reopened, "some issues are reopened"
    assert any(i.assignee is None for i in world.issues) and any(i.started_at is None for i in world.issues)
    cycle = sorted((i.resolved_at - i.started_at).total_seconds() for i in world.issues if i.started_at and i.resolved_at)
    assert cycle[len(cycle) * 9 // 10] > 3 * cycle[len(cycle) // 2]  # heavy tail
    assert all(i.updated_at <= org.observed_at for i in world.issues)
