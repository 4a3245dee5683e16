"""The answer key: CSV files (and the planted effects) the pipeline's output is checked against.

Timestamps are written "YYYY-MM-DD HH:MM:SS" in UTC, hours as floats, empty cells for nulls;
rows are in a fixed order so that the same organisation always writes the same bytes.

Incidents and change failure (see `sandbox.incidents` for how they are generated and named):
- `incidents.csv`, one row per incident: incident_id (the sandbox's own), source (pagerduty | github |
  jira), source_id as the source shows it (PagerDuty incident id, "owner/repo#number" for a GitHub
  issue, the Jira issue key), repository, service, title, urgency,
  created_at, acknowledged_at, resolved_at (empty while open at the horizon), restore_hours,
  caused_by_deployment_id (the true cause; empty when no deployment caused it), explicit_link (the
  record names the deployment), linked_deployment_id (what DESIGN.md section 5's rule gives with the
  default 24 h window: the explicit link, else the most recent successful production deployment of the
  repository that finished before the incident, at most 24 h before) and
  linked_deployment_id_no_window (the same rule without the window: DevLake's). Each row is one
  outage: the columns above describe its first report (the tool its team reports in); an outage
  PagerDuty paged may also have been reported again in Jira or GitHub (`incident_duplicates.csv`), so
  the row ends with duplicate_count (its other reports), also_reported_in (their tools, sorted,
  comma-joined), and the outage's outage_created_at (earliest report), outage_resolved_at (open while
  the page is open, else the latest resolution among its reports) and outage_restore_hours: what
  fct_incidents must show per outage, and what MTTR is the median of.
- `incident_duplicates.csv`, one row per second report: incident_id (the outage), primary_source_id
  (its PagerDuty incident id), source (github | jira), source_id ("owner/repo#number" or the Jira key),
  repository, created_at, resolved_at, names_pagerduty_incident (the body/description pastes the
  PagerDuty incident's link) and minutes_after_page.
- `deployments.csv` also has is_rollback (a successful production deployment of a sha an earlier
  success already shipped), rolled_back (a rollback replaced it), caused_incident_id (the first
  incident it truly caused), linked_incident_id (the first incident the 24 h rule blames on it) and
  is_change_failure (successful production deployment with a linked incident or rolled back: CFR's
  numerator under the default configuration; its denominator is every successful production deployment).

Pull requests: `pull_requests.csv`, one row per PR with its stages (DESIGN.md section 5) and
opened_as_draft, is_draft (GitHub's `draft` flag at the horizon: opened as draft and never marked
ready, which a closed draft keeps) and ready_for_review_at (the `ready_for_review` event of a PR opened
as draft). For a PR opened as draft, coding ends and pickup starts at ready_for_review_at (both null
while it is still a draft), so coding + pickup + review = cycle holds for every PR. is_bot marks the
dependency bots' PRs (dependabot[bot], renovate[bot]: GitHub type "Bot"): they are PRs like any other
here (stages, deployments, DORA), but no developer's, so developer metrics and the causal panel leave
them out (their authors are in no team mapping). is_revert / reverted_pr_number: a PR made with
GitHub's revert button (title `Revert "<title>"`, body `Reverts <org>/<repo>#<n>`, head
`revert-<n>-<branch>`) and the number of the PR it reverts. self_review_count: COMMENTED reviews the
author left on their own PR (before the first real review); they are neither pickup nor review_count.

Jira (see `sandbox.jira_issues`): `jira_issues.csv`, one row per issue: issue_id, key, project_key, type
(Story | Task | Bug | Incident), status, status_category, priority, created_at, updated_at, started_at
(first transition into an In Progress category status), resolved_at (the resolution date, else the last
transition into Done), lead_hours, cycle_hours, assignee_email, assignee_account_id, story_points, sprint
(the latest), resolution, incident_id (the sandbox incident an Incident issue reports) and
linked_deployment_id (its `deployment-<id>` label). `jira_transitions.csv`: one row per status change.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from sandbox.incidents import (
    DuplicateReport, duplicate_issue_numbers, duplicate_reports, github_issue_numbers, github_source_id,
    link_incidents, outage_resolved_at, pagerduty_incident_id, rollbacks,
)
from sandbox.metrics import adoption_week, hours, link_deployments, pull_request_facts
from sandbox.organisation import Organisation
from sandbox.pull_requests import effect_scale

if TYPE_CHECKING:
    from sandbox.transcripts import TranscriptWorld


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _write(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow([_cell(value) for value in row])


def adopted_weeks(org: Organisation) -> dict[str, dt.date | None]:
    """Each developer's ai_adopted_at by the adoption rule, from the usage the report serves."""
    dates: dict[str, list[dt.date]] = {d.email: [] for d in org.developers}
    for day in org.usage:
        dates[day.email].append(day.date)
    return {email: adoption_week(days) for email, days in dates.items()}


def write_ground_truth(org: Organisation, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    teams = {t.team_id: t for t in org.teams}

    _write(
        folder / "team_mapping.csv",
        ["email", "display_name", "team_id", "team_name", "parent_team_id", "github_login",
         "jira_account_id", "role", "seniority"],
        (
            [d.email, d.display_name, d.team_id, teams[d.team_id].name, teams[d.team_id].parent_team_id,
             d.login, d.jira_account_id, d.role, d.seniority]
            for d in org.developers
        ),
    )

    adopted = adopted_weeks(org)
    _write(
        folder / "developers.csv",
        ["email", "github_login", "team_id", "seniority", "planned_adoption_week", "ai_adopted_at"],
        ([d.email, d.login, d.team_id, d.seniority, d.planned_adoption_week, adopted[d.email]] for d in org.developers),
    )

    pr_rows, deployment_rows = [], []
    linked = link_incidents(org.incidents, org.deployments)
    caused_incident: dict[int, str] = {}
    linked_incident: dict[int, str] = {}
    for incident in org.incidents:  # by created_at: the first incident of a deployment wins
        if incident.caused_by_deployment_id is not None:
            caused_incident.setdefault(incident.caused_by_deployment_id, incident.incident_id)
        if linked[incident.incident_id] is not None:
            linked_incident.setdefault(linked[incident.incident_id], incident.incident_id)
    for repo in org.repositories:
        rolled = rollbacks(org.deployments[repo])
        rolled_back = set(rolled.values())
        links = link_deployments(org.main_commits[repo], org.deployments[repo])
        for pr in org.pull_requests[repo]:
            f = pull_request_facts(pr, links, org.deleted_logins)
            pr_rows.append([
                repo, pr.number, pr.author_login, pr.state, pr.created_at, f.first_commit_at, f.first_review_at,
                pr.merged_at, pr.closed_at, f.first_deployed_at, f.coding_hours, f.pickup_hours, f.review_hours,
                f.deploy_hours, f.cycle_hours, f.lead_time_hours, f.review_count, pr.is_treated, pr.additions,
                pr.deletions, pr.head_ref, pr.merge_commit_sha, pr.opened_as_draft, pr.is_draft,
                pr.ready_for_review_at, pr.is_bot, pr.reverted_pr_number is not None, pr.reverted_pr_number,
                sum(
                    1 for r in pr.reviews if r.reviewer_login == pr.author_login and pr.author_login not in org.deleted_logins
                ),
                pr.author_login in org.deleted_logins,
            ])
        for d in org.deployments[repo]:
            shipped = d.environment == "production" and d.deployed_at is not None
            deployment_rows.append([
                d.deployment_id, repo, d.environment, d.sha, d.created_at, d.final_state, d.deployed_at,
                links.change_count.get(d.deployment_id), d.deployment_id in rolled, d.deployment_id in rolled_back,
                caused_incident.get(d.deployment_id), linked_incident.get(d.deployment_id),
                shipped and (d.deployment_id in linked_incident or d.deployment_id in rolled_back),
            ])
    _write(
        folder / "pull_requests.csv",
        ["repository", "number", "author_login", "state", "created_at", "first_commit_at", "first_review_at",
         "merged_at", "closed_at", "first_deployed_at", "coding_hours", "pickup_hours", "review_hours",
         "deploy_hours", "cycle_hours", "lead_time_hours", "review_count", "is_treated", "additions", "deletions",
         "head_branch", "merge_commit_sha", "opened_as_draft", "is_draft", "ready_for_review_at", "is_bot",
         "is_revert", "reverted_pr_number", "self_review_count", "author_account_deleted"],
        pr_rows,
    )
    _write(
        folder / "deployments.csv",
        ["deployment_id", "repository", "environment", "sha", "created_at", "status", "deployed_at", "change_count",
         "is_rollback", "rolled_back", "caused_incident_id", "linked_incident_id", "is_change_failure"],
        sorted(deployment_rows, key=lambda row: row[0]),
    )
    write_incident_truth(org, folder)

    _write(
        folder / "ai_usage_daily.csv",
        ["email", "date", "model", "input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens",
         "cost_usd"],
        (
            [day.email, day.date, m.model, m.input_tokens, m.output_tokens, m.cache_read_tokens,
             m.cache_creation_tokens, f"{m.cost_cents / 100:.2f}"]
            for day in org.usage
            for m in day.models
        ),
    )
    _write(
        folder / "ai_actor_days.csv",
        ["email", "date", "sessions", "lines_added", "lines_removed", "commits", "pull_requests", "edits_accepted",
         "edits_rejected"],
        (
            [day.email, day.date, day.sessions, day.lines_added, day.lines_removed, day.commits, day.pull_requests,
             day.edits_accepted, day.edits_rejected]
            for day in org.usage
        ),
    )

    # Jira: issues with DESIGN section 5's started/resolved/lead/cycle, and every status transition.
    from sandbox.jira_issues import generate_jira, jira_truth  # the Jira world is only built where needed

    for name, header, rows in jira_truth(generate_jira(org)):
        _write(folder / name, header, rows)

    effects = {
        "review_hours_log_effect": org.config.review_effect,
        "pickup_hours_log_effect": org.config.pickup_effect,
        "coding_hours_log_effect": org.config.coding_effect,
        "prs_per_week_log_effect": org.config.throughput_effect,
        "effect_ramp_weeks": org.config.effect_ramp_weeks,
        "effect_cohort_gradient": org.config.effect_cohort_gradient,
        # share of the full effects each adoption cohort reaches once ramped up (1.0 when homogeneous)
        "cohort_effect_scale": {
            str(week): round(effect_scale(org.config, dev, week + dt.timedelta(weeks=10_000)), 6)
            for dev in org.developers
            for week in [dev.planned_adoption_week]
            if week is not None
        },
        "preset": org.preset,
        "seed": org.seed,
        "observed_at": _cell(org.observed_at),
        "adopters": sum(1 for d in org.developers if d.planned_adoption_week is not None),
        "developers": len(org.developers),
        "knobs": org.config.to_json(),
    }
    (folder / "planted_effects.json").write_text(json.dumps(effects, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return folder


def incident_source_ids(org: Organisation) -> dict[str, str | None]:
    """incident_id -> the id its source shows: PagerDuty id, "owner/repo#number", or the Jira key."""
    from sandbox.jira_issues import generate_jira  # the Jira layer numbers its issues

    numbers = github_issue_numbers(org.incidents, org.pull_requests)
    jira_keys = (
        {t.incident_id: t.key for t in generate_jira(org).issues if t.incident_id}
        if any(i.source == "jira" for i in org.incidents) else {}
    )
    result: dict[str, str | None] = {}
    for incident in org.incidents:
        if incident.source == "pagerduty":
            result[incident.incident_id] = pagerduty_incident_id(incident)
        elif incident.source == "github":
            result[incident.incident_id] = github_source_id(incident, numbers)
        else:
            result[incident.incident_id] = jira_keys.get(incident.incident_id)
    return result


def served_duplicate_reports(org: Organisation) -> list[tuple[DuplicateReport, str]]:
    """The second reports the sandbox serves, each with its source id ("owner/repo#number" or Jira key)."""
    reports = duplicate_reports(org.config, org.seed, org.incidents)
    by_id = {incident.incident_id: incident for incident in org.incidents}
    numbers = duplicate_issue_numbers(org.incidents, org.pull_requests, reports)
    jira_keys: dict[str, str] = {}
    if any(r.tool == "jira" for r in reports):
        from sandbox.jira_issues import generate_jira  # the Jira layer numbers (and may skip) its issues

        jira_keys = {t.duplicate_of: t.key for t in generate_jira(org).issues if t.duplicate_of}
    served = []
    for report in reports:
        if report.tool == "github":
            served.append((report, f"{by_id[report.incident_id].repository}#{numbers[report.incident_id]}"))
        elif report.incident_id in jira_keys:
            served.append((report, jira_keys[report.incident_id]))
    return served


def write_incident_truth(org: Organisation, folder: Path) -> None:
    """`incidents.csv` and `incident_duplicates.csv` (see the module docstring)."""
    linked = link_incidents(org.incidents, org.deployments)
    unwindowed = link_incidents(org.incidents, org.deployments, window_hours=None)
    source_ids = incident_source_ids(org)
    served = served_duplicate_reports(org)
    reports_of: dict[str, list[DuplicateReport]] = {}
    for report, _ in served:
        reports_of.setdefault(report.incident_id, []).append(report)

    def outage(i) -> list[object]:  # noqa: ANN001 - sandbox.entities.Incident
        reports = reports_of.get(i.incident_id, [])
        created = min([i.created_at, *(r.created_at for r in reports)])
        resolved = outage_resolved_at(i, reports)
        return [len(reports), ",".join(sorted({r.tool for r in reports})) or None, created, resolved,
                hours(created, resolved)]

    _write(
        folder / "incidents.csv",
        ["incident_id", "source", "source_id", "repository", "service", "title", "urgency", "created_at",
         "acknowledged_at", "resolved_at", "restore_hours", "caused_by_deployment_id", "explicit_link",
         "linked_deployment_id", "linked_deployment_id_no_window", "duplicate_count", "also_reported_in",
         "outage_created_at", "outage_resolved_at", "outage_restore_hours"],
        (
            [i.incident_id, i.source, source_ids[i.incident_id], i.repository, i.service, i.title, i.urgency,
             i.created_at, i.acknowledged_at, i.resolved_at, hours(i.created_at, i.resolved_at),
             i.caused_by_deployment_id, i.explicit_link, linked[i.incident_id], unwindowed[i.incident_id],
             *outage(i)]
            for i in org.incidents
        ),
    )
    by_id = {incident.incident_id: incident for incident in org.incidents}
    _write(
        folder / "incident_duplicates.csv",
        ["incident_id", "primary_source_id", "source", "source_id", "repository", "created_at", "resolved_at",
         "names_pagerduty_incident", "minutes_after_page"],
        (
            [r.incident_id, source_ids[r.incident_id], r.tool, source_id, by_id[r.incident_id].repository,
             r.created_at, r.resolved_at, r.names_pagerduty,
             round((r.created_at - by_id[r.incident_id].created_at).total_seconds() / 60, 3)]
            for r, source_id in served
        ),
    )


def _transcript_time(value: dt.datetime) -> str:
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def write_transcript_truth(org: Organisation, folder: str | Path, world: TranscriptWorld | None = None) -> Path:
    """The answer key of the transcripts `sandbox.transcripts.write_transcripts` writes for `org`.

    `transcript_usage.csv`: one row per counted API response (final numbers; cost from `costUSD` where
    the line carries it, else list prices with the 5m/1h cache split). `transcript_daily.csv`: totals per
    developer x UTC day x model, cost rounded to the cent. Separate from `write_ground_truth` because
    generating every transcript is work the other answer files do not need. Pass the `world` that
    `write_transcripts` returned to skip generating the transcripts a second time.
    """
    from sandbox.transcripts import generate_transcripts  # the transcripts module imports this one's siblings

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    responses = sorted(
        (world or generate_transcripts(org)).responses, key=lambda r: (r.email, r.timestamp, r.message_id, r.request_id or "")
    )
    _write(
        folder / "transcript_usage.csv",
        ["email", "session_id", "message_id", "request_id", "timestamp", "model", "input_tokens", "output_tokens",
         "cache_creation_tokens", "cache_read_tokens", "cache_creation_5m_tokens", "cache_creation_1h_tokens",
         "is_sidechain", "cwd", "git_branch", "cost_usd", "cost_source"],
        (
            [r.email, r.session_id, r.message_id, r.request_id, _transcript_time(r.timestamp), r.model,
             r.input_tokens, r.output_tokens, r.cache_creation_tokens, r.cache_read_tokens, r.cache_creation_5m,
             r.cache_creation_1h, r.is_sidechain, r.cwd, r.git_branch, f"{r.cost_usd:.10f}", r.cost_source]
            for r in responses
        ),
    )
    daily: dict[tuple[str, dt.date, str], list] = {}
    for r in responses:
        key = (r.email, r.timestamp.date(), r.model)
        totals = daily.setdefault(key, [0, 0, 0, 0, 0, 0.0])
        for index, value in enumerate(
            (1, r.input_tokens, r.output_tokens, r.cache_creation_tokens, r.cache_read_tokens, r.cost_usd)
        ):
            totals[index] += value
    _write(
        folder / "transcript_daily.csv",
        ["email", "date", "model", "responses", "input_tokens", "output_tokens", "cache_creation_tokens",
         "cache_read_tokens", "cost_usd"],
        ([*key, *totals[:5], f"{totals[5]:.2f}"] for key, totals in sorted(daily.items())),
    )
    return folder
