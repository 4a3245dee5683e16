"""A bad page never lands: the GE suite rejects the batch, the cursor stays, a re-run fills the gap.

The sandbox's `repeat_page` fault serves page 2 of a repository's pull requests with page 1's items (a
real failure of paginated APIs whose list shifts while it is read). The connector cannot tell from one
page that it is a repeat, so the batch it hands over holds every PR of page 1 twice and none of page 2.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from impact.batch_validation import BatchRejected
from impact.config import parse_config
from impact.sync import sync_github
from sandbox.faults import Fault, FaultPlan
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer
from tests.conftest import read_truth

TOKEN = "ghp_rejection_test_token_5521"


def test_repeated_page_is_rejected_then_a_rerun_lands_everything(
    sandbox: SandboxServer, small_org: Organisation, truth_dir: Path, tmp_path: Path
) -> None:
    repository = small_org.repositories[0]
    config = parse_config({
        "start_date": small_org.start_date.isoformat(),
        "warehouse": str(tmp_path / "impact.duckdb"),
        "github": {"api_url": sandbox.url, "token": TOKEN, "repos": [repository]},
    })
    sandbox.faults = FaultPlan([("github.pulls.list", 1, Fault.repeat_page())])
    try:
        with pytest.raises(BatchRejected) as caught:
            sync_github(config)
    finally:
        sandbox.faults = None
    error = caught.value
    assert error.entity == "github/pull_requests"
    assert [f["expectation"] for f in error.failures] == ["expect_column_values_to_be_unique"]
    assert TOKEN not in str(error)
    assert not list((config.raw_dir / "github" / "pull_requests").glob("*.parquet"))
    assert error.kept_at.exists() and not (config.raw_dir / "_state" / "cursors.json").exists()

    sync_github(config)
    truth = read_truth(truth_dir, "pull_requests")
    expected = sorted(int(n) for n in truth.loc[truth.repository == repository, "number"])
    landed = duckdb.execute(
        f"select number from read_parquet('{config.raw_dir}/github/pull_requests/*.parquet') order by number"
    ).fetchall()
    assert [n for (n,) in landed] == expected
