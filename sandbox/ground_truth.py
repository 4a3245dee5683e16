"""The answer key: CSV files (and the planted effects) the pipeline's output is checked against.

Timestamps are written "YYYY-MM-DD HH:MM:SS" in UTC, hours as floats, empty cells for nulls;
rows are in a fixed order so that the same organisation always writes the same bytes.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

from sandbox.metrics import adoption_week, link_deployments, pull_request_facts
from sandbox.organisation import Organisation

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
    for repo in org.repositories:
        links = link_deployments(org.main_commits[repo], org.deployments[repo])
        for pr in org.pull_requests[repo]:
            f = pull_request_facts(pr, links)
            pr_rows.append([
                repo, pr.number, pr.author_login, pr.state, pr.created_at, f.first_commit_at, f.first_review_at,
                pr.merged_at, pr.closed_at, f.first_deployed_at, f.coding_hours, f.pickup_hours, f.review_hours,
                f.deploy_hours, f.cycle_hours, f.lead_time_hours, f.review_count, pr.is_treated, pr.additions,
                pr.deletions, pr.head_ref, pr.merge_commit_sha,
            ])
        for d in org.deployments[repo]:
            deployment_rows.append([
                d.deployment_id, repo, d.environment, d.sha, d.created_at, d.final_state, d.deployed_at,
                links.change_count.get(d.deployment_id),
            ])
    _write(
        folder / "pull_requests.csv",
        ["repository", "number", "author_login", "state", "created_at", "first_commit_at", "first_review_at",
         "merged_at", "closed_at", "first_deployed_at", "coding_hours", "pickup_hours", "review_hours",
         "deploy_hours", "cycle_hours", "lead_time_hours", "review_count", "is_treated", "additions", "deletions",
         "head_branch", "merge_commit_sha"],
        pr_rows,
    )
    _write(
        folder / "deployments.csv",
        ["deployment_id", "repository", "environment", "sha", "created_at", "status", "deployed_at", "change_count"],
        sorted(deployment_rows, key=lambda row: row[0]),
    )

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

    effects = {
        "review_hours_log_effect": org.config.review_effect,
        "preset": org.preset,
        "seed": org.seed,
        "observed_at": _cell(org.observed_at),
        "adopters": sum(1 for d in org.developers if d.planned_adoption_week is not None),
        "developers": len(org.developers),
        "knobs": org.config.to_json(),
    }
    (folder / "planted_effects.json").write_text(json.dumps(effects, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return folder


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
