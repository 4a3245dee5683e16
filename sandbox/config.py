"""Knobs of the synthetic organisation, grouped by preset.

Every number that shapes the generated data lives here, so a test or a benchmark can turn one knob
(for example `review_effect=0.0` for a null-effect run) without touching the generator, and so the
ground truth can record exactly which world it describes. Weeks are 0-based indices from
`start_date` (week 0 is the week of `start_date`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True)
class OrganisationConfig:
    # --- shape of the organisation ---
    github_org: str = "hoco"
    email_domain: str = "hoco.io"
    parent_team: str = "engineering"
    teams: tuple[str, ...] = ("platform", "payments", "mobile", "data")
    team_sizes: tuple[int, ...] = (8, 8, 7, 7)
    #: (owning team, repository name); the owning team's developers open the PRs there.
    repositories: tuple[tuple[str, str], ...] = (
        ("platform", "api"),
        ("platform", "infra"),
        ("payments", "payments-service"),
        ("mobile", "mobile-app"),
        ("data", "pipelines"),
        ("data", "warehouse"),
    )
    seniority_mix: tuple[tuple[str, float], ...] = (("junior", 0.3), ("mid", 0.4), ("senior", 0.3))

    # --- calendar (fixed: the data never depends on today's date) ---
    start_date: dt.date = dt.date(2026, 1, 5)
    weeks: int = 26

    # --- Claude Code adoption (staggered, confounded with seniority and busyness) ---
    adoption_share: float = 2 / 3
    adoption_first_week: int = 6
    adoption_last_week: int = 18
    #: probability of one isolated trial day in a week before adopting (or ever, for never-adopters)
    trial_week_probability_adopter: float = 0.2
    trial_week_probability_never: float = 0.1

    # --- pull requests ---
    prs_per_week: tuple[tuple[str, float], ...] = (("junior", 1.5), ("mid", 2.0), ("senior", 2.5))
    busyness_sigma: float = 0.25
    working_hours_share: float = 0.9
    coding_median_hours: float = 6.0
    coding_sigma: float = 0.9
    pickup_median_hours: float = 4.0
    pickup_sigma: float = 0.9
    review_median_hours: float = 12.0
    review_sigma: float = 0.8
    #: planted effect on log review hours of a PR opened by its author in or after the adoption week
    review_effect: float = -0.25
    #: planted effect on log pickup hours (PR opened -> first review) of an adopter's PRs (0: none)
    pickup_effect: float = 0.0
    #: planted effect on log coding hours (first commit -> PR opened) of work an adopter started in or
    #: after the adoption week (0: none). Lead time for changes runs from the first commit, so this is
    #: the planted effect on lead time beyond what the pickup and review effects carry into it.
    coding_effect: float = 0.0
    #: planted effect on the log of the weekly PR rate of an adopter from the adoption week (0: none;
    #: log(1.2) = +20% PRs per week)
    throughput_effect: float = 0.0
    #: weeks over which every planted effect ramps up linearly to full size (0: full from week 0);
    #: in week k since adoption the effect is min(1, (k + 1) / effect_ramp_weeks) of its size
    effect_ramp_weeks: int = 0
    #: cohort heterogeneity: every planted effect is multiplied by 1 + gradient * (1/2 - position),
    #: position = (adoption week - adoption_first_week) / (adoption_last_week - adoption_first_week),
    #: so with 1.0 the earliest adopters get 1.5x, the latest 0.5x (0: homogeneous)
    effect_cohort_gradient: float = 0.0
    #: developer-level shift of log review hours by seniority (a confounder: seniors adopt earlier)
    review_seniority_shift: tuple[tuple[str, float], ...] = (("junior", 0.15), ("mid", 0.0), ("senior", -0.15))
    closed_unmerged_share: float = 0.08
    #: PRs closed without merge linger first (abandoned work), so some are still open at the horizon
    abandoned_median_hours: float = 120.0
    abandoned_sigma: float = 1.0
    second_reviewer_probability: float = 0.4
    #: share of PRs opened as drafts (marked ready for review when coding ends; pickup counts from then);
    #: an abandoned draft is never marked ready nor reviewed
    draft_share: float = 0.15
    #: dependency bots opening PRs in every repository (type "Bot"): (login, PRs per repository per week);
    #: a teammate approves and merges most of them within hours, some are closed as superseded
    bot_prs_per_week: tuple[tuple[str, float], ...] = (("dependabot[bot]", 0.5), ("renovate[bot]", 0.3))
    #: share of merged PRs reverted by a later PR (GitHub's revert button: title `Revert "<title>"`, body
    #: `Reverts <org>/<repo>#<n>`, head `revert-<n>-<branch>`), opened hours after the merge
    revert_share: float = 0.03
    revert_delay_median_hours: float = 6.0
    #: share of reviewed PRs whose author leaves a COMMENTED review on their own PR before the first
    #: real review (GitHub forbids approving your own PR, not commenting): never pickup nor a review
    self_review_share: float = 0.1
    #: share of developers (never-adopters, at least one when the share is above 0) who left and deleted
    #: their GitHub account: GitHub then shows everything they did as the "ghost" user (REST) or a null
    #: author (GraphQL), while their commits keep the e-mail git recorded
    deleted_account_share: float = 0.04
    #: quiet weeks (sandbox.clock.quiet_weeks): the last two weeks of December for everyone and one summer
    #: week per team, when people open only this share of their usual PRs (bots keep going)
    quiet_week_share: float = 0.25

    # --- deployments ---
    deploy_start_week: int = 2
    production_deploys_per_weekday: float = 2.0
    staging_deploys_per_weekday: float = 1.0
    production_failure_rate: float = 0.10
    staging_failure_rate: float = 0.05
    min_minutes_between_deploys: int = 30
    #: probability that a successful production deployment is rolled back (re-deploying the previous
    #: successful sha 25-120 minutes later, after the incident it caused)
    production_rollback_rate: float = 0.02

    # --- incidents (sandbox.incidents) ---
    #: probability that a successful production deployment (not rolled back) causes an incident
    incidents_per_production_deploy: float = 0.08
    #: planted effect on the log-odds of that probability when the deployment shipped a treated PR (0: none)
    cfr_effect: float = 0.0
    #: share of all incidents that no deployment caused (infrastructure, traffic, third parties)
    incidents_without_deployment_share: float = 0.2
    #: share of deployment-caused incidents whose record names the deployment (else linking must infer it)
    incident_explicit_link_share: float = 0.4
    #: minutes from the deployment's success to the incident being raised (log-normal, capped at 20 h)
    incident_detect_median_minutes: float = 90.0
    incident_detect_sigma: float = 1.1
    incident_ack_median_minutes: float = 6.0
    incident_ack_sigma: float = 1.0
    incident_restore_median_hours: float = 2.0
    incident_restore_sigma: float = 1.3
    #: team -> the tool its incidents are reported in (pagerduty | github | jira); other teams by hash
    incident_tools: tuple[tuple[str, str], ...] = (
        ("platform", "pagerduty"), ("payments", "pagerduty"), ("mobile", "github"), ("data", "jira"),
    )

    @property
    def end_date(self) -> dt.date:
        """Last day (inclusive) of the calendar."""
        return self.start_date + dt.timedelta(days=7 * self.weeks - 1)

    def to_json(self) -> dict:
        out = dataclasses.asdict(self)
        out["start_date"] = self.start_date.isoformat()
        out["end_date"] = self.end_date.isoformat()
        return out


#: Product areas that name the teams of the larger presets (numbered "-2", "-3"... once used up).
#: "data" is among them on purpose: only data teams use the notebook edit tool.
AREAS = (
    "platform", "payments", "mobile", "data", "search", "growth", "identity", "billing", "checkout",
    "notifications", "messaging", "analytics", "infra", "security", "ml", "recommendations", "catalog",
    "pricing", "fraud", "onboarding", "support", "observability", "storage", "networking", "gateway",
    "devtools", "release", "web", "design-system", "ios", "android", "ledger", "risk", "compliance",
    "partners", "integrations", "localization", "media", "maps", "logistics", "inventory", "orders",
    "shipping", "reporting", "experimentation", "ads", "accounts", "sync", "streaming", "ci",
)
#: Team sizes cycle through these (mean 8): real teams are not all the same size.
TEAM_SIZE_CYCLE = (8, 6, 10, 7, 9, 5, 11, 8)
REPO_KINDS = ("service", "api", "web", "worker", "infra", "lib")


def scaled_config(developers: int, weeks: int, start_date: dt.date, repos_per_team: int = 2) -> OrganisationConfig:
    """An organisation of about `developers` people with the small preset's behaviour per person.

    Why a function rather than literal tuples: a thousand-person organisation needs ~125 teams and
    ~250 repositories, and the per-developer knobs (PR rate, review times, adoption share, deploys
    per repository) are what keep it as realistic as `small`. Sizes are trimmed so the head count
    is exactly `developers`; adoption is staggered over the middle of the calendar as in `small`.
    """
    sizes: list[int] = []
    while sum(sizes) < developers:
        sizes.append(min(TEAM_SIZE_CYCLE[len(sizes) % len(TEAM_SIZE_CYCLE)], developers - sum(sizes)))
    if len(sizes) > 1 and sizes[-1] < 3:  # no team of one or two: fold the remainder into the previous
        remainder = sizes.pop()
        sizes[-1] += remainder
    teams = tuple(
        AREAS[i % len(AREAS)] if i < len(AREAS) else f"{AREAS[i % len(AREAS)]}-{i // len(AREAS) + 1}"
        for i in range(len(sizes))
    )
    repositories = tuple(
        (team, f"{team}-{REPO_KINDS[(i + k) % len(REPO_KINDS)]}")
        for i, team in enumerate(teams)
        for k in range(repos_per_team)
    )
    return OrganisationConfig(
        teams=teams,
        team_sizes=tuple(sizes),
        repositories=repositories,
        start_date=start_date,
        weeks=weeks,
        adoption_first_week=round(weeks * 6 / 26),
        adoption_last_week=round(weeks * 18 / 26),
    )


PRESETS: dict[str, OrganisationConfig] = {
    "small": OrganisationConfig(),
    # 12 months ending where `small` ends (2026-07-05), so every preset is observed at the same horizon.
    "medium": scaled_config(1_000, 52, dt.date(2025, 7, 7)),
    "large": scaled_config(10_000, 52, dt.date(2025, 7, 7)),
}


def preset_config(preset: str, **overrides) -> OrganisationConfig:
    """A preset's knobs with some replaced; unknown presets or knobs fail loudly."""
    if preset not in PRESETS:
        raise ValueError(f"unknown sandbox preset {preset!r}; known: {sorted(PRESETS)}")
    config = dataclasses.replace(PRESETS[preset], **overrides)
    if config.start_date.weekday() != 0:
        raise ValueError("start_date must be a Monday")
    if config.adoption_last_week + 1 >= config.weeks:
        raise ValueError("adoption_last_week must leave a following week for the adoption rule")
    return config
