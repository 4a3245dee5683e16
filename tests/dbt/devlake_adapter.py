"""Apache DevLake's DORA fixtures (../shared/reference/devlake-dora/) as our raw landing.

DevLake's fixtures are tables of its "domain layer"; this adapter turns their input CSVs into the raw
records our connectors land (connectors.records), so that the same staging -> intermediate -> marts
path runs on them, and reads their expected outputs for comparison (tests/dbt/test_devlake.py).

Mapping (DevLake -> ours):
  * a DevLake project is the matching scope of its DORA rules; ours is a repository. Every repo and CI/CD
    scope of a project becomes one repository `<prefix>/<project>`, so "same project" means "same
    repository" for us. Scopes no project maps keep a repository of their own.
  * cicd_deployment_commits row -> one GithubDeployment (id = the row id, sha = commit_sha,
    environment lower-cased) with a `success` or `failure` status at finished_date;
  * commits_diffs -> GithubDeploymentCommit (the commits a deployment shipped since the previous one);
  * pull_requests / pull_request_commits -> GithubPullRequest / GithubPullRequestCommit (author_id is
    the login; an empty one is a ghost), pull_request_comments -> COMMENTED reviews;
  * incidents -> GithubIssue carrying an incident label, in the repository of its scope's project.
DevLake's times are UTC (`...+00:00` or naive).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from connectors.records import (
    GithubDeployment,
    GithubDeploymentCommit,
    GithubDeploymentStatus,
    GithubIssue,
    GithubPullRequest,
    GithubPullRequestCommit,
    GithubReview,
)
from impact.landing import ensure_entity_folders, land_batch

#: Apache DevLake's DORA fixtures (Apache License 2.0), kept unchanged in the repository so that every
#: clone, CI's included, runs the comparison (their README says where they come from)
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "devlake-dora"
LEAD_TIME = "change_lead_time"
INCIDENTS = "connect_incident_to_deployment"
EXTRACTED_AT = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
LEAD_TIME_IDS, INCIDENT_IDS = 0, 1000  # deployment id offsets: the two fixtures both number rows from 1


def fixtures_dir() -> Path:
    return FIXTURES


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def parse_time(text: str) -> dt.datetime | None:
    """DevLake writes `2023-04-10T06:51:47.000+00:00`, `2023-4-10 6:51:47` or `2022-09-07 23:07:13`."""
    text = text.strip()
    if not text:
        return None
    if "T" in text:
        return dt.datetime.fromisoformat(text).astimezone(dt.timezone.utc)
    day, clock = text.split(" ")
    year, month, date = (int(part) for part in day.split("-"))
    hour, minute, second = (int(part) for part in clock.split(":"))
    return dt.datetime(year, month, date, hour, minute, second, tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class Scopes:
    """Which repository (`<prefix>/<project>`) each DevLake scope row id belongs to."""

    prefix: str
    project_of: dict[str, str]

    def repository(self, scope_id: str) -> str:
        return f"{self.prefix}/{self.project_of.get(scope_id, 'unmapped-' + scope_id)}"


def _scopes(project_mapping: Path, prefix: str) -> Scopes:
    return Scopes(prefix, {row["row_id"]: row["project_name"] for row in read_csv(project_mapping)})


def _deployments(rows: list[dict[str, str]], scopes: Scopes,
                 id_offset: int) -> Iterator[tuple[GithubDeployment, GithubDeploymentStatus]]:
    """One deployment per row, its id the row id + id_offset (both fixtures number their rows from 1)."""
    for row in rows:
        deployment_id = id_offset + int(row["id"])
        repository = scopes.repository(row["cicd_scope_id"])
        started = parse_time(row["started_date"])
        finished = parse_time(row["finished_date"])
        assert started is not None and finished is not None, row
        state = "success" if row["result"] == "SUCCESS" else "failure"
        yield (
            GithubDeployment(id=deployment_id, repository=repository, sha=row["commit_sha"], ref="main",
                             environment=row["environment"].lower(), creator_login="devlake",
                             created_at=started, updated_at=finished),
            GithubDeploymentStatus(id=100_000 + deployment_id, deployment_id=deployment_id, repository=repository,
                                   state=state, created_at=finished),
        )


def land_change_lead_time(raw_root: Path, prefix: str = "devlake-clt") -> dict[str, tuple[str, int]]:
    """Land the change_lead_time inputs; returns DevLake PR id -> (our repository, our PR number)."""
    folder = FIXTURES / LEAD_TIME
    scopes = _scopes(folder / "project_mapping.csv", prefix)
    deployment_rows = read_csv(folder / "cicd_deployment_commits.csv")
    pairs = list(_deployments(deployment_rows, scopes, LEAD_TIME_IDS))
    land_batch(raw_root, "github/deployments", [deployment for deployment, _ in pairs], EXTRACTED_AT)
    land_batch(raw_root, "github/deployment_statuses", [status for _, status in pairs], EXTRACTED_AT)

    by_sha = {row["commit_sha"]: row for row in deployment_rows}
    shipped = []
    for diff in read_csv(folder / "commits_diffs.csv"):
        deployment = by_sha[diff["new_commit_sha"]]
        previous = by_sha.get(diff["old_commit_sha"])
        shipped.append(GithubDeploymentCommit(
            deployment_id=LEAD_TIME_IDS + int(deployment["id"]),
            repository=scopes.repository(deployment["cicd_scope_id"]), environment=deployment["environment"].lower(),
            previous_deployment_id=LEAD_TIME_IDS + int(previous["id"]) if previous else 0, sha=diff["commit_sha"]))
    land_batch(raw_root, "github/deployment_commits", shipped, EXTRACTED_AT)

    numbers: dict[str, tuple[str, int]] = {}
    pull_requests = []
    for index, row in enumerate(read_csv(folder / "pull_requests.csv"), start=1):
        repository = scopes.repository(row["base_repo_id"])
        numbers[row["id"]] = (repository, index)
        created, merged = parse_time(row["created_date"]), parse_time(row["merged_date"])
        assert created is not None
        author = row["author_id"] or None
        pull_requests.append(GithubPullRequest(
            id=5000 + index, repository=repository, number=index, title=row["id"], state="closed" if merged else "open",
            draft=False, author_login=author, author_type="User" if author else None, created_at=created,
            updated_at=merged or created, closed_at=merged, merged_at=merged, merge_commit_sha=row["merge_commit_sha"],
            head_ref=f"feature/{row['id']}", base_ref="main", additions=1, deletions=0, changed_files=1))
    land_batch(raw_root, "github/pull_requests", pull_requests, EXTRACTED_AT)

    commits = []
    for row in read_csv(folder / "pull_request_commits.csv"):
        repository, number = numbers[row["pull_request_id"]]
        authored = parse_time(row["commit_authored_date"])
        assert authored is not None
        commits.append(GithubPullRequestCommit(repository=repository, pull_number=number, sha=row["commit_sha"],
                                               author_login=None, author_email=None, authored_at=authored,
                                               committed_at=authored, message=""))
    land_batch(raw_root, "github/pull_request_commits", commits, EXTRACTED_AT)

    reviews = []
    for index, row in enumerate(read_csv(folder / "pull_request_comments.csv"), start=1):
        repository, number = numbers[row["pull_request_id"]]
        reviews.append(GithubReview(id=9000 + index, repository=repository, pull_number=number,
                                    reviewer_login=row["account_id"] or None, state="COMMENTED",
                                    submitted_at=parse_time(row["created_date"])))
    land_batch(raw_root, "github/reviews", reviews, EXTRACTED_AT)
    return numbers


def expected_pr_metrics() -> dict[str, dict[str, str]]:
    """DevLake's project_pr_metrics.csv by PR id (durations in minutes, empty when null)."""
    return {row["id"]: row for row in read_csv(FIXTURES / LEAD_TIME / "project_pr_metrics.csv")}


def land_incidents(raw_root: Path, prefix: str = "devlake-inc") -> tuple[dict[int, str], dict[int, str]]:
    """Land the connect_incident_to_deployment inputs.

    Returns (our GitHub issue id -> DevLake incident id, our deployment id -> DevLake cicd_deployment_id).
    """
    folder = FIXTURES / INCIDENTS
    scopes = _scopes(folder / "raw_tables" / "project_mapping.csv", prefix)
    deployment_rows = read_csv(folder / "prev_success_deployment_commit" / "cicd_deployment_commits_after.csv")
    pairs = list(_deployments(deployment_rows, scopes, INCIDENT_IDS))
    land_batch(raw_root, "github/deployments", [deployment for deployment, _ in pairs], EXTRACTED_AT)
    land_batch(raw_root, "github/deployment_statuses", [status for _, status in pairs], EXTRACTED_AT)
    pipelines = {INCIDENT_IDS + int(row["id"]): row["cicd_deployment_id"] for row in deployment_rows}

    issues, incident_ids = [], {}
    for index, row in enumerate(read_csv(folder / "raw_tables" / "incidents.csv"), start=1):
        issue_id = int(row["id"].rsplit(":", 1)[1])
        incident_ids[issue_id] = row["id"]
        created, updated = parse_time(row["created_date"]), parse_time(row["updated_date"])
        assert created is not None and updated is not None
        issues.append(GithubIssue(
            id=issue_id, repository=scopes.repository(row["scope_id"]), number=index, title=row["id"], state="closed",
            state_reason="completed", author_login=None, labels="incident", created_at=created, updated_at=updated,
            closed_at=updated, linked_deployment_id=None))
    land_batch(raw_root, "github/issues", issues, EXTRACTED_AT)
    return incident_ids, pipelines


def expected_incident_links() -> dict[str, str]:
    """DevLake's project_incident_deployment_relationships.csv: incident id -> cicd_deployment_id."""
    path = FIXTURES / INCIDENTS / "snapshot_tables" / "project_incident_deployment_relationships.csv"
    return {row["id"]: row["deployment_id"] for row in read_csv(path)}


def land_devlake_fixtures(raw_root: Path) -> tuple[dict[str, tuple[str, int]], dict[int, str], dict[int, str]]:
    """Both fixtures in one landing (separate repository prefixes), every other entity empty."""
    numbers = land_change_lead_time(raw_root)
    incident_ids, pipelines = land_incidents(raw_root)
    ensure_entity_folders(raw_root)
    return numbers, incident_ids, pipelines
