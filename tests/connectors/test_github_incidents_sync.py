"""GitHub incident issues against the sandbox: complete, incremental, idempotent, resilient, PRs skipped."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from connectors.github import GithubConnector
from connectors.github_issues import GithubIncidentIssues, linked_deployment
from connectors.http import SourceError
from impact.config import ImpactConfig, parse_config
from impact.sync_incidents import sync_github_incidents
from sandbox.faults import Fault, FaultPlan, ScriptedFault
from sandbox.github_api import GithubApi
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer
from tests.conftest import read_truth

TOKEN = "ghp_incident_secret_token_4321"
REPO = "hoco/mobile-app"


def _config(sandbox: SandboxServer, org: Organisation, tmp_path: Path) -> ImpactConfig:
    return parse_config(
        {
            "start_date": org.start_date.isoformat(),
            "end_date": org.end_date.isoformat(),
            "warehouse": str(tmp_path / "impact.duckdb"),
            "github": {"api_url": sandbox.url, "token": TOKEN, "orgs": [org.github_org]},
            "incidents": {"github_labels": ["incident"]},
        }
    )


def _landed(config: ImpactConfig) -> pd.DataFrame:
    return duckdb.sql(f"select * from read_parquet('{config.raw_dir}/github/issues/*.parquet')").df()


@pytest.fixture(scope="module")
def synced(sandbox: SandboxServer, small_org: Organisation, tmp_path_factory: pytest.TempPathFactory):
    config = _config(sandbox, small_org, tmp_path_factory.mktemp("github_incidents"))
    return config, sync_github_incidents(config)


def test_full_sync_equals_ground_truth_and_skips_pull_requests(synced, truth_dir: Path, small_org) -> None:
    config, summary = synced
    truth = read_truth(truth_dir, "incidents")
    truth = truth[truth["source"] == "github"].set_index("source_id").sort_index()
    landed = _landed(config)
    landed.index = landed["repository"] + "#" + landed["number"].astype(str)
    # second reports of outages PagerDuty paged (sandbox.incidents.DuplicateReport) land too, with the
    # PagerDuty incident whose link they paste; the rest of this test is about the incidents of their own
    duplicates = read_truth(truth_dir, "incident_duplicates")
    duplicates = duplicates[duplicates["source"] == "github"].set_index("source_id")
    named = duplicates[duplicates["names_pagerduty_incident"]]
    assert len(named) >= 1 and (landed.loc[named.index, "pagerduty_incident_id"] == named["primary_source_id"]).all()
    assert landed.drop(index=named.index)["pagerduty_incident_id"].isna().all()
    assert summary.rows["github/issues"] == len(truth) + len(duplicates)
    landed = landed.drop(index=duplicates.index).sort_index()
    assert list(landed.index) == list(truth.index) and len(truth) > 5
    assert (landed["created_at"] == truth["created_at"]).all()
    assert (landed["closed_at"].isna() == truth["resolved_at"].isna()).all()
    closed = truth["resolved_at"].notna()
    assert (landed.loc[closed, "closed_at"] == truth.loc[closed, "resolved_at"]).all()
    explicit = truth["explicit_link"]
    assert (landed.loc[explicit, "linked_deployment_id"] == truth.loc[explicit, "caused_by_deployment_id"]).all()
    assert landed.loc[~explicit, "linked_deployment_id"].isna().all()
    assert landed["labels"].str.split(",").map(lambda names: "incident" in names).all()
    # Authors as the sandbox serves them: the "ghost" user (an unknown or deleted account) lands as null,
    # bots keep their login.
    served = {f"{repository}#{view.number}": view.author_login
              for repository, views in GithubApi(small_org).issue_views.items() for view in views}
    gone = {"ghost", *small_org.deleted_logins}
    expected = landed.index.map(lambda key: None if served[key] in gone else served[key])
    assert list(landed["author_login"].where(landed["author_login"].notna(), None)) == list(expected)
    assert landed["author_login"].isna().sum() >= 1
    # The hotfix PRs labelled "incident" were listed too, and not landed.
    pr_numbers = {pr.number for pr in small_org.pull_requests[REPO]}
    assert not set(landed["number"]) & pr_numbers


def test_incremental_sync_lands_nothing_when_nothing_changed(synced, sandbox: SandboxServer, small_org) -> None:
    config, _ = synced
    rows = len(_landed(config))
    before = sandbox.request_counts.get("github.issues.list", 0)
    second = sync_github_incidents(config)
    assert sandbox.request_counts.get("github.issues.list", 0) - before == len(small_org.repositories)
    assert second.rows["github/issues"] == 0 and len(_landed(config)) == rows
    # a cursor per repository with incident issues (the incidents' own, and second reports of pages)
    assert set(second.cursors) == {f"github:incidents:{repository}" for repository in set(_landed(config)["repository"])}
    assert f"github:incidents:{REPO}" in second.cursors


def test_full_refresh_rerun_is_idempotent(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path) -> None:
    config = _config(sandbox, small_org, tmp_path)
    sync_github_incidents(config)
    first = _landed(config).drop(columns=["_batch_id", "_extracted_at"]).sort_values("id").reset_index(drop=True)
    sync_github_incidents(config, full_refresh=True)
    again = _landed(config).drop(columns=["_batch_id", "_extracted_at"]).drop_duplicates().sort_values("id")
    assert again.reset_index(drop=True).equals(first)


def test_rate_limits_and_server_errors_are_survived(sandbox: SandboxServer) -> None:
    reader = GithubIncidentIssues(GithubConnector(sandbox.url, TOKEN))
    clean = reader.issues(REPO, ["incident"], updated_since=None).issues
    sandbox.faults = FaultPlan([
        ScriptedFault("github.issues.list", 1, Fault.secondary_rate_limit(retry_after=1)),
        ScriptedFault("github.issues.list", 2, Fault.rate_limit(retry_after=1)),
        ScriptedFault("github.issues.list", 3, Fault.server_error(502)),
    ])
    try:
        again = GithubIncidentIssues(GithubConnector(sandbox.url, TOKEN)).issues(REPO, ["incident"], updated_since=None)
        assert sandbox.faults.fired_kinds() == {"secondary_rate_limit": 1, "rate_limit": 1, "server_error": 1}
    finally:
        sandbox.faults = None
    assert again.issues == clean and again.pull_requests_skipped >= 1


def test_malformed_page_and_wrong_token_are_clear_errors(sandbox: SandboxServer) -> None:
    sandbox.faults = FaultPlan([ScriptedFault("github.issues.list", 1, Fault.malformed_json(), times=10)])
    try:
        with pytest.raises(SourceError) as malformed:
            GithubIncidentIssues(GithubConnector(sandbox.url, TOKEN)).issues(REPO, ["incident"], updated_since=None)
    finally:
        sandbox.faults = None
    assert str(malformed.value).startswith(f"github: ") and f"incident issues of {REPO}" in str(malformed.value)
    with pytest.raises(SourceError) as refused:
        GithubIncidentIssues(GithubConnector(sandbox.url, " ")).issues(REPO, ["incident"], updated_since=None)
    assert "token was refused" in str(refused.value)
    for error in (malformed.value, refused.value):
        assert TOKEN not in str(error)


def test_deployment_reference_parsing() -> None:
    assert linked_deployment("x\n\nDeployment: https://api.github.com/repos/o/r/deployments/2000012") == 2000012
    assert linked_deployment("Deployment: #42") == 42 and linked_deployment("**Deployment:** 7") == 7
    assert linked_deployment("no link here") is None and linked_deployment(None) is None
