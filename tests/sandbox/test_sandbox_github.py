"""Unmodified PyGithub reads the sandbox exactly as the ground truth describes it."""

from __future__ import annotations

import pandas as pd
import pytest
import requests
from github import Auth, Github

from sandbox.pull_requests import BOTS
from sandbox.server import SandboxServer

REPO = "hoco/payments-service"  # the busiest repository: several pages of PRs


def ts(value) -> pd.Timestamp | None:
    return None if value is None else pd.Timestamp(value).tz_convert("UTC")


def same(api_value, expected) -> bool:
    """An API datetime (or None) equals a ground-truth cell (or NaT)."""
    return pd.isna(expected) if api_value is None else ts(api_value) == expected


def test_lists_every_pull_request_across_pages(gh, server, truth, org):
    expected = truth("pull_requests.csv")
    assert set(expected["repository"]) == set(org.repositories)
    for full_name in org.repositories:
        before = server.request_counts.get("github.pulls.list", 0)
        pulls = list(gh.get_repo(full_name).get_pulls(state="all", sort="updated", direction="desc"))
        rows = expected[expected["repository"] == full_name].set_index("number")
        assert len(pulls) == len(rows) > 100  # more than one page each
        assert server.request_counts["github.pulls.list"] - before == -(-len(rows) // 100)
        assert [p.updated_at for p in pulls] == sorted((p.updated_at for p in pulls), reverse=True)
        for pr in pulls:
            row = rows.loc[pr.number]
            assert pr.state == row["state"]
            # a deleted account's PRs are the ghost user's, as GitHub's REST API shows them
            assert pr.user.login == ("ghost" if row["author_account_deleted"] else row["author_login"])
            assert ts(pr.created_at) == row["created_at"]
            assert same(pr.merged_at, row["merged_at"]) and same(pr.closed_at, row["closed_at"])
            assert pr.head.ref == row["head_branch"] and pr.base.ref == "main"
            assert pr.url == f"{server.url}/repos/{full_name}/pulls/{pr.number}"


def test_open_state_is_the_default_filter(gh, truth):
    rows = truth("pull_requests.csv")
    open_rows = rows[(rows["repository"] == REPO) & (rows["state"] == "open")]
    assert 0 < len(open_rows) < len(rows[rows["repository"] == REPO])
    assert sorted(p.number for p in gh.get_repo(REPO).get_pulls()) == sorted(open_rows["number"])


def test_lazy_completion_reads_size_fields(gh, server, truth):
    rows = truth("pull_requests.csv").set_index(["repository", "number"])
    listed = gh.get_repo(REPO).get_pulls(state="all", sort="created", direction="asc")
    sample = [listed[i] for i in (0, 7, 150, 300)]
    before = server.request_counts.get("github.pulls.get", 0)
    # The list omits size fields, as GitHub's does (`_rawData`: `raw_data` itself would complete).
    assert all("additions" not in pr._rawData for pr in sample)
    for pr in sample:
        row = rows.loc[(REPO, pr.number)]
        assert (pr.additions, pr.deletions) == (row["additions"], row["deletions"])
        assert pr.changed_files >= 1
        assert pr.merged == (row["state"] == "closed" and not pd.isna(row["merged_at"]))
        assert pr.merge_commit_sha == (None if pd.isna(row["merge_commit_sha"]) else row["merge_commit_sha"])
    assert server.request_counts["github.pulls.get"] - before == len(sample)


def test_reviews_and_commits_match_ground_truth(gh, truth, org):
    rows = truth("pull_requests.csv")
    rows = rows[rows["repository"] == REPO].set_index("number")
    emails = {d.login: d.email for d in org.developers} | {login: email for login, (_, email) in BOTS.items()}
    repo = gh.get_repo(REPO)
    for number in list(rows.index[::37]):
        row = rows.loc[number]
        pr = repo.get_pull(int(number))
        everything = list(pr.get_reviews())
        own = [r for r in everything if r.user.login == row["author_login"]]  # an author's own comments
        assert len(own) == row["self_review_count"] and all(r.state == "COMMENTED" for r in own)
        reviews = [r for r in everything if r.user.login != row["author_login"]]
        assert len(reviews) == row["review_count"]
        if reviews:
            assert ts(min(r.submitted_at for r in reviews)) == row["first_review_at"]
        if not pd.isna(row["merged_at"]):
            approvals = [r for r in reviews if r.state == "APPROVED"]
            assert approvals and all(ts(r.submitted_at) <= row["merged_at"] for r in approvals)
        commits = list(pr.get_commits())
        assert 1 <= len(commits) <= 4 and len(commits) == pr.commits
        assert ts(min(c.commit.author.date for c in commits)) == row["first_commit_at"]
        # commits come before the PR asked for review: its creation, or its ready time if opened as draft
        asked = pd.to_datetime(row["ready_for_review_at"], utc=True) if row["opened_as_draft"] else row["created_at"]
        assert pd.isna(asked) or all(ts(c.commit.author.date) <= asked for c in commits)
        assert {c.commit.author.email for c in commits} == {emails[row["author_login"]]}
        assert {c.author.login for c in commits} == {row["author_login"]}


def test_deployments_and_statuses_match_ground_truth(gh, truth):
    rows = truth("deployments.csv")
    rows = rows[rows["repository"] == REPO].set_index("deployment_id")
    repo = gh.get_repo(REPO)
    deployments = list(repo.get_deployments())
    assert len(deployments) == len(rows) > 100
    assert [d.id for d in deployments] == sorted(rows.index, reverse=True)  # newest first
    production = list(repo.get_deployments(environment="production"))
    assert len(production) == (rows["environment"] == "production").sum()
    for deployment in deployments[::15]:
        row = rows.loc[deployment.id]
        assert (deployment.sha, deployment.environment) == (row["sha"], row["environment"])
        statuses = list(deployment.get_statuses())
        assert [s.state for s in statuses][1:] == ["in_progress"]  # newest first
        assert statuses[0].state == row["status"]
        assert same(statuses[0].created_at if statuses[0].state == "success" else None, row["deployed_at"])
        assert ts(statuses[-1].created_at) == row["created_at"]


def test_compare_between_successful_deployments_gives_first_deployed_at(gh, truth):
    """The connector's route to first_deployed_at (compare previous success...this one) gives the truth."""
    deployments = truth("deployments.csv")
    successes = deployments[
        (deployments["repository"] == REPO) & (deployments["environment"] == "production") & (deployments["status"] == "success")
    ].sort_values("deployed_at")
    pulls = truth("pull_requests.csv")
    pulls = pulls[pulls["repository"] == REPO]
    by_merge_sha = pulls.dropna(subset=["merge_commit_sha"]).set_index("merge_commit_sha")
    repo = gh.get_repo(REPO)
    derived = {}
    rows = list(successes.itertuples())
    for previous, current in zip(rows, rows[1:]):
        comparison = repo.compare(previous.sha, current.sha)
        shas = [c.sha for c in comparison.commits]
        if current.is_rollback:  # re-deploys an earlier sha: GitHub says "behind" and lists no commits
            assert comparison.status == "behind" and shas == [] and current.change_count == 0
            continue
        assert comparison.status == "ahead" and comparison.total_commits == len(shas)
        # after a rollback the range repeats commits an earlier deployment shipped first: they count there
        assert current.change_count == len([sha for sha in shas if sha not in derived])
        assert shas[-1] == current.sha
        for sha in shas:
            derived.setdefault(sha, current.deployed_at)
    expected = by_merge_sha["first_deployed_at"].dropna()
    assert len(expected) > 50
    assert {sha: derived[sha] for sha in expected.index} == expected.to_dict()
    # Merged before the baseline deployment: never linked (the DevLake lead-time skew).
    baseline = rows[0]
    early = pulls[(pulls["merged_at"] <= baseline.created_at)]
    assert len(early) > 0 and early["first_deployed_at"].isna().all()
    assert not (set(early["merge_commit_sha"]) & set(derived))


def test_compare_pages_like_github(server, org):
    commits = org.main_commits[REPO]
    base, head = commits[10].sha, commits[60].sha
    session = requests.Session()
    session.headers["Authorization"] = "Bearer t"
    url = f"{server.url}/repos/{REPO}/compare/{base}...{head}"
    unpaged = session.get(url).json()
    assert unpaged["ahead_by"] == unpaged["total_commits"] == 50 and len(unpaged["commits"]) == 50
    seen, next_url = [], f"{url}?per_page=20"
    while next_url:
        response = session.get(next_url)
        seen += [c["sha"] for c in response.json()["commits"]]
        next_url = response.links.get("next", {}).get("url")
    assert seen == [c.sha for c in commits[11:61]]
    behind = session.get(f"{server.url}/repos/{REPO}/compare/{head}...{base}").json()
    assert (behind["status"], behind["behind_by"], behind["commits"]) == ("behind", 50, [])
    assert session.get(f"{server.url}/repos/{REPO}/compare/{'0' * 40}...{head}").status_code == 404


def test_ghes_prefix_keeps_prefix_in_urls(server, truth):
    gh = Github(base_url=f"{server.url}/api/v3", auth=Auth.Token("t"), per_page=100, seconds_between_requests=0)
    repo = gh.get_repo("hoco/api")
    pulls = list(repo.get_pulls(state="all"))
    expected = truth("pull_requests.csv")
    assert len(pulls) == (expected["repository"] == "hoco/api").sum()
    pr = pulls[-1]
    assert pr.url == f"{server.url}/api/v3/repos/hoco/api/pulls/{pr.number}"
    assert pr.additions == expected.set_index(["repository", "number"]).loc[("hoco/api", pr.number), "additions"]
    assert list(pr.get_reviews()) is not None
    assert [r.full_name for r in gh.get_organization("hoco").get_repos()]


def test_link_header_and_rate_limit_headers(server):
    session = requests.Session()
    session.headers["Authorization"] = "token abc"
    response = session.get(f"{server.url}/repos/{REPO}/pulls", params={"state": "all", "per_page": 500, "page": 2})
    assert response.status_code == 200 and len(response.json()) == 100  # per_page is capped at 100
    links = response.links
    assert links["next"]["url"].startswith(f"{server.url}/repos/{REPO}/pulls?") and "page=3" in links["next"]["url"]
    assert "page=1" in links["first"]["url"] and "page=1" in links["prev"]["url"]
    assert links["last"]["url"].endswith("page=5")
    limit = int(response.headers["X-RateLimit-Limit"])
    used = int(response.headers["X-RateLimit-Used"])
    assert limit >= 5000 and int(response.headers["X-RateLimit-Remaining"]) == limit - used
    assert int(response.headers["X-RateLimit-Reset"]) > 0 and response.headers["ETag"]

    again = session.get(response.url, headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and int(again.headers["X-RateLimit-Used"]) == used  # free, like GitHub


def test_auth_and_not_found(server):
    response = requests.get(f"{server.url}/repos/{REPO}/pulls")
    assert response.status_code == 401
    assert response.json()["message"] == "Requires authentication" and "documentation_url" in response.json()
    missing = requests.get(f"{server.url}/repos/hoco/nope", headers={"Authorization": "token t"})
    assert missing.status_code == 404 and missing.json()["message"] == "Not Found"
    assert requests.get(f"{server.url}/repos/{REPO}/pulls/99999", headers={"Authorization": "token t"}).status_code == 404


def test_rate_limit_exhaustion_answers_403(org):
    with SandboxServer(org, rate_limit=3) as small:
        session = requests.Session()
        session.headers["Authorization"] = "token spender"
        statuses = [session.get(f"{small.url}/repos/{REPO}").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 403]
        last = session.get(f"{small.url}/repos/{REPO}")
        assert last.headers["X-RateLimit-Remaining"] == "0" and "rate limit" in last.json()["message"]
        other = requests.get(f"{small.url}/repos/{REPO}", headers={"Authorization": "token someone-else"})
        assert other.status_code == 200  # the limit is per token
        assert small.request_counts["github.repos.get"] == 6


@pytest.mark.parametrize("path", ["/orgs/hoco/repos", "/api/v3/orgs/hoco/repos"])
def test_org_repositories(server, org, path):
    response = requests.get(server.url + path, headers={"Authorization": "token t"})
    names = sorted(r["full_name"] for r in response.json())
    assert names == sorted(org.repositories)
    assert all(r["url"] == f"{server.url}{path.rsplit('/orgs', 1)[0]}/repos/{r['full_name']}" for r in response.json())


def test_single_commit_on_main_and_in_a_pull_request(gh, org):
    repo = gh.get_repo(REPO)
    merged = next(pr for pr in org.pull_requests[REPO] if pr.merged_at is not None)
    squash = repo.get_commit(merged.merge_commit_sha)
    assert squash.commit.message == f"{merged.title} (#{merged.number})"
    assert ts(squash.commit.committer.date) == pd.Timestamp(merged.merged_at)
    assert squash.author.login == merged.author_login and squash.committer.login == "web-flow"
    first = repo.get_commit(merged.commits[0].sha)
    assert ts(first.commit.author.date) == pd.Timestamp(merged.commits[0].authored_at)


def test_server_lifecycle(org):
    server = SandboxServer(org)
    with pytest.raises(RuntimeError):
        server.url
    server.start()
    try:
        other = SandboxServer(org).start()
        assert other.url != server.url  # port 0 picks a free port each time
        other.stop()
        assert requests.get(f"{server.url}/repos/{REPO}", headers={"Authorization": "token t"}).status_code == 200
    finally:
        server.stop()
    server.stop()  # idempotent
    assert server.request_counts == {"github.repos.get": 1}
