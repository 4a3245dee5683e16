"""The sandbox's Claude Code transcripts: deterministic, consistent with the report, every quirk planted."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from sandbox.ground_truth import write_transcript_truth
from sandbox.organisation import generate_organisation
from sandbox.transcripts import OLD_VERSION_UNTIL, generate_transcripts

FILES = ("transcript_usage.csv", "transcript_daily.csv")


@pytest.fixture(scope="module")
def world(org):
    return generate_transcripts(org)


def test_same_seed_same_bytes_other_seed_differs(org, tmp_path):
    first = write_transcript_truth(org, tmp_path / "a")
    again = write_transcript_truth(generate_organisation(preset="small", seed=42), tmp_path / "b")
    other = write_transcript_truth(generate_organisation(preset="small", seed=7), tmp_path / "c")
    for name in FILES:
        assert (first / name).read_bytes() == (again / name).read_bytes()
        assert (first / name).read_bytes() != (other / name).read_bytes()


def test_every_quirk_is_planted_in_small(world):
    for quirk in ("snapshots", "resumed", "subagent", "no_request_id", "api_error", "tool_use_result_usage",
                  "truncated", "default_branch", "overnight", "across_midnight", "cost_usd"):
        assert world.quirks[quirk], quirk
    assert len(world.quirks["truncated"]) == 1


def test_days_and_models_follow_the_report(org, world):
    report = {(day.email, day.date): {m.model for m in day.models} for day in org.usage}
    overnight_sessions = {
        json.loads(world.files[path][-1])["sessionId"] for path in world.quirks["overnight"]
    }
    for response in world.responses:
        day = response.timestamp.date()
        if response.session_id in overnight_sessions and (response.email, day) not in report:
            day -= dt.timedelta(days=1)  # the morning after a session left running overnight
        assert (response.email, day) in report
        assert response.model in report[(response.email, day)]
    transcript_days = {(r.email, r.timestamp.date()) for r in world.responses}
    assert set(report) <= transcript_days


def test_lines_look_like_claude_code(world):
    path = world.quirks["subagent"][0]
    agent_line = json.loads(world.files[path][1])
    assert agent_line["isSidechain"] is True and agent_line["type"] == "assistant"
    assert "/subagents/agent-" in path and agent_line["sessionId"] in path
    for name in ("parentUuid", "uuid", "timestamp", "cwd", "gitBranch", "version", "sessionId", "agentId"):
        assert name in agent_line
    first_session = next(p for p in world.files if "/subagents/" not in p and p not in world.quirks["cost_usd"])
    assistant = next(json.loads(l) for l in world.files[first_session] if '"type":"assistant"' in l)
    usage = assistant["message"]["usage"]
    assert set(usage) >= {"input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
                          "cache_creation"}
    assert set(usage["cache_creation"]) == {"ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"}
    assert assistant["timestamp"].endswith("Z") and assistant["requestId"].startswith("req_")
    assert assistant["cwd"].startswith("/home/") and assistant["cwd"].split("/")[-1] in {
        "api", "infra", "payments-service", "mobile-app", "pipelines", "warehouse"}


def test_branches_are_pr_head_branches_or_main(org, world):
    heads = {pr.head_ref for pulls in org.pull_requests.values() for pr in pulls}
    branches = {r.git_branch for r in world.responses}
    assert "main" in branches and branches - {"main"} <= heads and len(branches) > 50


def test_old_versions_carry_cost_usd_and_overnight_session_is_expensive(world, tmp_path, org):
    old = [r for r in world.responses if r.cost_source == "costUSD"]
    assert old and all(r.timestamp.date() < OLD_VERSION_UNTIL and r.cache_creation_5m is None for r in old)
    truth = pd.read_csv(write_transcript_truth(org, tmp_path) / "transcript_usage.csv")
    by_session = truth.groupby("session_id")["cost_usd"].sum()
    overnight = json.loads(world.files[world.quirks["overnight"][0]][-1])["sessionId"]
    assert by_session[overnight] > 25  # DESIGN's session alert default
    dates = pd.to_datetime(truth.loc[truth["session_id"] == overnight, "timestamp"]).dt.date
    assert dates.nunique() == 2
