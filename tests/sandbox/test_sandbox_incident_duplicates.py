"""One outage reported twice: a share of PagerDuty-paged outages is reported again as a Jira or GitHub
incident issue minutes later, some pasting the PagerDuty link; the ground truth says which records are
one outage and what the outage's times are."""

from __future__ import annotations

import pandas as pd
import requests

from connectors.incident_refs import description_text, pagerduty_incident_reference
from sandbox.incidents import duplicate_reports

AUTH = ("impact@hoco.io", "token")


def test_a_share_of_pages_is_reported_again_soon_after(org, truth) -> None:
    pages = [i for i in org.incidents if i.source == "pagerduty"]
    reports = duplicate_reports(org.config, org.seed, org.incidents)
    assert reports == duplicate_reports(org.config, org.seed, org.incidents)  # deterministic
    assert 0.1 <= len(reports) / len(pages) <= 0.3
    assert {r.tool for r in reports} == {"github", "jira"}
    assert {r.names_pagerduty for r in reports} == {True, False}
    duplicates = truth("incident_duplicates.csv")
    assert len(duplicates) == len(reports)  # every team here has a Jira project with responders
    minutes = duplicates["minutes_after_page"]
    assert minutes.between(2, 90).all() and minutes[~duplicates["names_pagerduty_incident"]].le(50).all()
    incidents = truth("incidents.csv").set_index("incident_id")
    outages = incidents.loc[duplicates["incident_id"]]
    assert (outages["source"] == "pagerduty").all()
    assert (outages["source_id"].to_numpy() == duplicates["primary_source_id"].to_numpy()).all()
    assert (outages["repository"].to_numpy() == duplicates["repository"].to_numpy()).all()


def test_outage_times_merge_the_reports(truth) -> None:
    incidents = truth("incidents.csv")
    duplicates = truth("incident_duplicates.csv")
    assert incidents["duplicate_count"].sum() == len(duplicates)
    single = incidents[incidents["duplicate_count"] == 0]
    assert single["also_reported_in"].isna().all()
    assert (single["outage_created_at"] == single["created_at"]).all()
    assert (single["outage_resolved_at"].isna() == single["resolved_at"].isna()).all()
    known = single["resolved_at"].notna()
    assert (single.loc[known, "outage_resolved_at"] == single.loc[known, "resolved_at"]).all()
    for row in incidents[incidents["duplicate_count"] > 0].itertuples():
        mine = duplicates[duplicates["incident_id"] == row.incident_id]
        assert row.also_reported_in == ",".join(sorted(set(mine["source"])))
        assert row.outage_created_at == min(row.created_at, mine["created_at"].min())
        if pd.isna(row.resolved_at):
            assert pd.isna(row.outage_resolved_at)  # open while the page is open
        else:
            assert row.outage_resolved_at == max([row.resolved_at, *mine["resolved_at"].dropna()])


def _jira_incident_issues(server) -> dict[str, dict]:
    """Every Incident issue as the Cloud search serves it (description as a document tree), by key."""
    found: dict[str, dict] = {}
    params: dict[str, object] = {"jql": "issuetype = Incident", "fields": "issuetype,description", "maxResults": 100}
    while True:
        page = requests.get(f"{server.url}/rest/api/3/search/jql", params=params, auth=AUTH, timeout=30).json()
        found.update({issue["key"]: issue for issue in page["issues"]})
        if not page.get("nextPageToken"):
            return found
        params["nextPageToken"] = page["nextPageToken"]


def test_served_reports_paste_the_link_where_the_truth_says(server, truth) -> None:
    duplicates = truth("incident_duplicates.csv")
    duplicates["created_at"] = pd.to_datetime(duplicates["created_at"], utc=True)
    jira = _jira_incident_issues(server)
    for row in duplicates.itertuples():
        if row.source == "github":
            repository, number = row.source_id.split("#")
            issue = requests.get(f"{server.url}/repos/{repository}/issues/{number}", headers={"Authorization": "token t"},
                                 timeout=30).json()
            text, labels = issue["body"], {label["name"] for label in issue["labels"]}
            assert "incident" in labels and pd.Timestamp(issue["created_at"]) == row.created_at
        else:
            issue = jira[row.source_id]
            assert issue["fields"]["issuetype"]["name"] == "Incident"
            text = description_text(issue["fields"]["description"])
        expected = row.primary_source_id if row.names_pagerduty_incident else None
        assert pagerduty_incident_reference(text) == expected, row.source_id
