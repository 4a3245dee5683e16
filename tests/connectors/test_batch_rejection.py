"""A bad page never lands: the GE suite rejects the batch, the cursor stays, a re-run fills the gap.

The sandbox's `repeat_page` fault serves page 2 of a repository's pull requests with page 1's items (a
real failure of paginated APIs whose list shifts while it is read). The connector cannot tell from one
page that it is a repeat, so the batch it hands over holds every PR of page 1 twice and none of page 2.

Every other source meets a page of records that break a promise of its API (`sandbox.faults.bad_records`:
time running backwards, a status outside the documented set, two records for one key; for OpenTelemetry
files, NaN values): each time the whole batch is refused, kept under `raw/_rejected/<entity>/` with its
report, nothing lands, no cursor is saved, and the next run (the source healthy again) lands everything.
"""

from __future__ import annotations

import shutil
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


@pytest.mark.parametrize("api, endpoint", [("rest", "github.pulls.list"), ("graphql", "github.graphql")])
def test_repeated_page_is_rejected_then_a_rerun_lands_everything(
    sandbox: SandboxServer, small_org: Organisation, truth_dir: Path, tmp_path: Path, api: str, endpoint: str
) -> None:
    """A page of PRs served twice (REST `page=2`, GraphQL `after`) fails uniqueness: nothing lands, the
    cursor stays unsaved, and the next run lands every PR once."""
    repository = small_org.repositories[0]
    config = parse_config({
        "start_date": small_org.start_date.isoformat(),
        "warehouse": str(tmp_path / "impact.duckdb"),
        "github": {"api_url": sandbox.url, "token": TOKEN, "repos": [repository], "api": api},
    })
    sandbox.faults = FaultPlan([(endpoint, 1, Fault.repeat_page())])
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


# --- every source: a page of records breaking a promise of the API is rejected whole ---------------

PLAT = {"projects": ["PLAT"]}


def _source_config(name: str, sandbox: SandboxServer, org: Organisation, tmp_path: Path, files: Path | None):
    start, end = org.start_date.isoformat(), org.end_date.isoformat()
    sections = {
        "github_graphql": {"github": {"api_url": sandbox.url, "token": TOKEN, "repos": [org.repositories[4]],
                                      "api": "graphql"}},
        "github_incidents": {"github": {"api_url": sandbox.url, "token": TOKEN, "repos": ["hoco/mobile-app"]}},
        "jira_cloud": {"jira": {"url": sandbox.url, "token": TOKEN, "email": "integration@hoco.io", **PLAT}},
        "jira_dc": {"jira": {"url": sandbox.url, "token": TOKEN, **PLAT}},
        "pagerduty": {"pagerduty": {"api_url": f"{sandbox.url}/pagerduty", "token": TOKEN}},
        "anthropic": {"anthropic": {"api_url": sandbox.url, "admin_key": TOKEN}},
        "otel": {"claude_code": {"otel_exports": [str(files)]}},
    }
    if name == "anthropic":
        start, end = "2026-05-18", "2026-05-22"
    return parse_config({"start_date": start, "end_date": end, "warehouse": str(tmp_path / "impact.duckdb"),
                         **sections[name]})


def _sync(name: str):
    from impact import sync, sync_incidents

    return {
        "github_graphql": sync.sync_github, "github_incidents": sync_incidents.sync_github_incidents,
        "jira_cloud": sync.sync_jira, "jira_dc": sync.sync_jira, "pagerduty": sync_incidents.sync_pagerduty,
        "anthropic": sync.sync_claude_code, "otel": sync.sync_claude_otel,
    }[name]


# (source, the sandbox's bad-record patches, rejected entity, the expectation that catches it)
BAD_BATCHES = [
    ("github_graphql", "github", "github/pull_requests", "expect_column_pair_values_a_to_be_greater_than_b"),
    ("github_incidents", "github", "github/issues", "expect_column_pair_values_a_to_be_greater_than_b"),
    ("jira_cloud", "jira", "jira/issues", "expect_column_pair_values_a_to_be_greater_than_b"),
    ("jira_dc", "jira", "jira/issues", "expect_column_pair_values_a_to_be_greater_than_b"),
    ("pagerduty", "pagerduty", "pagerduty/incidents", "expect_column_values_to_be_in_set"),
    ("anthropic", "anthropic", "anthropic/claude_code_actor_days", "expect_compound_columns_to_be_unique"),
    # a file source: a broken exporter's NaN costs (the file is the "page")
    ("otel", None, "claude_code/otel_usage", "expect_column_values_to_not_be_null"),
]


@pytest.mark.parametrize(("name", "patch_source", "entity", "expectation"), BAD_BATCHES, ids=[b[0] for b in BAD_BATCHES])
def test_bad_records_are_rejected_kept_aside_and_a_rerun_lands_everything(
    sandbox: SandboxServer, small_org: Organisation, tmp_path: Path,
    name: str, patch_source: str | None, entity: str, expectation: str,
) -> None:
    from sandbox.faults import bad_records
    from sandbox.otel import write_otel_export
    from tests.connectors.drift_files import nan_otel_cost, rewrite_jsonl

    files = None
    if name == "otel":
        healthy = tmp_path / "otel"
        write_otel_export(small_org, healthy)
        files = tmp_path / "exports"
        rewrite_jsonl(healthy, files, nan_otel_cost)
    config = _source_config(name, sandbox, small_org, tmp_path, files)
    sync = _sync(name)
    if patch_source:
        sandbox.faults = FaultPlan(patches=bad_records(patch_source))
    try:
        with pytest.raises(BatchRejected) as caught:
            sync(config)
    finally:
        sandbox.faults = None
    error = caught.value
    assert error.entity == entity
    assert expectation in [f["expectation"] for f in error.failures]
    assert TOKEN not in str(error)
    assert error.kept_at.exists() and error.kept_at.with_suffix(".json").exists()
    assert error.kept_at.parent == config.raw_dir / "_rejected" / entity
    assert not list((config.raw_dir / entity).glob("*.parquet"))
    cursors = config.raw_dir / "_state" / "cursors.json"
    assert not cursors.exists() or cursors.read_text().strip() in ("", "{}"), cursors.read_text()

    if name == "otel":
        shutil.rmtree(files)
        shutil.copytree(healthy, files)  # the exporter fixed, the same folder read again
    summary = sync(config)
    assert summary.rows[entity] > 0
    assert len(list((config.raw_dir / entity).glob("*.parquet"))) >= 1
