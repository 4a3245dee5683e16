"""The GraphQL pull-request path against the sandbox: the REST connector's records, at a fraction of the requests."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from connectors.github import GithubConnector
from connectors.github_graphql import GithubGraphqlConnector
from connectors.http import SourceError
from impact.config import parse_config
from impact.sync import sync_github
from sandbox.faults import Fault, FaultPlan, ScriptedFault
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer
from tests.conftest import read_truth

TOKEN = "ghp_sandbox_secret_token_1234"


@pytest.fixture(scope="module")
def own_sandbox(small_org: Organisation):
    """A server of its own, so request counts are this module's alone."""
    with SandboxServer(small_org) as server:
        yield server


def _graphql_requests(server: SandboxServer) -> int:
    return server.request_counts.get("github.graphql", 0)


def test_graphql_records_equal_rest_records_row_for_row(own_sandbox, small_org: Organisation) -> None:
    repository = small_org.repositories[0]
    rest = GithubConnector(own_sandbox.url, TOKEN).pull_requests(repository, updated_since=None)
    own_sandbox.reset_counts()
    graphql = GithubGraphqlConnector(own_sandbox.url, TOKEN).pull_requests(repository, updated_since=None)
    assert graphql.pull_requests == rest.pull_requests  # same records, same order (newest updated first)
    assert graphql.reviews == rest.reviews
    assert graphql.commits == rest.commits
    assert graphql.newest_updated_at == rest.newest_updated_at
    assert len(graphql.pull_requests) == len(small_org.pull_requests[repository]) > 100
    assert own_sandbox.request_counts == {"github.graphql": (len(graphql.pull_requests) + 99) // 100}


def test_nested_connections_are_followed_past_their_first_page(own_sandbox, small_org: Organisation) -> None:
    repository = small_org.repositories[1]
    whole = GithubGraphqlConnector(own_sandbox.url, TOKEN).pull_requests(repository, updated_since=None)
    own_sandbox.reset_counts()
    paged = GithubGraphqlConnector(own_sandbox.url, TOKEN, nested_page_size=1).pull_requests(
        repository, updated_since=None
    )
    assert (paged.pull_requests, paged.reviews, paged.commits) == (whole.pull_requests, whole.reviews, whole.commits)
    pulls = small_org.pull_requests[repository]
    follow_ups = sum(max(len(pr.reviews) - 1, 0) + max(len(pr.commits) - 1, 0) for pr in pulls)
    assert follow_ups > 0
    assert _graphql_requests(own_sandbox) == (len(pulls) + 99) // 100 + follow_ups


def _config(server: SandboxServer, org: Organisation, tmp_path: Path, repository: str):
    return parse_config(
        {
            "start_date": org.start_date.isoformat(),
            "end_date": org.end_date.isoformat(),
            "warehouse": str(tmp_path / "impact.duckdb"),
            "github": {"api_url": server.url, "token": TOKEN, "repos": [repository], "api": "graphql"},
        }
    )


def test_sync_with_api_graphql_lands_everything_under_a_tenth_of_a_request_per_pr(
    own_sandbox, small_org: Organisation, truth_dir: Path, tmp_path: Path
) -> None:
    # One repository keeps the test quick: deployments (still REST) cost most of a sync's time.
    repository = small_org.repositories[4]
    config = _config(own_sandbox, small_org, tmp_path, repository)
    own_sandbox.reset_counts()
    summary = sync_github(config)
    truth = read_truth(truth_dir, "pull_requests")
    truth = truth[truth["repository"] == repository]
    assert summary.rows["github/pull_requests"] == len(truth) > 100
    [(reviews, commits)] = duckdb.sql(
        f"select (select count(*) from read_parquet('{config.raw_dir}/github/reviews/*.parquet')),"
        f" (select count(*) from read_parquet('{config.raw_dir}/github/pull_request_commits/*.parquet'))"
    ).fetchall()
    pulls = small_org.pull_requests[repository]
    assert reviews == sum(len(pr.reviews) for pr in pulls)
    assert commits == sum(min(len(pr.commits), 250) for pr in pulls)
    counts = own_sandbox.request_counts
    pull_request_requests = counts["github.graphql"] + counts.get("github.repos.get", 0)
    assert pull_request_requests / len(truth) < 0.1
    assert not any(name.startswith("github.pulls") for name in counts)

    # A quiet day: nothing changed, so the first query finds the cursor on its first page.
    own_sandbox.reset_counts()
    again = sync_github(config)
    assert _graphql_requests(own_sandbox) == 1
    assert again.rows["github/pull_requests"] <= 1  # only a PR updated at the cursor's very second


def test_server_errors_are_retried_through_pygithub(small_org: Organisation) -> None:
    plan = FaultPlan([ScriptedFault("github.graphql", 1, Fault.server_error(502), times=2)])
    with SandboxServer(small_org, faults=plan) as faulty:
        batch = GithubGraphqlConnector(faulty.url, TOKEN).pull_requests(small_org.repositories[2], updated_since=None)
        assert [f.kind for f in plan.fired] == ["server_error", "server_error"]
        assert len(batch.pull_requests) == len(small_org.pull_requests[small_org.repositories[2]])


def test_failures_name_the_source_and_what_to_do(small_org: Organisation) -> None:
    with SandboxServer(small_org, rate_limit=2) as tight:
        connector = GithubGraphqlConnector(tight.url, TOKEN)
        with pytest.raises(SourceError) as spent:
            connector.pull_requests(small_org.repositories[3], updated_since=None)  # 2 points a page, 2 to spend
        assert "rate limit" in str(spent.value) and "Run again" in str(spent.value)
        with pytest.raises(SourceError) as missing:
            GithubGraphqlConnector(tight.url, "another-token").pull_requests("nobody/nothing", updated_since=None)
        assert "nobody/nothing" in str(missing.value)
        assert TOKEN not in str(missing.value)
