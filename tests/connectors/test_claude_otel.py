"""OpenTelemetry exports: the sandbox's OTLP JSON files read back to the report's own numbers."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from pathlib import Path

import duckdb
import pytest

from connectors.claude_otel import read_otel_exports
from connectors.http import SourceError
from impact.config import parse_config
from impact.sync import sync_claude_otel
from sandbox.organisation import Organisation
from sandbox.otel import OtelDeveloperDay, telemetry_teams, write_otel_export


@pytest.fixture(scope="module")
def export(small_org: Organisation, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[OtelDeveloperDay]]:
    folder = tmp_path_factory.mktemp("otel")
    return folder, write_otel_export(small_org, folder)


@pytest.fixture(scope="module")
def totals(export) -> dict[tuple[str, dt.date, str, str | None, str | None], float]:
    records, _ = read_otel_exports([export[0]])
    summed: dict = defaultdict(float)
    for record in records:
        summed[(record.user_email, record.date, record.metric, record.model, record.kind)] += record.value
    return summed


def test_tokens_and_cost_equal_the_analytics_report(small_org: Organisation, export, totals) -> None:
    teams = set(telemetry_teams(small_org))
    emails = {d.email for d in small_org.developers if d.team_id in teams}
    days = [day for day in small_org.usage if day.email in emails]
    assert len(days) == len(export[1]) > 100
    kinds = {"input": "input_tokens", "output": "output_tokens", "cacheRead": "cache_read_tokens",
             "cacheCreation": "cache_creation_tokens"}
    for day in days:
        for model in day.models:
            for kind, field in kinds.items():
                got = totals[(day.email, day.date, "claude_code.token.usage", model.model, kind)]
                assert got == getattr(model, field), (day.email, day.date, model.model, kind)
            cost = totals[(day.email, day.date, "claude_code.cost.usage", model.model, None)]
            assert round(cost, 2) == model.cost_cents / 100
        assert totals[(day.email, day.date, "claude_code.lines_of_code.count", None, "added")] == day.lines_added
        assert totals[(day.email, day.date, "claude_code.commit.count", None, None)] == day.commits


def test_active_time_and_sessions_equal_the_answer_key(export, totals) -> None:
    _, truth = export
    assert {row.temporality for row in truth} == {"delta", "cumulative"}
    for row in truth:
        assert totals[(row.email, row.date, "claude_code.active_time.total", None, "cli")] == row.active_seconds
        assert totals[(row.email, row.date, "claude_code.session.count", None, None)] == row.sessions


def test_points_written_twice_count_once(export) -> None:
    _, summary = read_otel_exports([export[0]])
    assert summary.duplicate_points > 0
    # reading the same folder twice (a copy of every file) changes nothing
    doubled, again = read_otel_exports([export[0], export[0]])
    single, _ = read_otel_exports([export[0]])
    assert sorted((r.date, r.metric, r.session_id, r.model, r.kind, r.tool_name, r.decision, r.value) for r in doubled) == \
        sorted((r.date, r.metric, r.session_id, r.model, r.kind, r.tool_name, r.decision, r.value) for r in single)
    assert again.duplicate_points == summary.points + summary.duplicate_points * 2


def test_foreign_metrics_are_skipped_and_a_cut_line_is_a_clear_error(tmp_path: Path) -> None:
    point = {"asInt": "5", "startTimeUnixNano": "1772438880000000000", "timeUnixNano": "1772439780000000000",
             "attributes": [{"key": "user.email", "value": {"stringValue": "a@hoco.io"}}]}
    request = {"resourceMetrics": [{"scopeMetrics": [{"metrics": [
        {"name": "http.server.duration", "sum": {"dataPoints": [point], "aggregationTemporality": 1}},
        {"name": "claude_code.commit.count", "sum": {"dataPoints": [point], "aggregationTemporality": 1}},
    ]}]}]}
    good = tmp_path / "metrics.jsonl"
    good.write_text(json.dumps(request) + "\n")
    records, summary = read_otel_exports([good])
    assert [(r.metric, r.value, r.user_email) for r in records] == [("claude_code.commit.count", 5.0, "a@hoco.io")]
    assert summary.skipped_metrics == 1
    good.write_text(json.dumps(request) + "\n" + json.dumps(request)[:40] + "\n")
    with pytest.raises(SourceError, match=r"^claude_code\.otel: metrics\.jsonl line 2 is not JSON"):
        read_otel_exports([good])
    with pytest.raises(SourceError, match="does not exist"):
        read_otel_exports([tmp_path / "missing"])


def test_sync_lands_the_aggregate_once(export, small_org: Organisation, tmp_path: Path) -> None:
    config = parse_config({
        "start_date": small_org.start_date.isoformat(), "warehouse": str(tmp_path / "impact.duckdb"),
        "claude_code": {"otel_exports": [str(export[0])]},
    })
    first = sync_claude_otel(config)
    second = sync_claude_otel(config)
    files = list((config.raw_dir / "claude_code" / "otel_usage").glob("*.parquet"))
    assert len(files) == 1 and first.rows == second.rows
    [(rows, tokens)] = duckdb.execute(
        f"select count(*), sum(value) filter (where metric = 'claude_code.token.usage') from read_parquet('{files[0]}')"
    ).fetchall()
    expected = sum(
        m.input_tokens + m.output_tokens + m.cache_read_tokens + m.cache_creation_tokens
        for day in small_org.usage if day.email in {r.email for r in export[1]} for m in day.models
    )
    assert rows == first.rows["claude_code/otel_usage"] and tokens == expected
