"""`impact run --full-refresh` reaches the extraction assets: saved cursors are ignored, everything is re-read."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sandbox.organisation import Organisation
from sandbox.server import SandboxServer

pytestmark = pytest.mark.e2e
IMPACT = Path(sys.executable).with_name("impact")


def _run(workdir: Path, *flags: str) -> None:
    result = subprocess.run(
        [str(IMPACT), "run", "--select", "extract: GitHub", *flags], cwd=workdir, capture_output=True, text=True,
        env={**os.environ, "IMPACT_CONFIG": str(workdir / "impact.yaml"), "FULL_REFRESH_TEST_TOKEN": "tok-ff-1"},
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_full_refresh_rereads_what_an_incremental_run_skips(
    sandbox: SandboxServer, small_org: Organisation, tmp_path: Path
) -> None:
    repository = small_org.repositories[2]
    (tmp_path / "impact.yaml").write_text(yaml.safe_dump({
        "start_date": small_org.start_date.isoformat(), "end_date": small_org.end_date.isoformat(),
        "warehouse": str(tmp_path / "warehouse" / "impact.duckdb"),
        "github": {"api_url": sandbox.url, "token": "${FULL_REFRESH_TEST_TOKEN}", "repos": [repository]},
    }))

    def pull_request_reads(*flags: str) -> int:
        sandbox.reset_counts()
        _run(tmp_path, *flags)
        counts = sandbox.request_counts
        return counts.get("github.pulls.get", 0) + counts.get("github.pulls.reviews", 0)

    first = pull_request_reads()
    incremental = pull_request_reads()
    refreshed = pull_request_reads("--full-refresh")
    prs = len(small_org.pull_requests[repository])
    assert first >= 2 * prs  # detail and reviews of every PR
    assert incremental < prs / 10  # only what changed since the cursor (nothing)
    assert refreshed == first
