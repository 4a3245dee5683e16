"""The sandbox's GitHub issues endpoint: incident issues (and the PRs GitHub lists among issues)."""

from __future__ import annotations

import pandas as pd
import requests

from connectors.github_issues import is_pull_request

REPO = "hoco/mobile-app"  # the small preset's team that reports incidents as GitHub issues


def test_labelled_issues_match_ground_truth(gh, truth, server) -> None:
    expected = truth("incidents.csv")
    expected = expected[expected["source"] == "github"].set_index("source_id")
    repo = gh.get_repo(REPO)
    before = server.request_counts.get("github.issues.get", 0)
    listed = list(repo.get_issues(labels=["incident"], state="all"))
    issues = [i for i in listed if not is_pull_request(i)]
    pulls = [i for i in listed if is_pull_request(i)]
    assert server.request_counts.get("github.issues.get", 0) == before  # the check needs no extra request
    assert len(issues) == len(expected) > 5 and len(pulls) >= 1  # hotfix PRs labelled too
    created = [i.created_at for i in listed]
    assert created == sorted(created, reverse=True)  # GitHub's default: newest created first
    for issue in issues:
        row = expected.loc[f"{REPO}#{issue.number}"]
        assert issue.title == row["title"] and "incident" in {label.name for label in issue.labels}
        assert pd.Timestamp(issue.created_at) == pd.Timestamp(row["created_at"], tz="UTC")
        closed = row["resolved_at"]
        assert (issue.closed_at is None) == pd.isna(closed) and issue.state == ("open" if pd.isna(closed) else "closed")
        if issue.closed_at:
            assert pd.Timestamp(issue.closed_at) == pd.Timestamp(closed, tz="UTC") and issue.state_reason == "completed"
            assert issue.updated_at >= issue.closed_at
        named = f"/deployments/{int(row['caused_by_deployment_id'])}" if row["explicit_link"] else None
        assert (named is not None and named in issue.body) or (named is None and "/deployments/" not in issue.body)
    authors = {i.user.login for i in issues}
    assert "ghost" in authors and len(authors) >= 3
    for pull in pulls:
        assert pull.raw_data["pull_request"]["url"].endswith(f"/pulls/{pull.number}")


def test_state_since_sort_pagination_and_etag(server) -> None:
    headers = {"Authorization": "token t"}
    url = f"{server.url}/repos/{REPO}/issues"
    everything = requests.get(url, params={"state": "all", "per_page": 100}, headers=headers, timeout=30)
    assert 'rel="next"' in everything.headers["Link"]  # PRs are listed among issues
    page = requests.get(url, params={"labels": "incident", "state": "all", "per_page": 3}, headers=headers, timeout=30)
    assert len(page.json()) == 3 and 'rel="next"' in page.headers["Link"]
    again = requests.get(url, params={"labels": "incident", "state": "all", "per_page": 3},
                         headers={**headers, "If-None-Match": page.headers["ETag"]}, timeout=30)
    assert again.status_code == 304
    recent = requests.get(url, params={"labels": "incident", "state": "all", "since": "2026-05-01T00:00:00Z",
                                       "sort": "updated", "direction": "asc"}, headers=headers, timeout=30).json()
    stamps = [i["updated_at"] for i in recent]
    assert stamps == sorted(stamps) and all(s >= "2026-05-01T00:00:00Z" for s in stamps) and stamps
    both = requests.get(url, params={"labels": "incident,severity:high", "state": "all"}, headers=headers, timeout=30).json()
    assert both and all({"incident", "severity:high"} <= {l["name"] for l in i["labels"]} for i in both)
    closed_only = requests.get(url, params={"labels": "incident", "state": "closed"}, headers=headers, timeout=30).json()
    assert all(i["state"] == "closed" for i in closed_only)
    number = page.json()[0]["number"]
    single = requests.get(f"{url}/{number}", headers=headers, timeout=30).json()
    assert single["number"] == number and single["labels"] == page.json()[0]["labels"]
    assert requests.get(url, timeout=30).status_code == 401
