"""A small hand-made landing for the AI spend marts, and one real `dbt build` (DuckDB) over it.

April 2024, teams `core` (ann, ben) and `apps` (cat); the last day with spend is 2024-04-10, so April
has 10 elapsed days of 30. What each case must give is stated in the tests:

- Admin API (one source per developer-day wins over transcripts): ann $10 on 04-01 and $60 on 04-05
  (a developer-day alert), ben $5 on 04-02, cat $20 on 04-03, ann $30 on 2024-03-15 (a past month).
- transcripts: ann's $2 session on 04-05 (a day the Admin API has: not counted twice); cat's runaway
  session `s-night` from 04-09 21:00 to 04-10 04:58, 240 responses of $0.125 = $30 (a session alert;
  its developer-days, $11.25 and $18.75, stay under $50). cat works in `/Users/cat/work/mobile-app`,
  which only `claude_code.repo_paths` (`~/work/mobile-*` -> hoco/mobile) ties to a repository.
- budgets: team core $200 (April: 75 spent, 225 projected: over), team apps $1000, role engineer
  $500 (ann + cat: 120 -> 360), person `ben` (a GitHub login) $10 (5 -> 15: over).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors.records import (
    AiAlertThresholds,
    AiBudget,
    ClaudeCodeActorDay,
    ClaudeCodeModelDay,
    ClaudeTranscriptMessage,
    GithubPullRequest,
    RepoPath,
    TeamMember,
)
from impact.landing import ensure_entity_folders, land_batch

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).with_name("dbt")
RESPONSE_USD = 0.125
NIGHT_START = dt.datetime(2024, 4, 9, 21, 0, tzinfo=dt.timezone.utc)


def model_day(email: str, day: dt.date, cost: float) -> ClaudeCodeModelDay:
    return ClaudeCodeModelDay(date=day, actor_type="user_actor", actor_id=email, model="claude-sonnet-4",
                              input_tokens=100, output_tokens=200, cache_read_tokens=300, cache_creation_tokens=40,
                              estimated_cost_usd=cost)


def actor_day(email: str, day: dt.date) -> ClaudeCodeActorDay:
    return ClaudeCodeActorDay(date=day, actor_type="user_actor", actor_id=email, organization_id="org-1",
                              customer_type="api", terminal_type="vscode", num_sessions=1, lines_added=1,
                              lines_removed=0, commits=0, pull_requests=0, edits_accepted=0, edits_rejected=0)


def transcript(key: str, session: str, at: dt.datetime, cost: float, *, email: str, cwd: str,
               branch: str = "feature/x", output: int = 100) -> ClaudeTranscriptMessage:
    return ClaudeTranscriptMessage(
        developer=email, developer_email=email, session_id=session, message_id=f"msg-{key}", request_id=f"req-{key}",
        uuid=f"uuid-{key}", dedup_key=f"msg-{key}|req-{key}", timestamp=at, model="claude-sonnet-4",
        is_sidechain=False, agent_id=None, cwd=cwd, git_branch=branch, version="2.0.37", stop_reason="end_turn",
        input_tokens=10, output_tokens=output, cache_creation_input_tokens=20, cache_read_input_tokens=300,
        cache_creation_5m_tokens=20, cache_creation_1h_tokens=0, cost_usd=cost, cost_source="pricing",
        file=f"{email}/projects/x/{session}.jsonl", line=1,
    )


def night_session() -> list[ClaudeTranscriptMessage]:
    """cat's runaway session: a response every 2 minutes for 8 hours, $0.125 each."""
    return [
        transcript(f"n{i}", "s-night", NIGHT_START + dt.timedelta(minutes=2 * i), RESPONSE_USD,
                   email="cat@hoco.io", cwd="/Users/cat/work/mobile-app")
        for i in range(240)
    ]


def land_spend_dataset(raw: Path, *, budgets: list[AiBudget] | None = None,
                       thresholds: AiAlertThresholds = AiAlertThresholds(50.0, 25.0)) -> None:
    early = dt.datetime(2024, 4, 11, tzinfo=dt.timezone.utc)
    land_batch(raw, "org/team_members", [
        TeamMember("ann@hoco.io", "Ann A", "core", "Core", None, "ann", None, "engineer", "senior"),
        TeamMember("ben@hoco.io", "Ben B", "core", "Core", None, "ben", None, "manager", None),
        TeamMember("cat@hoco.io", "Cat C", "apps", "Apps", None, "cat", None, "engineer", None),
    ], early)
    days = [("ann@hoco.io", dt.date(2024, 4, 1), 10.0), ("ann@hoco.io", dt.date(2024, 4, 5), 60.0),
            ("ben@hoco.io", dt.date(2024, 4, 2), 5.0), ("cat@hoco.io", dt.date(2024, 4, 3), 20.0),
            ("ann@hoco.io", dt.date(2024, 3, 15), 30.0)]
    land_batch(raw, "anthropic/claude_code_actor_days", [actor_day(e, d) for e, d, _ in days], early)
    land_batch(raw, "anthropic/claude_code_model_days", [model_day(e, d, c) for e, d, c in days], early)
    land_batch(raw, "github/pull_requests", [GithubPullRequest(
        id=1, repository="hoco/mobile", number=7, title="x", state="open", draft=False, author_login="cat",
        author_type="User", created_at=dt.datetime(2024, 4, 8, 9, tzinfo=dt.timezone.utc),
        updated_at=dt.datetime(2024, 4, 8, 9, tzinfo=dt.timezone.utc), closed_at=None, merged_at=None,
        merge_commit_sha=None, head_ref="feature/x", base_ref="main", additions=1, deletions=0, changed_files=1,
    )], early)
    land_batch(raw, "claude_code/transcript_messages", [
        *night_session(),
        transcript("a1", "s-ann", dt.datetime(2024, 4, 5, 10, tzinfo=dt.timezone.utc), 1.0, email="ann@hoco.io",
                   cwd="/home/ann/src/api"),
        transcript("a2", "s-ann", dt.datetime(2024, 4, 5, 10, 3, tzinfo=dt.timezone.utc), 1.0, email="ann@hoco.io",
                   cwd="/home/ann/src/api"),
    ], early)
    config_at = dt.datetime(2024, 4, 11, 6, tzinfo=dt.timezone.utc)
    land_batch(raw, "org/ai_budgets", budgets if budgets is not None else [
        AiBudget("team", "core", 200.0), AiBudget("team", "apps", 1000.0), AiBudget("role", "engineer", 500.0),
        AiBudget("person", "ben", 10.0),
    ], config_at)
    land_batch(raw, "org/repo_paths", [RepoPath("~/work/mobile-*", "hoco/mobile")], config_at)
    land_batch(raw, "org/ai_alert_thresholds", [thresholds], config_at)
    ensure_entity_folders(raw)


@dataclass(frozen=True)
class SpendBuild:
    raw: Path
    warehouse: Path
    result: subprocess.CompletedProcess[str]

    def rows(self, sql: str) -> list[dict[str, Any]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as connection:
            cursor = connection.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]


def dbt_build(root: Path, raw: Path, *extra: str) -> SpendBuild:
    warehouse = root / "impact.duckdb"
    env = {**os.environ, "IMPACT_RAW_DIR": str(raw), "IMPACT_WAREHOUSE": str(warehouse), "DO_NOT_TRACK": "1",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    result = subprocess.run(
        [str(DBT), "build", "--target", "duckdb", "--project-dir", "dbt_project", "--profiles-dir", "dbt_profiles",
         "--target-path", str(root / "target"), "--log-path", str(root / "logs"), *extra],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    return SpendBuild(raw, warehouse, result)


@pytest.fixture(scope="session")
def spend_build(tmp_path_factory: pytest.TempPathFactory) -> SpendBuild:
    root = tmp_path_factory.mktemp("spend")
    raw = root / "raw"
    land_spend_dataset(raw)
    return dbt_build(root, raw)


@pytest.fixture
def spend_config(spend_build: SpendBuild, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An impact.yaml pointing at the built warehouse (IMPACT_CONFIG set for the CLI and the resource)."""
    path = tmp_path / "impact.yaml"
    path.write_text(f"start_date: 2024-03-01\nwarehouse: {spend_build.warehouse}\nraw_dir: {spend_build.raw}\n")
    monkeypatch.setenv("IMPACT_CONFIG", str(path))
    return path
