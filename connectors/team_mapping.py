"""The organisation's team mapping file: who is who across tools, and which team they are in.

Transcripts and the Admin API know people by email, GitHub by login, Jira by account id; this file is
the first and most trusted source of identity resolution. CSV (one row per person) or YAML (a list of
the same mappings under `people:`) are both read.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import yaml

from connectors.http import SourceError
from connectors.records import TeamMember

SOURCE = "teams"
REQUIRED = ("email", "team_id")


def _clean(value: Any) -> str | None:
    text = str(value).strip() if value is not None else ""
    return text or None


def _member(row: dict[str, Any], where: str) -> TeamMember:
    missing = [key for key in REQUIRED if not _clean(row.get(key))]
    if missing:
        raise SourceError(
            SOURCE, f"{where} lacks {', '.join(missing)}",
            "Every person needs an email and a team_id; fix the row and run again",
        )
    email = str(_clean(row["email"])).lower()
    team_id = str(_clean(row["team_id"]))
    return TeamMember(
        email=email,
        display_name=_clean(row.get("display_name")) or email,
        team_id=team_id,
        team_name=_clean(row.get("team_name")) or team_id,
        parent_team_id=_clean(row.get("parent_team_id")),
        github_login=_clean(row.get("github_login")),
        jira_account_id=_clean(row.get("jira_account_id")),
        role=_clean(row.get("role")),
        seniority=_clean(row.get("seniority")),
    )


def read_team_mapping(path: Path) -> list[TeamMember]:
    """Every person of the mapping file; an error names the file and row to fix."""
    if not path.exists():
        raise SourceError(SOURCE, f"the team mapping file {path} does not exist", "Fix 'teams:' in impact.yaml")
    if path.suffix.lower() in (".yaml", ".yml"):
        data = yaml.safe_load(path.read_text()) or {}
        rows = data.get("people", []) if isinstance(data, dict) else data
        members = [_member(row, f"{path} person {i + 1}") for i, row in enumerate(rows)]
    else:
        with path.open(newline="") as handle:
            members = [_member(row, f"{path} line {i + 2}") for i, row in enumerate(csv.DictReader(handle))]
    seen: dict[str, int] = {}
    for index, member in enumerate(members):
        if member.email in seen:
            raise SourceError(
                SOURCE, f"{path} lists {member.email} twice (entries {seen[member.email] + 1} and {index + 1})",
                "Keep one entry per person",
            )
        seen[member.email] = index
    return members
