"""Incident syncs: PagerDuty incidents and GitHub issues labelled as incidents (Jira's are in `sync_jira`).

Same ordering as every sync in `impact.sync`: land first, save the cursor second. Both sources change
records after creating them (an incident is acknowledged, resolved, gets a postmortem comment), so:

- PagerDuty lists by creation time only. Each run reads from the older of (the newest incident landed -
  `PAGERDUTY_REREAD`) and (the oldest incident still open when last read), up to the end of the
  configured range (or now): every incident whose status may have moved is read again.
- GitHub issues are listed per repository and label with `since` = the repository's cursor (the newest
  `updated_at` landed), which GitHub applies to the update time: later changes come back by themselves.

Only records that are new or differ from their landed version (by key and update time/status) are
landed, so a run that finds nothing changed lands nothing; staging keeps the latest version per key.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

import duckdb

from connectors.github import GithubConnector
from connectors.github_issues import GithubIncidentIssues
from connectors.pagerduty import PagerdutyConnector, windows
from connectors.records import GithubIssue, PagerdutyIncident
from impact.config import ImpactConfig
from impact.sync import SyncSummary, _state, _utc_now

log = logging.getLogger(__name__)

PAGERDUTY_ENTITY = "pagerduty/incidents"
GITHUB_ISSUES_ENTITY = "github/issues"
PAGERDUTY_NEWEST_KEY = "pagerduty:incidents:newest_created_at"
PAGERDUTY_OPEN_KEY = "pagerduty:incidents:oldest_open_created_at"
#: incidents created this long before the newest one landed are read again on every run
PAGERDUTY_REREAD = dt.timedelta(days=7)


def _naive(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None) if value is not None else None


def _landed_versions(config: ImpactConfig, entity: str, columns: Sequence[str]) -> set[tuple]:
    """The distinct (columns...) tuples already landed for an entity (empty when nothing is)."""
    folder = config.raw_dir / entity
    if not any(folder.glob("*.parquet")):
        return set()
    rows = duckdb.execute(f"select distinct {', '.join(columns)} from read_parquet('{folder}/*.parquet')").fetchall()
    return {tuple(row) for row in rows}


def _pagerduty_version(record: PagerdutyIncident) -> tuple:
    return (record.id, _naive(record.updated_at), record.status, _naive(record.resolved_at))


def _range_end(config: ImpactConfig) -> dt.datetime:
    if config.end_date is not None:
        return dt.datetime.combine(config.end_date + dt.timedelta(days=1), dt.time(), dt.timezone.utc)
    return _utc_now().replace(microsecond=0)


def sync_pagerduty(
    config: ImpactConfig, *, full_refresh: bool = False, logger: logging.Logger = log
) -> SyncSummary:
    """PagerDuty incidents created in the configured range, window by window (see the module docstring)."""
    summary = SyncSummary("pagerduty")
    if config.pagerduty is None:
        return summary
    settings = config.pagerduty
    connector = PagerdutyConnector(settings.api_url, settings.token.reveal())
    state = _state(config)
    start = dt.datetime.combine(config.start_date, dt.time(), dt.timezone.utc)
    until = _range_end(config)
    newest_saved = None if full_refresh else state.get(PAGERDUTY_NEWEST_KEY)
    open_saved = None if full_refresh else state.get(PAGERDUTY_OPEN_KEY)
    since = start
    if newest_saved:
        since = max(start, dt.datetime.fromisoformat(newest_saved) - PAGERDUTY_REREAD)
        if open_saved:
            since = max(start, min(since, dt.datetime.fromisoformat(open_saved)))
    connector.check_services(settings.service_ids)
    landed = set() if full_refresh else _landed_versions(config, PAGERDUTY_ENTITY, ("id", "updated_at", "status", "resolved_at"))
    newest = dt.datetime.fromisoformat(newest_saved) if newest_saved else None
    still_open: list[dt.datetime] = []
    read = 0
    for window_start, window_end in windows(since, until):
        incidents = connector.incidents(window_start, window_end, service_ids=settings.service_ids)
        read += len(incidents)
        changed = [r for r in incidents if _pagerduty_version(r) not in landed]
        if changed:
            summary.land(config, PAGERDUTY_ENTITY, changed, _utc_now())
        still_open += [r.created_at for r in incidents if r.status != "resolved"]
        if incidents:
            newest = max(newest or incidents[-1].created_at, max(r.created_at for r in incidents))
            state.save(PAGERDUTY_NEWEST_KEY, newest.isoformat())
        # Until the run ends, keep the earlier run's oldest open incident: later windows are not read yet.
        candidates = still_open + ([dt.datetime.fromisoformat(open_saved)] if open_saved else [])
        if candidates:
            state.save(PAGERDUTY_OPEN_KEY, min(candidates).isoformat())
    # Every incident an earlier run saw open was created at or after `since`, so it was read again above.
    state.save(PAGERDUTY_OPEN_KEY, min(still_open).isoformat() if still_open else "")
    summary.requests = connector.requests
    summary.cursors = {k: state.get(k) or "" for k in (PAGERDUTY_NEWEST_KEY, PAGERDUTY_OPEN_KEY)}
    logger.info(
        "pagerduty: %d incidents read since %s (%d requests), %d new or changed landed, %d still open",
        read, since.isoformat(), connector.requests, summary.rows[PAGERDUTY_ENTITY], len(still_open),
    )
    return summary


def sync_github_incidents(
    config: ImpactConfig, *, full_refresh: bool = False, logger: logging.Logger = log
) -> SyncSummary:
    """Issues carrying one of `incidents.github_labels`, per repository, incremental by `updated_at`."""
    summary = SyncSummary("github_incidents")
    labels = config.incidents.github_labels
    if config.github is None or not labels:
        return summary
    settings = config.github
    connector = GithubConnector(settings.api_url, settings.token.reveal())
    reader = GithubIncidentIssues(connector)
    state = _state(config)
    landed = set() if full_refresh else _landed_versions(config, GITHUB_ISSUES_ENTITY, ("id", "updated_at", "state"))
    repositories = connector.repositories(settings.repos, settings.orgs)
    skipped = 0
    for repository in repositories:
        cursor_key = f"github:incidents:{repository}"
        cursor = None if full_refresh else state.get(cursor_key)
        since = dt.datetime.fromisoformat(cursor) if cursor else None
        batch = reader.issues(repository, labels, updated_since=since)
        skipped += batch.pull_requests_skipped
        changed: list[GithubIssue] = [
            i for i in batch.issues if (i.id, _naive(i.updated_at), i.state) not in landed
        ]
        if changed:
            summary.land(config, GITHUB_ISSUES_ENTITY, changed, _utc_now())
        if batch.newest_updated_at is not None:
            state.save(cursor_key, batch.newest_updated_at.isoformat())
    summary.requests = connector.requests
    summary.cursors = {k: v for k, v in state.as_dict().items() if k.startswith("github:incidents:")}
    logger.info(
        "github incidents: %d repositories, %d new or changed incident issues landed, %d labelled PRs skipped",
        len(repositories), summary.rows[GITHUB_ISSUES_ENTITY], skipped,
    )
    return summary
