"""Teams, developers, repositories, and who adopts Claude Code when.

Adoption is deliberately confounded: seniors and busier developers are more likely to adopt and
adopt earlier, and seniors also get faster reviews, so a naive adopters-vs-others comparison is
biased while a staggered difference-in-differences recovers the planted effect.
"""

from __future__ import annotations

import datetime as dt
import math

from sandbox.config import OrganisationConfig
from sandbox.entities import Developer, Repository, Team
from sandbox.rng import Stream, stable_sha

FIRST_NAMES = (
    "maria", "james", "aisha", "lukas", "sofia", "chen", "olivia", "mateo", "priya", "noah",
    "emma", "kenji", "fatima", "liam", "elena", "omar", "hannah", "diego", "mei", "samuel",
    "chloe", "ivan", "amara", "felix", "nora", "rafael", "ingrid", "tariq", "julia", "pablo",
    "zoe", "arjun", "lena", "kwame", "alice", "yusuf", "clara", "marco", "ruth", "tomas",
)
LAST_NAMES = (
    "lopez", "smith", "khan", "muller", "rossi", "wang", "brown", "garcia", "patel", "jones",
    "martin", "tanaka", "hassan", "walsh", "petrova", "ali", "schmidt", "fernandez", "li", "okafor",
    "dubois", "ivanov", "mensah", "weber", "berg", "silva", "larsen", "aziz", "novak", "ruiz",
    "clark", "sharma", "fischer", "owusu", "moreau", "demir", "costa", "bianchi", "cohen", "horvat",
)
TERMINALS = ("vscode", "iTerm.app", "tmux", "Apple_Terminal")
SENIORITY_RANK = {"junior": 0, "mid": 1, "senior": 2}


def build_teams(config: OrganisationConfig) -> list[Team]:
    parent = Team(config.parent_team, config.parent_team.title(), None)
    return [parent] + [Team(name, name.title(), config.parent_team) for name in config.teams]


def build_repositories(config: OrganisationConfig) -> list[Repository]:
    repos = []
    for index, (team, name) in enumerate(config.repositories):
        # Spread over ~2 years before any preset's calendar (the modulo only matters past 19 repositories).
        created = dt.datetime(2023, 3, 1, tzinfo=dt.timezone.utc) + dt.timedelta(days=(41 * index) % 800)
        repos.append(
            Repository(
                repo_id=700_000 + index + 1,
                name=name,
                full_name=f"{config.github_org}/{name}",
                team_id=team,
                description=f"{name.replace('-', ' ').title()} (owned by the {team} team)",
                created_at=created,
            )
        )
    return repos


def _names(stream: Stream, total: int) -> list[tuple[str, str, str]]:
    """(first, last, suffix) per developer; logins `first-last[suffix]` are unique.

    Up to 40 people (the small preset) every first and last name is distinct, as before. Larger
    organisations draw pairs with repetition, like a real company's namesakes, and number the
    repeats ("-2", "-3") the way people pick a free GitHub login.
    """
    if total <= min(len(FIRST_NAMES), len(LAST_NAMES)):
        return [(f, l, "") for f, l in zip(stream.sample(FIRST_NAMES, total), stream.sample(LAST_NAMES, total))]
    seen: dict[tuple[str, str], int] = {}
    names = []
    for _ in range(total):
        pair = (stream.choice(FIRST_NAMES), stream.choice(LAST_NAMES))
        seen[pair] = seen.get(pair, 0) + 1
        names.append((*pair, "" if seen[pair] == 1 else str(seen[pair])))
    return names


def build_developers(config: OrganisationConfig, seed: int) -> list[Developer]:
    stream = Stream(seed, "people")
    total = sum(config.team_sizes)
    names = _names(stream, total)
    levels = [name for name, _ in config.seniority_mix]
    level_weights = [weight for _, weight in config.seniority_mix]
    shifts = dict(config.review_seniority_shift)

    drafts = []
    index = 0
    for team, size in zip(config.teams, config.team_sizes):
        for position in range(size):
            first, last, suffix = names[index]
            seniority = "senior" if position == 0 else stream.weighted(levels, level_weights)
            drafts.append(
                dict(
                    login=f"{first}-{last}" + (f"-{suffix}" if suffix else ""),
                    user_id=5_000 + index + 1,
                    email=f"{first}.{last}{suffix}@{config.email_domain}",
                    display_name=f"{first.title()} {last.title()}",
                    team_id=team,
                    seniority=seniority,
                    role="tech_lead" if position == 0 else "engineer",
                    jira_account_id=None
                    if stream.chance(0.1)
                    else "712020:" + stable_sha(seed, first, last, *([suffix] if suffix else []))[:24],
                    busyness=stream.lognormal(1.0, config.busyness_sigma),
                    review_shift=shifts[seniority] + stream.normal(0.0, 0.1),
                    terminal_type=stream.choice(TERMINALS),
                )
            )
            index += 1

    weeks = _adoption_weeks(config, seed, drafts)
    return [
        Developer(**draft, planned_adoption_week=weeks.get(draft["login"])) for draft in drafts
    ]


def _adoption_weeks(config: OrganisationConfig, seed: int, drafts: list[dict]) -> dict[str, dt.date]:
    """Pick the adopters and their staggered adoption Mondays (earlier for seniors and busy people)."""
    stream = Stream(seed, "adoption")
    propensity = {
        d["login"]: 0.6 * SENIORITY_RANK[d["seniority"]] + 2.0 * math.log(d["busyness"]) + stream.normal(0, 0.8)
        for d in drafts
    }
    count = round(len(drafts) * config.adoption_share)
    ranked = sorted(drafts, key=lambda d: -propensity[d["login"]])
    adopters = ranked[:count]
    # Timing: a second, noisier draw of the same propensity, so order is related but not identical.
    timing = sorted(adopters, key=lambda d: -(propensity[d["login"]] + stream.normal(0, 0.8)))
    span = config.adoption_last_week - config.adoption_first_week
    weeks = {}
    for rank, draft in enumerate(timing):
        week = config.adoption_first_week + round(span * rank / max(count - 1, 1))
        weeks[draft["login"]] = config.start_date + dt.timedelta(weeks=week)
    return weeks


def deleted_accounts(config: OrganisationConfig, seed: int, developers: list[Developer]) -> frozenset[str]:
    """Logins of the developers whose GitHub accounts are gone. Chosen among never-adopters so that the
    planted AI effects stay measurable: a deleted account's PRs belong to nobody GitHub can name, which
    is exactly the case the warehouse must survive (they count in DORA, not in anyone's metrics)."""
    if config.deleted_account_share <= 0:
        return frozenset()
    never = sorted(
        (d for d in developers if d.planned_adoption_week is None and d.role != "tech_lead"),
        key=lambda d: stable_sha(seed, "deleted-account", d.login),
    )
    wanted = max(1, round(config.deleted_account_share * len(developers)))
    return frozenset(d.login for d in never[:wanted])
