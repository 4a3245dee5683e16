"""The seeded synthetic engineering organisation: `generate_organisation(preset, seed)`.

Generation is a pure function of (preset knobs, seed): no clock, no global random state, so the same
seed yields byte-identical HTTP payloads and ground truth on every machine and every day.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

from sandbox.claude_usage import generate_usage
from sandbox.clock import horizon
from sandbox.config import OrganisationConfig, preset_config
from sandbox.deployments import generate_deployments
from sandbox.entities import Commit, Deployment, Developer, Incident, PullRequest, Repository, Team, UsageDay
from sandbox.incidents import generate_incidents
from sandbox.people import build_developers, build_repositories, build_teams, deleted_accounts
from sandbox.pull_requests import generate_pull_requests, main_history
from sandbox.rng import stable_sha


@dataclasses.dataclass(frozen=True)
class Organisation:
    preset: str
    seed: int
    config: OrganisationConfig
    anthropic_organization_id: str
    teams: list[Team]
    developers: list[Developer]
    repository_details: list[Repository]
    pull_requests: dict[str, list[PullRequest]]  # by repository full name, by number
    main_commits: dict[str, list[Commit]]  # by repository full name, oldest first
    deployments: dict[str, list[Deployment]]  # by repository full name, oldest first
    usage: list[UsageDay]  # by date, then email
    incidents: list[Incident] = dataclasses.field(default_factory=list)  # by created_at (sandbox.incidents)
    #: developers whose GitHub accounts were deleted (sandbox.people.deleted_accounts): the data keeps who
    #: did what (the ground truth needs it); the GitHub API serves them as the ghost user
    deleted_logins: frozenset[str] = frozenset()

    @property
    def github_org(self) -> str:
        return self.config.github_org

    @property
    def repositories(self) -> list[str]:
        return [repo.full_name for repo in self.repository_details]

    @property
    def start_date(self) -> dt.date:
        return self.config.start_date

    @property
    def end_date(self) -> dt.date:
        return self.config.end_date

    @property
    def observed_at(self) -> dt.datetime:
        """The moment the world is seen from: nothing exists after it."""
        return horizon(self.config)

    def developer(self, login: str) -> Developer:
        return next(d for d in self.developers if d.login == login)


def generate_organisation(preset: str = "small", seed: int = 42, **overrides) -> Organisation:
    """Build the organisation of a preset; keyword overrides replace knobs of `OrganisationConfig`."""
    config = preset_config(preset, **overrides)
    teams = build_teams(config)
    developers = build_developers(config, seed)
    repositories = build_repositories(config)
    pulls = generate_pull_requests(config, seed, developers, repositories)
    by_login = {d.login: d for d in developers}
    histories = {repo.full_name: main_history(repo, pulls[repo.full_name], by_login) for repo in repositories}
    deployments = generate_deployments(config, seed, repositories, histories)
    usage = generate_usage(config, seed, developers)
    incidents = generate_incidents(config, seed, repositories, deployments, histories, pulls)
    return Organisation(
        preset=preset,
        seed=seed,
        config=config,
        anthropic_organization_id=str(uuid.UUID(stable_sha("anthropic-org", config.github_org, seed)[:32])),
        teams=teams,
        developers=developers,
        repository_details=repositories,
        pull_requests=pulls,
        main_commits=histories,
        deployments=deployments,
        usage=usage,
        incidents=incidents,
        deleted_logins=deleted_accounts(config, seed, developers),
    )
