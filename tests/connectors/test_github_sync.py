"""GitHub extraction against the sandbox over HTTP: complete, incremental, and clear when it fails."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from connectors.github import SETTLED_STATES, GithubConnector, KnownDeployment
from connectors.http import SourceError
from impact.config import ImpactConfig, parse_config
from impact.sync import sync_github
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer
from tests.conftest import read_truth

TOKEN = "ghp_sandbox_secret_token_1234"


def _config(sandbox: SandboxServer, small_org: Organisation, tmp_path: Path) -> ImpactConfig:
    return parse_config(
        {
            "start_date": small_org.start_date.isoformat(),
            "end_date": small_org.end_date.isoformat(),
            "warehouse": str(tmp_path / "impact.duckdb"),
            "github": {"api_url": sandbox.url, "token": TOKEN, "orgs": [small_org.github_org]},
        }
    )


def _query(raw_dir: Path, sql: str) -> list[tuple]:
    return duckdb.sql(sql.replace("RAW", str(raw_dir))).fetchall()


@pytest.fixture(scope="module")
def synced(sandbox: SandboxServer, small_org: Organisation, tmp_path_factory: pytest.TempPathFactory):
    config = _config(sandbox, small_org, tmp_path_factory.mktemp("github"))
    summary = sync_github(config)
    return config, summary


def test_full_sync_lands_every_pull_request_with_ground_truth_times(synced, truth_dir: Path) -> None:
    config, summary = synced
    truth = read_truth(truth_dir, "pull_requests")
    landed = _query(
        config.raw_dir,
        "select repository, number, created_at, merged_at from read_parquet('RAW/github/pull_requests/*.parquet')",
    )
    assert len(landed) == len(truth) == summary.rows["github/pull_requests"]
    by_key = {(r, n): (c, m) for r, n, c, m in landed}
    for row in truth.itertuples():
        created, merged = by_key[(row.repository, row.number)]
        assert created == row.created_at.to_pydatetime()
        assert (merged is None) == (row.merged_at is None or str(row.merged_at) == "NaT")


def test_full_sync_reviews_commits_and_deployments_match(synced, truth_dir: Path) -> None:
    config, _ = synced
    prs = read_truth(truth_dir, "pull_requests")
    deployments = read_truth(truth_dir, "deployments")
    [(reviews,)] = _query(config.raw_dir, "select count(*) from read_parquet('RAW/github/reviews/*.parquet')")
    assert reviews >= prs["review_count"].sum()
    [(landed_deployments,)] = _query(
        config.raw_dir, "select count(distinct id) from read_parquet('RAW/github/deployments/*.parquet')"
    )
    assert landed_deployments == len(deployments)
    # Every commit a successful production deployment shipped is a merge commit of exactly one PR.
    # A deployment after a rollback ships the rolled-back commits again: they count where they first shipped.
    ranges = _query(
        config.raw_dir,
        "select deployment_id, sha from read_parquet('RAW/github/deployment_commits/*.parquet') order by deployment_id",
    )
    shas_of: dict[int, list[str]] = {}
    for deployment_id, sha in ranges:
        shas_of.setdefault(deployment_id, []).append(sha)
    order = deployments.dropna(subset=["deployed_at"]).sort_values(["deployed_at", "deployment_id"])["deployment_id"]
    seen: set[str] = set()
    first_shipped = {}
    for deployment_id in order:
        new = [sha for sha in shas_of.get(int(deployment_id), []) if sha not in seen]
        seen.update(new)
        if new:
            first_shipped[int(deployment_id)] = len(new)
    expected = deployments.dropna(subset=["change_count"]).set_index("deployment_id")["change_count"]
    assert first_shipped == {d: int(c) for d, c in expected.items() if c > 0}
    assert sum(len(shas) for shas in shas_of.values()) > sum(first_shipped.values())  # rollbacks re-ship


def test_incremental_sync_reads_only_changed_pull_requests(
    sandbox: SandboxServer, small_org: Organisation, tmp_path: Path
) -> None:
    config = _config(sandbox, small_org, tmp_path)
    sync_github(config)
    before = dict(sandbox.request_counts)
    second = sync_github(config)
    single_pr_reads = sandbox.request_counts.get("github.pulls.get", 0) - before.get("github.pulls.get", 0)
    # Nothing changed upstream: only the PRs at the cursor itself are read again.
    assert second.rows["github/pull_requests"] <= len(small_org.repositories) * 2
    assert single_pr_reads == second.rows["github/pull_requests"]
    [(distinct, total)] = _query(
        config.raw_dir,
        "select count(distinct (repository, number)), count(*) from read_parquet('RAW/github/pull_requests/*.parquet')",
    )
    assert distinct == sum(len(v) for v in small_org.pull_requests.values())


def test_unknown_repository_is_a_clear_error_without_the_token(sandbox: SandboxServer) -> None:
    connector = GithubConnector(sandbox.url, TOKEN)
    with pytest.raises(SourceError) as raised:
        connector.repositories(["hoco/does-not-exist"], [])
    message = str(raised.value)
    assert message.startswith("github: repository hoco/does-not-exist was not found")
    assert "github.repos" in message and TOKEN not in message


def test_url_that_is_not_the_api_is_a_clear_error(sandbox: SandboxServer) -> None:
    connector = GithubConnector(sandbox.url + "/not-the-api", TOKEN)
    with pytest.raises(SourceError, match="github: .*not found.*api/v3"):
        connector.repositories([], ["hoco"])


def test_incremental_deployments_read_only_what_is_new(sandbox: SandboxServer, small_org: Organisation) -> None:
    """An earlier run knew the deployments up to a cut-off; the next run completes the picture."""
    repository = small_org.repositories[0]
    connector = GithubConnector(sandbox.url, TOKEN)
    connector.repositories([repository], [])
    full = connector.deployments(repository, production_environments=["production"])
    ordered = sorted(full.deployments, key=lambda d: d.created_at)
    cut = ordered[len(ordered) * 3 // 4].created_at
    success_at = {s.deployment_id: s.created_at for s in full.statuses if s.state == "success"}
    settled = {s.deployment_id for s in full.statuses if s.state in SETTLED_STATES}
    known = {
        d.id: KnownDeployment(d.id, d.sha, d.environment, success_at.get(d.id), d.id in settled, d.created_at)
        for d in ordered if d.created_at < cut
    }
    before = sandbox.request_counts.get("github.deployments.statuses", 0)
    later = connector.deployments(repository, production_environments=["production"], known=known)
    new_ids = {d.id for d in ordered if d.created_at >= cut}
    assert {d.id for d in later.deployments} == new_ids
    assert sandbox.request_counts["github.deployments.statuses"] - before == len(new_ids)
    shipped_by_new = {(c.deployment_id, c.sha) for c in full.commits if c.deployment_id in new_ids}
    assert {(c.deployment_id, c.sha) for c in later.commits} == shipped_by_new
    assert shipped_by_new, "the cut must leave some shipped commits to compare"


def _truth_pull_requests(truth_dir: Path):
    return read_truth(truth_dir, "pull_requests").set_index(["repository", "number"])


def test_drafts_and_ready_times_land_equal_to_the_truth(synced, truth_dir: Path) -> None:
    """`draft` and the ready-for-review time (from the repository's issue events) of every PR."""
    config, _ = synced
    truth = _truth_pull_requests(truth_dir)
    landed = duckdb.sql(
        f"select repository, number, draft, ready_for_review_at as ready_for_review_at_landed "
        f"from read_parquet('{config.raw_dir}/github/pull_requests/*.parquet')"
    ).df().set_index(["repository", "number"])
    joined = truth.join(landed, how="inner")
    assert len(joined) == len(truth)
    assert (joined["draft"] == joined["is_draft"]).all() and joined["draft"].sum() > 5
    assert joined["ready_for_review_at_landed"].notna().sum() > 50
    expected = truth["ready_for_review_at"].dropna()
    assert landed["ready_for_review_at_landed"].dropna().sort_index().to_dict() == expected.sort_index().to_dict()


def test_ready_times_cost_one_event_stream_per_repository(sandbox: SandboxServer, small_org: Organisation) -> None:
    repository = small_org.repositories[2]
    pulls = small_org.pull_requests[repository]
    connector = GithubConnector(sandbox.url, TOKEN)
    before = dict(sandbox.request_counts)
    batch = connector.pull_requests(repository, updated_since=None)
    events = sum((pr.ready_for_review_at is not None) + (pr.merged_at is not None) + (pr.closed_at is not None)
                 for pr in pulls)
    incident_closes = sum(1 for i in small_org.incidents
                          if i.source == "github" and i.repository == repository and i.resolved_at is not None)
    spent = sandbox.request_counts.get("github.issues.events", 0) - before.get("github.issues.events", 0)
    assert spent == -(-(events + incident_closes) // 100)  # one paginated stream, not a request per PR
    assert {(r.number, r.ready_for_review_at) for r in batch.pull_requests if r.ready_for_review_at} == {
        (pr.number, pr.ready_for_review_at) for pr in pulls if pr.ready_for_review_at
    }
    # an incremental read pages the events only down to the oldest re-read PR's creation, so every re-read
    # PR keeps its ready time however long before the cursor it was marked ready
    cursor = max(pr.updated_at for pr in pulls) - dt.timedelta(days=3)
    reread = [pr for pr in pulls if pr.updated_at >= cursor]
    since = min(pr.created_at for pr in reread)
    newer = sum(sum(t is not None and t >= since for t in (pr.ready_for_review_at, pr.merged_at, pr.closed_at))
                for pr in pulls)
    newer += sum(1 for i in small_org.incidents if i.source == "github" and i.repository == repository
                 and i.resolved_at is not None and i.resolved_at >= since)
    before = sandbox.request_counts.get("github.issues.events", 0)
    later = connector.pull_requests(repository, updated_since=cursor)
    assert sandbox.request_counts["github.issues.events"] - before == min(newer // 100 + 1, spent)
    assert {r.number: r.ready_for_review_at for r in later.pull_requests if r.ready_for_review_at} == {
        pr.number: pr.ready_for_review_at for pr in reread if pr.ready_for_review_at
    }


def test_bots_land_as_bots_with_their_commits(synced, truth_dir: Path) -> None:
    config, _ = synced
    truth = _truth_pull_requests(truth_dir)
    landed = duckdb.sql(
        f"select repository, number, author_login, author_type "
        f"from read_parquet('{config.raw_dir}/github/pull_requests/*.parquet')"
    ).df().set_index(["repository", "number"])
    bots = landed[landed["author_type"] == "Bot"]
    assert set(bots.index) == set(truth.index[truth["is_bot"]]) and len(bots) > 50
    assert set(bots["author_login"]) == {"dependabot[bot]", "renovate[bot]"}
    people = landed[landed["author_type"] != "Bot"]
    deleted = truth.index[truth["author_account_deleted"]]
    assert (people.drop(index=deleted)["author_type"] == "User").all()
    commits = duckdb.sql(
        f"select distinct author_login, author_email from read_parquet('{config.raw_dir}/github/pull_request_commits/*.parquet') "
        "where author_login like '%[bot]'"
    ).fetchall()
    assert sorted(commits) == [("dependabot[bot]", "49699333+dependabot[bot]@users.noreply.github.com"),
                               ("renovate[bot]", "29139614+renovate[bot]@users.noreply.github.com")]


def test_reverts_and_self_reviews_land_as_github_shows_them(synced, truth_dir: Path) -> None:
    """Reverts are told by their title and head branch; an author's comment on their own PR is landed
    (staging decides it is no review), so the raw reviews hold review_count plus self_review_count."""
    config, _ = synced
    truth = _truth_pull_requests(truth_dir)
    landed = duckdb.sql(
        f"select repository, number, title, head_ref from read_parquet('{config.raw_dir}/github/pull_requests/*.parquet')"
    ).df().set_index(["repository", "number"])
    reverts = truth[truth["is_revert"]]
    assert len(reverts) > 20
    for key, row in reverts.iterrows():
        original = truth.loc[(key[0], int(row["reverted_pr_number"]))]
        assert landed.loc[key, "head_ref"] == f"revert-{int(row['reverted_pr_number'])}-{original['head_branch']}"
        assert landed.loc[key, "title"].startswith('Revert "')
    assert not landed.loc[truth.index[~truth["is_revert"]], "title"].str.startswith("Revert").any()
    own = duckdb.sql(
        f"select r.repository, r.pull_number, count(*) as n, min(r.state) as state "
        f"from read_parquet('{config.raw_dir}/github/reviews/*.parquet') r "
        f"join read_parquet('{config.raw_dir}/github/pull_requests/*.parquet') p "
        "on p.repository = r.repository and p.number = r.pull_number and p.author_login = r.reviewer_login "
        "group by all"
    ).df().set_index(["repository", "pull_number"])
    expected = truth.loc[truth["self_review_count"] > 0, "self_review_count"]
    assert own["n"].to_dict() == expected.to_dict() and set(own["state"]) == {"COMMENTED"}


def test_deleted_accounts_land_as_nobody(synced, truth_dir: Path, small_org: Organisation) -> None:
    """REST shows a deleted account as the "ghost" user (a PR's author) or null (a review's, a commit's):
    both land as null, as the GraphQL path lands them, and the commit keeps the e-mail git recorded."""
    config, _ = synced
    truth = _truth_pull_requests(truth_dir)
    [login] = sorted(small_org.deleted_logins)
    deleted = truth[truth["author_account_deleted"]]
    landed = duckdb.sql(
        f"select repository, number, author_login, author_type "
        f"from read_parquet('{config.raw_dir}/github/pull_requests/*.parquet')"
    ).df().set_index(["repository", "number"])
    assert len(deleted) > 20
    assert landed.loc[deleted.index, "author_login"].isna().all() and landed.loc[deleted.index, "author_type"].isna().all()
    assert "ghost" not in set(landed["author_login"].dropna())
    reviews_by_them = {
        r.review_id for pulls in small_org.pull_requests.values() for pr in pulls for r in pr.reviews
        if r.reviewer_login == login
    }
    reviewers = dict(_query(config.raw_dir, "select id, reviewer_login from read_parquet('RAW/github/reviews/*.parquet')"))
    assert reviews_by_them and {reviewers[i] for i in reviews_by_them} == {None}
    commits = _query(config.raw_dir, "select distinct author_login from read_parquet('RAW/github/pull_request_commits/*.parquet') "
                     f"where author_email = '{small_org.developer(login).email}'")
    assert commits == [(None,)]
