"""The PagerDuty link a second report of an outage pastes lands as `pagerduty_incident_id`: from a Jira Cloud
description (a document tree, the link in a mark), a Data Center one (wiki markup) and a GitHub issue body,
read over the sandbox by the real connectors; reports without a link land null."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from connectors.incident_refs import description_text, pagerduty_incident_reference
from impact.config import parse_config
from impact.sync import sync_jira
from sandbox.jira_issues import generate_jira
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer
from tests.conftest import read_truth

TOKEN = "dup_refs_secret_token_81c2"


def _landed_references(raw_dir: Path) -> dict[str, str | None]:
    rows = duckdb.sql(f"select key, pagerduty_incident_id from read_parquet('{raw_dir}/jira/issues/*.parquet') "
                      "where is_incident").fetchall()
    return dict(rows)


@pytest.mark.parametrize("cloud", [True, False], ids=["cloud", "dc"])
def test_jira_description_link_lands_as_the_pagerduty_incident(
    sandbox: SandboxServer, small_org: Organisation, truth_dir: Path, tmp_path: Path, cloud: bool
) -> None:
    section: dict[str, object] = {"url": sandbox.url, "token": TOKEN,
                                  "projects": [p.key for p in generate_jira(small_org).projects]}
    if cloud:
        section["email"] = "integration@hoco.io"
    config = parse_config({"start_date": small_org.start_date.isoformat(), "end_date": small_org.end_date.isoformat(),
                           "warehouse": str(tmp_path / "impact.duckdb"), "jira": section})
    sync_jira(config)
    landed = _landed_references(config.raw_dir)
    duplicates = read_truth(truth_dir, "incident_duplicates")
    duplicates = duplicates[duplicates["source"] == "jira"]
    expected = {row.source_id: row.primary_source_id if row.names_pagerduty_incident else None
                for row in duplicates.itertuples()}
    assert {True, False} == {value is not None for value in expected.values()}
    assert {key: landed[key] for key in expected} == expected
    # incident issues of their own paste no PagerDuty link
    assert all(value is None for key, value in landed.items() if key not in expected)


def test_reference_forms() -> None:
    url = "https://acme.pagerduty.com/incidents/Q2K8F3LMN0PQRS"
    assert pagerduty_incident_reference(f"Paged: {url}.") == "Q2K8F3LMN0PQRS"
    assert pagerduty_incident_reference("see https://acme.pagerduty.com/#/incidents/PABC123 and more") == "PABC123"
    assert pagerduty_incident_reference("https://acme.pagerduty.com/services/PABC123") is None
    assert pagerduty_incident_reference("https://example.com/incidents/PABC123") is None
    assert pagerduty_incident_reference(None) is None
    smart_link = {"type": "doc", "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "Paged: "}, {"type": "inlineCard", "attrs": {"url": url}}]}]}
    assert pagerduty_incident_reference(description_text(smart_link)) == "Q2K8F3LMN0PQRS"
    marked = {"type": "doc", "content": [{"type": "paragraph", "content": [
        {"type": "text", "text": "the page", "marks": [{"type": "link", "attrs": {"href": url}}]}]}]}
    assert pagerduty_incident_reference(description_text(marked)) == "Q2K8F3LMN0PQRS"
    assert pagerduty_incident_reference(description_text(f"[the page|{url}]")) == "Q2K8F3LMN0PQRS"


def test_a_landing_from_before_the_field_still_reads_it(tmp_path: Path) -> None:
    """Issues landed before `pagerduty_incident_id` existed: the warehouse step's ensure_entity_folders adds
    an empty batch of the current schema, so the staging model's column reads as null instead of failing."""
    import datetime as dt

    import pyarrow.parquet as pq

    from connectors.records import GithubIssue
    from impact.landing import ensure_entity_folders, land_batch

    issue = GithubIssue(id=1, repository="o/r", number=1, title="t", state="open", state_reason=None, author_login=None,
                        labels="incident", created_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                        updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
                        closed_at=None, linked_deployment_id=None)
    landed = land_batch(tmp_path, "github/issues", [issue], dt.datetime(2026, 1, 2, tzinfo=dt.timezone.utc))
    old = pq.read_table(landed.path).drop_columns(["pagerduty_incident_id"])  # as an older release wrote it
    pq.write_table(old, landed.path)
    query = f"select pagerduty_incident_id from read_parquet('{tmp_path}/github/issues/*.parquet', union_by_name=true)"
    with pytest.raises(duckdb.BinderException):
        duckdb.sql(query).fetchall()
    ensure_entity_folders(tmp_path)
    assert duckdb.sql(query).fetchall() == [(None,)]
    ensure_entity_folders(tmp_path)  # once is enough
    assert len(list((tmp_path / "github" / "issues").glob("*.parquet"))) == 2
