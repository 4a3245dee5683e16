"""Fixtures for the dbt project tests: a small hand-made raw landing and one real `dbt build` over it
per target: DuckDB (reads the Parquet landing) and PostgreSQL (a throwaway server on loopback, the
landing copied in by impact.postgres_loader).

The dataset is built to exercise the awkward cases of the staging, identity, stage, deployment,
adoption, incident, rollback, Jira and AI-cost rules; tests/dbt/test_dbt_build.py states the values each
case must produce, on both targets. Times are UTC unless a record says otherwise (Jira's `+0100`); the
calendar used is March 2024, whose Mondays are the 4th, 11th, 18th and 25th. The builds set
pagerduty.service_repositories to {"api-gateway": "hoco/api"} (IMPACT_PAGERDUTY_SERVICE_REPOSITORIES,
as impact.warehouse.dbt_environment does) and keep the default 24 h incident link window.

PostgreSQL comes from the distribution's server binaries (/usr/lib/postgresql/<version>/bin, package
`postgresql`): without them the PostgreSQL tests skip, and fail under CI=true.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import glob
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connectors.records import (
    ClaudeCodeActorDay,
    ClaudeCodeModelDay,
    ClaudeTranscriptMessage,
    GithubDeployment,
    GithubDeploymentCommit,
    GithubDeploymentStatus,
    GithubIssue,
    GithubPullRequest,
    GithubPullRequestCommit,
    GithubReview,
    JiraIssue,
    JiraStatusTransition,
    PagerdutyIncident,
    TeamMember,
)
from impact.landing import ensure_entity_folders, land_batch
from impact.postgres_loader import load_raw_to_postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")
#: pagerduty.service_repositories of the fixture's configuration
SERVICE_REPOSITORIES = {"api-gateway": "hoco/api"}
CET = dt.timezone(dt.timedelta(hours=1))  # Jira's `+0100`


def utc(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, minute, second, tzinfo=dt.timezone.utc)


def _pull_request(**overrides: object) -> GithubPullRequest:
    fields: dict[str, object] = dict(
        repository="hoco/api",
        title="",
        state="closed",
        draft=False,
        author_type="User",
        closed_at=None,
        merged_at=None,
        merge_commit_sha=None,
        head_ref="feature",
        base_ref="main",
        additions=10,
        deletions=2,
        changed_files=1,
    )
    fields.update(overrides)
    fields.setdefault("updated_at", fields.get("closed_at") or fields["created_at"])
    return GithubPullRequest(**fields)  # type: ignore[arg-type]


def _commit(repository: str, number: int, sha: str, authored_at: dt.datetime, login: str | None,
            email: str | None, message: str = "change") -> GithubPullRequestCommit:
    return GithubPullRequestCommit(repository=repository, pull_number=number, sha=sha, author_login=login,
                                   author_email=email, authored_at=authored_at,
                                   committed_at=authored_at, message=message)


def _review(review_id: int, number: int, login: str | None, state: str, submitted_at: dt.datetime | None,
            repository: str = "hoco/api") -> GithubReview:
    return GithubReview(id=review_id, repository=repository, pull_number=number, reviewer_login=login,
                        state=state, submitted_at=submitted_at)


def _actor_day(actor_id: str, day: int, sessions: int = 1, actor_type: str = "user_actor",
               **metrics: int) -> ClaudeCodeActorDay:
    values = dict(lines_added=10, lines_removed=1, commits=0, pull_requests=0, edits_accepted=5,
                  edits_rejected=1)
    values.update(metrics)
    return ClaudeCodeActorDay(date=dt.date(2024, 3, day), actor_type=actor_type, actor_id=actor_id,
                              organization_id="org-1", customer_type="api", terminal_type="vscode",
                              num_sessions=sessions, **values)


def _model_day(actor_id: str, day: int, model: str, cost: float, tokens: tuple[int, int, int, int] = (100, 200, 300, 40),
               actor_type: str = "user_actor") -> ClaudeCodeModelDay:
    return ClaudeCodeModelDay(date=dt.date(2024, 3, day), actor_type=actor_type, actor_id=actor_id,
                              model=model, input_tokens=tokens[0], output_tokens=tokens[1],
                              cache_read_tokens=tokens[2], cache_creation_tokens=tokens[3],
                              estimated_cost_usd=cost)


def _transcript(key: str, session: str, at: dt.datetime, output: int, cost: float, *, email: str | None = "alice@hoco.io",
                cwd: str = "/home/alice/src/api", branch: str = "feature/login", model: str = "claude-sonnet-4",
                sidechain: bool = False) -> ClaudeTranscriptMessage:
    return ClaudeTranscriptMessage(
        developer=email or "stranger", developer_email=email, session_id=session, message_id=key, request_id=f"req-{key}",
        uuid=f"uuid-{key}-{output}", dedup_key=f"{key}|req-{key}", timestamp=at, model=model, is_sidechain=sidechain,
        agent_id="agent-1" if sidechain else None, cwd=cwd, git_branch=branch, version="2.0.1",
        stop_reason="end_turn", input_tokens=10, output_tokens=output, cache_creation_input_tokens=20,
        cache_read_input_tokens=300, cache_creation_5m_tokens=20, cache_creation_1h_tokens=0, cost_usd=cost,
        cost_source="pricing", file=f"alice/projects/-home-alice-src-api/{session}.jsonl", line=1,
    )


def land_fixture_dataset(raw_root: Path) -> None:
    """Land the hand-made organisation: 4 people, 2 repositories, 6 PRs, 5 deployments, AI usage."""
    early = utc(4, 10)  # first sync
    late = dt.datetime(2024, 4, 1, tzinfo=dt.timezone.utc)  # second sync

    # --- team mapping: parent team `eng` has a member of its own (dave)
    land_batch(raw_root, "org/team_members", [
        TeamMember("alice@hoco.io", "Alice Able", "platform", "Platform", "eng", "alice", "jira-alice", "engineer", "senior"),
        TeamMember("bob@hoco.io", "Bob Baker", "platform", "Platform", "eng", "bob", "jira-bob", "engineer", "mid"),
        TeamMember("Carol@hoco.io", "Carol Chen", "payments", "Payments", "eng", "Carol-C", None, "engineer", "senior"),
        TeamMember("dave@hoco.io", "Dave Dunn", "eng", "Engineering", None, None, None, "manager", None),
    ], late)

    # --- pull requests. PR 1 lands twice: open in the first sync, merged in the second (latest wins).
    land_batch(raw_root, "github/pull_requests", [
        _pull_request(id=1001, number=1, title="WIP: login", state="open", author_login="alice",
                      created_at=utc(4, 9), updated_at=utc(4, 9, 30), head_ref="feature/login"),
    ], early)
    land_batch(raw_root, "github/pull_requests", [
        # merged before the repository's first (baseline) production deployment
        _pull_request(id=1001, number=1, title="Login flow", author_login="alice", created_at=utc(4, 9),
                      closed_at=utc(5, 15), merged_at=utc(5, 15), merge_commit_sha="m1",
                      head_ref="feature/login", additions=120, deletions=30, changed_files=5),
        # shipped by the second production deployment; a commit carries a Claude co-author trailer
        _pull_request(id=1002, number=2, title="Search", author_login="bob", created_at=utc(11, 10),
                      closed_at=utc(12, 16), merged_at=utc(12, 16), merge_commit_sha="m2",
                      head_ref="feature/search", additions=40, deletions=5, changed_files=2),
        # reviewed an hour before it was opened (clock skew); only ever deployed to staging
        _pull_request(id=1003, number=3, title="Fix timezone", author_login="carol-c", created_at=utc(18, 9),
                      closed_at=utc(19, 11), merged_at=utc(19, 11), merge_commit_sha="m3", head_ref="fix/tz"),
        # draft, still open
        _pull_request(id=1004, number=4, title="Spike", state="open", draft=True, author_login="alice",
                      created_at=utc(20, 10), head_ref="spike/ai"),
        # ghost author, closed without merge
        _pull_request(id=1005, number=5, title="Old idea", author_login=None, author_type=None,
                      created_at=utc(21, 10), closed_at=utc(22, 10), head_ref="idea"),
        # a repository without deployments; no commits landed
        _pull_request(id=2001, repository="hoco/web", number=1, title="Landing page", author_login="carol-c",
                      created_at=utc(25, 9), closed_at=utc(26, 9), merged_at=utc(26, 9), merge_commit_sha="w1",
                      head_ref="feature/landing"),
    ], late)

    land_batch(raw_root, "github/pull_request_commits", [
        _commit("hoco/api", 1, "c1b", utc(3, 10), "alice", "alice@hoco.io"),
        _commit("hoco/api", 1, "c1a", utc(1, 9), "alice", "alice@hoco.io"),
        _commit("hoco/api", 2, "c2a", utc(8, 16), "bob", "Bob.Baker@users.noreply.github.com",
                "Add search\n\nCo-Authored-By: Claude <noreply@anthropic.com>"),
        _commit("hoco/api", 3, "c3a", utc(15, 9), "Carol-C", "carol@hoco.io"),
        _commit("hoco/api", 4, "c4a", utc(20, 9), "alice", "alice@hoco.io"),
        # GitHub noreply forms on commits GitHub could not tie to an account (no login)
        _commit("hoco/api", 4, "c4b", utc(20, 9, 30), None, "carol-c@users.noreply.github.com"),
        _commit("hoco/api", 5, "c5a", utc(21, 8), None, "gone@example.com"),
        _commit("hoco/api", 5, "c5b", utc(21, 9), None, "12345+Alice@users.noreply.github.com"),
    ], late)

    land_batch(raw_root, "github/reviews", [
        _review(5001, 1, "alice", "COMMENTED", utc(4, 9, 30)),  # the author's own review
        _review(5002, 1, "bob", "CHANGES_REQUESTED", utc(4, 13)),
        _review(5003, 1, "bob", "APPROVED", utc(5, 10)),
        _review(5004, 2, "Carol-C", "APPROVED", utc(11, 14, 30, 45)),
        _review(5005, 2, "alice", "PENDING", None),
        _review(5006, 3, "bob", "COMMENTED", utc(18, 8)),  # before the PR was created
        _review(5007, 5, "alice", "COMMENTED", utc(21, 12)),
        _review(6001, 1, "alice", "APPROVED", utc(25, 17), repository="hoco/web"),
    ], late)

    # --- deployments of hoco/api: baseline, a shipping one, a failed one, two staging ones
    def deployment(dep_id: int, sha: str, environment: str, created_at: dt.datetime) -> GithubDeployment:
        return GithubDeployment(id=dep_id, repository="hoco/api", sha=sha, ref="main", environment=environment,
                                creator_login="deploy-bot", created_at=created_at, updated_at=created_at)

    land_batch(raw_root, "github/deployments", [
        deployment(100, "m0", "production", utc(6, 11, 50)),
        deployment(101, "m2", "production", utc(13, 11)),
        deployment(102, "m3", "production", utc(20, 9)),
        deployment(103, "m2", "staging", utc(12, 17)),
        deployment(104, "m3", "staging", utc(19, 12)),
        # 105 ships m3; 106 goes back to m2, which 101 shipped before 105: 105 was rolled back
        deployment(105, "m3", "production", utc(21, 9, 30)),
        deployment(106, "m2", "production", utc(21, 13, 30)),
    ], late)
    # a second repository named `api` (another owner): a transcript cwd ending in `api` is ambiguous
    land_batch(raw_root, "github/deployments", [
        GithubDeployment(id=200, repository="acme/api", sha="a1", ref="main", environment="staging",
                         creator_login="deploy-bot", created_at=utc(2, 9), updated_at=utc(2, 9)),
    ], late)

    def status(status_id: int, dep_id: int, state: str, created_at: dt.datetime) -> GithubDeploymentStatus:
        return GithubDeploymentStatus(id=status_id, deployment_id=dep_id, repository="hoco/api", state=state,
                                      created_at=created_at)

    land_batch(raw_root, "github/deployment_statuses", [
        status(900, 100, "in_progress", utc(6, 11, 55)),
        status(901, 100, "success", utc(6, 12)),
        status(902, 100, "inactive", utc(13, 12)),  # superseded by 101: still a successful deployment
        status(910, 101, "in_progress", utc(13, 11, 10)),
        status(911, 101, "success", utc(13, 12)),
        status(920, 102, "in_progress", utc(20, 9, 10)),
        status(921, 102, "failure", utc(20, 9, 30)),
        status(930, 103, "success", utc(12, 17, 30)),
        status(940, 104, "success", utc(19, 12, 30)),
        status(950, 105, "success", utc(21, 10)),
        status(951, 105, "inactive", utc(21, 14)),
        status(960, 106, "success", utc(21, 14)),
    ], late)

    # the connector lands commit ranges only for successful deployments with a predecessor
    land_batch(raw_root, "github/deployment_commits", [
        GithubDeploymentCommit(101, "hoco/api", "production", 100, "m2"),
        GithubDeploymentCommit(101, "hoco/api", "production", 100, "c2a"),
        GithubDeploymentCommit(101, "hoco/api", "production", 100, "x9"),
        GithubDeploymentCommit(104, "hoco/api", "staging", 103, "m3"),
    ], late)

    # --- Claude Code (Anthropic Admin API report)
    # alice: 1 day in week 03-04, 2 in 03-11, 2 in 03-18 -> adopted 2024-03-11
    # bob: 2 days in 03-04, 1 in 03-11, 2 in 03-18 -> never adopted (not consecutive)
    # carol (upper-case e-mail in the report): 1 day; a contractor and an API key are unmatched
    land_batch(raw_root, "anthropic/claude_code_actor_days", [
        _actor_day("alice@hoco.io", 20, sessions=1),  # re-extracted below with 2 sessions
    ], early)
    land_batch(raw_root, "anthropic/claude_code_actor_days", [
        _actor_day("alice@hoco.io", 5),
        _actor_day("alice@hoco.io", 12, sessions=4, lines_added=150, lines_removed=20, commits=2,
                   pull_requests=1, edits_accepted=30, edits_rejected=3),
        _actor_day("alice@hoco.io", 14),
        _actor_day("alice@hoco.io", 19),
        _actor_day("alice@hoco.io", 20, sessions=2),
        _actor_day("bob@hoco.io", 5),
        _actor_day("bob@hoco.io", 6),
        _actor_day("bob@hoco.io", 13),
        _actor_day("bob@hoco.io", 19),
        _actor_day("bob@hoco.io", 21),
        _actor_day("Carol@HoCo.io", 19),
        _actor_day("contractor@external.dev", 12, sessions=3),
        _actor_day("ci-bot-key", 13, actor_type="api_actor"),
    ], late)
    land_batch(raw_root, "anthropic/claude_code_model_days", [
        _model_day("alice@hoco.io", 5, "claude-sonnet-4", 0.5),
        _model_day("alice@hoco.io", 12, "claude-sonnet-4", 1.5, (1000, 2000, 5000, 300)),
        _model_day("alice@hoco.io", 12, "claude-opus-4", 3.25, (500, 800, 100, 50)),
        _model_day("alice@hoco.io", 14, "claude-sonnet-4", 0.5),
        _model_day("alice@hoco.io", 19, "claude-sonnet-4", 0.5),
        _model_day("alice@hoco.io", 20, "claude-sonnet-4", 0.5),
        *[_model_day("bob@hoco.io", day, "claude-sonnet-4", 0.25) for day in (5, 6, 13, 19, 21)],
        _model_day("Carol@HoCo.io", 19, "claude-haiku-4", 0.1),
        _model_day("contractor@external.dev", 12, "claude-sonnet-4", 2.0),
        _model_day("ci-bot-key", 13, "claude-sonnet-4", 0.75, actor_type="api_actor"),
    ], late)

    # --- Claude Code session transcripts (counted responses, as the transcripts connector lands them)
    # session s-login (alice, ~/src/web, branch feature/landing of hoco/web PR 1, merged 03-26 09:00):
    #   t1 lands first as a streaming snapshot (output 50) and again, final, with output 200;
    #   t2 3 min and t3 (sidechain) 2 min later are active; t4 the next morning (overnight gap) is idle;
    #   t5 after the merge falls outside the PR's window.
    # session s-main (bob, branch main: the default branch) stays unattributed, repository hoco/web.
    # session s-ambiguous (carol): cwd `api` names hoco/api and acme/api, so no repository and no PR.
    web = "/home/alice/src/web/"
    land_batch(raw_root, "claude_code/transcript_messages", [
        _transcript("t1", "s-login", utc(25, 16), 50, 0.10, cwd=web, branch="feature/landing"),
    ], early)
    land_batch(raw_root, "claude_code/transcript_messages", [
        _transcript("t1", "s-login", utc(25, 16), 200, 0.30, cwd=web, branch="feature/landing"),
        _transcript("t2", "s-login", utc(25, 16, 3), 100, 0.20, cwd=web, branch="feature/landing"),
        _transcript("t3", "s-login", utc(25, 16, 5), 10, 0.05, cwd=web, branch="feature/landing", sidechain=True),
        _transcript("t4", "s-login", utc(26, 8), 40, 0.25, cwd=web, branch="feature/landing", model="claude-opus-4"),
        _transcript("t5", "s-login", utc(26, 10), 30, 0.02, cwd=web, branch="feature/landing"),
        _transcript("t6", "s-main", utc(26, 11), 500, 1.00, email="bob@hoco.io", cwd="/home/bob/src/web", branch="main"),
        _transcript("t7", "s-main", utc(26, 11, 6), 10, 0.01, email="bob@hoco.io", cwd="/home/bob/src/web", branch="main"),
        _transcript("t8", "s-ambiguous", utc(19, 9), 70, 0.40, email="carol@hoco.io", cwd="/home/carol/src/api",
                    branch="fix/tz"),
        # a folder that matched nobody, a line without a price: priced from the model_pricing seed
        dataclasses.replace(
            _transcript("t9", "s-stranger", utc(22, 10), 1000, 0.0, email=None, cwd="/home/x/src/other",
                        branch="x", model="claude-sonnet-4-5-20250929"),
            cost_usd=None, cost_source="unpriced"),
    ], late)

    land_incidents_and_issues(raw_root, late)

    ensure_entity_folders(raw_root)


def _pagerduty(incident_id: str, number: int, service: str, created_at: dt.datetime, resolved_at: dt.datetime | None,
               priority: str | None, urgency: str = "high", linked: int | None = None) -> PagerdutyIncident:
    return PagerdutyIncident(
        id=incident_id, incident_number=number, title=f"{service} down", status="resolved" if resolved_at else "triggered",
        urgency=urgency, priority=priority, service_id=f"S-{service}", service_name=service, created_at=created_at,
        updated_at=resolved_at or created_at, acknowledged_at=None, resolved_at=resolved_at,
        html_url=f"https://hoco.pagerduty.com/incidents/{incident_id}", linked_deployment_id=linked)


def _jira_issue(issue_id: str, key: str, created_at: dt.datetime, *, status: str, category: str,
                resolution: dt.datetime | None = None, assignee: str | None = None, email: str | None = None,
                issue_type: str = "Story", components: str = "", priority: str | None = "Medium",
                pagerduty_incident_id: str | None = None) -> JiraIssue:
    return JiraIssue(
        id=issue_id, key=key, project_key=key.split("-")[0], issue_type=issue_type,
        is_incident=issue_type == "Incident", summary=key, status=status, status_category=category,
        priority=priority, assignee_account_id=assignee, assignee_email=email, reporter_account_id="jira-alice",
        story_points=3.0, sprint="Sprint 1", components=components, created_at=created_at,
        updated_at=max(created_at, resolution or created_at), resolution_date=resolution, linked_deployment_id=None,
        pagerduty_incident_id=pagerduty_incident_id)


def _transition(issue_id: str, key: str, history: str, at: dt.datetime, to_status: str, category: str | None,
                from_status: str | None = None) -> JiraStatusTransition:
    return JiraStatusTransition(issue_id=issue_id, issue_key=key, history_id=history, author_account_id="jira-alice",
                                created_at=at, from_status=from_status, to_status=to_status,
                                to_status_category=category)


def land_incidents_and_issues(raw_root: Path, extracted_at: dt.datetime) -> None:
    """Incidents from PagerDuty, GitHub and Jira, and Jira issues with changelogs (Jira times in +0100).

    Successful production deployments of hoco/api: 100 (03-06 12:00, baseline), 101 (03-13 12:00),
    105 (03-21 10:00, rolled back by 106), 106 (03-21 14:00).
      PD1  api-gateway (mapped to hoco/api) 03-13 20:00, 8 h after 101: window -> 101; restored in 3.5 h
      PD2  `web` = the short name of hoco/web alone; no deployment there: no_deployment; 0.75 h
      PD3  `billing` names no repository: no_repository; still open
      G1   hoco/api issue 03-21 15:00 naming deployment 101 explicitly (the rule would pick 106); 24 h
      G2   hoco/api issue 03-25 09:00, 91 h after 106: outside the 24 h window (DevLake's rule: 106)
      OPS-1 Jira incident, component `hoco/api`, 03-21 12:30+01:00 = 11:30 UTC: window -> 105; 1.5 h
    The same outage reported twice (int_incident_duplicates), merged into PD1:
      OPS-2 Jira incident pasting PD1's link, 03-13 22:00 UTC (2 h after the page: outside the 60-minute
            window, the link decides), resolved 03-14 01:00 UTC: the outage's latest resolution
      G3    hoco/api issue 03-13 19:45, 15 min before PD1 fired, no link: the window; the earliest report
      => PD1: created 19:45, resolved 03-14 01:00, 5.25 h, still blames 101 once (not three times)
    Not duplicates:
      G4    hoco/api issue 03-26 10:10, 10 min after PD2, but PD2 is hoco/web's: another repository; open
      OPS-3 Jira incident, component `hoco/web`, 03-26 11:30 UTC: 90 min after PD2, outside the window; 0.5 h
    """
    land_batch(raw_root, "pagerduty/incidents", [
        _pagerduty("PD1", 1, "api-gateway", utc(13, 20), utc(13, 23, 30), "P1"),
        _pagerduty("PD2", 2, "web", utc(26, 10), utc(26, 10, 45), None),
        _pagerduty("PD3", 3, "billing", utc(22, 8), None, "P3", urgency="low"),
    ], extracted_at)
    land_batch(raw_root, "github/issues", [
        GithubIssue(id=7001, repository="hoco/api", number=50, title="Search returns 500", state="closed",
                    state_reason="completed", author_login="bob", labels="incident,sev2", created_at=utc(21, 15),
                    updated_at=utc(22, 15), closed_at=utc(22, 15), linked_deployment_id=101),
        GithubIssue(id=7002, repository="hoco/api", number=51, title="Slow login", state="open", state_reason=None,
                    author_login="alice", labels="incident", created_at=utc(25, 9), updated_at=utc(25, 9),
                    closed_at=None, linked_deployment_id=None),
        GithubIssue(id=7003, repository="hoco/api", number=52, title="Gateway errors", state="closed",
                    state_reason="completed", author_login="bob", labels="incident", created_at=utc(13, 19, 45),
                    updated_at=utc(13, 23), closed_at=utc(13, 23), linked_deployment_id=None),
        GithubIssue(id=7004, repository="hoco/api", number=53, title="Checkout slow", state="open", state_reason=None,
                    author_login="alice", labels="incident", created_at=utc(26, 10, 10), updated_at=utc(26, 10, 10),
                    closed_at=None, linked_deployment_id=None),
    ], extracted_at)

    def cet(day: int, hour: int, minute: int = 0) -> dt.datetime:
        return dt.datetime(2024, 3, day, hour, minute, tzinfo=CET)

    land_batch(raw_root, "jira/issues", [
        # PLAT-1: started 03-05 09:00 UTC, resolved 03-07 16:30 UTC: lead 80.5 h, cycle 55.5 h
        _jira_issue("10001", "PLAT-1", cet(4, 9), status="Done", category="done", resolution=cet(7, 17, 30),
                    assignee="jira-alice"),
        # PLAT-2: no resolution date (workflow without one), reopened: resolved = the last move into Done
        _jira_issue("10002", "PLAT-2", utc(11, 9), status="Done", category="done", assignee="acc-bob-77",
                    email="Bob@hoco.io", issue_type="Bug"),
        # PLAT-3: in progress, assignee unknown to the mapping
        _jira_issue("10003", "PLAT-3", utc(18, 9), status="In Progress", category="indeterminate", assignee="jira-zed"),
        # PLAT-4: resolved an hour before it was created (the source's clocks): flagged, not hidden
        _jira_issue("10004", "PLAT-4", utc(19, 9), status="Done", category="done", resolution=utc(19, 8),
                    assignee="jira-alice"),
        _jira_issue("20001", "OPS-1", cet(21, 12, 30), status="Resolved", category="done", resolution=cet(21, 14),
                    issue_type="Incident", components="Gateway,hoco/api", priority="Highest"),
        _jira_issue("20002", "OPS-2", utc(13, 22), status="Resolved", category="done", resolution=utc(14, 1),
                    issue_type="Incident", components="hoco/api", priority="High", pagerduty_incident_id="PD1"),
        _jira_issue("20003", "OPS-3", utc(26, 11, 30), status="Resolved", category="done", resolution=utc(26, 12),
                    issue_type="Incident", components="hoco/web", priority="High"),
    ], extracted_at)
    land_batch(raw_root, "jira/status_transitions", [
        _transition("10001", "PLAT-1", "h1", cet(5, 10), "In Progress", "indeterminate", "To Do"),
        _transition("10001", "PLAT-1", "h2", cet(6, 10), "In Review", "indeterminate", "In Progress"),
        _transition("10001", "PLAT-1", "h3", cet(7, 17, 30), "Done", "done", "In Review"),
        _transition("10002", "PLAT-2", "h4", utc(11, 10), "In Progress", "indeterminate", "To Do"),
        _transition("10002", "PLAT-2", "h5", utc(12, 12), "Done", "done", "In Progress"),
        _transition("10002", "PLAT-2", "h6", utc(13, 9), "In Progress", "indeterminate", "Done"),
        _transition("10002", "PLAT-2", "h7", utc(14, 15), "Done", "done", "In Progress"),
        _transition("10003", "PLAT-3", "h8", utc(18, 10), "In Progress", "indeterminate", "To Do"),
        _transition("10003", "PLAT-3", "h9", utc(18, 11), "Triage", None, "In Progress"),  # unknown status
        _transition("20001", "OPS-1", "h10", cet(21, 12, 45), "Investigating", "indeterminate", "Open"),
        _transition("20001", "OPS-1", "h11", cet(21, 14), "Resolved", "done", "Investigating"),
    ], extracted_at)


TARGETS = ("duckdb", "postgres")
INSTALL_POSTGRES = "install the PostgreSQL server (apt-get install postgresql, or .ci/system-packages.sh)"


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL server on 127.0.0.1 with trust authentication and an `impact` database."""

    host: str
    port: int
    user: str
    database: str

    @property
    def dsn(self) -> str:
        return f"host={self.host} port={self.port} user={self.user} dbname={self.database}"

    @property
    def env(self) -> dict[str, str]:
        """The settings of the `postgres` dbt target (dbt_profiles/profiles.yml)."""
        return {"IMPACT_PG_HOST": self.host, "IMPACT_PG_PORT": str(self.port), "IMPACT_PG_USER": self.user,
                "IMPACT_PG_PASSWORD": "", "IMPACT_PG_DATABASE": self.database}


@dataclass(frozen=True)
class DbtRun:
    target: str
    warehouse: Path
    raw_root: Path
    env: dict[str, str]
    target_path: Path
    log_path: Path
    result: subprocess.CompletedProcess[str]
    seconds: float
    postgres: PostgresServer | None = field(default=None)

    def run(self, *command: str) -> subprocess.CompletedProcess[str]:
        """Run another dbt command against the same raw landing, warehouse and target folder."""
        return run_dbt([*command, "--target", self.target], self.env, self.target_path, self.log_path)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        """Rows of a query on the built warehouse, as dicts (DuckDB opened read-only and closed again:
        it allows one writer)."""
        if self.postgres is not None:
            import psycopg2

            with psycopg2.connect(self.postgres.dsn) as connection, connection.cursor() as cursor:
                cursor.execute(sql)
                names = [column[0] for column in cursor.description]
                found = [dict(zip(names, row)) for row in cursor.fetchall()]
            connection.close()
            return found
        import duckdb

        with duckdb.connect(str(self.warehouse), read_only=True) as connection:
            cursor = connection.execute(sql)
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]


def run_dbt(command: list[str], env: dict[str, str], target_path: Path, log_path: Path) -> subprocess.CompletedProcess[str]:
    """Run a dbt command on the project with artifacts and logs kept out of the source tree."""
    return subprocess.run(
        [str(DBT_EXECUTABLE), *command, "--project-dir", "dbt_project", "--profiles-dir", "dbt_profiles",
         "--target-path", str(target_path), "--log-path", str(log_path)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600,
    )


def _dbt_env(raw_root: Path, warehouse: Path, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "IMPACT_RAW_DIR": str(raw_root),
        "IMPACT_WAREHOUSE": str(warehouse),
        "DO_NOT_TRACK": "1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "IMPACT_PAGERDUTY_SERVICE_REPOSITORIES": json.dumps(SERVICE_REPOSITORIES),
        **extra,
    }


def _build(target: str, root: Path, raw_root: Path, env: dict[str, str], warehouse: Path,
           postgres: PostgresServer | None = None) -> DbtRun:
    target_path, log_path = root / "target", root / "logs"
    started = dt.datetime.now()
    result = run_dbt(["build", "--target", target], env, target_path, log_path)
    seconds = (dt.datetime.now() - started).total_seconds()
    return DbtRun(target, warehouse, raw_root, env, target_path, log_path, result, seconds, postgres)


@pytest.fixture(scope="session")
def raw_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture dataset landed once as Parquet; every target builds from it."""
    raw_root = tmp_path_factory.mktemp("raw_landing") / "raw"
    land_fixture_dataset(raw_root)
    return raw_root


@pytest.fixture(scope="session")
def dbt_build(tmp_path_factory: pytest.TempPathFactory, raw_landing: Path) -> DbtRun:
    """`dbt build` on DuckDB over the fixture dataset, once for the session."""
    root = tmp_path_factory.mktemp("dbt_build")
    warehouse = root / "impact.duckdb"
    return _build("duckdb", root, raw_landing, _dbt_env(raw_landing, warehouse), warehouse)


POSTGRES_INITDB_GLOB = "/usr/lib/postgresql/*/bin/initdb"


def postgres_bin_dir(initdb_glob: str = POSTGRES_INITDB_GLOB) -> Path | None:
    """The newest installed PostgreSQL server binaries (Debian layout), or None."""
    def version(path: str) -> int:
        name = Path(path).parts[-3]
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob(initdb_glob), key=version)
    return Path(found[-1]).parent if found else None


def require_postgres_bin_dir(initdb_glob: str = POSTGRES_INITDB_GLOB) -> Path:
    """The server binaries; without them the calling test fails under CI=true and skips elsewhere."""
    found = postgres_bin_dir(initdb_glob)
    if found is not None:
        return found
    where = initdb_glob.removesuffix("/initdb")
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but no PostgreSQL server binaries under {where}: {INSTALL_POSTGRES}", pytrace=False)
    pytest.skip(f"PostgreSQL server binaries not found under {where}: {INSTALL_POSTGRES}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` OS user then."""
    if os.geteuid() != 0:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.fail("running as root without runuser: cannot start PostgreSQL as the postgres user", pytrace=False)
    return [runuser, "-u", "postgres", "--", *command]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the session: initdb into a temporary folder, listen on a free
    loopback port (socket in the same folder), create the `impact` database; stopped and removed after."""
    bin_dir = require_postgres_bin_dir()
    folder = Path(tempfile.mkdtemp(prefix="impact-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
    data, log = folder / "data", folder / "server.log"
    port, user = _free_port(), "impact"
    started = False
    try:
        subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", user, "-A", "trust",
                                        "-E", "UTF8", "--no-sync", "--no-locale"]),
                       check=True, capture_output=True, text=True, timeout=120)
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c TimeZone=UTC"
        subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                                        "-t", "60", "-o", options, "start"]),
                       check=True, capture_output=True, text=True, timeout=120)
        started = True
        subprocess.run([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", user, "impact"],
                       check=True, capture_output=True, text=True, timeout=60)
        yield PostgresServer("127.0.0.1", port, user, "impact")
    except subprocess.CalledProcessError as error:
        server_log = log.read_text() if log.exists() else ""
        pytest.fail(f"PostgreSQL did not start: {error.cmd}\n{error.stdout}\n{error.stderr}\n{server_log}",
                    pytrace=False)
    finally:
        if started:
            subprocess.run(_as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w",
                                            "stop"]), capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def dbt_build_postgres(tmp_path_factory: pytest.TempPathFactory, raw_landing: Path,
                       postgres_server: PostgresServer) -> DbtRun:
    """The landing copied into PostgreSQL's `raw` schema, then `dbt build --target postgres`, once."""
    root = tmp_path_factory.mktemp("dbt_build_postgres")
    load_raw_to_postgres(raw_landing, postgres_server.dsn)
    env = _dbt_env(raw_landing, root / "unused.duckdb", **postgres_server.env)
    return _build("postgres", root, raw_landing, env, root / "unused.duckdb", postgres_server)


@pytest.fixture(scope="session", params=TARGETS)
def built(request: pytest.FixtureRequest) -> DbtRun:
    """The build of each target in turn: tests that take it run once per target."""
    return request.getfixturevalue("dbt_build" if request.param == "duckdb" else "dbt_build_postgres")
