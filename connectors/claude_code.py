"""Claude Code usage from the Anthropic Admin API's Claude Code analytics report.

The report answers one UTC day per call (`starting_at`), paginated with `has_more` / `next_page`.
A day's numbers keep changing for a while after it ends, so callers re-read the last few days on
every run; landing one batch per day makes that re-read replace, not add.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import requests

from connectors.http import SourceError, session
from connectors.records import ClaudeCodeActorDay, ClaudeCodeModelDay

SOURCE = "anthropic"
REPORT_PATH = "/v1/organizations/usage_report/claude_code"
ANTHROPIC_VERSION = "2023-06-01"
PAGE_LIMIT = 1000
EDIT_TOOLS = ("edit_tool", "multi_edit_tool", "write_tool", "notebook_edit_tool")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ClaudeCodeDay:
    """Everything the report holds for one day, and what reading it cost."""

    date: dt.date
    actor_days: list[ClaudeCodeActorDay]
    model_days: list[ClaudeCodeModelDay]
    requests: int


def _actor_key(actor: dict[str, Any]) -> tuple[str, str]:
    actor_type = actor.get("type", "")
    if actor_type == "user_actor":
        return actor_type, actor["email_address"]
    if actor_type == "api_actor":
        return actor_type, actor["api_key_name"]
    raise KeyError(f"unknown actor type {actor_type!r}")


def parse_record(record: dict[str, Any]) -> tuple[ClaudeCodeActorDay, list[ClaudeCodeModelDay]]:
    """Turn one report record into typed rows; raises KeyError/ValueError on a malformed record."""
    day = dt.date.fromisoformat(str(record["date"])[:10])
    actor_type, actor_id = _actor_key(record["actor"])
    core = record.get("core_metrics") or {}
    lines = core.get("lines_of_code") or {}
    tools = record.get("tool_actions") or {}
    actor_day = ClaudeCodeActorDay(
        date=day,
        actor_type=actor_type,
        actor_id=actor_id,
        organization_id=str(record.get("organization_id", "")),
        customer_type=str(record.get("customer_type", "")),
        terminal_type=record.get("terminal_type"),
        num_sessions=int(core.get("num_sessions", 0)),
        lines_added=int(lines.get("added", 0)),
        lines_removed=int(lines.get("removed", 0)),
        commits=int(core.get("commits_by_claude_code", 0)),
        pull_requests=int(core.get("pull_requests_by_claude_code", 0)),
        edits_accepted=sum(int((tools.get(t) or {}).get("accepted", 0)) for t in EDIT_TOOLS),
        edits_rejected=sum(int((tools.get(t) or {}).get("rejected", 0)) for t in EDIT_TOOLS),
    )
    model_days = []
    for entry in record.get("model_breakdown") or []:
        tokens = entry.get("tokens") or {}
        cost = entry.get("estimated_cost") or {}
        currency = cost.get("currency", "USD")
        if currency != "USD":
            raise ValueError(f"estimated_cost in {currency}; only USD is supported")
        model_days.append(
            ClaudeCodeModelDay(
                date=day,
                actor_type=actor_type,
                actor_id=actor_id,
                model=str(entry["model"]),
                input_tokens=int(tokens.get("input", 0)),
                output_tokens=int(tokens.get("output", 0)),
                cache_read_tokens=int(tokens.get("cache_read", 0)),
                cache_creation_tokens=int(tokens.get("cache_creation", 0)),
                # The report gives cents of USD.
                estimated_cost_usd=float(cost.get("amount", 0)) / 100.0,
            )
        )
    return actor_day, model_days


def _api_message(response: requests.Response) -> str:
    """The API's own error message (Anthropic's `error.message`), which never holds the key."""
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return ""
    return f" ({str(message)[:200]})"


class ClaudeCodeAnalyticsClient:
    """Reads the Claude Code analytics report day by day."""

    def __init__(
        self, api_url: str, admin_key: str, *, http: requests.Session | None = None, page_limit: int = PAGE_LIMIT,
        timeout: float = 60.0,
    ) -> None:
        self._page_limit = page_limit
        self._timeout = timeout  # seconds per request; a request that times out is retried like a 503
        self._url = api_url.rstrip("/") + REPORT_PATH
        self._http = http or session()
        self._headers = {"x-api-key": admin_key, "anthropic-version": ANTHROPIC_VERSION}

    def _get(self, params: dict[str, Any], day: dt.date) -> dict[str, Any]:
        try:
            response = self._http.get(self._url, params=params, headers=self._headers, timeout=self._timeout)
        except requests.RequestException as error:
            raise SourceError(
                SOURCE,
                f"could not reach the Claude Code analytics report for {day} ({type(error).__name__})",
                "Check anthropic.api_url and the network; the run can be repeated safely",
                url=self._url,
            ) from error
        if response.status_code in (401, 403):
            raise SourceError(
                SOURCE,
                f"the Admin API refused the key (HTTP {response.status_code})",
                "Set ANTHROPIC_ADMIN_KEY to an Admin API key (sk-ant-admin...) of an organisation admin",
                url=self._url,
            )
        if response.status_code == 404:
            raise SourceError(
                SOURCE,
                "the Claude Code analytics report was not found (HTTP 404)",
                "Check that anthropic.api_url is the API root, e.g. https://api.anthropic.com",
                url=self._url,
            )
        if response.status_code >= 400:
            raise SourceError(
                SOURCE,
                f"HTTP {response.status_code} reading the report for {day}{_api_message(response)}",
                "Try again later; the run can be repeated safely and re-reads the day from its first page",
                url=self._url,
            )
        try:
            payload = response.json()
        except ValueError as error:
            raise SourceError(
                SOURCE,
                f"the report page for {day} is not JSON",
                "Check that anthropic.api_url points at the Anthropic API, not a proxy's login page",
                url=self._url,
            ) from error
        if not isinstance(payload, dict) or "data" not in payload:
            raise SourceError(
                SOURCE, f"the report page for {day} has no 'data'", "Check anthropic.api_url", url=self._url
            )
        return payload

    def read_day(self, day: dt.date) -> ClaudeCodeDay:
        actor_days: list[ClaudeCodeActorDay] = []
        model_days: list[ClaudeCodeModelDay] = []
        params: dict[str, Any] = {"starting_at": day.isoformat(), "limit": self._page_limit}
        requests_made = 0
        while True:
            payload = self._get(params, day)
            requests_made += 1
            for index, record in enumerate(payload["data"]):
                try:
                    actor_day, models = parse_record(record)
                except (KeyError, ValueError, TypeError) as error:
                    raise SourceError(
                        SOURCE,
                        f"record {index} of page {requests_made} for {day} is malformed ({error!r}); "
                        "nothing of this day was landed",
                        "Report this payload shape; earlier days stay landed and the run can be repeated",
                        url=self._url,
                    ) from error
                actor_days.append(actor_day)
                model_days.extend(models)
            if not payload.get("has_more"):
                break
            cursor = payload.get("next_page")
            if not cursor:
                raise SourceError(
                    SOURCE, f"page {requests_made} for {day} says has_more but gives no next_page",
                    "Try again later", url=self._url,
                )
            params = {"starting_at": day.isoformat(), "limit": self._page_limit, "page": cursor}
        return ClaudeCodeDay(day, actor_days, model_days, requests_made)

    def read_days(self, first: dt.date, last: dt.date) -> Iterator[ClaudeCodeDay]:
        day = first
        while day <= last:
            yield self.read_day(day)
            day += dt.timedelta(days=1)
