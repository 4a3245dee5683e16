"""PagerDuty extraction against the sandbox over HTTP: complete, incremental, idempotent, resilient, clear."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from connectors.http import SourceError
from connectors.pagerduty import PagerdutyConnector, linked_deployment
from impact.config import ImpactConfig, parse_config
from impact.sync_incidents import sync_pagerduty
from sandbox.faults import Fault, FaultPlan, ScriptedFault
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer
from tests.conftest import read_truth

TOKEN = "pd_sandbox_secret_token_5678"
UTC = dt.timezone.utc
START, END = dt.datetime(2026, 1, 5, tzinfo=UTC), dt.datetime(2026, 7, 6, tzinfo=UTC)


def _config(sandbox: SandboxServer, org: Organisation, tmp_path: Path, **pagerduty) -> ImpactConfig:
    return parse_config(
        {
            "start_date": org.start_date.isoformat(),
            "end_date": org.end_date.isoformat(),
            "warehouse": str(tmp_path / "impact.duckdb"),
            "pagerduty": {"api_url": f"{sandbox.url}/pagerduty", "token": TOKEN, **pagerduty},
        }
    )


def _landed(config: ImpactConfig) -> pd.DataFrame:
    return duckdb.sql(f"select * from read_parquet('{config.raw_dir}/pagerduty/incidents/*.parquet')").df()


@pytest.fixture(scope="module")
def synced(sandbox: SandboxServer, small_org: Organisation, tmp_path_factory: pytest.TempPathFactory):
    config = _config(sandbox, small_org, tmp_path_factory.mktemp("pagerduty"))
    before = sandbox.request_counts.get("pagerduty.incidents.list", 0)
    summary = sync_pagerduty(config)
    return config, summary, sandbox.request_counts.get("pagerduty.incidents.list", 0) - before


def test_full_sync_equals_ground_truth(synced, truth_dir: Path) -> None:
    config, summary, requests = synced
    truth = read_truth(truth_dir, "incidents")
    truth = truth[truth["source"] == "pagerduty"].set_index("source_id").sort_index()
    landed = _landed(config).set_index("id").sort_index()
    assert list(landed.index) == list(truth.index) and summary.rows["pagerduty/incidents"] == len(truth)
    assert (landed["created_at"] == truth["created_at"]).all()
    assert (landed["resolved_at"].isna() == truth["resolved_at"].isna()).all()
    resolved = truth["resolved_at"].notna()
    assert (landed.loc[resolved, "resolved_at"] == truth.loc[resolved, "resolved_at"]).all()
    assert (landed.loc[~resolved, "status"] != "resolved").all() and (landed.loc[resolved, "status"] == "resolved").all()
    assert (landed["service_name"] == truth["service"]).all() and (landed["urgency"] == truth["urgency"]).all()
    explicit = truth["explicit_link"]
    assert (landed.loc[explicit, "linked_deployment_id"] == truth.loc[explicit, "caused_by_deployment_id"]).all()
    assert landed.loc[~explicit, "linked_deployment_id"].isna().all()
    # 26 weeks in 30-day windows: 7 requests, one page each (limit 100).
    assert requests == summary.requests == 7
    assert summary.cursors["pagerduty:incidents:newest_created_at"] == truth["created_at"].max().isoformat() + "+00:00"


def test_incremental_sync_reads_only_the_recent_window_and_lands_nothing(synced, sandbox: SandboxServer) -> None:
    config, _, _ = synced
    rows_before = len(_landed(config))
    before = sandbox.request_counts.get("pagerduty.incidents.list", 0)
    second = sync_pagerduty(config)
    assert sandbox.request_counts.get("pagerduty.incidents.list", 0) - before == 1 == second.requests
    assert second.rows["pagerduty/incidents"] == 0 and len(_landed(config)) == rows_before


def test_full_refresh_rerun_is_idempotent(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path) -> None:
    config = _config(sandbox, small_org, tmp_path)
    sync_pagerduty(config)
    first = _landed(config).drop(columns=["_batch_id", "_extracted_at"]).sort_values("id").reset_index(drop=True)
    sync_pagerduty(config, full_refresh=True)
    again = _landed(config).drop(columns=["_batch_id", "_extracted_at"]).drop_duplicates().sort_values("id")
    assert again.reset_index(drop=True).equals(first)


def test_every_fault_kind_is_survived(sandbox: SandboxServer) -> None:
    connector = PagerdutyConnector(f"{sandbox.url}/pagerduty", TOKEN)
    clean = connector.incidents(START, dt.datetime(2026, 4, 1, tzinfo=UTC))
    sandbox.faults = FaultPlan([
        ScriptedFault("pagerduty.incidents.list", 1, Fault.rate_limit(retry_after=1)),
        ScriptedFault("pagerduty.incidents.list", 2, Fault.server_error(502)),
        ScriptedFault("pagerduty.incidents.list", 3, Fault.malformed_json()),
        ScriptedFault("pagerduty.incidents.list", 4, Fault.slow(0.2)),
        ScriptedFault("pagerduty.incidents.list", 1, Fault.repeat_page()),
    ])
    try:
        small_pages = PagerdutyConnector(f"{sandbox.url}/pagerduty", TOKEN)
        import connectors.pagerduty as module

        limit, module.PAGE_LIMIT = module.PAGE_LIMIT, 5  # several pages, so a page can repeat
        try:
            got = small_pages.incidents(START, dt.datetime(2026, 4, 1, tzinfo=UTC))
        finally:
            module.PAGE_LIMIT = limit
        assert sandbox.faults.fired_kinds() == {"rate_limit": 1, "server_error": 1, "malformed_json": 1, "slow": 1, "repeat_page": 1}
    finally:
        sandbox.faults = None
    assert got == clean and len(clean) > 5


def test_persistent_malformed_page_is_a_clear_error(sandbox: SandboxServer) -> None:
    sandbox.faults = FaultPlan([ScriptedFault("pagerduty.incidents.list", 1, Fault.malformed_json(), times=3)])
    try:
        with pytest.raises(SourceError, match=r"^pagerduty: a malformed page \(not JSON\)"):
            PagerdutyConnector(f"{sandbox.url}/pagerduty", TOKEN).incidents(START, END - dt.timedelta(days=10))
    finally:
        sandbox.faults = None


def test_wrong_token_unknown_service_and_wrong_url_are_clear_errors(sandbox: SandboxServer) -> None:
    with pytest.raises(SourceError) as refused:
        PagerdutyConnector(f"{sandbox.url}/pagerduty", " ").incidents(START, END - dt.timedelta(days=30))
    assert str(refused.value).startswith("pagerduty: the token was refused") and "PAGERDUTY_TOKEN" in str(refused.value)
    with pytest.raises(SourceError) as unknown:
        PagerdutyConnector(f"{sandbox.url}/pagerduty", TOKEN).check_services(["PNOSUCH"])
    assert "service PNOSUCH was not found" in str(unknown.value) and "pagerduty.service_ids" in str(unknown.value)
    with pytest.raises(SourceError) as wrong:
        PagerdutyConnector(sandbox.url, TOKEN).incidents(START, END - dt.timedelta(days=30))
    assert "not found" in str(wrong.value) and "https://api.pagerduty.com" in str(wrong.value)
    for error in (refused.value, unknown.value, wrong.value):
        assert TOKEN not in str(error)


def test_configured_service_ids_filter(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path) -> None:
    connector = PagerdutyConnector(f"{sandbox.url}/pagerduty", TOKEN)
    everything = connector.incidents(START, dt.datetime(2026, 4, 1, tzinfo=UTC))
    service = everything[0].service_id
    only = connector.incidents(START, dt.datetime(2026, 4, 1, tzinfo=UTC), service_ids=[service])
    assert only == [r for r in everything if r.service_id == service]


def test_incident_key_parsing() -> None:
    assert linked_deployment("deploy-2000012") == 2000012 and linked_deployment("deployment:7") == 7
    assert linked_deployment("f0a151faa3747a8bbf40b036b29a9cf6") is None and linked_deployment(None) is None
