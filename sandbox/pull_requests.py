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

from sandbox.clock import HOUR, day_start, horizon, quiet_weeks, work_time
from sandbox.config import OrganisationConfig
from sandbox.entities import Commit, Developer, PullRequest, Repository, Review
from sandbox.rng import Stream, stable_sha

VERBS = ("Add", "Fix", "Refactor", "Speed up", "Remove", "Document", "Harden", "Simplify")
NOUNS = (
    "retry logic", "login flow", "cache layer", "billing export", "schema migration", "rate limiter",
    "feature flag", "metrics endpoint", "error handling", "search index", "webhook handler", "config loader",
)
BRANCH_KINDS = ("feature", "fix", "chore", "refactor")
#: the dependency bots' GitHub accounts: login -> (user id, commit e-mail) as GitHub shows them
BOTS = {
    "dependabot[bot]": (49699333, "49699333+dependabot[bot]@users.noreply.github.com"),
    "renovate[bot]": (29139614, "29139614+renovate[bot]@users.noreply.github.com"),
}
PACKAGES = ("requests", "urllib3", "pydantic", "boto3", "sqlalchemy", "pytest", "numpy", "fastapi", "django",
            "cryptography", "black", "ruff", "celery", "redis", "protobuf", "grpcio")
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
        # Draws added after the planted effects (drafts...) come from their own stream, so turning
        # them on or off leaves every other draw, and so every other PR, unchanged.
        extras = Stream(seed, "pr-extras", developer.login)
        rate = rates[developer.seniority] * developer.busyness
        quiet = quiet_weeks(config, seed, developer.team_id)
        for week in range(config.weeks):
            monday = config.start_date + dt.timedelta(weeks=week)
            week_rate = rate
            if config.throughput_effect:
                week_rate = rate * math.exp(config.throughput_effect * effect_scale(config, developer, monday))
            for _ in range(stream.poisson(week_rate)):
                draft = _draft(config, stream, developer, monday)
                revert = _add_extras(config, extras, draft)
                repo = stream.choice(team_repos)
                if monday in quiet and draft["quiet_draw"] >= config.quiet_week_share:
                    continue  # on holiday: drawn all the same, so the other weeks keep their PRs
                for pr_draft in (draft, revert):
                    if pr_draft is not None and pr_draft["created_at"] < end:
                        drafts[repo.full_name].append(pr_draft)
    for repo in repositories:
        if by_team.get(repo.team_id):
            drafts[repo.full_name] += [d for d in _bot_drafts(config, seed, repo) if d["created_at"] < end]

    result = {}
    for repo_index, repo in enumerate(repositories):
        ordered = sorted(drafts[repo.full_name], key=lambda d: (d["created_at"], d["author"].login))
        built: list[PullRequest] = []
        numbered: dict[int, PullRequest] = {}  # id(draft) -> its PR, for the reverts that name it
        for number, draft in enumerate(ordered, start=1):
            team = by_team[repo.team_id if draft["author"].login in BOTS else draft["author"].team_id]
            pr = _build(config, seed, repo, repo_index, number, draft, team, end, numbered.get(id(draft.get("reverts"))))
            numbered[id(draft)] = pr
            built.append(pr)
        result[repo.full_name] = built
    return result


def bot_developer(login: str, team_id: str) -> Developer:
    """A dependency bot as a PR author: no person, never adopts, belongs to no team mapping."""
    user_id, email = BOTS[login]
    return Developer(login=login, user_id=user_id, email=email, display_name=login, team_id=team_id,
                     seniority="mid", role="bot", jira_account_id=None, busyness=1.0, review_shift=0.0,
                     planned_adoption_week=None, terminal_type="")


def _bot_drafts(config: OrganisationConfig, seed: int, repo: Repository) -> list[dict]:
    """Dependency-update PRs of each bot in one repository, any day of the week (bots keep no office
    hours): one commit a minute before opening, one teammate's approval, merged soon after; a fifth are
    closed unmerged (superseded by a newer version)."""
    stream = Stream(seed, "bot-prs", repo.full_name)
    drafts = []
    for login, rate in config.bot_prs_per_week:
        author = bot_developer(login, repo.team_id)
        for week in range(config.weeks):
            monday = config.start_date + dt.timedelta(weeks=week)
            for _ in range(stream.poisson(rate)):
                day = monday + dt.timedelta(days=stream.integer(0, 6))
                created_at = day_start(day) + dt.timedelta(seconds=int(stream.uniform(1 * HOUR, 7 * HOUR)))
                first_review_at = created_at + _span(stream, config.pickup_median_hours * 2, config.pickup_sigma, 60)
                merges = not stream.chance(0.2)
                end_at = first_review_at + _span(stream, 0.5 if merges else 72.0, 0.8, 60)
                package = stream.choice(PACKAGES)
                old = (stream.integer(1, 5), stream.integer(0, 20), stream.integer(0, 9))
                new = (old[0], old[1] + 1, 0) if stream.chance(0.7) else (old[0], old[1], old[2] + 1)
                version = lambda v: ".".join(map(str, v))  # noqa: E731
                if login.startswith("dependabot"):
                    title = f"Bump {package} from {version(old)} to {version(new)}"
                    head_ref = f"dependabot/pip/{package}-{version(new)}"
                else:
                    title = f"Update dependency {package} to v{version(new)}"
                    head_ref = f"renovate/{package}-{new[0]}.x"
                drafts.append(dict(
                    author=author, first_commit_at=created_at - dt.timedelta(minutes=1), created_at=created_at,
                    ready_at=created_at, opened_as_draft=False, first_review_at=first_review_at, end_at=end_at,
                    merges=merges, treated=False, commit_count=1, commit_offsets=[0.0, 0.0, 0.0], reviewer_count=1,
                    reviewer_draws=[stream.uniform(), stream.uniform()], first_state="APPROVED",
                    approval_offset=0.5, additions=stream.integer(1, 12), deletions=stream.integer(1, 12),
                    changed_files=stream.integer(1, 2), title=title, kind="deps", head_ref=head_ref,
                ))
    return drafts


def _add_extras(config: OrganisationConfig, extras: Stream, draft: dict) -> dict | None:
    """The awkward cases of one PR, from the extras stream; returns the PR that reverts it, if any.

    Drafts: the draft is opened part-way through coding and marked ready for review when coding ends
    (the moment `_draft` drew as `created_at`, which becomes `ready_at`), so every span drawn above
    (pickup from ready, review, coding to ready) keeps its meaning. Self-reviews: the author comments
    on their own PR between asking for review and the first real review. Reverts: a merged PR is
    reverted by its author a few hours after the merge, through a small PR a teammate approves fast.
    Every draw is made whatever the knobs say, so each knob changes its own case only.
    """
    opened_as_draft = extras.chance(config.draft_share)
    fraction = extras.uniform(0.1, 0.8)
    draft["self_review"] = extras.chance(config.self_review_share)
    draft["self_review_offset"] = extras.uniform(0.1, 0.9)
    reverted = extras.chance(config.revert_share)
    revert_delay = _span(extras, config.revert_delay_median_hours, 1.0, 600)
    revert_pickup = extras.lognormal(config.pickup_median_hours * HOUR, config.pickup_sigma)
    revert_review = extras.lognormal(config.review_median_hours * HOUR, config.review_sigma)
    revert_reviewers = [extras.uniform(), extras.uniform()]
    draft["quiet_draw"] = extras.uniform()
    draft["ready_at"] = draft["created_at"]
    draft["opened_as_draft"] = opened_as_draft
    if opened_as_draft:
        coding = (draft["ready_at"] - draft["first_commit_at"]).total_seconds()
        draft["created_at"] = draft["first_commit_at"] + dt.timedelta(seconds=int(coding * fraction))
    if not (reverted and draft["merges"]):
        return None
    # A revert is its author's PR like any other: its pickup and review follow the same model, planted
    # effects included, so reverts do not bend what the analysis estimates.
    developer: Developer = draft["author"]
    created_at = draft["end_at"] + revert_delay
    adopted_at = adoption_start(developer)
    treated = adopted_at is not None and created_at >= adopted_at
    scale = effect_scale(config, developer, created_at.astimezone(dt.timezone.utc).date()) if treated else 0.0
    pickup = max(60, int(revert_pickup * math.exp(config.pickup_effect * scale)))
    review = max(120, int(revert_review * math.exp(developer.review_shift + config.review_effect * scale)))
    first_review_at = created_at + dt.timedelta(seconds=pickup)
    return dict(
        author=developer, first_commit_at=created_at - dt.timedelta(minutes=2), created_at=created_at,
        ready_at=created_at, opened_as_draft=False, first_review_at=first_review_at,
        end_at=first_review_at + dt.timedelta(seconds=review), merges=True, treated=treated, commit_count=1,
        commit_offsets=[0.0, 0.0, 0.0], reviewer_count=1, reviewer_draws=revert_reviewers, first_state="APPROVED",
        approval_offset=0.5, additions=draft["deletions"], deletions=draft["additions"],
        changed_files=draft["changed_files"], title="", kind="revert", reverts=draft,
    )


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
    reverted: PullRequest | None = None,
) -> PullRequest:
    author: Developer = draft["author"]
    key = (repo.full_name, number)
    title, head_ref, body = draft["title"], draft.get("head_ref") or f"{author.login}/{draft['kind']}-{number}", None
    if reverted is not None:  # what GitHub's revert button writes
        title = f'Revert "{reverted.title}"'
        head_ref = f"revert-{reverted.number}-{reverted.head_ref}"
        body = f"Reverts {repo.full_name}#{reverted.number}"

    # Commits: the earliest exactly at first_commit_at, the others before the PR was ready for review
    # (a draft gets commits after it was opened, as real drafts do).
    coding = (draft["ready_at"] - draft["first_commit_at"]).total_seconds()
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
                message=f"{title} (part {index + 1})" if index else title,
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
    # An abandoned draft is never marked ready, so nobody reviews it; a draft whose ready time falls
    # after the horizon is still a draft.
    never_ready = draft["opened_as_draft"] and not draft["merges"]
    ready_at = draft["ready_at"] if draft["opened_as_draft"] and not never_ready and draft["ready_at"] < end else None
    review_plan = []
    if draft["first_review_at"] < end and not never_ready:
        review_plan.append((reviewers[0], draft["first_state"], draft["first_review_at"]))
        if merged and (draft["first_state"] != "APPROVED" or len(reviewers) == 2):
            span = (draft["end_at"] - draft["first_review_at"]).total_seconds()
            approved_at = draft["first_review_at"] + dt.timedelta(seconds=max(1, int(span * draft["approval_offset"])))
            review_plan.append((reviewers[-1], "APPROVED", approved_at))
    if review_plan and draft.get("self_review"):
        asked = draft["ready_at"] if draft["opened_as_draft"] else draft["created_at"]
        span = (draft["first_review_at"] - asked).total_seconds()
        commented = asked + dt.timedelta(seconds=max(1, int(span * draft["self_review_offset"])))
        if commented < draft["first_review_at"]:
            review_plan.insert(0, (author, "COMMENTED", commented))
    base_id = 90_000_000 + repo_index * 1_000_000 + number * 10
    reviews = tuple(
        Review(review_id=base_id + i, reviewer_login=r.login, state=state, submitted_at=when, commit_id=head_sha)
        for i, (r, state, when) in enumerate(review_plan)
    )

    closed_at = draft["end_at"] if (merged or closed) else None
    updated_at = max([draft["created_at"], *(r.submitted_at for r in reviews), *([closed_at] if closed_at else []),
                      *([ready_at] if ready_at else [])])
    return PullRequest(
        pr_id=30_000_000 + repo_index * 100_000 + number,
        repository=repo.full_name,
        number=number,
        title=title,
        author_login=author.login,
        head_ref=head_ref,
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
        opened_as_draft=draft["opened_as_draft"],
        ready_for_review_at=ready_at,
        reverted_pr_number=reverted.number if reverted is not None else None,
        body=body,
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
        author = developers.get(pr.author_login) or bot_developer(pr.author_login, repo.team_id)
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
