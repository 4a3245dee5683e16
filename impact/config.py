"""The `impact.yaml` configuration (DESIGN.md section 2): one file, secrets only as `${ENV_VAR}`.

Secrets are resolved from the environment when the file is read and are held in `Secret` values whose
`repr` and `str` never show them, so a config object can be logged or put in an error safely.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import yaml

DEFAULT_CONFIG_PATH = "impact.yaml"
DEFAULT_WAREHOUSE = "warehouse/impact.duckdb"
_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ConfigError(ValueError):
    """A configuration problem, worded so that the user knows which key to fix and how."""


class Secret:
    """A credential read from the environment; prints as `***` everywhere."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


@dataclasses.dataclass(frozen=True)
class GithubConfig:
    api_url: str
    token: Secret
    repos: tuple[str, ...]
    orgs: tuple[str, ...]
    production_environments: tuple[str, ...]
    api: str = "rest"  # rest | graphql: which GitHub API reads pull requests, reviews and commits


@dataclasses.dataclass(frozen=True)
class AnthropicConfig:
    api_url: str
    admin_key: Secret
    #: Days re-read on every run, because the report keeps changing for a while after a day ends.
    reread_days: int


@dataclasses.dataclass(frozen=True)
class TranscriptsEntry:
    """One `claude_code.transcripts` entry: a folder of session logs and, optionally, whose they are.

    With `developer` the folder is one person's `~/.claude` (or `~/.config/claude`, or its `projects/`);
    without it, the folder holds one subfolder per person named by an identity of the team mapping.
    """

    path: Path
    developer: str | None = None


@dataclasses.dataclass(frozen=True)
class ClaudeCodeConfig:
    transcripts: tuple[TranscriptsEntry, ...]
    #: `claude_code.repo_paths`: local checkout path (or glob) -> repository `owner/name`, tried before
    #: the last-path-component rule when a transcript line's `cwd` is tied to a repository.
    repo_paths: tuple[tuple[str, str], ...] = ()
    #: `claude_code.otel_exports`: files or folders of OpenTelemetry JSON metric exports.
    otel_exports: tuple[Path, ...] = ()


@dataclasses.dataclass(frozen=True)
class JiraConfig:
    """Jira Cloud (email + API token, basic auth) or Data Center (personal access token, bearer)."""

    url: str
    email: str | None  # None: Data Center with a personal access token
    token: Secret
    projects: tuple[str, ...]
    jql: str | None
    story_points_field: str | None  # a field id like customfield_10016; None: found by name via /field
    sprint_field: str | None

    @property
    def is_cloud(self) -> bool:
        return self.email is not None


@dataclasses.dataclass(frozen=True)
class PagerdutyConfig:
    api_url: str
    token: Secret
    service_ids: tuple[str, ...]  # empty: every service
    #: PagerDuty service name -> repository owner/name, where the names differ
    service_repositories: tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class IncidentsConfig:
    github_labels: tuple[str, ...]
    jira_issue_types: tuple[str, ...]
    #: an incident is blamed on the latest successful production deployment of its repository that finished at
    #: most this many hours before it; None switches the window rule off (DevLake's rule)
    link_window_hours: float | None
    #: a Jira / GitHub incident opened at most this many minutes before or after a PagerDuty page of the same
    #: repository is the same outage reported again (one that pastes the page's link is, whatever the time)
    duplicate_window_minutes: float = 60.0


@dataclasses.dataclass(frozen=True)
class BudgetsConfig:
    """Monthly AI budgets in USD, by team id, role or person (email)."""

    teams: tuple[tuple[str, float], ...] = ()
    roles: tuple[tuple[str, float], ...] = ()
    people: tuple[tuple[str, float], ...] = ()


@dataclasses.dataclass(frozen=True)
class AlertsConfig:
    developer_day_usd: float = 50.0
    session_usd: float = 25.0
    webhook_url: Secret | None = None  # Slack-compatible incoming webhook; a secret (it embeds a token)


@dataclasses.dataclass(frozen=True)
class ReportConfig:
    #: teams smaller than this are folded into "other teams", never shown on their own
    min_team_size: int = 5
    #: whether people may be named (top sessions, alerts); never ranked by name otherwise
    show_individuals: bool = False


@dataclasses.dataclass(frozen=True)
class ImpactConfig:
    path: Path | None
    start_date: dt.date
    end_date: dt.date | None
    warehouse: Path
    raw_dir: Path
    reports_dir: Path
    teams_file: Path | None
    github: GithubConfig | None
    anthropic: AnthropicConfig | None
    claude_code: ClaudeCodeConfig | None = None
    jira: JiraConfig | None = None
    pagerduty: PagerdutyConfig | None = None
    incidents: IncidentsConfig = IncidentsConfig(("incident",), ("Incident",), 24.0)
    budgets: BudgetsConfig = BudgetsConfig()
    alerts: AlertsConfig = AlertsConfig()
    report: ReportConfig = ReportConfig()


def _expand_env(value: Any, key_path: str) -> Any:
    """Replace `${VAR}` references; a missing variable is an error naming the key and the variable."""
    if isinstance(value, dict):
        return {k: _expand_env(v, f"{key_path}.{k}" if key_path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, f"{key_path}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, str):

        def lookup(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(
                    f"config key '{key_path}' refers to ${{{name}}}, which is not set: "
                    f"export {name}=... before running"
                )
            return os.environ[name]

        return _ENV_REFERENCE.sub(lookup, value)
    return value


def _secret(section: dict[str, Any], key: str, env_var: str, section_name: str) -> Secret:
    value = section.get(key)
    if value is None:
        value = os.environ.get(env_var, "")
    if not value:
        raise ConfigError(
            f"{section_name}.{key} is empty: set the environment variable {env_var} "
            f"(or write '{key}: ${{{env_var}}}' under '{section_name}:' in impact.yaml)"
        )
    return Secret(str(value))


def _tuple(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _date(value: Any, key: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as error:
        raise ConfigError(f"{key} must be a date like 2026-01-05, got {value!r}") from error


def _resolve(base: Path, value: str | os.PathLike[str]) -> Path:
    path = Path(value)
    return path if path.is_absolute() else (base / path).resolve()


def parse_config(raw: dict[str, Any], *, path: Path | None = None) -> ImpactConfig:
    """Validate a config mapping; relative paths are taken from the config file's folder."""
    data = _expand_env(raw or {}, "")
    base = path.parent.resolve() if path else Path.cwd()

    github = None
    if "github" in data:
        section = data["github"] or {}
        repos, orgs = _tuple(section.get("repos")), _tuple(section.get("orgs"))
        if not repos and not orgs:
            raise ConfigError("github: list what to sync under github.repos (owner/name) or github.orgs")
        github = GithubConfig(
            api_url=str(section.get("api_url") or os.environ.get("GITHUB_API_URL", "https://api.github.com")),
            token=_secret(section, "token", "GITHUB_TOKEN", "github"),
            repos=repos,
            orgs=orgs,
            production_environments=_tuple(section.get("production_environments")) or ("production",),
            api=_choice(section.get("api", "rest"), ("rest", "graphql"), "github.api"),
        )

    anthropic = None
    if "anthropic" in data:
        section = data["anthropic"] or {}
        anthropic = AnthropicConfig(
            api_url=str(
                section.get("api_url") or os.environ.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
            ),
            admin_key=_secret(section, "admin_key", "ANTHROPIC_ADMIN_KEY", "anthropic"),
            reread_days=int(section.get("reread_days", 3)),
        )

    claude_code = _claude_code(data.get("claude_code"), base)
    jira = _jira(data["jira"]) if "jira" in data else None
    pagerduty = _pagerduty(data["pagerduty"]) if "pagerduty" in data else None

    if "start_date" not in data:
        raise ConfigError("start_date is missing: the first sync reads history from this day (e.g. 2026-01-05)")
    warehouse = data.get("warehouse") or os.environ.get("IMPACT_WAREHOUSE") or DEFAULT_WAREHOUSE
    warehouse_path = _resolve(base, warehouse)
    teams = data.get("teams")
    return ImpactConfig(
        path=path,
        start_date=_date(data["start_date"], "start_date"),
        end_date=_date(data["end_date"], "end_date") if data.get("end_date") else None,
        warehouse=warehouse_path,
        raw_dir=_resolve(base, data["raw_dir"]) if data.get("raw_dir") else warehouse_path.parent / "raw",
        reports_dir=_resolve(base, data.get("reports_dir", "reports")),
        teams_file=_resolve(base, teams) if teams else None,
        github=github,
        anthropic=anthropic,
        claude_code=claude_code,
        jira=jira,
        pagerduty=pagerduty,
        incidents=_incidents(data.get("incidents")),
        budgets=_budgets(data.get("budgets")),
        alerts=_alerts(data.get("alerts")),
        report=_report(data.get("report")),
    )


def _claude_code(section: Any, base: Path) -> ClaudeCodeConfig | None:
    """`claude_code.transcripts`: a list of `{path, developer?}` (or bare paths); default `$CLAUDE_TRANSCRIPTS`.

    The environment variable holds one or more folders separated by the OS path separator (`:`), each a
    folder of person subfolders. Relative paths are taken from the config file's folder.
    """
    section = section or {}
    if not isinstance(section, dict):
        raise ConfigError("claude_code must be a mapping, e.g. claude_code: {transcripts: [{path: transcripts/}]}")
    entries = section.get("transcripts")
    if entries is None:
        env = os.environ.get("CLAUDE_TRANSCRIPTS", "")
        entries = [{"path": part} for part in env.split(os.pathsep) if part.strip()]
    if isinstance(entries, (str, dict)):
        entries = [entries]
    if not isinstance(entries, list):
        raise ConfigError("claude_code.transcripts must be a list of {path: ..., developer: ...} entries")
    parsed = []
    for index, entry in enumerate(entries):
        if isinstance(entry, str):
            entry = {"path": entry}
        if not isinstance(entry, dict) or not entry.get("path"):
            raise ConfigError(
                f"claude_code.transcripts[{index}] needs a path, e.g. {{path: transcripts/alice, developer: alice@hoco.io}}"
            )
        unknown = set(entry) - {"path", "developer"}
        if unknown:
            raise ConfigError(f"claude_code.transcripts[{index}] has unknown keys {sorted(unknown)}: use path, developer")
        developer = str(entry["developer"]).strip() if entry.get("developer") else None
        parsed.append(TranscriptsEntry(path=_resolve(base, str(entry["path"])), developer=developer))
    repo_paths = _mapping(section.get("repo_paths"), "claude_code.repo_paths", "{~/src/api: my-org/api}")
    otel = tuple(_resolve(base, str(item)) for item in _tuple(section.get("otel_exports")))
    if not parsed and "transcripts" not in section and not otel:
        return None
    return ClaudeCodeConfig(
        transcripts=tuple(parsed),
        repo_paths=tuple((k, str(v)) for k, v in repo_paths),
        otel_exports=otel,
    )


def _choice(value: Any, allowed: tuple[str, ...], key: str) -> str:
    if str(value) not in allowed:
        raise ConfigError(f"{key} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def _mapping(value: Any, key: str, example: str) -> tuple[tuple[str, Any], ...]:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ConfigError(f"{key} must be a mapping, e.g. {key.rsplit('.', 1)[-1]}: {example}")
    return tuple((str(k), v) for k, v in value.items())


def _money(value: Any, key: str) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"{key} must be an amount in USD like 500, got {value!r}") from error
    if amount < 0:
        raise ConfigError(f"{key} must not be negative, got {value!r}")
    return amount


def _section(value: Any, name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{name} must be a mapping of settings")
    return value


def _jira(value: Any) -> JiraConfig:
    section = _section(value, "jira")
    url = str(section.get("url") or os.environ.get("JIRA_URL", "")).rstrip("/")
    if not url:
        raise ConfigError("jira.url is empty: set JIRA_URL or jira.url (e.g. https://my-org.atlassian.net)")
    email = section.get("email", os.environ.get("JIRA_EMAIL"))
    projects = _tuple(section.get("projects"))
    jql = section.get("jql")
    if not projects and not jql:
        raise ConfigError("jira: list what to sync under jira.projects (keys like PAY) or give jira.jql")
    return JiraConfig(
        url=url,
        email=str(email) if email else None,
        token=_secret(section, "token", "JIRA_API_TOKEN", "jira"),
        projects=projects,
        jql=str(jql) if jql else None,
        story_points_field=section.get("story_points_field"),
        sprint_field=section.get("sprint_field"),
    )


def _pagerduty(value: Any) -> PagerdutyConfig:
    section = _section(value, "pagerduty")
    return PagerdutyConfig(
        api_url=str(section.get("api_url") or os.environ.get("PAGERDUTY_API_URL", "https://api.pagerduty.com")).rstrip("/"),
        token=_secret(section, "token", "PAGERDUTY_TOKEN", "pagerduty"),
        service_ids=_tuple(section.get("service_ids")),
        service_repositories=tuple(
            (k, str(v)) for k, v in _mapping(section.get("service_repositories"), "pagerduty.service_repositories", "{checkout: my-org/checkout-service}")
        ),
    )


def _incidents(value: Any) -> IncidentsConfig:
    section = _section(value, "incidents")
    window = section.get("link_window_hours", 24)
    return IncidentsConfig(
        github_labels=_tuple(section.get("github_labels")) or ("incident",),
        jira_issue_types=_tuple(section.get("jira_issue_types")) or ("Incident",),
        link_window_hours=None if window in (None, False, "off") else _money(window, "incidents.link_window_hours"),
        duplicate_window_minutes=_money(section.get("duplicate_window_minutes", 60), "incidents.duplicate_window_minutes"),
    )


def _budgets(value: Any) -> BudgetsConfig:
    section = _section(value, "budgets")
    unknown = set(section) - {"teams", "roles", "people"}
    if unknown:
        raise ConfigError(f"budgets has unknown keys {sorted(unknown)}: use teams, roles, people")

    def amounts(kind: str) -> tuple[tuple[str, float], ...]:
        pairs = _mapping(section.get(kind), f"budgets.{kind}", "{platform: 2000}")
        return tuple((name, _money(amount, f"budgets.{kind}.{name}")) for name, amount in pairs)

    return BudgetsConfig(teams=amounts("teams"), roles=amounts("roles"), people=amounts("people"))


def _alerts(value: Any) -> AlertsConfig:
    section = _section(value, "alerts")
    webhook = section.get("webhook_url")
    return AlertsConfig(
        developer_day_usd=_money(section.get("developer_day_usd", 50), "alerts.developer_day_usd"),
        session_usd=_money(section.get("session_usd", 25), "alerts.session_usd"),
        webhook_url=Secret(str(webhook)) if webhook else None,
    )


def _report(value: Any) -> ReportConfig:
    section = _section(value, "report")
    size = section.get("min_team_size", 5)
    if not isinstance(size, int) or size < 1:
        raise ConfigError(f"report.min_team_size must be a whole number of people (default 5), got {size!r}")
    return ReportConfig(min_team_size=size, show_individuals=bool(section.get("show_individuals", False)))


def load_config(path: str | os.PathLike[str] | None = None) -> ImpactConfig:
    """Read the config from `path`, else `$IMPACT_CONFIG`, else `./impact.yaml`."""
    chosen = Path(path or os.environ.get("IMPACT_CONFIG") or DEFAULT_CONFIG_PATH)
    if not chosen.exists():
        raise ConfigError(
            f"no configuration at {chosen}: copy impact.example.yaml to impact.yaml, "
            "or set IMPACT_CONFIG, or run `impact demo` to try the bundled sandbox"
        )
    try:
        raw = yaml.safe_load(chosen.read_text()) or {}
    except yaml.YAMLError as error:
        raise ConfigError(f"{chosen} is not valid YAML: {error}") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{chosen} must hold a mapping of settings at the top level")
    return parse_config(raw, path=chosen.resolve())
