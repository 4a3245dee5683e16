"""Production incidents: their true cause, the tool each team reports them in, and how they are named there.

Why the cause comes first: the ground truth must know which deployment broke production, while each
source shows only what its tool would show. So the generator decides, per repository,
- which successful production deployments caused an incident: every deployment that was later rolled
  back (the incident is raised before the rollback starts), and each other one with probability
  `incidents_per_production_deploy` (its log-odds shifted by `cfr_effect` when it shipped a PR whose
  author had adopted Claude Code), raised a log-normal number of minutes after the deployment's success
  (capped at 20 h);
- a Poisson number of incidents no deployment caused, so that they are about
  `incidents_without_deployment_share` of all;
then acknowledgement and restore times (log-normal, heavy-tailed) and whether the record names the
deployment (`explicit_link`). The two most recent incidents are still open at the horizon, so open
incidents always exist.

Each team reports in one tool (`incident_tools`, else a stable hash: half PagerDuty, a third GitHub
issues, the rest Jira). How each tool names an incident is decided here too, so that the HTTP layers
and the ground truth agree: PagerDuty ids and incident numbers, GitHub issue numbers (after the
repository's pull requests), the GitHub issue's author, and the PRs labelled as incident fixes.
Jira keys are the Jira layer's to give.

One outage, two reports (`duplicate_reports`): about a fifth of the outages PagerDuty pages are reported
again, minutes later, as a Jira Incident issue or a GitHub incident issue on the same repository, some
pasting the PagerDuty incident's link. They are the same outage, which the pipeline must count once; the
ground truth lists them (`incident_duplicates.csv`) and gives each outage's merged times.

The linking rule of DESIGN.md section 5 is applied here as well (`link_incidents`) for the answer key:
an explicit link wins; otherwise the most recent successful production deployment of the repository
that finished before the incident, at most `window_hours` before it (no window: DevLake's rule).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence

from sandbox.clock import HOUR, day_start, horizon
from sandbox.config import OrganisationConfig
from sandbox.entities import Commit, Deployment, Incident, PullRequest, Repository
from sandbox.rng import Stream, stable_sha

TOOLS = ("pagerduty", "github", "jira")
TOOL_WEIGHTS = (0.5, 0.35, 0.15)
MAX_DETECT = dt.timedelta(hours=20)
#: how many of the most recent incidents are left unresolved at the horizon
OPEN_AT_HORIZON = 2
CAUSED_TITLES = (
    "Elevated 5xx rate on {service}",
    "{service}: p99 latency above SLO",
    "Errors after release of {service}",
    "{service} health checks failing",
    "Spike in failed requests to {service}",
    "{service} crash loop in production",
)
OTHER_TITLES = (
    "{service}: upstream provider degraded",
    "{service} database CPU saturated",
    "Certificate expiry warning for {service}",
    "{service}: traffic surge exhausting capacity",
    "Disk almost full on {service} nodes",
)
_PD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def rollbacks(deployments: Sequence[Deployment]) -> dict[int, int]:
    """Rollback deployment id -> the id of the deployment it rolled back.

    A successful production deployment of a sha that an earlier successful production deployment of
    the repository already shipped, other than the one just before it (a re-run), is a rollback of the
    success just before it (the generator never ships a sha forward twice, so the rule is exact here).
    """
    successes = sorted(
        (d for d in deployments if d.environment == "production" and d.deployed_at is not None),
        key=lambda d: (d.deployed_at, d.deployment_id),
    )
    shipped: set[str] = set()
    result: dict[int, int] = {}
    previous: Deployment | None = None
    for deployment in successes:
        if deployment.sha in shipped and previous is not None and previous.sha != deployment.sha:
            result[deployment.deployment_id] = previous.deployment_id
        shipped.add(deployment.sha)
        previous = deployment
    return result


def team_tool(config: OrganisationConfig, seed: int, team: str) -> str:
    """The tool a team reports its incidents in."""
    chosen = dict(config.incident_tools).get(team)
    if chosen is not None:
        if chosen not in TOOLS:
            raise ValueError(f"incident_tools: {team} uses unknown tool {chosen!r}; known: {', '.join(TOOLS)}")
        return chosen
    return Stream(seed, "incident-tool", team).weighted(TOOLS, TOOL_WEIGHTS)


def _treated_deployments(
    history: list[Commit], deployments: Sequence[Deployment], pulls: Sequence[PullRequest]
) -> set[int]:
    """Production successes that shipped at least one PR opened after its author adopted Claude Code."""
    treated_shas = {pr.merge_commit_sha for pr in pulls if pr.is_treated and pr.merge_commit_sha}
    position = {commit.sha: index for index, commit in enumerate(history)}
    successes = sorted(
        (d for d in deployments if d.environment == "production" and d.deployed_at is not None),
        key=lambda d: (d.deployed_at, d.deployment_id),
    )
    result = set()
    for previous, current in zip(successes, successes[1:]):
        shipped = history[position[previous.sha] + 1 : position[current.sha] + 1]
        if any(c.sha in treated_shas for c in shipped):
            result.add(current.deployment_id)
    return result


def _probability(base: float, log_odds_shift: float) -> float:
    if log_odds_shift == 0.0 or base <= 0.0 or base >= 1.0:
        return base
    logit = math.log(base / (1 - base)) + log_odds_shift
    return 1 / (1 + math.exp(-logit))


def generate_incidents(
    config: OrganisationConfig,
    seed: int,
    repositories: list[Repository],
    deployments: Mapping[str, list[Deployment]],
    histories: Mapping[str, list[Commit]],
    pulls: Mapping[str, list[PullRequest]],
) -> list[Incident]:
    """Every incident of the organisation, ordered by creation (ids INC-0001... in that order)."""
    end = horizon(config)
    drafts: list[dict] = []
    for repo in repositories:
        stream = Stream(seed, "incidents", repo.full_name)
        repo_deployments = deployments[repo.full_name]
        rolled = rollbacks(repo_deployments)
        rollback_of = {bad: rollback for rollback, bad in rolled.items()}
        by_id = {d.deployment_id: d for d in repo_deployments}
        treated = _treated_deployments(histories[repo.full_name], repo_deployments, pulls[repo.full_name]) if config.cfr_effect else set()
        successes = sorted(
            (d for d in repo_deployments if d.environment == "production" and d.deployed_at is not None),
            key=lambda d: (d.deployed_at, d.deployment_id),
        )
        caused = 0
        for deployment in successes:
            if deployment.deployment_id in rolled:
                continue  # a rollback restores the previous release; it breaks nothing new
            deployed_at = deployment.deployed_at
            assert deployed_at is not None
            if deployment.deployment_id in rollback_of:
                rollback = by_id[rollback_of[deployment.deployment_id]]
                span = (rollback.created_at - deployed_at).total_seconds()
                created = deployed_at + dt.timedelta(seconds=int(stream.uniform(120, max(180, span - 300))))
            else:
                shift = config.cfr_effect if deployment.deployment_id in treated else 0.0
                if not stream.chance(_probability(config.incidents_per_production_deploy, shift)):
                    continue
                minutes = stream.lognormal(config.incident_detect_median_minutes, config.incident_detect_sigma)
                delay = min(dt.timedelta(minutes=max(minutes, 3.0)), MAX_DETECT)
                created = deployed_at + dt.timedelta(seconds=int(delay.total_seconds()))
            if created >= end:
                continue
            caused += 1
            drafts.append(dict(repo=repo, created_at=created, cause=deployment.deployment_id, stream=stream))
        share = config.incidents_without_deployment_share
        if successes and 0.0 < share < 1.0:
            first_day = successes[0].deployed_at.date()
            days = (end.date() - first_day).days
            for _ in range(stream.poisson(caused * share / (1 - share))):
                created = day_start(first_day) + dt.timedelta(seconds=int(stream.uniform(0, days * 24 * HOUR)))
                drafts.append(dict(repo=repo, created_at=created, cause=None, stream=stream))

    drafts.sort(key=lambda d: (d["created_at"], d["repo"].full_name))
    open_from = max(len(drafts) - OPEN_AT_HORIZON, 0)
    tools = {repo.team_id: team_tool(config, seed, repo.team_id) for repo in repositories}
    incidents = []
    for index, draft in enumerate(drafts):
        stream, repo, created = draft["stream"], draft["repo"], draft["created_at"]
        details = Stream(seed, "incident", repo.full_name, created.isoformat())
        cause = draft["cause"]
        ack = created + dt.timedelta(
            seconds=max(30, int(60 * details.lognormal(config.incident_ack_median_minutes, config.incident_ack_sigma)))
        )
        restore = dt.timedelta(
            seconds=max(300, int(HOUR * details.lognormal(config.incident_restore_median_hours, config.incident_restore_sigma)))
        )
        resolved = max(created + restore, ack + dt.timedelta(seconds=60))
        if index >= open_from or resolved >= end:
            resolved = None
        urgency = "high" if details.chance(0.7 if cause else 0.4) else "low"
        titles = CAUSED_TITLES if cause else OTHER_TITLES
        incidents.append(
            Incident(
                incident_id=f"INC-{index + 1:04d}",
                source=tools[repo.team_id],
                repository=repo.full_name,
                service=repo.name,
                title=details.choice(titles).format(service=repo.name),
                urgency=urgency,
                created_at=created,
                acknowledged_at=ack if ack < end else None,
                resolved_at=resolved,
                caused_by_deployment_id=cause,
                explicit_link=bool(cause) and details.chance(config.incident_explicit_link_share),
            )
        )
    return incidents


# --- how each tool names an incident --------------------------------------------------------------


def pagerduty_id(*parts: object) -> str:
    """A PagerDuty-looking object id: "P" and six upper-case letters or digits, stable for `parts`."""
    number = int(stable_sha("pagerduty", *parts), 16)
    chars = []
    for _ in range(6):
        number, rest = divmod(number, len(_PD_ALPHABET))
        chars.append(_PD_ALPHABET[rest])
    return "P" + "".join(chars)


def pagerduty_incident_numbers(incidents: Sequence[Incident]) -> dict[str, int]:
    """incident_id -> PagerDuty incident_number (account-wide, in creation order, from 101)."""
    reported = [i for i in incidents if i.source == "pagerduty"]
    return {incident.incident_id: 101 + n for n, incident in enumerate(reported)}


def pagerduty_incident_id(incident: Incident) -> str:
    return pagerduty_id("incident", incident.incident_id)


def pagerduty_service_id(repository: str) -> str:
    return pagerduty_id("service", repository)


def github_issue_numbers(
    incidents: Sequence[Incident], pulls: Mapping[str, list[PullRequest]]
) -> dict[str, int]:
    """incident_id -> issue number in its repository.

    GitHub numbers issues and PRs from one sequence; the sandbox numbers PRs 1.. first, so incident
    issues come after the repository's last PR, in creation order (a known, harmless difference).
    """
    next_number = {repo: len(prs) + 1 for repo, prs in pulls.items()}
    result = {}
    for incident in incidents:
        if incident.source == "github":
            result[incident.incident_id] = next_number[incident.repository]
            next_number[incident.repository] += 1
    return result


def github_source_id(incident: Incident, numbers: Mapping[str, int]) -> str:
    return f"{incident.repository}#{numbers[incident.incident_id]}"


GHOST = "ghost"
ALERT_BOT = "github-actions[bot]"


def github_issue_author(seed: int, incident: Incident, team_logins: Sequence[str], first_in_repo: bool) -> str:
    """Who opened the incident issue: the first one of a repository by someone who has since left
    (GitHub shows the "ghost" user), about a fifth by the alerting workflow's bot, else a team member."""
    if first_in_repo:
        return GHOST
    stream = Stream(seed, "incident-issue-author", incident.incident_id)
    if stream.chance(0.2) or not team_logins:
        return ALERT_BOT
    return stream.choice(sorted(team_logins))


def incident_fix_pulls(
    seed: int, incidents: Sequence[Incident], pulls: Mapping[str, list[PullRequest]]
) -> dict[tuple[str, int], str]:
    """(repository, PR number) -> incident_id for PRs labelled as an incident's fix.

    For about half of the GitHub-reported incidents the first PR opened after the incident carries the
    incident label too, as hotfix PRs often do; GitHub's issues list returns such PRs, and readers must
    skip them (they have a `pull_request` key).
    """
    result = {}
    created_by_repo = {repo: [pr.created_at for pr in prs] for repo, prs in pulls.items()}
    for incident in incidents:
        if incident.source != "github" or not Stream(seed, "incident-fix", incident.incident_id).chance(0.5):
            continue
        prs = pulls[incident.repository]
        index = bisect.bisect_right(created_by_repo[incident.repository], incident.created_at)
        if index < len(prs):
            result.setdefault((incident.repository, prs[index].number), incident.incident_id)
    return result


def explicit_reference(incident: Incident) -> int | None:
    """The deployment id the incident's record names, if it names one."""
    return incident.caused_by_deployment_id if incident.explicit_link else None


# --- the linking rule of DESIGN.md section 5 ------------------------------------------------------


def link_incidents(
    incidents: Sequence[Incident], deployments: Mapping[str, list[Deployment]], window_hours: float | None = 24.0
) -> dict[str, int | None]:
    """incident_id -> the deployment the DESIGN rule blames (explicit link first, then the window rule)."""
    successes: dict[str, list[Deployment]] = {}
    for repo, items in deployments.items():
        successes[repo] = sorted(
            (d for d in items if d.environment == "production" and d.deployed_at is not None),
            key=lambda d: (d.deployed_at, d.deployment_id),
        )
    times = {repo: [d.deployed_at for d in items] for repo, items in successes.items()}
    result: dict[str, int | None] = {}
    for incident in incidents:
        explicit = explicit_reference(incident)
        if explicit is not None:
            result[incident.incident_id] = explicit
            continue
        index = bisect.bisect_left(times.get(incident.repository, []), incident.created_at)  # finished strictly before
        if index == 0:
            result[incident.incident_id] = None
            continue
        candidate = successes[incident.repository][index - 1]
        age = incident.created_at - candidate.deployed_at
        within = window_hours is None or age <= dt.timedelta(hours=window_hours)
        result[incident.incident_id] = candidate.deployment_id if within else None
    return result


# --- one outage, two reports ----------------------------------------------------------------------

#: share of the outages PagerDuty pages that someone also reports as a Jira or GitHub incident issue
DUPLICATE_REPORT_SHARE = 0.2
#: share of those second reports that paste the PagerDuty incident's link into the issue body/description
DUPLICATE_LINK_SHARE = 0.6
DUPLICATE_TOOLS = ("github", "jira")


@dataclasses.dataclass(frozen=True)
class DuplicateReport:
    """A second report of an outage PagerDuty paged: a GitHub issue or a Jira Incident issue opened minutes
    later on the same repository, by a responder or a support engineer.

    Why it exists: real teams report one outage twice, and counting both doubles incident counts, skews
    MTTR and blames two deployments. The report names the PagerDuty incident's URL (`names_pagerduty`)
    or does not; without it, it is opened within the hour (2-50 minutes after the page), so that the
    pipeline's time-window rule can find it; with it, up to 90 minutes later (the link says it all).
    It is closed around when the page resolved (15 minutes before to 30 minutes after), never while
    the page is still open.
    """

    incident_id: str  # the outage (a PagerDuty-reported incident) it reports again
    tool: str  # github | jira
    created_at: dt.datetime
    resolved_at: dt.datetime | None
    names_pagerduty: bool


def duplicate_reports(config: OrganisationConfig, seed: int, incidents: Sequence[Incident]) -> list[DuplicateReport]:
    """The second reports of PagerDuty-paged outages, in the order of their outages (deterministic).

    A Jira report needs the team's Jira project and a responder with a Jira account; the Jira layer skips
    it otherwise (`sandbox.jira_issues`), and the ground truth lists only the reports that are served.
    """
    end = horizon(config)
    reports = []
    for incident in incidents:
        if incident.source != "pagerduty":
            continue
        stream = Stream(seed, "incident-duplicate", incident.incident_id)
        if not stream.chance(DUPLICATE_REPORT_SHARE):
            continue
        tool = stream.choice(DUPLICATE_TOOLS)
        names = stream.chance(DUPLICATE_LINK_SHARE)
        minutes = stream.uniform(2, 90) if names else stream.uniform(2, 50)
        created = incident.created_at + dt.timedelta(seconds=int(60 * minutes))
        if created >= end:
            continue
        resolved = None
        if incident.resolved_at is not None:
            lag = dt.timedelta(seconds=int(stream.uniform(-15 * 60, 30 * 60)))
            resolved = max(incident.resolved_at + lag, created + dt.timedelta(minutes=1))
            if resolved >= end:
                resolved = None
        reports.append(DuplicateReport(incident.incident_id, tool, created, resolved, names))
    return reports


def pagerduty_incident_url(github_org: str, incident: Incident) -> str:
    """The incident's web page, as PagerDuty's `html_url` shows it (the link a responder pastes)."""
    return f"https://{github_org}.pagerduty.com/incidents/{pagerduty_incident_id(incident)}"


def duplicate_issue_numbers(
    incidents: Sequence[Incident], pulls: Mapping[str, list[PullRequest]], reports: Sequence[DuplicateReport]
) -> dict[str, int]:
    """incident_id -> the number of its second report as a GitHub issue: after the repository's PRs and
    incident issues, in creation order (so that adding them renumbers nothing else)."""
    by_id = {incident.incident_id: incident for incident in incidents}
    next_number = {repo: len(prs) + 1 for repo, prs in pulls.items()}
    for incident in incidents:
        if incident.source == "github":
            next_number[incident.repository] += 1
    result = {}
    for report in sorted((r for r in reports if r.tool == "github"), key=lambda r: (r.created_at, r.incident_id)):
        repository = by_id[report.incident_id].repository
        result[report.incident_id] = next_number[repository]
        next_number[repository] += 1
    return result


def outage_resolved_at(incident: Incident, reports: Sequence[DuplicateReport]) -> dt.datetime | None:
    """When an outage reported more than once was restored: open while its PagerDuty incident is open;
    else the latest resolution among its reports (a ticket closed after the page resolved is the restore
    confirmed later; PagerDuty often resolves when the alert clears). See int_incidents."""
    if incident.resolved_at is None:
        return None
    return max([incident.resolved_at, *(r.resolved_at for r in reports if r.resolved_at is not None)])
