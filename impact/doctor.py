"""`impact doctor`: is the configuration usable, and can each source be reached with its credentials?

Each check makes the cheapest real call its source offers and turns the outcome into one line a user
can act on; nothing is landed and no secret is printed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from connectors.claude_code import ClaudeCodeAnalyticsClient
from connectors.github import GithubConnector
from connectors.http import SourceError
from connectors.jira import JiraConnector
from connectors.team_mapping import read_team_mapping
from impact.config import ConfigError, ImpactConfig, load_config


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _run(name: str, probe: Callable[[], str]) -> Check:
    try:
        return Check(name, True, probe())
    except (SourceError, ConfigError, OSError) as error:
        return Check(name, False, str(error))


def _github(config: ImpactConfig) -> str:
    assert config.github is not None
    settings = config.github
    connector = GithubConnector(settings.api_url, settings.token.reveal(), retries=2)
    repositories = connector.repositories(settings.repos, settings.orgs)
    if not repositories:
        raise SourceError("github", "the configured orgs hold no repository the token can see",
                          "Check github.orgs and the token's access")
    remaining, limit = connector.rate_limit()
    return f"{len(repositories)} repositories readable at {settings.api_url}; rate limit {remaining}/{limit} left"


def _anthropic(config: ImpactConfig) -> str:
    assert config.anthropic is not None
    client = ClaudeCodeAnalyticsClient(config.anthropic.api_url, config.anthropic.admin_key.reveal())
    day = client.read_day(config.start_date)
    return f"Claude Code analytics report readable; {len(day.actor_days)} actors on {config.start_date}"


def _jira(config: ImpactConfig) -> str:
    assert config.jira is not None
    settings = config.jira
    connector = JiraConnector(settings.url, settings.token.reveal(), settings.email, retries=2)
    return connector.check(settings.projects, settings.jql)


def _pagerduty(config: ImpactConfig) -> str:
    """The configured services exist, and the token may read incidents (the first week from start_date)."""
    from connectors.pagerduty import PagerdutyConnector

    assert config.pagerduty is not None
    settings = config.pagerduty
    connector = PagerdutyConnector(settings.api_url, settings.token.reveal())
    connector.check_services(settings.service_ids)
    since = dt.datetime.combine(config.start_date, dt.time(), tzinfo=dt.timezone.utc)
    incidents = connector.incidents(since, since + dt.timedelta(days=7), service_ids=settings.service_ids)
    scope = f"services {', '.join(settings.service_ids)}" if settings.service_ids else "all services"
    return f"incidents readable at {settings.api_url} ({scope}); {len(incidents)} in the week from {config.start_date}"


def _teams(config: ImpactConfig) -> str:
    assert config.teams_file is not None
    people = read_team_mapping(config.teams_file)
    if not people:
        raise ConfigError(
            f"the team mapping {config.teams_file} lists nobody: add one row per person (email, GitHub login, "
            "Jira account, team), or nothing can be attributed to a team"
        )
    teams = {p.team_id for p in people}
    return f"{len(people)} people in {len(teams)} teams ({config.teams_file})"


def _warehouse(config: ImpactConfig) -> str:
    folder = config.warehouse.parent
    folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK):
        raise OSError(f"{folder} is not writable: choose another 'warehouse:' path")
    state = "exists" if config.warehouse.exists() else "will be created"
    return f"{config.warehouse} ({state})"


def diagnose(config_path: str | Path | None = None) -> Iterator[Check]:
    """Every check, in order; a config that cannot be read is the one and only failed check."""
    try:
        config = load_config(config_path)
    except ConfigError as error:
        yield Check("config", False, str(error))
        return
    yield Check("config", True, str(config.path))
    yield _run("warehouse", lambda: _warehouse(config))
    if config.teams_file:
        yield _run("teams", lambda: _teams(config))
    else:
        yield Check("teams", False, "no 'teams:' mapping file: developers cannot be matched across tools")
    if config.github:
        yield _run("github", lambda: _github(config))
    if config.anthropic:
        yield _run("anthropic", lambda: _anthropic(config))
    if config.jira:
        yield _run("jira", lambda: _jira(config))
    if config.pagerduty:
        yield _run("pagerduty", lambda: _pagerduty(config))
    if not config.pagerduty and not config.jira:
        yield Check("incidents", True, "no PagerDuty or Jira (optional): incidents come only from GitHub issues labelled "
                    f"{', '.join(config.incidents.github_labels)}; without any, change failure rate and time to restore "
                    "are not measured")
    if not config.github and not config.anthropic and not config.jira:
        yield Check("sources", False, "no source is configured: add a github: or anthropic: section")
