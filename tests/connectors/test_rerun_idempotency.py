"""Re-running a GitHub sync, incrementally or with --full-refresh, leaves the same rows as one run.

The other sources have this test beside their own (Jira, PagerDuty, incident issues, transcripts,
OpenTelemetry, the analytics report); GitHub's pull-request path has two implementations (REST and
GraphQL), both checked here on one repository. "Same rows" is every column but the batch bookkeeping,
as distinct rows: staging keeps one version per key, so a batch landed again must add nothing new.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from impact.config import parse_config
from impact.sync import sync_github
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer

TOKEN = "rerun-test-token-51aa"
ENTITIES = ("github/pull_requests", "github/reviews", "github/pull_request_commits", "github/deployments",
            "github/deployment_statuses", "github/deployment_commits")


def _rows(raw: Path) -> dict[str, set[tuple]]:
    return {
        entity: set(duckdb.sql(
            f"select distinct * exclude (_batch_id, _extracted_at) from read_parquet('{raw}/{entity}/*.parquet')"
        ).fetchall())
        for entity in ENTITIES
    }


@pytest.mark.parametrize("api", ["rest", "graphql"])
def test_a_rerun_and_a_full_refresh_add_no_rows(
    sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, api: str
) -> None:
    config = parse_config({
        "start_date": small_org.start_date.isoformat(), "end_date": small_org.end_date.isoformat(),
        "warehouse": str(tmp_path / "impact.duckdb"),
        "github": {"api_url": sandbox.url, "token": TOKEN, "repos": ["hoco/pipelines"], "api": api},
    })
    first = sync_github(config)
    once = _rows(config.raw_dir)
    assert all(once.values()) and len(once["github/pull_requests"]) == first.rows["github/pull_requests"]
    again = sync_github(config)
    assert _rows(config.raw_dir) == once and again.cursors == first.cursors
    sync_github(config, full_refresh=True)
    assert _rows(config.raw_dir) == once
