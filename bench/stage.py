"""One pipeline stage per child process (`python -m bench.stage <stage> <workdir> ...`), so that the parent
can read each stage's own wall time and peak RSS from `os.wait4`.

Stages: `extract` (generate the organisation, serve it on loopback, run the real syncs: GitHub, Claude
Code analytics, transcripts, team mapping; landing and batch validation timed apart), `direct` (for
presets too large to extract over HTTP within the bench's budget: extract a sample of repositories over
HTTP for the per-repository rate, and land the whole organisation straight from its facts, through the
same `land_batch`, validation included), `analysis` and `report`. dbt runs as its own child (the dbt CLI).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import yaml

SAMPLE_REPOSITORIES = 5


class _Timers:
    """Wraps landing and validation to add up their time inside the syncs."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.rows: dict[str, int] = defaultdict(int)

    def install(self) -> None:
        import impact.landing as landing
        import impact.sync as sync

        original_land, original_validate = landing.land_batch, landing.validate_batch

        def validate(entity, table):  # noqa: ANN001
            started = time.perf_counter()
            try:
                return original_validate(entity, table)
            finally:
                self.seconds["validate"] += time.perf_counter() - started

        def land(raw_dir, entity, records, now):  # noqa: ANN001
            records = list(records)
            started = time.perf_counter()
            try:
                return original_land(raw_dir, entity, records, now)
            finally:
                self.seconds["land_and_validate"] += time.perf_counter() - started
                self.rows[entity] += len(records)

        landing.validate_batch = validate
        landing.land_batch = land
        sync.land_batch = land


def _config_mapping(org, url: str, workdir: Path, truth: Path, transcripts: Path | None, api: str,
                    repos: list[str] | None = None) -> dict:
    from impact.demo import SANDBOX_TOKEN, SANDBOX_TOKEN_VARIABLE, sandbox_config

    os.environ.setdefault(SANDBOX_TOKEN_VARIABLE, SANDBOX_TOKEN)
    mapping = sandbox_config(org, url, warehouse=workdir / "warehouse" / "impact.duckdb",
                             teams_file=truth / "team_mapping.csv", reports_dir=workdir / "reports",
                             transcripts_dir=transcripts)
    mapping["github"] = {**mapping["github"], "api": api}
    if repos is not None:
        mapping["github"] = {**{k: v for k, v in mapping["github"].items() if k != "orgs"}, "repos": repos}
    return mapping


def _sync_all(config, timers: _Timers, with_transcripts: bool) -> dict:
    from impact.sync import sync_claude_code, sync_claude_transcripts, sync_github, sync_team_mapping

    seconds = {}
    for name, function in (("team mapping", sync_team_mapping), ("github", sync_github),
                           ("claude code analytics", sync_claude_code),
                           ("claude transcripts", sync_claude_transcripts if with_transcripts else None)):
        if function is None:
            continue
        started = time.perf_counter()
        function(config)
        seconds[name] = round(time.perf_counter() - started, 2)
    return seconds


def extract(workdir: Path, preset: str, seed: int, api: str) -> dict:
    from impact.config import parse_config
    from sandbox.ground_truth import write_ground_truth
    from sandbox.organisation import generate_organisation
    from sandbox.server import SandboxServer
    from sandbox.transcripts import write_transcripts

    timers = _Timers()
    timers.install()
    started = time.perf_counter()
    org = generate_organisation(preset=preset, seed=seed)
    generated = time.perf_counter() - started
    truth = write_ground_truth(org, workdir / "truth")
    transcripts = workdir / "transcripts"
    write_transcripts(org, transcripts)
    written = time.perf_counter() - started
    with SandboxServer(org) as server:
        mapping = _config_mapping(org, server.url, workdir, truth, transcripts, api)
        config = parse_config(mapping)
        started = time.perf_counter()
        sources = _sync_all(config, timers, with_transcripts=True)
        extract_seconds = time.perf_counter() - started
        requests = sum(server.request_counts.values())
    (workdir / "impact.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    return {
        "generate_seconds": round(generated, 2), "ground_truth_and_transcripts_seconds": round(written - generated, 2),
        "extract_and_land_seconds": round(extract_seconds, 2), "by_source_seconds": sources,
        "land_and_validate_seconds": round(timers.seconds["land_and_validate"], 2),
        "validate_seconds": round(timers.seconds["validate"], 2),
        "extract_only_seconds": round(extract_seconds - timers.seconds["land_and_validate"], 2),
        "requests": requests, "rows": dict(timers.rows), "github_api": api,
    }


#: pull requests per landed batch in `direct`: a real sync lands a page stream per repository; landing
#: the facts in chunks of repositories keeps memory flat for `large` and batches at a realistic size
DIRECT_BATCH_PULL_REQUESTS = 50_000


def _repository_chunks(org):
    """Repository names in chunks of about DIRECT_BATCH_PULL_REQUESTS pull requests."""
    chunk, size = [], 0
    for name in sorted(set(org.pull_requests) | set(org.deployments)):
        chunk.append(name)
        size += len(org.pull_requests.get(name, ()))
        if size >= DIRECT_BATCH_PULL_REQUESTS:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def _direct_records(org, repositories=None, usage=True):
    """The organisation's facts as the connectors' records (what an HTTP sync of it lands), for some
    repositories (all when None), with the Claude Code analytics records when `usage`."""
    from connectors.claude_code import parse_record
    from connectors.records import (
        GithubDeployment, GithubDeploymentCommit, GithubDeploymentStatus, GithubPullRequest,
        GithubPullRequestCommit, GithubReview,
    )
    from sandbox import anthropic_api
    from sandbox.github_api import GithubApi, NotFound

    api = GithubApi(org)
    out: dict[str, list] = defaultdict(list)
    wanted = set(org.pull_requests) | set(org.deployments) if repositories is None else set(repositories)
    for name, pulls in org.pull_requests.items():
        if name not in wanted:
            continue
        for pr in pulls:
            out["github/pull_requests"].append(GithubPullRequest(
                id=pr.pr_id, repository=name, number=pr.number, title=pr.title, state=pr.state, draft=pr.is_draft,
                ready_for_review_at=pr.ready_for_review_at,
                author_login=pr.author_login, author_type="Bot" if pr.is_bot else "User", created_at=pr.created_at,
                updated_at=pr.updated_at, closed_at=pr.closed_at, merged_at=pr.merged_at,
                merge_commit_sha=pr.merge_commit_sha if pr.merged_at else None, head_ref=pr.head_ref,
                base_ref=pr.base_ref, additions=pr.additions, deletions=pr.deletions,
                changed_files=pr.changed_files,
            ))
            out["github/reviews"].extend(
                GithubReview(id=r.review_id, repository=name, pull_number=pr.number, reviewer_login=r.reviewer_login,
                             state=r.state, submitted_at=r.submitted_at) for r in pr.reviews)
            out["github/pull_request_commits"].extend(
                GithubPullRequestCommit(repository=name, pull_number=pr.number, sha=c.sha, author_login=c.author_login,
                                        author_email=c.author_email, authored_at=c.authored_at,
                                        committed_at=c.committed_at, message=(c.message or "").splitlines()[0]
                                        if c.message else "")
                for c in pr.commits[:250])
    for name, deployments in org.deployments.items():
        if name not in wanted:
            continue
        successes = []
        for d in deployments:
            out["github/deployments"].append(GithubDeployment(
                id=d.deployment_id, repository=name, sha=d.sha, ref=d.ref, environment=d.environment,
                creator_login="github-actions[bot]", created_at=d.created_at, updated_at=d.updated_at))
            out["github/deployment_statuses"].extend(
                GithubDeploymentStatus(id=s.status_id, deployment_id=d.deployment_id, repository=name, state=s.state,
                                       created_at=s.created_at) for s in reversed(d.statuses))
            if d.environment == "production" and d.deployed_at is not None:
                successes.append(d)
        successes.sort(key=lambda d: (d.deployed_at, d.deployment_id))
        for previous, current in zip(successes, successes[1:]):
            if previous.sha == current.sha:
                continue
            try:
                base, head = api._resolve(name, previous.sha), api._resolve(name, current.sha)
            except NotFound:
                continue
            for position in range(base + 1, head + 1):
                out["github/deployment_commits"].append(GithubDeploymentCommit(
                    deployment_id=current.deployment_id, repository=name, environment="production",
                    previous_deployment_id=previous.deployment_id, sha=api._main_commit(name, position).sha))
    for day in org.usage if usage else ():
        actor_day, model_days = parse_record(anthropic_api.record(org, day))
        out["anthropic/claude_code_actor_days"].append(actor_day)
        out["anthropic/claude_code_model_days"].extend(model_days)
    return out


def direct(workdir: Path, preset: str, seed: int, api: str) -> dict:
    import datetime as dt

    from impact.config import parse_config
    from impact.sync import sync_github, sync_team_mapping
    from sandbox.ground_truth import write_ground_truth
    from sandbox.organisation import generate_organisation
    from sandbox.server import SandboxServer

    timers = _Timers()
    timers.install()
    import impact.landing as landing

    started = time.perf_counter()
    org = generate_organisation(preset=preset, seed=seed)
    generated = time.perf_counter() - started
    truth = write_ground_truth(org, workdir / "truth")
    written = time.perf_counter() - started
    sample = org.repositories[:SAMPLE_REPOSITORIES]
    with SandboxServer(org) as server:
        sample_dir = workdir / "sample"
        mapping = _config_mapping(org, server.url, sample_dir, truth, None, api, repos=sample)
        started = time.perf_counter()
        sync_github(parse_config(mapping))
        sample_seconds = time.perf_counter() - started
        sample_requests = sum(server.request_counts.values())
    sample_prs = sum(len(org.pull_requests[name]) for name in sample)
    total_prs = sum(len(p) for p in org.pull_requests.values())
    timers.seconds.clear()
    timers.rows.clear()
    mapping = _config_mapping(org, "http://127.0.0.1:9", workdir, truth, None, api)
    mapping.pop("claude_code", None)
    config = parse_config(mapping)
    now = dt.datetime.now(dt.timezone.utc)
    convert_seconds = land_seconds = 0.0
    started = time.perf_counter()
    sync_team_mapping(config)
    land_seconds += time.perf_counter() - started
    batches = 0
    for index, chunk in enumerate(_repository_chunks(org)):
        started = time.perf_counter()
        records = _direct_records(org, chunk, usage=index == 0)
        convert_seconds += time.perf_counter() - started
        started = time.perf_counter()
        for entity, rows in records.items():
            landing.land_batch(config.raw_dir, entity, rows, now)
            batches += 1
        land_seconds += time.perf_counter() - started
        del records
    (workdir / "impact.yaml").write_text(yaml.safe_dump(mapping, sort_keys=False))
    return {
        "generate_seconds": round(generated, 2), "ground_truth_seconds": round(written - generated, 2),
        "sample_repositories": len(sample), "sample_pull_requests": sample_prs,
        "sample_extract_and_land_seconds": round(sample_seconds, 2), "sample_requests": sample_requests,
        "extract_and_land_seconds_extrapolated": round(sample_seconds * total_prs / sample_prs, 1),
        "convert_facts_to_records_seconds": round(convert_seconds, 2),
        "land_and_validate_seconds": round(land_seconds, 2), "validate_seconds": round(timers.seconds["validate"], 2),
        "batches": batches, "rows": dict(timers.rows), "github_api": api,
        "note": "whole organisation landed from its facts; extraction over HTTP measured on a sample and "
                "extrapolated by pull requests; transcripts not generated at this size",
    }


def analysis(workdir: Path) -> dict:
    from analysis.estimates import run_impact_analysis

    results = run_impact_analysis(workdir / "warehouse" / "impact.duckdb")
    return {"estimates": len(results.estimates)}


def report(workdir: Path) -> dict:
    from analysis.report import render_report

    path = render_report(workdir / "warehouse" / "impact.duckdb", workdir / "reports" / "impact_report.html")
    return {"bytes": Path(path).stat().st_size}


def generate(workdir: Path, preset: str, seed: int) -> dict:
    from sandbox.organisation import generate_organisation

    started = time.perf_counter()
    org = generate_organisation(preset=preset, seed=seed)
    return {"seconds": round(time.perf_counter() - started, 2),
            "pull_requests": sum(len(p) for p in org.pull_requests.values()), "developers": len(org.developers)}


def main(argv: list[str]) -> None:
    stage, workdir = argv[0], Path(argv[1])
    workdir.mkdir(parents=True, exist_ok=True)
    if stage in ("extract", "direct"):
        result = globals()[stage](workdir, argv[2], int(argv[3]), argv[4])
    elif stage == "generate":
        result = generate(workdir, argv[2], int(argv[3]))
    elif stage in ("analysis", "report"):
        result = globals()[stage](workdir)
    else:
        sys.exit(f"unknown stage {stage!r}")
    (workdir / f"{stage}.json").write_text(json.dumps(result, default=str))


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.WARNING)
    main(sys.argv[1:])
