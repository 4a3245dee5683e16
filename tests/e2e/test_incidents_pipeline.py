"""Incidents through the whole pipeline: every outage (one row, however many tools reported it), its restore
time, its cause, MTTR and CFR equal the sandbox's truth."""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e


def _incidents(warehouse: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """fct_incidents keyed the way each tool shows an incident: PagerDuty id, owner/repo#number, Jira key."""
    return warehouse.execute(
        """
        select
            incidents.source,
            case incidents.source
                when 'github' then incidents.repository_full_name || '#' || incidents.source_key
                when 'jira' then incidents.source_key
                else incidents.source_id
            end as source_id,
            incidents.created_at,
            incidents.resolved_at,
            incidents.restore_hours,
            incidents.duplicate_count,
            incidents.also_reported_in,
            cast(deployments.source_id as bigint) as linked_deployment
        from marts.fct_incidents as incidents
        left join marts.fct_deployments as deployments
            on deployments.deployment_id = incidents.caused_by_deployment_id
        """
    ).df()


def test_every_incident_with_its_restore_time_and_cause(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    """One row per outage: an outage PagerDuty paged and someone reported again in Jira or GitHub is its
    PagerDuty incident, with the earliest report's start and the latest resolution (incidents.csv's
    outage_* columns); merging nothing would leave the second reports as rows the truth does not have."""
    expected = pd.read_csv(truth / "incidents.csv", parse_dates=["outage_created_at", "outage_resolved_at"])
    merged = expected.merge(_incidents(warehouse), on=["source", "source_id"], how="outer", indicator=True,
                            suffixes=("", "_built"))
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both", ["source", "source_id"]]
    assert set(merged["source"]) == {"pagerduty", "github", "jira"}
    assert (merged["outage_created_at"] == merged["created_at_built"]).all()
    assert (merged["outage_resolved_at"].isna() == merged["resolved_at_built"].isna()).all()
    np.testing.assert_allclose(merged["outage_restore_hours"].fillna(-1), merged["restore_hours_built"].fillna(-1), atol=1e-9)
    assert (merged["duplicate_count"] == merged["duplicate_count_built"]).all()
    assert (merged["also_reported_in"].fillna("") == merged["also_reported_in_built"].fillna("")).all()
    assert merged["duplicate_count"].sum() >= 3  # the sandbox did report some outages twice
    # the 24-hour rule (explicit link first): incidents no deployment caused, or caused out of the window, stay unlinked
    assert (merged["linked_deployment_id"].fillna(-1).astype(int) == merged["linked_deployment"].fillna(-1).astype(int)).all()
    assert merged["linked_deployment"].isna().any() and merged["linked_deployment"].notna().sum() > 30


def test_change_failures_and_cfr_equal_the_truth(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    expected = pd.read_csv(truth / "deployments.csv")
    built = warehouse.execute(
        "select cast(source_id as bigint) as deployment_id, is_failure from marts.fct_deployments "
        "where is_production and is_successful"
    ).df()
    merged = expected.merge(built, on="deployment_id", how="inner")
    assert len(merged) == (expected["environment"].eq("production") & expected["deployed_at"].notna()).sum()
    assert (merged["is_failure"] == merged["is_change_failure"]).all()
    assert expected["is_rollback"].any()  # rolled-back deployments are among the failures
    [(deployments, failures)] = warehouse.execute(
        "select sum(deployments), sum(failed_deployments) from marts.mart_dora_weekly"
    ).fetchall()
    assert (deployments, failures) == (len(merged), int(merged["is_change_failure"].sum()))


def test_jira_issue_lead_and_cycle_times_equal_the_truth(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    """Jira times arrive with offsets (+0100, -0500) and daylight saving; the warehouse holds them in UTC."""
    expected = pd.read_csv(truth / "jira_issues.csv", parse_dates=["created_at", "started_at", "resolved_at"])
    built = warehouse.execute(
        "select key, type, status, created_at, started_at, resolved_at, lead_hours, cycle_hours, "
        "assignee_developer_id from marts.fct_issues"
    ).df()
    merged = expected.merge(built, on="key", how="outer", indicator=True, suffixes=("", "_built"))
    assert (merged["_merge"] == "both").all() and len(merged) > 500
    for column in ("type", "status", "created_at"):
        assert (merged[column] == merged[f"{column}_built"]).all(), column
    for column in ("started_at", "resolved_at"):
        assert (merged[column].isna() == merged[f"{column}_built"].isna()).all(), column
        known = merged[column].notna()
        assert (merged.loc[known, column] == merged.loc[known, f"{column}_built"]).all(), column
    for column in ("lead_hours", "cycle_hours"):
        np.testing.assert_allclose(merged[column].fillna(-1), merged[f"{column}_built"].fillna(-1), atol=1e-9)
    assigned = merged["assignee_email"].notna()
    assert merged.loc[assigned, "assignee_developer_id"].notna().all()  # Jira accounts resolve to developers


def test_second_reports_merge_into_their_page_and_outages_count_once(warehouse: duckdb.DuckDBPyConnection,
                                                                     truth: Path) -> None:
    """The distinct outages, the pairs (int_incident_duplicates) and MTTR equal the truth's."""
    outages = pd.read_csv(truth / "incidents.csv")
    expected = pd.read_csv(truth / "incident_duplicates.csv")
    built = warehouse.execute(
        """
        select
            duplicates.source,
            case duplicates.source
                when 'github' then duplicates.repository_full_name || '#' || duplicates.source_key
                else duplicates.source_key
            end as source_id,
            duplicates.pagerduty_source_id as primary_source_id,
            duplicates.match_rule
        from intermediate.int_incident_duplicates as duplicates
        """
    ).df()
    pairs = expected.merge(built, on=["source", "source_id"], how="outer", indicator=True, suffixes=("", "_built"))
    assert (pairs["_merge"] == "both").all(), pairs.loc[pairs["_merge"] != "both", ["source", "source_id"]]
    assert (pairs["primary_source_id"] == pairs["primary_source_id_built"]).all()
    # a pasted link is matched as a reference; the others by the 60-minute window
    assert (pairs["match_rule"] == pairs["names_pagerduty_incident"].map({True: "reference", False: "time_window"})).all()
    assert set(pairs["match_rule"]) == {"reference", "time_window"}
    [(count, mttr, resolved)] = warehouse.execute(
        "select count(*), median(restore_hours), count(restore_hours) from marts.fct_incidents"
    ).fetchall()
    assert count == len(outages)
    assert resolved == outages["outage_restore_hours"].notna().sum()
    assert mttr == pytest.approx(outages["outage_restore_hours"].median(), abs=1e-9)
