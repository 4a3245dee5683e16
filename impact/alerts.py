"""AI spend alerts: read them from the warehouse, word them, and deliver each one once to a webhook.

The rules themselves live in the warehouse (`marts.mart_ai_spend_alerts`, DESIGN section 5); this
module only turns its rows into Slack-compatible messages (`{"text": ..., "blocks": [...]}`, which Slack,
Mattermost, Rocket.Chat and Teams' Slack-compatible connectors all accept) and POSTs them. Every alert
has a stable `alert_id`; the ids already delivered are remembered in a JSON file beside the warehouse,
written after each successful POST, so a re-run (or a run after a crash half-way) never sends one twice.

The webhook URL embeds its token: it is never logged nor put in an error message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import duckdb
import requests

log = logging.getLogger(__name__)

ALERTS_TABLE = "marts.mart_ai_spend_alerts"
KINDS = ("developer_day", "session", "budget")


class AlertDeliveryError(RuntimeError):
    """The webhook refused an alert or stayed unreachable; the message never holds the URL."""


@dataclasses.dataclass(frozen=True)
class Alert:
    alert_id: str
    kind: str  # developer_day | session | budget
    developer_id: str | None
    developer_name: str | None  # display name from dim_developer, shown only where the config allows
    team_id: str | None
    session_id: str | None
    scope_kind: str | None
    scope: str | None
    period: str
    cost_usd: float
    threshold_usd: float
    source: str | None

    def subject(self, show_individuals: bool) -> str:
        """Who or what the alert is about, in words; people by name only when the config allows."""
        if self.kind == "budget":
            return f"{self.scope_kind} {self.scope}"
        if show_individuals and self.developer_name:
            person = self.developer_name
        else:
            person = f"developer {self.developer_id[:8]}" if self.developer_id else "an unmatched developer"
        team = f" ({self.team_id})" if self.team_id else ""
        return f"{person}{team}"

    def summary(self, show_individuals: bool = False) -> str:
        """One line: what crossed which threshold, with the cost and the threshold."""
        who = self.subject(show_individuals)
        if self.kind == "developer_day":
            return (f"AI spend of {who} on {self.period} was ${self.cost_usd:,.2f}, "
                    f"above the developer-day threshold of ${self.threshold_usd:,.2f}")
        if self.kind == "session":
            return (f"Claude Code session {self.session_id} of {who}, started {self.period}, cost "
                    f"${self.cost_usd:,.2f}, above the session threshold of ${self.threshold_usd:,.2f}")
        return (f"AI spend of {who} is projected at ${self.cost_usd:,.2f} for {self.period}, "
                f"above its budget of ${self.threshold_usd:,.2f}")


def read_alerts(warehouse: Path) -> list[Alert]:
    """Every alert of the warehouse, oldest period first (read-only: dbt may be the writer)."""
    warehouse = Path(warehouse)
    if not warehouse.exists():
        raise FileNotFoundError(f"no warehouse at {warehouse}: run `impact run` or `impact demo` first")
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        rows = connection.execute(
            f"""
            select a.alert_id, a.kind, a.developer_id, d.display_name, a.team_id, a.session_id, a.scope_kind,
                   a.scope, a.period, a.cost_usd, a.threshold_usd, a.source
            from {ALERTS_TABLE} as a
            left join marts.dim_developer as d on d.developer_id = a.developer_id
            order by a.period, a.kind, a.alert_id
            """
        ).fetchall()
    return [Alert(*row) for row in rows]


def slack_message(alert: Alert, show_individuals: bool = False) -> dict[str, object]:
    """Slack-compatible JSON: `text` (the notification and fallback) plus one mrkdwn section block."""
    titles = {"developer_day": "AI spend: developer-day over threshold",
              "session": "AI spend: session over threshold", "budget": "AI spend: projected over budget"}
    text = f"{titles.get(alert.kind, 'AI spend alert')}: {alert.summary(show_individuals)}."
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{titles.get(alert.kind)}*\n{alert.summary(show_individuals)}."}},
            {"type": "context", "elements": [
                {"type": "mrkdwn", "text": f"alert {alert.alert_id} · source {alert.source or 'n/a'}"},
            ]},
        ],
    }


def delivery_log_path(warehouse: Path) -> Path:
    """Where the delivered alert ids are kept: beside the warehouse, so they share its lifetime."""
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.alert_deliveries.json")


class DeliveryLog:
    """The alert ids already delivered (JSON: alert_id -> {kind, period, delivered_at}), saved atomically."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.delivered: dict[str, dict[str, str]] = json.loads(self.path.read_text()) if self.path.exists() else {}
        except json.JSONDecodeError as error:
            raise AlertDeliveryError(
                f"alert delivery log {self.path} is not valid JSON ({error}); fix or delete it "
                "(deleting it re-sends every current alert)"
            ) from error

    def __contains__(self, alert_id: str) -> bool:
        return alert_id in self.delivered

    def record(self, alert: Alert, when: dt.datetime) -> None:
        self.delivered[alert.alert_id] = {"kind": alert.kind, "period": alert.period,
                                          "delivered_at": when.isoformat(timespec="seconds")}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(self.delivered, indent=1, sort_keys=True) + "\n")
        os.replace(temporary, self.path)


@dataclasses.dataclass
class DeliveryResult:
    sent: list[str] = dataclasses.field(default_factory=list)
    already_sent: list[str] = dataclasses.field(default_factory=list)


@contextlib.contextmanager
def _quiet_urllib3() -> Iterator[None]:
    """urllib3 logs each request's path at DEBUG, and a webhook's path is its token: mute it meanwhile."""
    logger = logging.getLogger("urllib3.connectionpool")
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.setLevel(level)


def post_with_retry(
    session: requests.Session, url: str, payload: dict[str, object], *, what: str, attempts: int = 4,
    backoff_seconds: float = 1.0, timeout: float = 10.0, sleep: Callable[[float], None] = time.sleep,
) -> None:
    """POST JSON; retry timeouts, connection errors, 429 and 5xx (honouring Retry-After); raise on the rest.

    Errors name `what` and the status, never the URL (it carries the webhook's token)."""
    last = "no attempt made"
    for attempt in range(1, attempts + 1):
        try:
            with _quiet_urllib3():
                response = session.post(url, json=payload, timeout=timeout)
        except (requests.ConnectionError, requests.Timeout) as error:
            last = f"{type(error).__name__}"
            wait = backoff_seconds * 2 ** (attempt - 1)
        else:
            if 200 <= response.status_code < 300:
                return
            last = f"HTTP {response.status_code}"
            if response.status_code != 429 and response.status_code < 500:
                raise AlertDeliveryError(
                    f"alert webhook refused {what}: {last} {response.text[:200]!r}; check alerts.webhook_url"
                )
            retry_after = response.headers.get("Retry-After", "")
            wait = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else backoff_seconds * 2 ** (attempt - 1)
        if attempt < attempts:
            log.warning("alert webhook: %s for %s, retrying in %.1fs (%d/%d)", last, what, wait, attempt, attempts)
            sleep(min(wait, 60.0))
    raise AlertDeliveryError(f"alert webhook unreachable for {what} after {attempts} attempts ({last})")


def deliver_alerts(
    alerts: Iterable[Alert], url: str, delivery_log: DeliveryLog, *, show_individuals: bool = False,
    session: requests.Session | None = None, now: Callable[[], dt.datetime] | None = None, **retry: object,
) -> DeliveryResult:
    """POST every alert not delivered yet, recording each right after its success (once-only delivery)."""
    session = session or requests.Session()
    clock = now or (lambda: dt.datetime.now(dt.timezone.utc))
    result = DeliveryResult()
    for alert in alerts:
        if alert.alert_id in delivery_log:
            result.already_sent.append(alert.alert_id)
            continue
        post_with_retry(session, url, slack_message(alert, show_individuals),
                        what=f"{alert.kind} alert {alert.alert_id}", **retry)  # type: ignore[arg-type]
        delivery_log.record(alert, clock())
        result.sent.append(alert.alert_id)
    log.info("alert webhook: %d sent, %d already sent before", len(result.sent), len(result.already_sent))
    return result


@dataclasses.dataclass(frozen=True)
class RuleOutcome:
    """One alert rule's verdict for an asset check: passed when nothing crossed its threshold."""

    kind: str
    alerts: tuple[Alert, ...]
    show_individuals: bool = False

    @property
    def passed(self) -> bool:
        return not self.alerts

    def description(self, limit: int = 10) -> str:
        if self.passed:
            return f"no {self.kind.replace('_', '-')} alert"
        lines = [f"{len(self.alerts)} {self.kind.replace('_', '-')} alert(s):"]
        lines += [f"- {alert.summary(self.show_individuals)}" for alert in self.alerts[:limit]]
        if len(self.alerts) > limit:
            lines.append(f"- ... and {len(self.alerts) - limit} more in {ALERTS_TABLE}")
        return "\n".join(lines)

    def rows(self, limit: int = 50) -> list[dict[str, object]]:
        """The alerts as plain dicts (check metadata): subject, period, cost and threshold."""
        return [
            {"alert_id": a.alert_id, "subject": a.session_id if a.kind == "session" else a.subject(self.show_individuals),
             "period": a.period, "cost_usd": round(a.cost_usd, 2), "threshold_usd": round(a.threshold_usd, 2)}
            for a in self.alerts[:limit]
        ]


def rule_outcome(alerts: Iterable[Alert], kind: str, show_individuals: bool = False) -> RuleOutcome:
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}: use one of {', '.join(KINDS)}")
    return RuleOutcome(kind, tuple(a for a in alerts if a.kind == kind), show_individuals)
