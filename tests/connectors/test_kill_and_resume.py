"""A sync killed at any moment and run again lands exactly what one clean run lands."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from sandbox.organisation import Organisation
from sandbox.server import SandboxServer

SYNC = (
    "from impact.config import load_config; from impact.sync import sync_github, sync_claude_code; "
    "c = load_config(); sync_claude_code(c); sync_github(c)"
)
# Natural keys of each raw entity: the same key twice after deduplication would be a duplicate.
KEYS = {
    "github/pull_requests": "repository, number, updated_at",
    "github/reviews": "id",
    "github/pull_request_commits": "repository, pull_number, sha",
    "github/deployments": "id",
    "github/deployment_statuses": "id",
    "github/deployment_commits": "deployment_id, sha",
    "anthropic/claude_code_actor_days": "date, actor_id",
    "anthropic/claude_code_model_days": "date, actor_id, model",
}


def _write_config(folder: Path, sandbox: SandboxServer, org: Organisation) -> Path:
    config = {
        "start_date": org.start_date.isoformat(), "end_date": org.end_date.isoformat(),
        "warehouse": str(folder / "impact.duckdb"),
        "github": {"api_url": sandbox.url, "token": "${SYNC_TEST_TOKEN}", "orgs": [org.github_org]},
        "anthropic": {"api_url": sandbox.url, "admin_key": "${SYNC_TEST_TOKEN}"},
    }
    path = folder / "impact.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _start(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "IMPACT_CONFIG": str(config), "SYNC_TEST_TOKEN": "t"}
    return subprocess.Popen([sys.executable, "-c", SYNC], env=env, cwd=config.parent)


def _distinct_rows(raw: Path) -> dict[str, set[tuple]]:
    return {
        entity: set(duckdb.sql(f"select distinct {keys} from read_parquet('{raw}/{entity}/*.parquet')").fetchall())
        for entity, keys in KEYS.items()
    }


@pytest.fixture(scope="module")
def clean_run(sandbox: SandboxServer, small_org: Organisation, tmp_path_factory: pytest.TempPathFactory) -> dict:
    config = _write_config(tmp_path_factory.mktemp("clean"), sandbox, small_org)
    assert _start(config).wait(timeout=600) == 0
    return _distinct_rows(config.parent / "raw")


@pytest.mark.parametrize("kill_after_seconds", [2.0, 8.0])
def test_killed_sync_resumes_without_gaps_or_duplicates(
    clean_run: dict, sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, kill_after_seconds: float
) -> None:
    config = _write_config(tmp_path, sandbox, small_org)
    process = _start(config)
    time.sleep(kill_after_seconds)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=60) == -signal.SIGKILL, "the sync finished before it could be killed"
    assert _start(config).wait(timeout=600) == 0
    # Every landed file is whole (a killed write leaves only a hidden temp file that no glob reads).
    resumed = _distinct_rows(tmp_path / "raw")
    for entity in KEYS:
        assert resumed[entity] == clean_run[entity], entity
