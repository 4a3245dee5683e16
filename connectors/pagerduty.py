"""PagerDuty incidents through the REST API v2 (`GET /incidents`), as `PagerdutyIncident` records.

Why windows: the list filters on the incident's creation time with `since` / `until`, which may be at
most 6 months apart, so a backfill reads consecutive 30-day windows, each paged with `offset` /
`limit=100` until `more` is false. Times are asked for in UTC (`time_zone=UTC`, otherwise PagerDuty
renders them in the account's zone) and parsed with their offset anyway.

The explicit deployment link: PagerDuty incidents have no deployment field. Incidents raised by a
deployment verification check carry its dedup key as `incident_key`, written "deploy-<GitHub
deployment id>" (also accepted: "deployment-<id>", "deploy:<id>", "deploy/<id>"); `linked_deployment_id`
is that id, null otherwise. `acknowledged_at` is the earliest entry of `acknowledgements`, which the
API fills only while an incident is acknowledged (a resolved incident's acknowledgement time is in its
log entries, which this connector does not read: null there).

Resilience: `connectors.http.session` retries 429 (honouring `Retry-After`) and 5xx with capped
backoff; a truncated (non-JSON) page and a page that repeats incidents already read in the same
listing (the listing shifted under the offset) are requested again, a few times, before failing.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Iterator

import requests

from connectors.http import SourceError, session
from connectors.records import PagerdutyIncident

SOURCE = "pagerduty"
ACCEPT = "application/vnd.pagerduty+json;version=2"
PAGE_LIMIT = 100
WINDOW = dt.timedelta(days=30)
PAGE_ATTEMPTS = 3
DEPLOY_KEY = re.compile(r"^deploy(?:ment)?[-:/#](\d+)$", re.IGNORECASE)
log = logging.getLogger(__name__)


def linked_deployment(incident_key: str | None) -> int | None:
    """The GitHub deployment id an incident's dedup key names, if it names one."""
    match = DEPLOY_KEY.match((incident_key or "").strip())
    return int(match.group(1)) if match else None


def _time(value: object, what: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise SourceError(SOURCE, f"{what} is not an ISO 8601 time ({value!r})", "Report this payload") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


def to_record(payload: dict) -> PagerdutyIncident:
    """One incident object -> record; unknown fields are ignored, missing optional ones become null."""
    incident_id = payload.get("id")
    missing = [k for k in ("id", "incident_number", "status", "created_at", "service") if not payload.get(k)]
    if missing:
        raise SourceError(
            SOURCE, f"incident {incident_id or '(without id)'} lacks {', '.join(missing)}",
            "Check that pagerduty.api_url is the REST API (https://api.pagerduty.com), not the Events API",
        )
    service = payload["service"] or {}
    acknowledgements = [a.get("at") for a in payload.get("acknowledgements") or [] if a.get("at")]
    priority = payload.get("priority") or None
    return PagerdutyIncident(
        id=str(incident_id),
        incident_number=int(payload["incident_number"]),
        title=str(payload.get("title") or payload.get("summary") or ""),
        status=str(payload["status"]),
        urgency=str(payload.get("urgency") or "high"),
        priority=priority.get("summary") if isinstance(priority, dict) else None,
        service_id=str(service.get("id") or ""),
        service_name=str(service.get("summary") or ""),
        created_at=_time(payload["created_at"], f"incident {incident_id} created_at"),
        updated_at=_time(payload.get("updated_at"), f"incident {incident_id} updated_at"),
        acknowledged_at=min((_time(a, f"incident {incident_id} acknowledgement") for a in acknowledgements), default=None),
        resolved_at=_time(payload.get("resolved_at"), f"incident {incident_id} resolved_at"),
        html_url=payload.get("html_url"),
        linked_deployment_id=linked_deployment(payload.get("incident_key")),
    )


def windows(since: dt.datetime, until: dt.datetime, size: dt.timedelta = WINDOW) -> Iterator[tuple[dt.datetime, dt.datetime]]:
    """Consecutive [start, end) windows covering [since, until)."""
    start = since
    while start < until:
        end = min(start + size, until)
        yield start, end
        start = end


class PagerdutyConnector:
    """Reads incidents of one PagerDuty account (all services, or the configured ones)."""

    def __init__(
        self, api_url: str, token: str, *, http: requests.Session | None = None, timeout: float = 60.0
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout  # seconds per request; a request that times out is retried like a 503
        self._http = http or session("impact-warehouse (pagerduty)")
        self._http.headers.update({"Authorization": f"Token token={token}", "Accept": ACCEPT})
        self.requests = 0

    def _get(self, path: str, params: dict, what: str) -> dict:
        """One GET answered with a JSON object, or a SourceError that says what to do."""
        url = self.api_url + path
        for attempt in range(1, PAGE_ATTEMPTS + 1):
            try:
                response = self._http.get(url, params=params, timeout=self.timeout)
            except requests.RequestException as error:
                reason = type(error).__name__
                raise SourceError(
                    SOURCE, f"reading {what} kept failing after retries ({reason})",
                    "Check pagerduty.api_url and PagerDuty's status page, then run again; the run can be repeated safely",
                    url=url,
                ) from None
            self.requests += 1
            if response.status_code == 200:
                try:
                    payload = response.json()
                except ValueError:
                    if attempt < PAGE_ATTEMPTS:
                        log.warning("pagerduty: a malformed (non-JSON) page of %s; reading it again", what)
                        continue
                    raise SourceError(
                        SOURCE, f"a malformed page (not JSON) while reading {what}, {PAGE_ATTEMPTS} times",
                        "Check that pagerduty.api_url is the REST API root (https://api.pagerduty.com); "
                        "otherwise run again later",
                        url=url,
                    ) from None
                if not isinstance(payload, dict):
                    raise SourceError(SOURCE, f"an unexpected answer while reading {what}",
                                      "Check that pagerduty.api_url is https://api.pagerduty.com", url=url)
                return payload
            raise self._status_error(response, what, url)
        raise AssertionError("unreachable")

    def _status_error(self, response: requests.Response, what: str, url: str) -> SourceError:
        status = response.status_code
        try:
            detail = response.json().get("error", {})
            message = detail.get("message") if isinstance(detail, dict) else None
        except (ValueError, AttributeError):
            message = None
        if status == 401:
            return SourceError(
                SOURCE, f"the token was refused while reading {what} (HTTP 401{': ' + message if message else ''})",
                "Set PAGERDUTY_TOKEN to a valid REST API key (a read-only key is enough)", url=url,
            )
        if status == 403:
            return SourceError(SOURCE, f"access to {what} was denied (HTTP 403)",
                               "Use an API key whose user can see these services", url=url)
        if status == 404:
            return SourceError(
                SOURCE, f"{what} was not found (HTTP 404)",
                "Check pagerduty.api_url (the REST API root, https://api.pagerduty.com) and pagerduty.service_ids",
                url=url,
            )
        if status == 400:
            return SourceError(SOURCE, f"PagerDuty rejected the request for {what} (HTTP 400: {message})",
                               "Check start_date / end_date and pagerduty.service_ids", url=url)
        return SourceError(SOURCE, f"HTTP {status} while reading {what} after retries",
                           "Try again later; the run can be repeated safely", url=url)

    def check_services(self, service_ids: Iterable[str]) -> None:
        """Fail early, naming the id, when a configured service does not exist."""
        for service_id in service_ids:
            try:
                self._get(f"/services/{service_id}", {}, f"service {service_id}")
            except SourceError as error:
                if "HTTP 404" not in error.problem:
                    raise
                raise SourceError(
                    SOURCE, f"service {service_id} was not found (HTTP 404)",
                    "Check pagerduty.service_ids (the id is in the service's URL, e.g. PABC123) and pagerduty.api_url",
                    url=self.api_url,
                ) from None

    def incidents(
        self, since: dt.datetime, until: dt.datetime, *, service_ids: Iterable[str] = ()
    ) -> list[PagerdutyIncident]:
        """Every incident created in [since, until), each once, oldest first."""
        params: dict[str, object] = {
            "since": since.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "until": until.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "time_zone": "UTC",
            "sort_by": "created_at:asc",
            "limit": PAGE_LIMIT,
        }
        services = list(service_ids)
        if services:
            params["service_ids[]"] = services
        what = f"incidents created {params['since']}..{params['until']}"
        records: dict[str, PagerdutyIncident] = {}
        offset = 0
        while True:
            for attempt in range(1, PAGE_ATTEMPTS + 1):
                page = self._get("/incidents", {**params, "offset": offset}, what)
                items = page.get("incidents")
                if not isinstance(items, list):
                    raise SourceError(SOURCE, f"the answer for {what} has no incidents list",
                                      "Check that pagerduty.api_url is the REST API root (https://api.pagerduty.com)",
                                      url=self.api_url + "/incidents")
                ids = [str(item.get("id")) for item in items]
                if items and offset > 0 and all(i in records for i in ids):
                    # The listing shifted under the offset: this page repeats incidents already read.
                    log.warning("pagerduty: the page at offset %d of %s repeats earlier incidents; reading it again",
                                offset, what)
                    if attempt < PAGE_ATTEMPTS:
                        continue
                    raise SourceError(SOURCE, f"the page at offset {offset} of {what} kept repeating earlier incidents",
                                      "Run again; the run can be repeated safely", url=self.api_url + "/incidents")
                break
            for item in items:
                record = to_record(item)
                records[record.id] = record
            if not page.get("more") or not items:
                break
            offset += len(items)
        return sorted(records.values(), key=lambda r: (r.created_at, r.incident_number))
