"""A session file that grows between two syncs (the session went on, and its last response was still
streaming at the first sync) gives the same AI marts as one sync of the finished file: no response is
counted twice and the streamed one counts with its final output. The first sync's config also had a
budget that the second removed: budgets are configuration, so the marts forget it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from impact.config import load_config
from impact.sync import sync_claude_transcripts, sync_team_mapping
from impact.landing import ensure_entity_folders
from tests.spend.conftest import dbt_build

MODEL = "claude-sonnet-4-5-20250929"
START = dt.datetime(2026, 3, 2, 22, 0, tzinfo=dt.timezone.utc)
SELECT = ["--select", "+mart_ai_spend_alerts", "+mart_ai_budget", "--indirect-selection", "cautious"]
TABLES = {
    "fct_ai_sessions": "session_id",
    "mart_ai_developer_day_spend": "developer_id, date_day",
    "mart_ai_budget": "scope_kind, scope, month_start",
    "mart_ai_spend_alerts": "alert_id",
}


def _assistant(n: int, at: dt.datetime, output: int, final: bool) -> dict:
    return {
        "type": "assistant", "timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "sessionId": "s-grow",
        "uuid": f"u-{n}-{output}", "parentUuid": None, "isSidechain": False, "cwd": "/home/ann/src/api",
        "gitBranch": "feature/x", "version": "2.0.37", "requestId": f"req_{n}",
        "message": {"id": f"msg_{n}", "type": "message", "role": "assistant", "model": MODEL,
                    "content": [{"type": "text", "text": "..."}], "stop_reason": "end_turn" if final else None,
                    "usage": {"input_tokens": 10, "output_tokens": output, "cache_read_input_tokens": 200_000,
                              "cache_creation_input_tokens": 50_000,
                              "cache_creation": {"ephemeral_5m_input_tokens": 50_000, "ephemeral_1h_input_tokens": 0}}},
    }


def _lines(responses: int, last_streaming: bool) -> list[str]:
    """A user turn, then a response every 3 minutes across midnight; the last may still be streaming."""
    lines = [json.dumps({"type": "user", "timestamp": START.strftime("%Y-%m-%dT%H:%M:%S.000Z"), "sessionId": "s-grow",
                         "uuid": "u-user", "cwd": "/home/ann/src/api", "gitBranch": "feature/x",
                         "message": {"role": "user", "content": "go on"}})]
    for n in range(responses):
        at = START + dt.timedelta(minutes=3 * n)
        streaming = last_streaming and n == responses - 1
        lines.append(json.dumps(_assistant(n, at, 40, final=False)))  # a snapshot: partial output
        if not streaming:
            lines.append(json.dumps(_assistant(n, at + dt.timedelta(seconds=2), 900, final=True)))
    return lines


def _config(root: Path, name: str, transcripts: Path, budgets: str) -> Path:
    teams = root / "teams.csv"
    teams.write_text("email,team_id,display_name,role\nann@hoco.io,core,Ann A,engineer\n")
    path = root / f"{name}.yaml"
    path.write_text(
        f"start_date: 2026-03-01\nwarehouse: {root / name / 'impact.duckdb'}\nteams: {teams}\n"
        f"claude_code: {{transcripts: [{{path: {transcripts}}}]}}\n"
        f"alerts: {{developer_day_usd: 1, session_usd: 2}}\n{budgets}"
    )
    return path


def _sync(config_path: Path) -> None:
    config = load_config(config_path)
    sync_team_mapping(config)
    sync_claude_transcripts(config)
    ensure_entity_folders(config.raw_dir)


def _snapshot(build, table: str, order: str) -> list[dict]:
    """The table's rows without `extracted_at`: when a record landed is lineage (the two warehouses land at
    different moments), not a value the marts must agree on."""
    rows = build.rows(f"select * from marts.{table} order by {order}")
    return [{name: value for name, value in row.items() if name != "extracted_at"} for row in rows]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("incremental")
    session_file = root / "transcripts" / "ann@hoco.io" / "projects" / "-home-ann-src-api" / "s-grow.jsonl"
    session_file.parent.mkdir(parents=True)
    # incremental: the file as it was at 23:00 (last response still streaming), then finished
    session_file.write_text("\n".join(_lines(21, last_streaming=True)) + "\n")
    _sync(_config(root, "incremental", root / "transcripts", "budgets: {teams: {core: 1}}\n"))
    session_file.write_text("\n".join(_lines(60, last_streaming=False)) + "\n")
    incremental_config = _config(root, "incremental", root / "transcripts", "")
    _sync(incremental_config)
    _sync(incremental_config)  # a re-run with nothing new lands nothing twice
    # full: one sync of the finished file
    _sync(_config(root, "full", root / "transcripts", ""))
    return (dbt_build(root / "incremental", root / "incremental" / "raw", *SELECT),
            dbt_build(root / "full", root / "full" / "raw", *SELECT))


def test_grown_session_gives_the_marts_of_a_full_run(builds) -> None:
    incremental, full = builds
    for table, order in TABLES.items():
        assert _snapshot(incremental, table, order) == _snapshot(full, table, order), table


def test_each_response_counts_once_with_its_final_output(builds) -> None:
    incremental, _ = builds
    [session] = incremental.rows("select * from marts.fct_ai_sessions")
    assert session["message_count"] == 60 and session["output_tokens"] == 60 * 900
    days = incremental.rows("select date_day, cost_usd from marts.mart_ai_developer_day_spend order by date_day")
    assert [str(d["date_day"]) for d in days] == ["2026-03-02", "2026-03-03"]  # the session crossed midnight
    assert sum(d["cost_usd"] for d in days) == pytest.approx(session["cost_usd"])


def test_a_budget_removed_from_the_config_is_forgotten(builds) -> None:
    incremental, _ = builds
    assert incremental.rows("select count(*) as n from marts.mart_ai_budget where budget_usd is not null") == [{"n": 0}]
    kinds = {a["kind"] for a in incremental.rows("select kind from marts.mart_ai_spend_alerts")}
    assert kinds == {"developer_day", "session"}
