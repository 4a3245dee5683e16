"""A plain `requests` client reads the Claude Code analytics report as the ground truth describes it."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

PATH = "/v1/organizations/usage_report/claude_code"
HEADERS = {"x-api-key": "sk-ant-admin01-sandbox", "anthropic-version": "2023-06-01"}


def read_day(session: requests.Session, url: str, day: dt.date, limit: int) -> tuple[list[dict], int]:
    records, pages, cursor = [], 0, None
    while True:
        params = {"starting_at": day.isoformat(), "limit": limit, **({"page": cursor} if cursor else {})}
        response = session.get(url + PATH, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        assert len(body["data"]) <= limit
        records += body["data"]
        if not body["has_more"]:
            assert body["next_page"] is None
            return records, pages
        assert isinstance(body["next_page"], str) and body["next_page"]
        cursor = body["next_page"]


@pytest.fixture(scope="module")
def report(server, org):
    session = requests.Session()
    session.headers.update(HEADERS)
    records, pages = [], 0
    day = org.start_date
    while day <= org.end_date:
        got, used = read_day(session, server.url, day, limit=3)
        records += got
        pages += used
        day += dt.timedelta(days=1)
    return records, pages


def test_every_day_read_across_pages_matches_totals(report, truth, org):
    records, pages = report
    actor_days = truth("ai_actor_days.csv")
    models = truth("ai_usage_daily.csv")
    days = (org.end_date - org.start_date).days + 1
    assert len(records) == len(actor_days) > 500
    assert pages > days  # a limit of 3 forced paging on busy days
    breakdown = [m for r in records for m in r["model_breakdown"]]
    assert len(breakdown) == len(models)
    for field, column in (("input", "input_tokens"), ("output", "output_tokens"), ("cache_read", "cache_read_tokens"),
                          ("cache_creation", "cache_creation_tokens")):
        assert sum(m["tokens"][field] for m in breakdown) == models[column].sum()
    cents = sum(m["estimated_cost"]["amount"] for m in breakdown)
    assert cents / 100 == pytest.approx(models["cost_usd"].sum(), abs=0.005)
    assert {m["estimated_cost"]["currency"] for m in breakdown} == {"USD"}
    assert sum(r["core_metrics"]["num_sessions"] for r in records) == actor_days["sessions"].sum()
    assert sum(r["core_metrics"]["lines_of_code"]["added"] for r in records) == actor_days["lines_added"].sum()
    accepted = sum(t["accepted"] for r in records for t in r["tool_actions"].values())
    assert accepted == actor_days["edits_accepted"].sum()


def test_record_shape_follows_the_documentation(report, org):
    record = report[0][0]
    assert set(record) >= {"date", "actor", "organization_id", "customer_type", "terminal_type", "core_metrics",
                           "tool_actions", "model_breakdown"}
    assert record["date"].endswith("T00:00:00Z")
    assert record["actor"]["type"] == "user_actor" and record["actor"]["email_address"].endswith("@hoco.io")
    assert record["organization_id"] == org.anthropic_organization_id
    assert set(record["core_metrics"]) == {"num_sessions", "lines_of_code", "commits_by_claude_code",
                                           "pull_requests_by_claude_code"}
    assert set(record["tool_actions"]) == {"edit_tool", "multi_edit_tool", "write_tool", "notebook_edit_tool"}
    model = record["model_breakdown"][0]
    assert set(model) == {"model", "tokens", "estimated_cost"}
    assert set(model["tokens"]) == {"input", "output", "cache_read", "cache_creation"}
    assert isinstance(model["estimated_cost"]["amount"], int)


def test_each_day_only_has_its_own_records(server, org):
    session = requests.Session()
    session.headers.update(HEADERS)
    day = org.start_date + dt.timedelta(weeks=20, days=2)
    records, _ = read_day(session, server.url, day, limit=1000)
    expected = sorted(u.email for u in org.usage if u.date == day)
    assert sorted(r["actor"]["email_address"] for r in records) == expected and expected
    assert {r["date"] for r in records} == {f"{day.isoformat()}T00:00:00Z"}
    before = session.get(server.url + PATH, params={"starting_at": "2025-12-01"}).json()
    assert before == {"data": [], "has_more": False, "next_page": None}


def test_authentication_and_request_errors(server):
    missing_key = requests.get(server.url + PATH, params={"starting_at": "2026-03-02"},
                               headers={"anthropic-version": "2023-06-01"})
    assert missing_key.status_code == 401
    body = missing_key.json()
    assert body["type"] == "error" and body["error"]["type"] == "authentication_error" and body["error"]["message"]
    missing_version = requests.get(server.url + PATH, params={"starting_at": "2026-03-02"},
                                   headers={"x-api-key": "k"})
    assert missing_version.status_code == 400
    assert missing_version.json()["error"]["type"] == "invalid_request_error"
    too_many = requests.get(server.url + PATH, params={"starting_at": "2026-03-02", "limit": 1001}, headers=HEADERS)
    assert too_many.status_code == 400 and too_many.json()["type"] == "error"
    bad_cursor = requests.get(server.url + PATH, params={"starting_at": "2026-03-02", "page": "garbage"}, headers=HEADERS)
    assert bad_cursor.status_code == 400


def test_requests_are_counted(server):
    before = server.request_counts.get("anthropic.claude_code_usage", 0)
    requests.get(server.url + PATH, params={"starting_at": "2026-03-02"}, headers=HEADERS)
    assert server.request_counts["anthropic.claude_code_usage"] == before + 1
