"""Pull requests, their commits and reviews, and each repository's squash-merged main history.

The world is observed at the end of the calendar (`horizon`): anything that would happen later does
not exist yet, so PRs whose merge would fall after it are still open and their later reviews are
not there. The planted effects, for PRs opened by an adopter in or after the adoption week: the
review span (first review to merge) is multiplied by exp(review_effect * s), the pickup span (opened
to first review) by exp(pickup_effect * s), the coding span (first commit to opened, so lead time too)
by exp(coding_effect * s) for work begun after adopting, and the weekly PR rate by exp(throughput_effect * s),
where s = :func:`effect_scale` (1 unless the effects ramp up or differ by adoption cohort).
"""

from __future__ import annotations

import datetime as dt
import math

from sandbox.clock import HOUR, day_start, horizon, work_time
from sandbox.config import OrganisationConfig
from sandbox.entities import Commit, Developer, PullRequest, Repository, Review
from sandbox.rng import Stream, stable_sha

VERBS = ("Add", "Fix", "Refactor", "Speed up", "Remove", "Document", "Harden", "Simplify")
NOUNS = (
    "retry logic", "login flow", "cache layer", "billing export", "schema migration", "rate limiter",
    "feature flag", "metrics endpoint", "error handling", "search index", "webhook handler", "config loader",
)
BRANCH_KINDS = ("feature", "fix", "chore", "refactor")
BASE_SHA_LABEL = "initial"


def _span(stream: Stream, median_hours: float, sigma: float, minimum_seconds: int) -> dt.timedelta:
    return dt.timedelta(seconds=max(minimum_seconds, int(stream.lognormal(median_hours * HOUR, sigma))))


def adoption_start(developer: Developer) -> dt.datetime | None:
    week = developer.planned_adoption_week
    if week is None:
        return None
    return day_start(week)


def effect_scale(config: OrganisationConfig, developer: Developer, when: dt.date) -> float:
    """Share of the full planted effect for a developer at a date: 0 before adoption.

    Ramp (``effect_ramp_weeks``): week k since adoption (0 = the adoption week) gets
    min(1, (k + 1) / ramp). Cohort gradient (``effect_cohort_gradient``): early adopters get a larger
    effect than late ones, 1 + gradient * (1/2 - position in the adoption window). Both are what
    make two-way fixed effects biased under staggered adoption; with the defaults (0, 0) it is 1.
    """
    adopted = developer.planned_adoption_week
    if adopted is None or when < adopted:
        return 0.0
    scale = 1.0
    if config.effect_ramp_weeks > 0:
        weeks_since = (when - adopted).days // 7
        scale *= min(1.0, (weeks_since + 1) / config.effect_ramp_weeks)
    if config.effect_cohort_gradient:
        first = config.start_date + dt.timedelta(weeks=config.adoption_first_week)
        span = max(1, config.adoption_last_week - config.adoption_first_week)
        position = ((adopted - first).days // 7) / span
        scale *= 1.0 + config.effect_cohort_gradient * (0.5 - position)
    return scale


def generate_pull_requests(
    config: OrganisationConfig, seed: int, developers: list[Developer], repositories: list[Repository]
) -> dict[str, list[PullRequest]]:
    """All PRs by repository full name, numbered 1.. in creation order."""
    end = horizon(config)
    rates = dict(config.prs_per_week)
    by_team: dict[str, list[Developer]] = {}
    for developer in developers:
        by_team.setdefault(developer.team_id, []).append(developer)
    repos_of_team: dict[str, list[Repository]] = {}
    for repo in repositories:
        repos_of_team.setdefault(repo.team_id, []).append(repo)

    drafts: dict[str, list[dict]] = {repo.full_name: [] for repo in repositories}
    for developer in developers:
        team_repos = repos_of_team.get(developer.team_id)
        if not team_repos:
            continue
        stream = Stream(seed, "prs", developer.login)
        rate = rates[developer.seniority] * developer.busyness
        for week in range(config.weeks):
            monday = config.start_date + dt.timedelta(weeks=week)
            week_rate = rate
            if config.throughput_effect:
                week_rate = rate * math.exp(config.throughput_effect * effect_scale(config, developer, monday))
            for _ in range(stream.poisson(week_rate)):
                draft = _draft(config, stream, developer, monday)
                repo = stream.choice(team_repos)
                if draft["created_at"] < end:
                    drafts[repo.full_name].append(draft)

    result = {}
    for repo_index, repo in enumerate(repositories):
        ordered = sorted(drafts[repo.full_name], key=lambda d: (d["created_at"], d["author"].login))
        result[repo.full_name] = [
            _build(config, seed, repo, repo_index, number, draft, by_team[draft["author"].team_id], end)
            for number, draft in enumerate(ordered, start=1)
        ]
    return result


def _draft(config: OrganisationConfig, stream: Stream, developer: Developer, monday: dt.date) -> dict:
    """Draw one PR's timeline before it has a number (numbers follow creation order per repo)."""
    day = monday + dt.timedelta(days=stream.integer(0, 4))
    first_commit_at = work_time(stream, day, config.working_hours_share)
    coding_span = _span(stream, config.coding_median_hours, config.coding_sigma, 60)
    if config.coding_effect:  # the work started after adopting: judged at the first commit
        coding_scale = effect_scale(config, developer, first_commit_at.astimezone(dt.timezone.utc).date())
        if coding_scale:
            coding_span = dt.timedelta(seconds=max(60, int(coding_span.total_seconds() * math.exp(config.coding_effect * coding_scale))))
    created_at = first_commit_at + coding_span
    adopted_at = adoption_start(developer)
    treated = adopted_at is not None and created_at >= adopted_at
    scale = effect_scale(config, developer, created_at.astimezone(dt.timezone.utc).date()) if treated else 0.0
    if config.pickup_effect and scale:
        pickup = stream.lognormal(config.pickup_median_hours * HOUR, config.pickup_sigma)
        pickup_span = dt.timedelta(seconds=max(60, int(pickup * math.exp(config.pickup_effect * scale))))
    else:  # the same draw as above, kept separate so that a zero effect leaves the data byte for byte
        pickup_span = _span(stream, config.pickup_median_hours, config.pickup_sigma, 60)
    first_review_at = created_at + pickup_span
    log_shift = developer.review_shift + (config.review_effect * scale if treated else 0.0)
    review_span = dt.timedelta(
        seconds=max(120, int(stream.lognormal(config.review_median_hours * HOUR, config.review_sigma) * math.exp(log_shift)))
    )
    merges = not stream.chance(config.closed_unmerged_share)
    if not merges:
        review_span = _span(stream, config.abandoned_median_hours, config.abandoned_sigma, 120)
    return dict(
        author=developer,
        first_commit_at=first_commit_at,
        created_at=created_at,
        first_review_at=first_review_at,
        end_at=first_review_at + review_span,
        merges=merges,
        treated=treated,
        commit_count=stream.integer(1, 4),
        commit_offsets=[stream.uniform() for _ in range(3)],
        reviewer_count=2 if stream.chance(config.second_reviewer_probability) else 1,
        reviewer_draws=[stream.uniform() for _ in range(2)],
        first_state=stream.choice(("COMMENTED", "CHANGES_REQUESTED", "APPROVED")),
        approval_offset=stream.uniform(0.3, 1.0),
        additions=max(1, int(stream.lognormal(120, 1.0))),
        deletions=max(0, int(stream.lognormal(40, 1.1))),
        changed_files=max(1, int(stream.lognormal(5, 0.8))),
        title=f"{stream.choice(VERBS)} {stream.choice(NOUNS)}",
        kind=stream.choice(BRANCH_KINDS),
    )


def _build(
    config: OrganisationConfig,
    seed: int,
    repo: Repository,
    repo_index: int,
    number: int,
    draft: dict,
    team: list[Developer],
    end: dt.datetime,
) -> PullRequest:
    author: Developer = draft["author"]
    key = (repo.full_name, number)

    # Commits: the earliest exactly at first_commit_at, the others before the PR was opened.
    coding = (draft["created_at"] - draft["first_commit_at"]).total_seconds()
    times = [draft["first_commit_at"]] + sorted(
        draft["first_commit_at"] + dt.timedelta(seconds=int(coding * offset))
        for offset in draft["commit_offsets"][: draft["commit_count"] - 1]
    )
    commits = []
    parent = stable_sha(*key, BASE_SHA_LABEL)
    for index, when in enumerate(times):
        sha = stable_sha(*key, "commit", index)
        commits.append(
            Commit(
                sha=sha,
                author_login=author.login,
                author_name=author.display_name,
                author_email=author.email,
                authored_at=when,
                committed_at=when,
                message=f"{draft['title']} (part {index + 1})" if index else draft["title"],
                parent_sha=parent,
            )
        )
        parent = sha
    head_sha = commits[-1].sha

    # Reviews: teammates only; the first exactly at first_review_at, a final approval before merge.
    mates = [d for d in team if d.login != author.login]
    picked = [mates[min(int(u * len(mates)), len(mates) - 1)] for u in draft["reviewer_draws"]]
    reviewers = [picked[0]] + ([picked[1]] if draft["reviewer_count"] == 2 and picked[1] != picked[0] else [])
    merged = draft["merges"] and draft["end_at"] < end
    closed = not draft["merges"] and draft["end_at"] < end
    review_plan = []
    if draft["first_review_at"] < end:
        review_plan.append((reviewers[0], draft["first_state"], draft["first_review_at"]))
        if merged and (draft["first_state"] != "APPROVED" or len(reviewers) == 2):
            span = (draft["end_at"] - draft["first_review_at"]).total_seconds()
            approved_at = draft["first_review_at"] + dt.timedelta(seconds=max(1, int(span * draft["approval_offset"])))
            review_plan.append((reviewers[-1], "APPROVED", approved_at))
    base_id = 90_000_000 + repo_index * 1_000_000 + number * 10
    reviews = tuple(
        Review(review_id=base_id + i, reviewer_login=r.login, state=state, submitted_at=when, commit_id=head_sha)
        for i, (r, state, when) in enumerate(review_plan)
    )

    closed_at = draft["end_at"] if (merged or closed) else None
    updated_at = max([draft["created_at"], *(r.submitted_at for r in reviews), *([closed_at] if closed_at else [])])
    return PullRequest(
        pr_id=30_000_000 + repo_index * 100_000 + number,
        repository=repo.full_name,
        number=number,
        title=draft["title"],
        author_login=author.login,
        head_ref=f"{author.login}/{draft['kind']}-{number}",
        base_ref="main",
        created_at=draft["created_at"],
        updated_at=updated_at,
        closed_at=closed_at,
        merged_at=draft["end_at"] if merged else None,
        merge_commit_sha=stable_sha(*key, "merge") if merged else None,
        additions=draft["additions"],
        deletions=draft["deletions"],
        changed_files=draft["changed_files"],
        commits=tuple(commits),
        reviews=reviews,
        is_treated=draft["treated"],
    )


def root_sha(full_name: str) -> str:
    """The commit main starts from, before any sandbox PR merged."""
    return stable_sha(full_name, BASE_SHA_LABEL)


def main_history(repo: Repository, pulls: list[PullRequest], developers: dict[str, Developer]) -> list[Commit]:
    """Main's commits, oldest first: one squash commit per merged PR, in merge order."""
    merged = sorted((pr for pr in pulls if pr.merged_at is not None), key=lambda pr: (pr.merged_at, pr.number))
    history = []
    parent = root_sha(repo.full_name)
    for pr in merged:
        author = developers[pr.author_login]
        history.append(
            Commit(
                sha=pr.merge_commit_sha,
                author_login=author.login,
                author_name=author.display_name,
                author_email=author.email,
                authored_at=pr.merged_at,
                committed_at=pr.merged_at,
                message=f"{pr.title} (#{pr.number})",
                parent_sha=parent,
                committer_login="web-flow",
                committer_name="GitHub",
                committer_email="noreply@github.com",
            )
        )
        parent = pr.merge_commit_sha
    return history
