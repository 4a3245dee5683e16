"""API cost per source, counted by the sandbox: what a nightly run spends of each provider's rate limit.

GitHub's budget is 5,000 REST requests (and 5,000 GraphQL points) per token per hour, so requests per
1,000 pull requests decide how large an organisation one token can sync in a night. Measured on one
organisation for: a full sync, a quiet day (nothing changed since the cursor) and a day of changes (the
cursor 24 hours before each repository's newest update). The GraphQL records are compared with the REST
records row for row.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter

from connectors.claude_code import ClaudeCodeAnalyticsClient
from connectors.github import SETTLED_STATES, GithubConnector, KnownDeployment
from connectors.github_graphql import GithubGraphqlConnector
from sandbox.organisation import generate_organisation
from sandbox.server import SandboxServer

TOKEN = "bench-token"
#: The issue's figure for the best-known open-source alternative over REST (quoted, not run here).
PEER_REQUESTS_PER_PR = (2.0, 3.0)


def _pull_request_cost(server: SandboxServer, connector, repositories: list[str], since: dict[str, dt.datetime | None]):
    server.reset_counts()
    started = time.perf_counter()
    batches = [connector.pull_requests(name, updated_since=since[name]) for name in repositories]
    seconds = time.perf_counter() - started
    counts = Counter(server.request_counts)
    return batches, counts, seconds


def _row(kind: str, api: str, counts: Counter, prs: int, repositories: int, seconds: float, **extra) -> dict:
    total = sum(n for name, n in counts.items() if not name.endswith("#304"))
    return {
        "source": "github", "api": api, "sync": kind, "requests": total, "pull_requests": prs,
        "repositories": repositories,
        "requests_per_1000_prs": round(1000 * total / prs, 1) if prs else None,
        "requests_per_repository": round(total / repositories, 2),
        "seconds": round(seconds, 2), "by_endpoint": dict(sorted(counts.items())), **extra,
    }


def _known(batch) -> dict[int, KnownDeployment]:
    """What a run that landed `batch` knows afterwards (as impact.sync.known_deployments reads it back)."""
    succeeded: dict[int, dt.datetime] = {}
    settled: set[int] = set()
    for status in batch.statuses:
        if status.state == "success":
            succeeded[status.deployment_id] = min(succeeded.get(status.deployment_id, status.created_at), status.created_at)
        if status.state in SETTLED_STATES:
            settled.add(status.deployment_id)
    return {
        d.id: KnownDeployment(d.id, d.sha, d.environment, succeeded.get(d.id), d.id in settled, d.created_at)
        for d in batch.deployments
    }


def run(preset: str = "small", seed: int = 42, log=print) -> dict:
    org = generate_organisation(preset=preset, seed=seed)
    rows: list[dict] = []
    checks: dict[str, object] = {}
    with SandboxServer(org) as server:
        rest = GithubConnector(server.url, TOKEN)
        graphql = GithubGraphqlConnector(server.url, TOKEN)
        server.reset_counts()
        repositories = rest.repositories([], [org.github_org])
        listing = Counter(server.request_counts)
        graphql.repositories([], [org.github_org])
        total_prs = sum(len(org.pull_requests[name]) for name in repositories)
        full: dict[str, list] = {}
        for api, connector in (("graphql", graphql), ("rest", rest)):
            log(f"  api cost: {api} full sync of {total_prs} pull requests in {len(repositories)} repositories")
            batches, counts, seconds = _pull_request_cost(server, connector, repositories, dict.fromkeys(repositories))
            full[api] = batches
            rows.append(_row("full", api, counts + listing, total_prs, len(repositories), seconds,
                             note="includes listing the organisation's repositories"))
            newest = {b.repository: b.newest_updated_at for b in batches}
            _, counts, seconds = _pull_request_cost(server, connector, repositories, newest)
            rows.append(_row("quiet day", api, counts, total_prs, len(repositories), seconds,
                             note="nothing changed since the cursor"))
            day_before = {name: newest[name] - dt.timedelta(days=1) for name in repositories}
            batches, counts, seconds = _pull_request_cost(server, connector, repositories, day_before)
            changed = sum(len(b.pull_requests) for b in batches)
            rows.append(_row("day of changes", api, counts, total_prs, len(repositories), seconds,
                             changed_pull_requests=changed,
                             requests_per_changed_pr=round(sum(counts.values()) / changed, 2) if changed else None))
        checks["graphql_records_equal_rest"] = all(
            (g.pull_requests, g.reviews, g.commits) == (r.pull_requests, r.reviews, r.commits)
            for g, r in zip(full["graphql"], full["rest"])
        )
        checks["pull_requests_compared"] = sum(len(b.pull_requests) for b in full["rest"])

        log("  api cost: deployments (REST) full and quiet")
        server.reset_counts()
        started = time.perf_counter()
        deployment_batches = [rest.deployments(name, production_environments=["production"]) for name in repositories]
        seconds = time.perf_counter() - started
        deployments = sum(len(b.deployments) for b in deployment_batches)
        counts = Counter(server.request_counts)
        rows.append({
            "source": "github", "api": "rest", "sync": "deployments full", "requests": sum(counts.values()),
            "deployments": deployments, "repositories": len(repositories),
            "requests_per_1000_deployments": round(1000 * sum(counts.values()) / deployments, 1),
            "requests_per_repository": round(sum(counts.values()) / len(repositories), 2),
            "seconds": round(seconds, 2), "by_endpoint": dict(sorted(counts.items())),
        })
        server.reset_counts()
        started = time.perf_counter()
        for name, batch in zip(repositories, deployment_batches):
            rest.deployments(name, production_environments=["production"], known=_known(batch))
        counts = Counter(server.request_counts)
        rows.append({
            "source": "github", "api": "rest", "sync": "deployments quiet day", "requests": sum(counts.values()),
            "repositories": len(repositories),
            "requests_per_repository": round(sum(counts.values()) / len(repositories), 2),
            "seconds": round(time.perf_counter() - started, 2), "by_endpoint": dict(sorted(counts.items())),
        })

        log("  api cost: Claude Code analytics report")
        server.reset_counts()
        client = ClaudeCodeAnalyticsClient(server.url, TOKEN)
        started = time.perf_counter()
        days = list(client.read_days(org.start_date, org.end_date))
        actor_days = sum(len(d.actor_days) for d in days)
        requests_made = sum(d.requests for d in days)
        rows.append({
            "source": "anthropic", "api": "claude_code analytics", "sync": "full", "requests": requests_made,
            "days": len(days), "actor_days": actor_days,
            "requests_per_actor_day": round(requests_made / actor_days, 4) if actor_days else None,
            "requests_per_day": round(requests_made / len(days), 2),
            "seconds": round(time.perf_counter() - started, 2),
        })
    rest_full = next(r for r in rows if r["api"] == "rest" and r["sync"] == "full")
    graphql_full = next(r for r in rows if r["api"] == "graphql" and r["sync"] == "full")
    per_pr = {r["api"]: r["requests"] / r["pull_requests"] for r in (rest_full, graphql_full)}
    return {
        "preset": preset, "seed": seed, "rows": rows, "checks": checks,
        "summary": {
            "rest_full_requests_per_pr": round(per_pr["rest"], 3),
            "graphql_full_requests_per_pr": round(per_pr["graphql"], 4),
            "rest_over_graphql": round(per_pr["rest"] / per_pr["graphql"], 1),
            "peer_requests_per_pr_quoted": list(PEER_REQUESTS_PER_PR),
            "peer_over_graphql": [round(p / per_pr["graphql"], 0) for p in PEER_REQUESTS_PER_PR],
            "rest_floor_explained": (
                "REST needs, per pull request, its reviews list and its commits list (no endpoint lists "
                "either for many PRs at once) plus the single-PR read for additions/deletions/changed_files, "
                "so a full REST sync costs >= 3 requests per PR (>= 2 even without the size fields): the "
                "1.1 target is out of reach for REST by construction; GraphQL nests all three per page of 100."
            ),
        },
    }
