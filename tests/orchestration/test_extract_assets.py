"""The extraction assets, materialised in-process against the sandbox: their metadata and GE checks.

Each asset runs alone, so the sandbox's per-endpoint request counter (reset just before) holds exactly
the requests that asset sent; its `requests` metadata must equal that count, its row counts what
landed, its cursors what was saved, and its freshness the newest time in what landed. Every raw entity
it lands has a Great Expectations asset check that passed with what the suite evaluated; a batch the
suite rejects shows as a failed check naming the kept batch and the broken expectation.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml
from dagster import AssetKey, DagsterInstance, materialize

from impact.batch_validation import suite_size
from impact.demo import SANDBOX_TOKEN_VARIABLE, sandbox_config
from orchestration.extract import raw_anthropic, raw_github, raw_github_incidents, raw_jira, raw_pagerduty
from orchestration.raw_checks import ENTITIES, check_name
from orchestration.resources import ImpactConfigResource
from sandbox.faults import Fault, FaultPlan
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer
from tests.conftest import read_truth

TOKEN = "sbx-dagster-metadata-3b91"
HTTP_ASSETS = {"github": raw_github, "jira": raw_jira, "pagerduty": raw_pagerduty,
               "github_incidents": raw_github_incidents, "anthropic": raw_anthropic}


def _write_config(tmp: Path, mapping: dict) -> Path:
    path = tmp / "impact.yaml"
    path.write_text(yaml.safe_dump(mapping, sort_keys=False))
    return path


def _run(asset, config_path: Path):  # noqa: ANN001 - a Dagster AssetsDefinition
    return materialize(
        [asset], resources={"impact_config": ImpactConfigResource(config_path=str(config_path))},
        instance=DagsterInstance.ephemeral(), raise_on_error=False,
    )


def _one(sql: str):  # noqa: ANN202
    """The single value of a query, on a connection of its own (the shared default one stays untouched)."""
    with duckdb.connect() as con:
        [(value,)] = con.execute(sql).fetchall()
    return value


def _newest_landed(raw_dir: Path, entities: tuple[str, ...]) -> dt.datetime | None:
    """The latest value of any time column in what landed, read back from the Parquet files."""
    newest = None
    for entity in entities:
        files = sorted((raw_dir / entity).glob("*.parquet"))
        if not files:
            continue
        schema = pq.read_schema(files[0])
        columns = [f.name for f in schema if f.name != "_extracted_at" and str(f.type).startswith(("timestamp", "date"))]
        for column in columns:
            value = _one(f"select max({column})::timestamp from read_parquet('{raw_dir / entity}/*.parquet')")
            if value is not None and (newest is None or value > newest):
                newest = value
    return newest.replace(tzinfo=dt.timezone.utc) if newest else None


@pytest.fixture(scope="module")
def synced(sandbox: SandboxServer, small_org: Organisation, truth_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Each HTTP extraction asset materialised once, alone, with the sandbox's count of its requests."""
    tmp = tmp_path_factory.mktemp("dagster-extract")
    mapping = sandbox_config(small_org, sandbox.url, warehouse=tmp / "impact.duckdb",
                             teams_file=truth_dir / "team_mapping.csv", reports_dir=tmp / "reports")
    config_path = _write_config(tmp, mapping)
    mp = pytest.MonkeyPatch()
    mp.setenv(SANDBOX_TOKEN_VARIABLE, TOKEN)
    runs = {}
    try:
        for source, asset in HTTP_ASSETS.items():
            sandbox.reset_counts()
            result = _run(asset, config_path)
            runs[source] = (result, sum(sandbox.request_counts.values()))
    finally:
        mp.undo()
    return tmp / "raw", runs


@pytest.mark.parametrize("source", sorted(HTTP_ASSETS))
def test_materialisation_metadata_equals_what_the_sandbox_served_and_what_landed(synced, source: str) -> None:
    raw_dir, runs = synced
    result, served = runs[source]
    assert result.success, source
    (materialization,) = result.asset_materializations_for_node(HTTP_ASSETS[source].op.name)
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert served > 0
    assert metadata["requests"] == served
    for entity in ENTITIES[source]:
        landed = _one(f"select count(*) from read_parquet('{raw_dir / entity}/*.parquet')")
        assert metadata[f"rows/{entity}"] == landed, entity
    assert metadata["dagster/row_count"] == sum(metadata[f"rows/{e}"] for e in ENTITIES[source])
    saved = json.loads((raw_dir / "_state" / "cursors.json").read_text())
    assert metadata["cursors"] and all(saved[key] == value for key, value in metadata["cursors"].items())
    newest = _newest_landed(raw_dir, ENTITIES[source])
    assert newest is not None and metadata["newest_record_at"] == newest.timestamp()


def test_github_counts_match_the_ground_truth(synced, truth_dir: Path) -> None:
    _, runs = synced
    result, _ = runs["github"]
    (materialization,) = result.asset_materializations_for_node(raw_github.op.name)
    truth = read_truth(truth_dir, "pull_requests")
    assert materialization.metadata["rows/github/pull_requests"].value == len(truth)
    # every PR event the organisation has (created, merged, closed) is at or before the newest record landed
    newest_event = max(truth[column].max() for column in ("created_at", "merged_at", "closed_at"))
    assert materialization.metadata["newest_record_at"].value >= newest_event.tz_localize("UTC").timestamp()


@pytest.mark.parametrize("source", sorted(HTTP_ASSETS))
def test_every_entity_check_passed_with_what_its_suite_evaluated(synced, source: str) -> None:
    _, runs = synced
    result, _ = runs[source]
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {check_name(entity) for entity in ENTITIES[source]}
    (materialization,) = result.asset_materializations_for_node(HTTP_ASSETS[source].op.name)
    for entity in ENTITIES[source]:
        evaluation = evaluations[check_name(entity)]
        assert evaluation.passed and evaluation.asset_key == AssetKey(["raw", source])
        checked = {key: value.value for key, value in evaluation.metadata.items()}
        rows = materialization.metadata[f"rows/{entity}"].value
        assert checked["rows_validated"] == rows, entity
        if rows:
            assert checked["batches_validated"] >= 1
            assert checked["expectations_evaluated"] == checked["batches_validated"] * suite_size(entity)
        else:
            assert checked == {"rows_validated": 0, "batches_validated": 0, "expectations_evaluated": 0}


def test_a_rejected_batch_is_a_failed_check_and_a_failed_asset(
    sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository = small_org.repositories[0]
    monkeypatch.setenv(SANDBOX_TOKEN_VARIABLE, TOKEN)
    config_path = _write_config(tmp_path, {
        "start_date": small_org.start_date.isoformat(),
        "warehouse": str(tmp_path / "impact.duckdb"),
        "github": {"api_url": sandbox.url, "token": f"${{{SANDBOX_TOKEN_VARIABLE}}}", "repos": [repository]},
    })
    # page 2 of the pull requests repeats page 1: the batch holds every PR of page 1 twice
    sandbox.faults = FaultPlan([("github.pulls.list", 1, Fault.repeat_page())])
    try:
        result = _run(raw_github, config_path)
    finally:
        sandbox.faults = None
    assert not result.success
    assert result.asset_materializations_for_node(raw_github.op.name) == []
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.check_name == "github_pull_requests_batches_valid" and not evaluation.passed
    kept = Path(evaluation.metadata["rejected_batch"].value)
    assert kept.exists() and kept.parent == tmp_path / "raw" / "_rejected" / "github" / "pull_requests"
    assert Path(evaluation.metadata["rejection_report"].value).exists()
    failed = evaluation.metadata["failed_expectations"].value
    assert [f["expectation"] for f in failed] == ["expect_column_values_to_be_unique"]
    assert failed[0]["kwargs"] == {"column": "id"} and failed[0]["unexpected_count"] > 0
    assert TOKEN not in json.dumps(failed) and TOKEN not in (evaluation.description or "")


def test_graphql_requests_are_counted_too(
    sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """github.api: graphql sends its queries through a second client sharing the counting token."""
    monkeypatch.setenv(SANDBOX_TOKEN_VARIABLE, TOKEN)
    config_path = _write_config(tmp_path, {
        "start_date": small_org.start_date.isoformat(),
        "warehouse": str(tmp_path / "impact.duckdb"),
        "github": {"api_url": sandbox.url, "token": f"${{{SANDBOX_TOKEN_VARIABLE}}}", "api": "graphql",
                   "repos": [small_org.repositories[0]]},
    })
    sandbox.reset_counts()
    result = _run(raw_github, config_path)
    served = sandbox.request_counts
    assert result.success
    (materialization,) = result.asset_materializations_for_node(raw_github.op.name)
    assert any(endpoint.startswith("github.graphql") for endpoint in served), served
    assert materialization.metadata["requests"].value == sum(served.values())
