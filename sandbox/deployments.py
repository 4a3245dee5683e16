"""Deployments of each repository's main branch, as the GitHub deployments API records them.

Production deploys the newest merge commit at the moment it starts, about twice per weekday, and only
when something merged since the last successful production deployment (so a failed attempt is
retried with the same commit or a newer one). History starts in `deploy_start_week`, which leaves
PRs merged before the baseline deployment: their first_deployed_at is unknowable by design.

Rollbacks: with probability `production_rollback_rate` a successful production deployment is rolled
back 25-120 minutes later by a new production deployment of the previous successful sha (ref = that
sha). A sha is never shipped forward twice, so "a successful production deployment of a sha an earlier
success already shipped" identifies a rollback exactly (see `sandbox.incidents.rollbacks`); after one,
production waits for a newer merge before deploying forward again.
"""

from __future__ import annotations

import bisect
import datetime as dt

from sandbox.clock import horizon, work_time
from sandbox.config import OrganisationConfig
from sandbox.entities import Commit, Deployment, DeploymentStatus, Repository
from sandbox.rng import Stream


def generate_deployments(
    config: OrganisationConfig, seed: int, repositories: list[Repository], histories: dict[str, list[Commit]]
) -> dict[str, list[Deployment]]:
    """Deployments by repository, oldest first, with globally increasing ids (like GitHub's)."""
    drafts = []
    for repo in repositories:
        history = histories[repo.full_name]
        for environment, rate, failure_rate in (
            ("production", config.production_deploys_per_weekday, config.production_failure_rate),
            ("staging", config.staging_deploys_per_weekday, config.staging_failure_rate),
        ):
            drafts += _environment_drafts(
                config, Stream(seed, "deploy", repo.full_name, environment), repo, history, environment, rate,
                failure_rate, rollback_stream=Stream(seed, "rollback", repo.full_name, environment),
            )

    drafts.sort(key=lambda d: (d["created_at"], d["repository"], d["environment"]))
    status_rows = sorted(
        ((when, index, order) for index, d in enumerate(drafts) for order, (_, when) in enumerate(d["statuses"])),
    )
    status_ids = {(index, order): 4_000_000 + n for n, (_, index, order) in enumerate(status_rows, start=1)}
    result: dict[str, list[Deployment]] = {repo.full_name: [] for repo in repositories}
    for index, d in enumerate(drafts):
        result[d["repository"]].append(
            Deployment(
                deployment_id=2_000_000 + index + 1,
                repository=d["repository"],
                environment=d["environment"],
                sha=d["sha"],
                ref=d.get("ref", "main"),
                created_at=d["created_at"],
                statuses=tuple(
                    DeploymentStatus(status_ids[(index, order)], state, when)
                    for order, (state, when) in enumerate(d["statuses"])
                ),
            )
        )
    return result


def _environment_drafts(
    config: OrganisationConfig,
    stream: Stream,
    repo: Repository,
    history: list[Commit],
    environment: str,
    rate: float,
    failure_rate: float,
    rollback_stream: Stream,
) -> list[dict]:
    end = horizon(config)
    merge_times = [c.committed_at for c in history]
    gap = dt.timedelta(minutes=config.min_minutes_between_deploys)
    drafts: list[dict] = []
    last_success_sha = None
    last_time = None
    shipped: set[str] = set()  # shas a successful deployment shipped: never shipped forward again
    first_day = config.start_date + dt.timedelta(weeks=config.deploy_start_week)
    for offset in range((config.end_date - first_day).days + 1):
        day = first_day + dt.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        times = sorted(work_time(stream, day, 1.0) for _ in range(stream.poisson(rate)))
        for when in times:
            if last_time is not None and when - last_time < gap:
                continue  # keeps deployments of one environment strictly sequential
            newest = bisect.bisect_left(merge_times, when)  # merges strictly before `when`
            if newest == 0:
                continue
            sha = history[newest - 1].sha
            if sha == last_success_sha or sha in shipped:
                continue  # nothing new merged since the last successful deployment (or its rollback)
            finished = when + dt.timedelta(seconds=stream.integer(120, 900))
            if finished >= end:
                continue
            failed = stream.chance(failure_rate)
            drafts.append(
                dict(
                    repository=repo.full_name,
                    environment=environment,
                    sha=sha,
                    created_at=when,
                    statuses=[("in_progress", when), ("failure" if failed else "success", finished)],
                )
            )
            last_time = when
            if failed:
                continue
            previous_sha, last_success_sha = last_success_sha, sha
            shipped.add(sha)
            if environment != "production" or previous_sha is None:
                continue
            # Its own stream, so the rollback draws do not shift the deployment draws.
            if not rollback_stream.chance(config.production_rollback_rate):
                continue
            started = finished + dt.timedelta(seconds=rollback_stream.integer(25 * 60, 120 * 60))
            done = started + dt.timedelta(seconds=rollback_stream.integer(60, 300))
            if done >= end:
                continue
            drafts.append(
                dict(
                    repository=repo.full_name,
                    environment=environment,
                    sha=previous_sha,
                    ref=previous_sha,
                    created_at=started,
                    statuses=[("in_progress", started), ("success", done)],
                )
            )
            last_time, last_success_sha = started, previous_sha
    return drafts
