"""Anthropic Admin API: the Claude Code analytics report (`/v1/organizations/usage_report/claude_code`).

One UTC day per request (`starting_at`), `limit` records per page (default 20, max 1000) and an
opaque `next_page` cursor, in the documented record shape: `actor`, `core_metrics`, `tool_actions`,
`model_breakdown` with `estimated_cost.amount` in cents of USD. Faults from `sandbox.faults` come in
the documented error shape (`rate_limit_error` with `retry-after`, `api_error`, `overloaded_error`,
`invalid_request_error` for an expired cursor).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections import defaultdict

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from sandbox.entities import UsageDay
from sandbox.faults import Fault
from sandbox.organisation import Organisation
from sandbox.rng import stable_sha
from sandbox.web import int_arg, iso, json_response

ENDPOINT = "anthropic.claude_code_usage"


def rules() -> list[Rule]:
    return [Rule("/v1/organizations/usage_report/claude_code", endpoint=ENDPOINT)]


def error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> Response:
    request_id = "req_sandbox" + stable_sha(kind, message)[:20]
    return json_response(
        {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id},
        status,
        {"request-id": request_id, **(headers or {})},
    )


EXPIRED_CURSOR_MESSAGE = "page: pagination cursor has expired; request the first page again (without page)"


def fault_response(fault: Fault) -> Response:
    """The error answers of `sandbox.faults` in the shape Anthropic's "Errors" page documents."""
    headers = {"retry-after": str(fault.retry_after)} if fault.retry_after is not None else {}
    if fault.kind == "rate_limit":
        reset = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=fault.retry_after or 1)
        headers.update(
            {
                "anthropic-ratelimit-requests-limit": "60",
                "anthropic-ratelimit-requests-remaining": "0",
                "anthropic-ratelimit-requests-reset": reset.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
        message = "Rate limit exceeded: too many requests. Retry after the time in the retry-after header."
        return error(429, "rate_limit_error", message, headers)
    if fault.kind == "server_error":
        if fault.status == 529:
            return error(529, "overloaded_error", "Overloaded", headers)
        return error(fault.status or 500, "api_error", "Internal server error", headers)
    if fault.kind == "expired_cursor":
        return error(400, "invalid_request_error", EXPIRED_CURSOR_MESSAGE)
    raise ValueError(f"anthropic cannot serve a {fault.kind} fault")


def record(org: Organisation, day: UsageDay) -> dict:
    return {
        "date": iso(dt.datetime(day.date.year, day.date.month, day.date.day, tzinfo=dt.timezone.utc)),
        "actor": {"type": "user_actor", "email_address": day.email},
        "organization_id": org.anthropic_organization_id,
        "customer_type": "api",
        "terminal_type": day.terminal_type,
        "core_metrics": {
            "num_sessions": day.sessions,
            "lines_of_code": {"added": day.lines_added, "removed": day.lines_removed},
            "commits_by_claude_code": day.commits,
            "pull_requests_by_claude_code": day.pull_requests,
        },
        "tool_actions": {tool: {"accepted": accepted, "rejected": rejected} for tool, accepted, rejected in day.tool_actions},
        "model_breakdown": [
            {
                "model": m.model,
                "tokens": {
                    "input": m.input_tokens,
                    "output": m.output_tokens,
                    "cache_read": m.cache_read_tokens,
                    "cache_creation": m.cache_creation_tokens,
                },
                "estimated_cost": {"currency": "USD", "amount": m.cost_cents},
            }
            for m in day.models
        ],
    }


def _encode_cursor(day: dt.date, offset: int) -> str:
    raw = json.dumps({"d": day.isoformat(), "o": offset}, separators=(",", ":")).encode()
    return "page_" + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[str, int]:
    body = cursor.removeprefix("page_")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    data = json.loads(raw)
    return data["d"], int(data["o"])


class AnthropicApi:
    def __init__(self, org: Organisation):
        self.org = org
        self.by_day: dict[dt.date, list[UsageDay]] = defaultdict(list)
        for day in org.usage:
            self.by_day[day.date].append(day)

    def handle(self, request: Request, endpoint: str, args: dict, fault: Fault | None = None) -> Response:
        """Answer one routed request; `fault` (from the fault plan) replaces or bends the answer."""
        if not request.headers.get("x-api-key", "").strip():
            return error(401, "authentication_error", "x-api-key header is required")
        if not request.headers.get("anthropic-version", "").strip():
            return error(400, "invalid_request_error", "anthropic-version: header is required")
        starting_at = request.args.get("starting_at", "")
        try:
            day = dt.date.fromisoformat(starting_at)
        except ValueError:
            return error(400, "invalid_request_error", "starting_at: expected a UTC date in YYYY-MM-DD format")
        limit = int_arg(request, "limit", 20)
        if not 1 <= limit <= 1000:
            return error(400, "invalid_request_error", "limit: must be between 1 and 1000")
        if fault is not None and fault.kind not in ("repeat_page", "malformed_json", "slow"):
            return fault_response(fault)
        offset = 0
        if request.args.get("page"):
            try:
                cursor_day, offset = _decode_cursor(request.args["page"])
            except (ValueError, KeyError, TypeError):
                return error(400, "invalid_request_error", "page: invalid pagination cursor")
            if cursor_day != day.isoformat():
                return error(400, "invalid_request_error", "page: cursor does not belong to this starting_at")
        records = self.by_day.get(day, [])
        chunk = records[offset : offset + limit]
        has_more = offset + limit < len(records)
        if fault is not None and fault.kind == "repeat_page":
            # The report shifted under the cursor: the previous page's records, this page's cursor.
            chunk = records[max(offset - limit, 0) : offset]
        return json_response(
            {
                "data": [record(self.org, d) for d in chunk],
                "has_more": has_more,
                "next_page": _encode_cursor(day, offset + limit) if has_more else None,
            },
            headers={"request-id": "req_sandbox" + stable_sha(day, offset, limit)[:20]},
        )
