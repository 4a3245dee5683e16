"""The demo: the bundled sandbox organisation, served on loopback, configured like a real source.

The demo writes an `impact.yaml` that points every source at the running sandbox with secrets as
`${ENV_VAR}` references, so `impact demo` exercises exactly the path a user's own configuration takes.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import yaml

from analysis.report import headline_sentence, pick_headline_rows
from sandbox.ground_truth import write_ground_truth, write_transcript_truth
from sandbox.jira_issues import jira_projects
from sandbox.incidents import team_tool
from sandbox.organisation import Organisation

SANDBOX_TOKEN_VARIABLE = "IMPACT_SANDBOX_TOKEN"
SANDBOX_TOKEN = "sandbox-token"


def sandbox_config(
    org: Organisation, server_url: str, *, warehouse: Path, teams_file: Path, reports_dir: Path,
    transcripts_dir: Path | None = None, team_budgets: dict[str, float] | None = None,
) -> dict[str, object]:
    """An impact.yaml mapping whose sources all point at the sandbox at `server_url` (and, when given, at
    the sandbox's Claude Code transcripts in `transcripts_dir`: one subfolder per developer's e-mail)."""
    reference = f"${{{SANDBOX_TOKEN_VARIABLE}}}"
    mapping: dict[str, object] = {
        "start_date": org.start_date.isoformat(),
        "end_date": org.end_date.isoformat(),
        "warehouse": str(warehouse),
        "reports_dir": str(reports_dir),
        "teams": str(teams_file),
        "github": {"api_url": server_url, "token": reference, "orgs": [org.github_org]},
        "anthropic": {"api_url": server_url, "admin_key": reference},
        # PagerDuty's REST API is served under /pagerduty (the real root is https://api.pagerduty.com).
        "pagerduty": {
            "api_url": f"{server_url}/pagerduty",
            "token": reference,
            "service_repositories": {
                repo.name: repo.full_name for repo in org.repository_details
                if team_tool(org.config, org.seed, repo.team_id) == "pagerduty"
            },
        },
        "incidents": {"github_labels": ["incident"], "jira_issue_types": ["Incident"], "link_window_hours": 24},
        # Jira Cloud style (an e-mail: basic auth with an API token, REST v3), one project per team.
        "jira": {
            "url": server_url,
            "email": f"impact@{org.config.email_domain}",
            "token": reference,
            "projects": [project.key for project in jira_projects(org)],
        },
    }
    if transcripts_dir is not None:
        mapping["claude_code"] = {"transcripts": [{"path": str(transcripts_dir)}]}
    if team_budgets:
        mapping["budgets"] = {"teams": dict(team_budgets)}  # exactly one team over (sandbox.ai_spend)
    return mapping


def write_sandbox_config(
    org: Organisation, server_url: str, config_path: Path, *, warehouse: Path, reports_dir: Path
) -> Path:
    """Write the config and the organisation's ground truth (its team mapping included) beside it, and
    the organisation's Claude Code session transcripts in `transcripts/` beside it (with their answer key,
    transcript_usage.csv and transcript_daily.csv, in the ground truth folder)."""
    from sandbox.ai_spend import demo_budgets, write_spend_truth
    from sandbox.otel import write_otel_export, write_otel_truth
    from sandbox.transcripts import write_transcripts  # generating transcripts is only needed here

    config_path = Path(config_path).resolve()
    truth_dir = config_path.parent / "ground_truth"
    transcripts_dir = config_path.parent / "transcripts"
    write_ground_truth(org, truth_dir)
    shutil.rmtree(transcripts_dir, ignore_errors=True)  # the demo's own folder: no stale sessions of another seed
    world = write_transcripts(org, transcripts_dir)
    write_transcript_truth(org, truth_dir, world)
    budgets = demo_budgets(org, world)
    write_spend_truth(org, world, truth_dir, budgets)
    otel_dir = config_path.parent / "otel"
    shutil.rmtree(otel_dir, ignore_errors=True)
    write_otel_truth(write_otel_export(org, otel_dir), truth_dir)  # one team ships telemetry too: the same usage the report has, plus active time
    mapping = sandbox_config(
        org, server_url, warehouse=Path(warehouse).resolve(), teams_file=truth_dir / "team_mapping.csv",
        reports_dir=Path(reports_dir).resolve(), transcripts_dir=transcripts_dir, team_budgets=budgets,
    )
    mapping.setdefault("claude_code", {})["otel_exports"] = [str(otel_dir)]  # type: ignore[index]
    config_path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# Written by Impact Warehouse for the local sandbox: every source points at it.\n"
        f"# Secrets are environment references; the sandbox accepts any non-empty {SANDBOX_TOKEN_VARIABLE}.\n"
    )
    config_path.write_text(header + yaml.safe_dump(mapping, sort_keys=False))
    os.environ.setdefault(SANDBOX_TOKEN_VARIABLE, SANDBOX_TOKEN)
    return config_path


def summary_lines(warehouse: Path, report: Path) -> list[str]:
    """Three lines for the terminal: the population, the headline estimate, where things are."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        developers, adopters = con.execute(
            "select count(*), count(ai_adopted_at) from marts.dim_developer"
        ).fetchone()
        merged, spend = con.execute(
            "select (select count(*) from marts.fct_pull_requests where merged_at is not null),"
            " (select coalesce(sum(cost_usd), 0) from marts.fct_ai_usage_daily)"
        ).fetchone()
        estimates = con.execute("select * from analysis.impact_estimates where outcome = 'review_hours'").df()
    lines = [
        f"{developers} developers, {adopters} adopted Claude Code; {merged:,} merged PRs; AI spend ${spend:,.0f}",
    ]
    if not estimates.empty:
        # The same estimate and words the report leads with.
        [best] = pick_headline_rows(estimates)
        lines.append(f"{headline_sentence(best)} [{best['estimator']}]")
    lines.append(f"warehouse: {warehouse}   report: {report}")
    return lines
