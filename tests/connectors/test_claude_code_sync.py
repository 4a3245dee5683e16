"""The Claude Code analytics report read over HTTP equals the sandbox's ground truth."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from connectors.claude_code import ClaudeCodeAnalyticsClient
from connectors.http import SourceError
from impact.config import parse_config
from impact.sync import sync_claude_code
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer
from tests.conftest import read_truth

ADMIN_KEY = "sk-ant-admin01-sandbox-secret"


def _config(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, **anthropic):
    return parse_config(
        {
            "start_date": small_org.start_date.isoformat(),
            "end_date": small_org.end_date.isoformat(),
            "warehouse": str(tmp_path / "impact.duckdb"),
            "anthropic": {"api_url": sandbox.url, "admin_key": ADMIN_KEY, **anthropic},
        }
    )


def test_sync_equals_ground_truth_to_the_cent(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, truth_dir: Path) -> None:
    config = _config(sandbox, small_org, tmp_path)
    summary = sync_claude_code(config)
    truth = read_truth(truth_dir, "ai_usage_daily")
    [(rows, output_tokens, cost)] = duckdb.sql(
        f"select count(*), sum(output_tokens), round(sum(estimated_cost_usd), 2) "
        f"from read_parquet('{config.raw_dir}/anthropic/claude_code_model_days/*.parquet')"
    ).fetchall()
    assert rows == len(truth) == summary.rows["anthropic/claude_code_model_days"]
    assert output_tokens == truth["output_tokens"].sum()
    assert cost == pytest.approx(round(truth["cost_usd"].sum(), 2), abs=0.005)
    days = (small_org.end_date - small_org.start_date).days + 1
    assert summary.requests >= days
    assert summary.cursors == {"anthropic:claude_code:last_day": small_org.end_date.isoformat()}


def test_rerun_rereads_only_recent_days(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path) -> None:
    config = _config(sandbox, small_org, tmp_path, reread_days=3)
    sync_claude_code(config)
    second = sync_claude_code(config)
    assert second.requests == 3
    folder = f"{config.raw_dir}/anthropic/claude_code_model_days/*.parquet"
    [(duplicates,)] = duckdb.sql(
        f"select count(*) - count(distinct (date, actor_id, model)) from read_parquet('{folder}')"
    ).fetchall()
    [(reread,)] = duckdb.sql(
        f"select count(distinct (date, actor_id, model)) from read_parquet('{folder}') "
        f"where date > date '{small_org.end_date.isoformat()}' - 3"
    ).fetchall()
    # Only the three re-read days land again (staging keeps their latest version); nothing else is copied.
    assert reread > 0 and duplicates == reread


def test_paging_with_a_small_limit_reads_every_actor(sandbox: SandboxServer, small_org: Organisation, truth_dir: Path) -> None:
    truth = read_truth(truth_dir, "ai_actor_days")
    busiest = truth.groupby("date").size().idxmax()
    client = ClaudeCodeAnalyticsClient(sandbox.url, ADMIN_KEY, page_limit=2)
    day = client.read_day(dt.date.fromisoformat(busiest))
    expected = sorted(truth[truth["date"] == busiest]["email"])
    assert sorted(a.actor_id for a in day.actor_days) == expected
    assert day.requests == (len(expected) + 1) // 2


def test_refused_key_says_what_to_do_and_hides_the_key(sandbox: SandboxServer) -> None:
    client = ClaudeCodeAnalyticsClient(sandbox.url, "")
    with pytest.raises(SourceError) as raised:
        client.read_day(dt.date(2026, 2, 2))
    assert "ANTHROPIC_ADMIN_KEY" in str(raised.value)
    assert str(raised.value).startswith("anthropic: the Admin API refused the key")
