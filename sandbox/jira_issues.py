"""The sandbox's Jira world: one project per team, its sprints, and issues with a status changelog.

Why a world of its own rather than fields on `Organisation`: it is derived entirely from the
organisation (teams, developers with a `jira_account_id`, the calendar, and the incidents whose
`source` is "jira"), and only the Jira API and the ground truth need it, so it is built on demand by
`generate_jira(org)` and costs nothing to the rest of the sandbox. Same organisation, same world,
byte for byte: every draw comes from a `Stream` keyed by the seed and the issue's own labels.

Realism that the connector and the metrics must cope with:
- a workflow with status categories: To Do (new), In Progress and In Review (indeterminate), Done
  (done); heavy-tailed (log-normal) waits between transitions; rework (In Review back to In
  Progress); issues reopened after Done (the resolution is cleared, then set again when closed
  again); issues never started; issues closed straight from To Do as "Won't Do";
- unassigned issues, story points, sprints that issues carry over, components, priorities;
- changelog histories that change other fields (assignee, story points) beside the status ones;
- incidents of the organisation reported in Jira, as issues of type Incident in the owning team's
  project, with a `deployment-<id>` label where the reporter named the deployment;
- second reports of outages PagerDuty paged (`sandbox.incidents.DuplicateReport`), Incident issues
  opened minutes later, some pasting the PagerDuty incident's link in the description.
Nothing exists after the observation horizon: a transition that would happen later has not happened.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
import re

from sandbox.clock import HOUR, day_start, horizon, work_time
from sandbox.entities import Developer
from sandbox.incidents import duplicate_reports, pagerduty_incident_url
from sandbox.organisation import Organisation
from sandbox.rng import Stream

#: The workflow's statuses: (id, name, status category key). Category ids: 2 new, 4 indeterminate, 3 done.
STATUSES = (
    ("10000", "To Do", "new"),
    ("3", "In Progress", "indeterminate"),
    ("10001", "In Review", "indeterminate"),
    ("10002", "Done", "done"),
)
STATUS_CATEGORY = {name: category for _, name, category in STATUSES}
ISSUE_TYPES = (("Story", 0.45), ("Task", 0.30), ("Bug", 0.25))
PRIORITIES = (("Highest", 0.05), ("High", 0.2), ("Medium", 0.5), ("Low", 0.2), ("Lowest", 0.05))
STORY_POINTS = (1.0, 2.0, 3.0, 5.0, 8.0, 13.0)
SPRINT_DAYS = 14
#: Issues a developer opens per week (assigned to themselves, or left unassigned for the backlog).
ISSUES_PER_WEEK = 1.2
SUMMARY_VERBS = ("Implement", "Fix", "Investigate", "Migrate", "Document", "Clean up", "Add tests for", "Tune")
SUMMARY_NOUNS = (
    "checkout timeout", "login redirect", "nightly export", "alert thresholds", "API pagination", "cache eviction",
    "feature flag cleanup", "onboarding emails", "search ranking", "dashboard filters", "retry policy", "audit log",
)


@dataclasses.dataclass(frozen=True, slots=True)
class JiraProject:
    project_id: int
    key: str
    name: str
    team_id: str
    lead: str  # login of the team's lead
    board_id: int
    components: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class JiraSprint:
    sprint_id: int
    project_key: str
    board_id: int
    name: str
    start: dt.datetime
    end: dt.datetime
    state: str  # closed | active | future, as seen at the horizon


@dataclasses.dataclass(frozen=True, slots=True)
class JiraHistory:
    """One changelog entry; `field` is "status" for a transition (the only kind the metrics read)."""

    history_id: int
    author: str | None  # developer login
    at: dt.datetime
    field: str  # status | assignee | Story Points
    from_value: str | None
    to_value: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class JiraTicket:
    issue_id: int
    key: str
    project_key: str
    issue_type: str  # Story | Task | Bug | Incident
    summary: str
    priority: str
    assignee: str | None  # developer login (who has a Jira account); None: unassigned
    reporter: str
    story_points: float | None
    sprint_ids: tuple[int, ...]  # oldest first; the last one is where the issue is (or was closed)
    components: tuple[str, ...]
    labels: tuple[str, ...]
    created_at: dt.datetime
    resolution: str | None  # Done | Won't Do, None while unresolved
    resolution_date: dt.datetime | None
    histories: tuple[JiraHistory, ...]  # oldest first
    incident_id: str | None = None
    #: a second report of this sandbox incident (reported first in PagerDuty): the same outage
    duplicate_of: str | None = None
    #: the PagerDuty incident link pasted in the description, if any
    pagerduty_url: str | None = None

    @property
    def status(self) -> str:
        for history in reversed(self.histories):
            if history.field == "status":
                return history.to_value or "To Do"
        return "To Do"

    @property
    def updated_at(self) -> dt.datetime:
        return self.histories[-1].at if self.histories else self.created_at

    @property
    def transitions(self) -> tuple[JiraHistory, ...]:
        return tuple(h for h in self.histories if h.field == "status")

    @property
    def started_at(self) -> dt.datetime | None:
        """First transition into an In Progress category status (DESIGN section 5)."""
        for h in self.transitions:
            if STATUS_CATEGORY.get(h.to_value or "") == "indeterminate":
                return h.at
        return None

    @property
    def resolved_at(self) -> dt.datetime | None:
        """The resolution date, else the last transition into a Done category status (DESIGN section 5)."""
        if self.resolution_date is not None:
            return self.resolution_date
        done = [h.at for h in self.transitions if STATUS_CATEGORY.get(h.to_value or "") == "done"]
        return done[-1] if done else None


@dataclasses.dataclass(frozen=True)
class JiraWorld:
    projects: tuple[JiraProject, ...]
    sprints: dict[int, JiraSprint]
    issues: tuple[JiraTicket, ...]  # by issue id
    developers: dict[str, Developer]  # by login: who the logins in issues are

    def project_issues(self, key: str) -> list[JiraTicket]:
        return [issue for issue in self.issues if issue.project_key == key]


def project_key(team_name: str, taken: set[str]) -> str:
    """A Jira project key for a team: "platform" -> PLAT, "design-system" -> DS, "platform-2" -> PLAT2.

    Keys are upper-case letters and digits starting with a letter, at most 10 long, unique (a digit is
    appended when one is taken), as Jira requires.
    """
    words = [w for w in re.split(r"[^a-zA-Z0-9]+", team_name) if w]
    suffix = words.pop() if len(words) > 1 and words[-1].isdigit() else ""
    if len(words) == 1:
        base = words[0][:4]
    else:
        base = "".join(w[0] for w in words)
    base = (base.upper() or "TEAM") + suffix
    if not base[0].isalpha():
        base = "T" + base
    key, n = base[:10], 2
    while key in taken:
        key, n = f"{base[:8]}{n}", n + 1
    taken.add(key)
    return key


def jira_projects(org: Organisation) -> list[JiraProject]:
    """One project per team (not the parent), keyed from the team name; cheap: no issues are built."""
    taken: set[str] = set()
    projects = []
    leads = {}
    for d in org.developers:
        leads.setdefault(d.team_id, d.login)
    repos_by_team: dict[str, list[str]] = {}
    for repo in org.repository_details:
        repos_by_team.setdefault(repo.team_id, []).append(repo.name)
    for index, team in enumerate(t for t in org.teams if t.parent_team_id is not None):
        projects.append(
            JiraProject(
                project_id=10_000 + index,
                key=project_key(team.team_id, taken),
                name=team.name,
                team_id=team.team_id,
                lead=leads.get(team.team_id, ""),
                board_id=1 + index,
                components=tuple(sorted(repos_by_team.get(team.team_id, []))) + ("backend", "frontend"),
            )
        )
    return projects


def _sprints(org: Organisation, projects: list[JiraProject]) -> dict[str, list[JiraSprint]]:
    seen_at = horizon(org.config)
    count = (org.config.weeks * 7 + SPRINT_DAYS - 1) // SPRINT_DAYS
    out: dict[str, list[JiraSprint]] = {}
    next_id = 1
    for project in projects:
        sprints = []
        for number in range(count):
            start = day_start(org.start_date + dt.timedelta(days=SPRINT_DAYS * number)) + dt.timedelta(hours=9)
            end = start + dt.timedelta(days=SPRINT_DAYS - 3, hours=8)
            state = "closed" if end <= seen_at else "active" if start <= seen_at else "future"
            sprints.append(
                JiraSprint(next_id, project.key, project.board_id, f"{project.key} Sprint {number + 1}", start, end, state)
            )
            next_id += 1
        out[project.key] = sprints
    return out


def _sprint_at(sprints: list[JiraSprint], when: dt.datetime, start_date: dt.date) -> int:
    index = max(0, min(len(sprints) - 1, (when.date() - start_date).days // SPRINT_DAYS))
    return index


def _span(stream: Stream, median_hours: float, sigma: float) -> dt.timedelta:
    return dt.timedelta(seconds=max(300, int(stream.lognormal(median_hours * HOUR, sigma))))


@dataclasses.dataclass
class _Draft:
    """An issue being built: its changelog as (time, author, field, from, to), before ids are assigned."""

    project: JiraProject
    issue_type: str
    summary: str
    priority: str
    assignee: str | None
    reporter: str
    story_points: float | None
    components: tuple[str, ...]
    labels: tuple[str, ...]
    created_at: dt.datetime
    events: list[tuple[dt.datetime, str | None, str, str | None, str | None]]
    resolution: str | None
    resolution_date: dt.datetime | None
    with_sprint: bool
    incident_id: str | None = None
    tiebreak: str = ""
    duplicate_of: str | None = None
    pagerduty_url: str | None = None


def _workflow(stream: Stream, draft: _Draft, seen_at: dt.datetime) -> None:
    """Walk the issue through the workflow, dropping whatever would happen after the horizon."""
    actor = draft.assignee or draft.reporter
    now = draft.created_at
    status = "To Do"

    def move(after: dt.timedelta, to: str) -> bool:
        nonlocal now, status
        if now + after >= seen_at:
            return False
        now = now + after
        draft.events.append((now, actor, "status", status, to))
        status = to
        return True

    if draft.assignee is None:
        # Backlog: most unassigned issues are never started; a few are closed as won't do.
        if stream.chance(0.25) and move(_span(stream, 240, 1.0), "Done"):
            draft.resolution, draft.resolution_date = "Won't Do", now
        return
    if stream.chance(0.08):
        return  # assigned but never started
    if stream.chance(0.04):
        if move(_span(stream, 72, 1.0), "Done"):
            draft.resolution, draft.resolution_date = "Won't Do", now
        return
    if not move(_span(stream, 30, 1.2), "In Progress"):
        return
    while True:
        if not move(_span(stream, 20, 1.0), "In Review" if draft.issue_type != "Task" or stream.chance(0.4) else "Done"):
            return
        if status == "In Review":
            if stream.chance(0.15):
                if not move(_span(stream, 6, 1.0), "In Progress"):
                    return
                continue  # rework, then review again
            if not move(_span(stream, 8, 1.0), "Done"):
                return
        draft.resolution, draft.resolution_date = "Done", now
        if not stream.chance(0.08):
            return
        # Reopened: Jira clears the resolution; it is set again if the issue is closed again.
        if not move(_span(stream, 48, 1.0), "In Progress"):
            return
        draft.resolution, draft.resolution_date = None, None


def _noise(stream: Stream, draft: _Draft, seen_at: dt.datetime, team: list[Developer]) -> None:
    """Changelog entries that are not transitions: an assignee change, a re-estimate."""
    if draft.assignee is not None and stream.chance(0.1):
        when = draft.created_at + _span(stream, 4, 1.0)
        other = stream.choice(team).login
        if when < seen_at and other != draft.assignee:
            draft.events.append((when, draft.reporter, "assignee", other, draft.assignee))
    if draft.story_points is not None and stream.chance(0.15):
        when = draft.created_at + _span(stream, 2, 1.0)
        if when < seen_at:
            draft.events.append((when, draft.assignee or draft.reporter, "Story Points", None, f"{draft.story_points:g}"))


def _team_issues(org: Organisation, project: JiraProject, team: list[Developer]) -> list[_Draft]:
    config, seed = org.config, org.seed
    seen_at = horizon(config)
    with_account = [d for d in team if d.jira_account_id]
    drafts: list[_Draft] = []
    if not with_account:
        return drafts
    lead = next((d for d in with_account if d.login == project.lead), with_account[0])
    for developer in with_account:
        for week in range(config.weeks):
            monday = config.start_date + dt.timedelta(weeks=week)
            stream = Stream(seed, "jira", developer.login, week)
            for n in range(stream.poisson(ISSUES_PER_WEEK * developer.busyness)):
                day = monday + dt.timedelta(days=stream.integer(0, 4))
                created = work_time(stream, day, config.working_hours_share)
                if created >= seen_at:
                    continue
                issue_type = stream.weighted([t for t, _ in ISSUE_TYPES], [w for _, w in ISSUE_TYPES])
                assigned = stream.chance(0.88)
                points = None
                if issue_type == "Story" or (issue_type == "Task" and stream.chance(0.5)):
                    points = stream.choice(STORY_POINTS)
                components = tuple(sorted(stream.sample(project.components, stream.integer(0, 2))))
                draft = _Draft(
                    project=project,
                    issue_type=issue_type,
                    summary=f"{stream.choice(SUMMARY_VERBS)} {stream.choice(SUMMARY_NOUNS)}",
                    priority=stream.weighted([p for p, _ in PRIORITIES], [w for _, w in PRIORITIES]),
                    assignee=developer.login if assigned else None,
                    reporter=developer.login if stream.chance(0.7) else lead.login,
                    story_points=points,
                    components=components,
                    labels=("tech-debt",) if stream.chance(0.1) else (),
                    created_at=created,
                    events=[],
                    resolution=None,
                    resolution_date=None,
                    with_sprint=assigned or stream.chance(0.3),
                    tiebreak=f"{developer.login}/{week}/{n}",
                )
                _workflow(stream, draft, seen_at)
                _noise(stream, draft, seen_at, with_account)
                drafts.append(draft)
    return drafts


def _incident_owners(incident, team_of_repo: dict[str, str], projects: dict[str, JiraProject],
                     teams: dict[str, list[Developer]]) -> tuple[JiraProject, list[Developer]] | None:
    """The project of the team owning the incident's repository and its people with a Jira account; None
    when the team has no project or nobody in it could report in Jira."""
    team_id = team_of_repo.get(incident.repository)
    project = projects.get(team_id or "")
    responders = [d for d in teams.get(team_id or "", []) if d.jira_account_id]
    return None if project is None or not responders else (project, responders)


def _incident_draft(project: JiraProject, incident, responder: str, created_at: dt.datetime,
                    labels: tuple[str, ...], **which) -> _Draft:
    """An Incident issue about `incident`, reported and owned by `responder`; `which` says which record it is
    (incident_id and tiebreak for the incident's own issue; duplicate_of and the pasted link for a second
    report)."""
    return _Draft(
        project=project,
        issue_type="Incident",
        summary=incident.title,
        priority="Highest" if incident.urgency == "high" else "Medium",
        assignee=responder,
        reporter=responder,
        story_points=None,
        components=(incident.service,) if incident.service in project.components else (),
        labels=labels,
        created_at=created_at,
        events=[],
        resolution=None,
        resolution_date=None,
        with_sprint=False,
        **which,
    )


def _incident_issues(org: Organisation, projects: dict[str, JiraProject], teams: dict[str, list[Developer]]) -> list[_Draft]:
    """The organisation's incidents reported in Jira (`Incident.source == "jira"`), one issue each."""
    seen_at = horizon(org.config)
    team_of_repo = {repo.full_name: repo.team_id for repo in org.repository_details}
    drafts = []
    for incident in getattr(org, "incidents", None) or []:
        if incident.source != "jira":
            continue
        owners = _incident_owners(incident, team_of_repo, projects, teams)
        if owners is None:
            continue
        project, responders = owners
        stream = Stream(org.seed, "jira-incident", incident.incident_id)
        responder = stream.choice(responders).login
        labels = ["incident", f"service-{incident.service}"]
        if incident.explicit_link and incident.caused_by_deployment_id is not None:
            labels.append(f"deployment-{incident.caused_by_deployment_id}")
        draft = _incident_draft(project, incident, responder, incident.created_at, tuple(sorted(labels)),
                                incident_id=incident.incident_id, tiebreak=incident.incident_id)
        status = "To Do"
        started = incident.acknowledged_at
        if started is None and incident.resolved_at is not None:
            started = min(incident.created_at + dt.timedelta(minutes=5), incident.resolved_at)
        if started is not None and started < seen_at:
            draft.events.append((started, responder, "status", status, "In Progress"))
            status = "In Progress"
        if incident.resolved_at is not None and incident.resolved_at < seen_at:
            draft.events.append((incident.resolved_at, responder, "status", status, "Done"))
            draft.resolution, draft.resolution_date = "Done", incident.resolved_at
        drafts.append(draft)
    return drafts + _duplicate_issues(org, projects, teams)


def _duplicate_issues(org: Organisation, projects: dict[str, JiraProject], teams: dict[str, list[Developer]]) -> list[_Draft]:
    """Second reports in Jira of outages PagerDuty paged: an Incident issue in the owning team's project
    (skipped, like any Jira incident, when the team has no project or no one with a Jira account)."""
    seen_at = horizon(org.config)
    team_of_repo = {repo.full_name: repo.team_id for repo in org.repository_details}
    by_id = {incident.incident_id: incident for incident in org.incidents}
    drafts = []
    for report in duplicate_reports(org.config, org.seed, org.incidents):
        if report.tool != "jira":
            continue
        incident = by_id[report.incident_id]
        owners = _incident_owners(incident, team_of_repo, projects, teams)
        if owners is None:
            continue
        project, responders = owners
        responder = Stream(org.seed, "jira-incident-duplicate", incident.incident_id).choice(responders).login
        draft = _incident_draft(
            project, incident, responder, report.created_at, ("incident", f"service-{incident.service}"),
            tiebreak=f"{incident.incident_id}/duplicate", duplicate_of=incident.incident_id,
            pagerduty_url=pagerduty_incident_url(org.github_org, incident) if report.names_pagerduty else None,
        )
        started = report.created_at + dt.timedelta(minutes=2)
        status = "To Do"
        if started < seen_at and (report.resolved_at is None or started < report.resolved_at):
            draft.events.append((started, responder, "status", status, "In Progress"))
            status = "In Progress"
        if report.resolved_at is not None:
            draft.events.append((report.resolved_at, responder, "status", status, "Done"))
            draft.resolution, draft.resolution_date = "Done", report.resolved_at
        drafts.append(draft)
    return drafts


def generate_jira(org: Organisation) -> JiraWorld:
    """Build the Jira world of an organisation (deterministic; a few seconds for `medium`).

    The cyclic garbage collector is paused meanwhile: the world is ~10^5 small acyclic objects, and
    collections triggered by allocating them would walk the whole organisation again and again.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _generate(org)
    finally:
        if collecting:
            gc.enable()


def _generate(org: Organisation) -> JiraWorld:
    projects = jira_projects(org)
    by_team = {p.team_id: p for p in projects}
    teams: dict[str, list[Developer]] = {}
    for d in org.developers:
        teams.setdefault(d.team_id, []).append(d)
    sprints = _sprints(org, projects)
    drafts: list[_Draft] = []
    for project in projects:
        drafts.extend(_team_issues(org, project, teams.get(project.team_id, [])))
    drafts.extend(_incident_issues(org, by_team, teams))

    # Keys number each project's issues by creation; ids and history ids are global, by creation too.
    drafts.sort(key=lambda d: (d.created_at, d.project.key, d.tiebreak))
    numbers: dict[str, int] = {}
    next_history = 10_000
    issues = []
    for index, draft in enumerate(drafts):
        numbers[draft.project.key] = numbers.get(draft.project.key, 0) + 1
        draft.events.sort(key=lambda e: e[0])
        histories = []
        for at, author, field, before, after in draft.events:
            histories.append(JiraHistory(next_history, author, at, field, before, after))
            next_history += 1
        sprint_ids: tuple[int, ...] = ()
        if draft.with_sprint:
            project_sprints = sprints[draft.project.key]
            first = _sprint_at(project_sprints, draft.created_at, org.start_date)
            if draft.resolution_date is not None:
                last = _sprint_at(project_sprints, draft.resolution_date, org.start_date)
            else:
                # Unfinished work rolls over into later sprints, for a few sprints at most.
                current = _sprint_at(project_sprints, horizon(org.config) - dt.timedelta(seconds=1), org.start_date)
                last = max(first, min(current, first + 3))
            sprint_ids = tuple(s.sprint_id for s in project_sprints[first : max(first, last) + 1][-3:])
        issues.append(
            JiraTicket(
                issue_id=10_000 + index,
                key=f"{draft.project.key}-{numbers[draft.project.key]}",
                project_key=draft.project.key,
                issue_type=draft.issue_type,
                summary=draft.summary,
                priority=draft.priority,
                assignee=draft.assignee,
                reporter=draft.reporter,
                story_points=draft.story_points,
                sprint_ids=sprint_ids,
                components=draft.components,
                labels=draft.labels,
                created_at=draft.created_at,
                resolution=draft.resolution,
                resolution_date=draft.resolution_date,
                histories=tuple(histories),
                incident_id=draft.incident_id,
                duplicate_of=draft.duplicate_of,
                pagerduty_url=draft.pagerduty_url,
            )
        )
    return JiraWorld(
        projects=tuple(projects),
        sprints={s.sprint_id: s for group in sprints.values() for s in group},
        issues=tuple(issues),
        developers={d.login: d for d in org.developers},
    )


def _hours(start: dt.datetime | None, end: dt.datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() / HOUR


def jira_truth(world: JiraWorld) -> list[tuple[str, list[str], list[list[object]]]]:
    """The answer key of the Jira world: (file name, header, rows) for `jira_issues.csv` and
    `jira_transitions.csv`, with DESIGN section 5's started_at, resolved_at, lead and cycle hours."""
    issues, transitions = [], []
    for issue in world.issues:
        assignee = world.developers[issue.assignee] if issue.assignee else None
        deployments = [int(label.split("-", 1)[1]) for label in issue.labels if re.fullmatch(r"deployment-\d+", label)]
        started, resolved = issue.started_at, issue.resolved_at
        sprint = world.sprints[issue.sprint_ids[-1]].name if issue.sprint_ids else None
        issues.append([
            issue.issue_id, issue.key, issue.project_key, issue.issue_type, issue.status, STATUS_CATEGORY[issue.status],
            issue.priority, issue.created_at, issue.updated_at, started, resolved, _hours(issue.created_at, resolved),
            _hours(started, resolved), assignee.email if assignee else None,
            assignee.jira_account_id if assignee else None, issue.story_points, sprint, issue.resolution,
            issue.incident_id, deployments[0] if len(deployments) == 1 else None, issue.duplicate_of,
        ])
        for history in issue.transitions:
            transitions.append([
                issue.issue_id, issue.key, history.history_id, history.at, history.from_value, history.to_value,
                STATUS_CATEGORY[history.to_value or "To Do"],
            ])
    return [
        ("jira_issues.csv",
         ["issue_id", "key", "project_key", "type", "status", "status_category", "priority", "created_at", "updated_at",
          "started_at", "resolved_at", "lead_hours", "cycle_hours", "assignee_email", "assignee_account_id",
          "story_points", "sprint", "resolution", "incident_id", "linked_deployment_id", "duplicate_of_incident_id"],
         issues),
        ("jira_transitions.csv",
         ["issue_id", "issue_key", "history_id", "created_at", "from_status", "to_status", "to_status_category"],
         transitions),
    ]
