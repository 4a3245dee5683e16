"""End to end: `impact demo` on the sandbox, then the marts against the sandbox's ground truth.

This runs the real thing in a scratch folder: the CLI, the sandbox over HTTP, the connectors, the
Dagster asset graph, `dbt build` with its tests, the analysis and the report.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import read_truth
from tests.e2e.conftest import IMPACT, SANDBOX_SECRET, _impact

pytestmark = pytest.mark.e2e
STAGES = ["coding_hours", "pickup_hours", "review_hours", "deploy_hours", "cycle_hours", "lead_time_hours"]


#: landing lineage: when a record was last read, which a re-run legitimately moves for what it re-reads
LINEAGE_COLUMNS = ("extracted_at", "batch_id")


def _snapshot(path: Path, tables: dict[str, str]) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as con:
        frames = {t: con.execute(f"select * from marts.{t} order by {key}").df() for t, key in tables.items()}
    return {t: frame.drop(columns=[c for c in LINEAGE_COLUMNS if c in frame.columns]) for t, frame in frames.items()}


def test_demo_prints_summary_and_writes_report(demo) -> None:
    workdir, result = demo
    report = workdir / "reports" / "impact_report.html"
    assert report.exists()
    assert "developers" in result.stdout and str(report) in result.stdout
    assert "PR review time" in result.stdout


def test_the_secret_appears_nowhere_the_pipeline_writes(demo) -> None:
    workdir, result = demo
    assert SANDBOX_SECRET not in result.stdout + result.stderr
    scanned = 0
    for path in workdir.rglob("*"):
        if path.is_file():
            scanned += 1
            assert SANDBOX_SECRET.encode() not in path.read_bytes(), f"the token leaked into {path}"
    assert scanned > 50  # raw batches, warehouse, report, config, Dagster run storage and logs


def test_pull_request_stages_equal_ground_truth_exactly(warehouse, truth: Path) -> None:
    expected = read_truth(truth, "pull_requests").set_index(["repository", "number"]).sort_index()
    actual = warehouse.execute(
        f"select r.full_name as repository, p.number, {', '.join('p.' + s for s in STAGES)}, p.first_deployed_at "
        "from marts.fct_pull_requests p join marts.dim_repository r using (repository_id)"
    ).df().set_index(["repository", "number"]).sort_index()
    assert len(actual) == len(expected)
    assert actual.index.equals(expected.index)
    for stage in STAGES:
        both_null = actual[stage].isna() & expected[stage].isna()
        assert (actual[stage].isna() == expected[stage].isna()).all(), stage
        np.testing.assert_allclose(actual.loc[~both_null, stage], expected.loc[~both_null, stage], atol=1e-9, err_msg=stage)
    assert (actual["first_deployed_at"].isna() == expected["first_deployed_at"].isna()).all()
    deployed = actual["first_deployed_at"].notna()
    assert (actual.loc[deployed, "first_deployed_at"] == expected.loc[deployed, "first_deployed_at"]).all()


def test_deployments_equal_ground_truth(warehouse, truth: Path) -> None:
    expected = read_truth(truth, "deployments").set_index("deployment_id").sort_index()
    actual = warehouse.execute(
        "select cast(source_id as bigint) as deployment_id, environment, status, deployed_at, change_count "
        "from marts.fct_deployments"
    ).df().set_index("deployment_id").sort_index()
    assert actual.index.equals(expected.index)
    assert (actual["status"] == expected["status"]).all()
    assert (actual["environment"] == expected["environment"]).all()
    success = expected["deployed_at"].notna()
    assert (actual.loc[success, "deployed_at"] == expected.loc[success, "deployed_at"]).all()
    assert actual.loc[~success, "deployed_at"].isna().all()
    counted = expected["change_count"].notna()
    assert (actual.loc[counted, "change_count"] == expected.loc[counted, "change_count"]).all()


def test_dora_weekly_equals_ground_truth(warehouse, truth: Path) -> None:
    owners = warehouse.execute("select full_name as repository, team_id from marts.dim_repository").df()
    deployments = read_truth(truth, "deployments").merge(owners, on="repository")
    shipped = deployments[(deployments["environment"] == "production") & (deployments["status"] == "success")]
    expected_deployments = shipped.groupby(
        ["team_id", shipped["deployed_at"].dt.to_period("W-SUN").dt.start_time]
    ).size()
    prs = read_truth(truth, "pull_requests").merge(owners, on="repository").dropna(subset=["lead_time_hours"])
    expected_lead = prs.groupby(["team_id", prs["first_deployed_at"].dt.to_period("W-SUN").dt.start_time])[
        "lead_time_hours"
    ].median()
    actual = warehouse.execute(
        "select team_id, week_start, deployments, lead_time_p50_hours from marts.mart_dora_weekly"
    ).df()
    actual["week_start"] = pd.to_datetime(actual["week_start"])
    actual = actual.set_index(["team_id", "week_start"])
    busy = actual[actual["deployments"] > 0]["deployments"]
    assert busy.to_dict() == {k: int(v) for k, v in expected_deployments.items()}
    lead = actual["lead_time_p50_hours"].dropna()
    assert set(lead.index) == set(expected_lead.index)
    np.testing.assert_allclose(lead.sort_index().to_numpy(), expected_lead.sort_index().to_numpy(), atol=1e-9)


def test_adoption_and_ai_usage_equal_ground_truth(warehouse, truth: Path) -> None:
    developers = read_truth(truth, "developers").set_index("email").sort_index()
    actual = warehouse.execute("select email, ai_adopted_at from marts.dim_developer").df().set_index("email").sort_index()
    assert actual.index.equals(developers.index)
    expected_adoption = pd.to_datetime(developers["ai_adopted_at"])
    assert (actual["ai_adopted_at"].isna() == expected_adoption.isna()).all()
    adopted = expected_adoption.notna()
    assert (pd.to_datetime(actual.loc[adopted, "ai_adopted_at"]) == expected_adoption[adopted]).all()

    usage = read_truth(truth, "ai_usage_daily")
    [(tokens, cost)] = warehouse.execute(
        "select sum(output_tokens), round(sum(cost_usd), 2) from marts.fct_ai_usage_daily"
    ).fetchall()
    assert tokens == usage["output_tokens"].sum()
    assert cost == pytest.approx(round(usage["cost_usd"].sum(), 2), abs=0.005)


def test_planted_review_effect_lies_in_the_confidence_interval(warehouse, truth: Path) -> None:
    planted = json.loads((truth / "planted_effects.json").read_text())["review_hours_log_effect"]
    rows = warehouse.execute(
        "select estimator, estimate, ci_low, ci_high, n_units from analysis.impact_estimates "
        "where outcome = 'review_hours'"
    ).fetchall()
    assert rows, "no review-time estimate was written"
    assert {r[0] for r in rows} == {"twfe", "callaway_santanna"}
    prs = read_truth(truth, "pull_requests")
    # every developer with a merged PR GitHub still names (not a bot, not a deleted account)
    authors = prs.loc[prs["merged_at"].notna() & ~prs["is_bot"] & ~prs["author_account_deleted"], "author_login"].nunique()
    assert authors == 29  # 30 developers, one of whom deleted their account
    for estimator, estimate, low, high, n_units in rows:
        assert low < planted < high, (estimator, estimate, low, high)
        assert high < 0, "the planted cut in review time must be detected"
        # TWFE uses every developer; Callaway & Sant'Anna drops single-developer adoption cohorts.
        assert n_units == authors if estimator == "twfe" else 20 <= n_units < authors


def test_dagster_definitions_load_without_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(IMPACT.with_name("dagster")), "definitions", "validate", "-m", "orchestration.definitions"],
        cwd=Path(__file__).parents[2], env={**os.environ, "DAGSTER_HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All code locations passed validation" in result.stdout + result.stderr


def test_dagster_materialize_all_again_gives_the_same_warehouse(demo, sandbox, small_org) -> None:
    """A second, incremental run through `dagster asset materialize --select '*'` changes nothing."""
    workdir, _ = demo
    warehouse_file = workdir / "warehouse" / "impact.duckdb"
    tables = {
        "fct_pull_requests": "pull_request_id", "fct_reviews": "review_id", "fct_deployments": "deployment_id",
        "fct_ai_usage_daily": "developer_id, actor_id, date_day, model", "dim_developer": "developer_id",
        "mart_ai_impact_panel": "developer_id, week_start",
    }
    before = _snapshot(warehouse_file, tables)
    config = yaml.safe_load((workdir / "warehouse" / "demo" / "impact.yaml").read_text())
    config["github"]["api_url"] = config["anthropic"]["api_url"] = config["jira"]["url"] = sandbox.url  # new port
    config["pagerduty"]["api_url"] = f"{sandbox.url}/pagerduty"
    config_path = workdir / "rerun.yaml"
    config_path.write_text(yaml.safe_dump(config))
    reads_before = sandbox.request_counts.get("github.pulls.get", 0)
    result = subprocess.run(
        [str(IMPACT.with_name("dagster")), "asset", "materialize", "-m", "orchestration.definitions", "--select", "*"],
        cwd=workdir, capture_output=True, text=True, timeout=900,
        env={**os.environ, "IMPACT_CONFIG": str(config_path), "IMPACT_SANDBOX_TOKEN": "another-token",
             "DAGSTER_HOME": str(workdir / ".dagster")},
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    # Incremental: the PR lists are read only down to each repository's cursor.
    pull_requests_read = sandbox.request_counts.get("github.pulls.get", 0) - reads_before
    assert 0 < pull_requests_read <= 2 * len(small_org.repositories)
    after = _snapshot(warehouse_file, tables)
    for table in tables:
        # Same rows and values; doubles may differ in the last bits (parallel sums are not ordered).
        pd.testing.assert_frame_equal(after[table], before[table], check_exact=False, rtol=1e-12, obj=table)
