"""The sandbox's PagerDuty REST API v2: wire format, offset pagination, filters, auth and faults."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import requests

from sandbox.faults import Fault, FaultPlan, ScriptedFault
from sandbox.organisation import generate_organisation
from sandbox.pagerduty_api import PagerdutyApi
from sandbox.server import SandboxServer

HEADERS = {"Authorization": "Token token=pd-secret", "Accept": "application/vnd.pagerduty+json;version=2"}
ALL = {"since": "2026-01-01T00:00:00Z", "until": "2026-06-30T00:00:00Z"}


def _get(server: SandboxServer, path: str, params=None, headers=HEADERS) -> requests.Response:
    return requests.get(f"{server.url}/pagerduty{path}", params=params, headers=headers, timeout=30)


def _everything(server: SandboxServer) -> list[dict]:
    """Every PagerDuty incident of the calendar, paged by offset (two windows: at most 6 months each)."""
    items, offset = [], 0
    for since, until in (("2026-01-01T00:00:00Z", "2026-04-01T00:00:00Z"), ("2026-04-01T00:00:00Z", "2026-07-06T00:00:00Z")):
        offset = 0
        while True:
            page = _get(server, "/incidents", {"since": since, "until": until, "limit": 7, "offset": offset}).json()
            items += page["incidents"]
            if not page["more"]:
                break
            offset += page["limit"]
    return items


def test_incidents_match_ground_truth_in_the_documented_shape(server, truth) -> None:
    expected = truth("incidents.csv")
    expected = expected[expected["source"] == "pagerduty"].set_index("source_id")
    items = _everything(server)
    assert len(items) == len(expected) > 10
    assert [i["incident_number"] for i in items] == sorted(i["incident_number"] for i in items)
    for item in items:
        row = expected.loc[item["id"]]
        assert item["type"] == "incident" and item["summary"] == f"[#{item['incident_number']}] {item['title']}"
        assert item["title"] == row["title"] and item["urgency"] == row["urgency"]
        assert pd.Timestamp(item["created_at"]) == pd.Timestamp(row["created_at"], tz="UTC")
        resolved = row["resolved_at"]
        assert (item["resolved_at"] is None) == pd.isna(resolved)
        if item["resolved_at"]:
            assert item["status"] == "resolved" and pd.Timestamp(item["resolved_at"]) == pd.Timestamp(resolved, tz="UTC")
            assert item["acknowledgements"] == [] and item["assignments"] == []  # the API empties them
        service = item["service"]
        assert service["type"] == "service_reference" and service["summary"] == row["service"]
        assert service["self"].endswith(f"/pagerduty/services/{service['id']}") and service["html_url"].startswith("https://")
        assert item["self"].endswith(f"/pagerduty/incidents/{item['id']}")
        if row["explicit_link"]:
            assert item["incident_key"] == f"deploy-{int(row['caused_by_deployment_id'])}"
        else:
            assert not item["incident_key"].startswith("deploy-") and len(item["incident_key"]) == 32
        assert item["priority"] is None or item["priority"]["summary"] in ("P1", "P2", "P3", "P4")
    assert {i["status"] for i in items} >= {"resolved"}


def test_offset_pagination_more_and_total(server) -> None:
    first = _get(server, "/incidents", {**ALL, "limit": 5}).json()
    assert (first["limit"], first["offset"], first["more"], first["total"]) == (5, 0, True, None)
    counted = _get(server, "/incidents", {**ALL, "limit": 5, "total": "true"}).json()
    total = counted["total"]
    assert total > 5 and counted["incidents"] == first["incidents"]
    last = _get(server, "/incidents", {**ALL, "limit": 5, "offset": total - 2}).json()
    assert len(last["incidents"]) == 2 and last["more"] is False
    capped = _get(server, "/incidents", {**ALL, "limit": 500}).json()
    assert capped["limit"] == 100 and len(capped["incidents"]) == total


def test_since_until_statuses_and_services_filter(server, truth) -> None:
    expected = truth("incidents.csv")
    expected = expected[expected["source"] == "pagerduty"]
    created = pd.to_datetime(expected["created_at"])
    window = {"since": "2026-03-01T00:00:00Z", "until": "2026-04-01T00:00:00+00:00", "limit": 100}
    got = _get(server, "/incidents", window).json()["incidents"]
    assert len(got) == ((created >= "2026-03-01") & (created < "2026-04-01")).sum() > 0
    open_ones = _get(server, "/incidents", {"since": "2026-01-05T00:00:00Z", "until": "2026-07-06T00:00:00Z", "statuses[]": ["triggered", "acknowledged"], "limit": 100}).json()
    assert {i["status"] for i in open_ones["incidents"]} <= {"triggered", "acknowledged"}
    assert len(open_ones["incidents"]) == expected["resolved_at"].isna().sum() >= 1
    service_id = got[0]["service"]["id"]
    only = _get(server, "/incidents", {**window, "service_ids[]": service_id}).json()["incidents"]
    assert only and {i["service"]["id"] for i in only} == {service_id}
    assert _get(server, "/incidents", {"since": "2025-01-01T00:00:00Z", "until": "2026-06-01T00:00:00Z"}).status_code == 400
    assert _get(server, "/incidents", {**ALL, "statuses[]": "exploded"}).status_code == 400
    berlin = _get(server, "/incidents", {**window, "time_zone": "Europe/Berlin"}).json()["incidents"][0]
    assert berlin["created_at"].endswith("+01:00") and pd.Timestamp(berlin["created_at"]) == pd.Timestamp(got[0]["created_at"])


def test_services_and_single_objects(server) -> None:
    services = _get(server, "/services").json()
    assert services["more"] is False and {s["name"] for s in services["services"]} == {"api", "infra", "payments-service"}
    one = services["services"][0]
    assert _get(server, f"/services/{one['id']}").json()["service"]["name"] == one["name"]
    assert _get(server, "/services/PNOSUCH").json() == {"error": {"message": "Not Found", "code": 2100}}
    incident = _get(server, "/incidents", {**ALL, "limit": 1}).json()["incidents"][0]
    assert _get(server, f"/incidents/{incident['id']}").json()["incident"] == incident


def test_missing_token_is_401_with_pagerduty_error_body(server) -> None:
    for headers in ({}, {"Authorization": "Token token="}, {"Authorization": "Basic abc"}):
        response = _get(server, "/incidents", headers=headers)
        assert response.status_code == 401
        assert response.json() == {"error": {"message": "Authentication Failed", "code": 2006}}
    assert _get(server, "/incidents", headers={"Authorization": "Bearer oauth-token"}).status_code == 200
    assert _get(server, "/nothing-here").json()["error"]["code"] == 2100


def test_faults_rate_limit_server_error_malformed_and_repeat_page(server) -> None:
    server.faults = FaultPlan([
        ScriptedFault("pagerduty.incidents.list", 1, Fault.rate_limit(retry_after=3)),
        ScriptedFault("pagerduty.incidents.list", 2, Fault.server_error(503)),
        ScriptedFault("pagerduty.incidents.list", 3, Fault.malformed_json()),
        ScriptedFault("/pagerduty/incidents", 1, Fault.repeat_page()),
    ])
    try:
        limited = _get(server, "/incidents", {**ALL, "limit": 3})
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
        assert limited.json()["error"]["message"] == "Rate Limit Exceeded"
        assert _get(server, "/incidents", {**ALL, "limit": 3}).status_code == 503
        truncated = _get(server, "/incidents", {**ALL, "limit": 3})
        assert truncated.status_code == 200
        with pytest.raises(ValueError):
            truncated.json()
        first = _get(server, "/incidents", {**ALL, "limit": 3}).json()
        repeated = _get(server, "/incidents", {**ALL, "limit": 3, "offset": 3}).json()  # the first page fault applies to
        assert repeated["incidents"] == first["incidents"] and repeated["offset"] == 3
        assert server.faults.fired_kinds() == {"rate_limit": 1, "server_error": 1, "malformed_json": 1, "repeat_page": 1}
    finally:
        server.faults = None
    with pytest.raises(ValueError, match="pagerduty cannot serve"):
        FaultPlan([ScriptedFault("pagerduty.incidents.list", 1, Fault.expired_cursor())])


def test_same_seed_same_payloads(org) -> None:
    again = generate_organisation(preset="small", seed=42)
    with SandboxServer(again) as other:
        a = requests.get(f"{other.url}/pagerduty/incidents", params={**ALL, "limit": 100}, headers=HEADERS, timeout=30)
    api = PagerdutyApi(org)
    assert [i.incident_id for i in api.incidents] == [i.incident_id for i in PagerdutyApi(again).incidents]
    ids = [i["id"] for i in a.json()["incidents"]]
    assert len(ids) == len(set(ids)) and all(len(i) == 7 and i.startswith("P") for i in ids)
    assert dt.datetime  # deterministic: ids derive from the seed and the incident, never from the clock
