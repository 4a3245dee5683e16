"""Claude Code's OpenTelemetry metrics as an OTLP JSON export (the collector's file exporter format).

Some teams run Claude Code with `CLAUDE_CODE_ENABLE_TELEMETRY=1` and a collector that writes what it
receives to files: one `ExportMetricsServiceRequest` as JSON per line (`resourceMetrics` ->
`scopeMetrics` -> `metrics` -> `sum.dataPoints`), int64 values as strings, times as
`startTimeUnixNano` / `timeUnixNano` strings. Claude Code exports every interval with delta
temporality by default (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`); a collector or a user's
setting can make it cumulative.

Which usage: the same usage the Admin API report describes (`org.usage`), for the developers of the
teams that ship telemetry, so that the warehouse's "one source per developer-day" rule is exercised
(the report wins, nothing is counted twice), plus what only telemetry has: active time.

Quirks planted, each a real one: one developer's exporter is cumulative (values since the session
started, so per-interval amounts are differences), and a collector retry wrote some requests twice
(the same points on two lines), which a reader must count once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from pathlib import Path

from sandbox.entities import UsageDay
from sandbox.organisation import Organisation
from sandbox.rng import Stream, stable_sha

SCOPE = {"name": "com.anthropic.claude_code", "version": "2.0.14"}
DELTA, CUMULATIVE = 1, 2
#: OTel's `type` attribute of claude_code.token.usage for each token kind of the report
TOKEN_TYPES = (("input", "input_tokens"), ("output", "output_tokens"), ("cacheRead", "cache_read_tokens"),
               ("cacheCreation", "cache_creation_tokens"))
#: every how many minutes an interval's points are written (Claude Code's default is 60 s; coarser keeps files small)
INTERVAL_MINUTES = 15
RETRY_DUPLICATE_SHARE = 0.03


@dataclasses.dataclass(frozen=True)
class OtelDeveloperDay:
    """The answer key for one developer-day of telemetry."""

    email: str
    date: dt.date
    sessions: int
    active_seconds: int
    temporality: str  # delta | cumulative


def telemetry_teams(org: Organisation) -> list[str]:
    """Every fourth team (the last of `small`'s four) ships Claude Code telemetry."""
    return [team.team_id for index, team in enumerate(org.teams) if team.parent_team_id and index % 4 == 0]


def _split(total: int, parts: int, stream: Stream) -> list[int]:
    """Split an integer total into `parts` non-negative integers that sum back to it exactly."""
    if parts == 1:
        return [total]
    weights = [stream.uniform(0.5, 1.5) for _ in range(parts)]
    shares = [int(total * w / sum(weights)) for w in weights]
    shares[-1] += total - sum(shares)
    return shares


def _nanos(moment: dt.datetime) -> str:
    return str(int(moment.timestamp()) * 1_000_000_000)


def _attributes(values: dict[str, str]) -> list[dict]:
    return [{"key": key, "value": {"stringValue": value}} for key, value in values.items()]


class _Exporter:
    """Turns one developer's sessions into export requests, delta or cumulative like the real SDK."""

    def __init__(self, org: Organisation, day: UsageDay, account_uuid: str, temporality: int) -> None:
        self.org = org
        self.day = day
        self.account_uuid = account_uuid
        self.temporality = temporality
        self.running: dict[tuple, float] = {}  # cumulative totals per series
        self.session_starts: dict[str, dt.datetime] = {}

    def point(self, metric: str, base: dict[str, str], extra: dict[str, str], value: float, start: dt.datetime,
              end: dt.datetime, as_int: bool) -> dict:
        key = (metric, tuple(sorted(extra.items())), base["session.id"])
        if self.temporality == CUMULATIVE:
            # a cumulative series counts from its own start (the session's), not from the interval's
            self.running[key] = self.running.get(key, 0) + value
            value = self.running[key]
            start = self.session_starts[base["session.id"]]
        point = {"attributes": _attributes({**base, **extra}), "startTimeUnixNano": _nanos(start), "timeUnixNano": _nanos(end)}
        if as_int:
            point["asInt"] = str(int(round(value)))
        else:
            point["asDouble"] = round(value, 10)
        return point


def _session_requests(org: Organisation, day: UsageDay, stream: Stream, temporality: int) -> tuple[list[dict], int]:
    """Export requests for one developer-day, and the day's active seconds."""
    developer = next(d for d in org.developers if d.email == day.email)
    account_uuid = str(uuid.UUID(hex=stable_sha("account", day.email)[:32]))
    sessions = max(1, day.sessions)
    exporter = _Exporter(org, day, account_uuid, temporality)
    model_shares = {
        model.model: {name: _split(getattr(model, field), sessions, stream) for name, field in TOKEN_TYPES}
        | {"cost": _split(model.cost_cents, sessions, stream)}
        for model in day.models
    }
    added = _split(day.lines_added, sessions, stream)
    removed = _split(day.lines_removed, sessions, stream)
    commits = _split(day.commits, sessions, stream)
    pulls = _split(day.pull_requests, sessions, stream)
    decisions = {
        (tool, decision): _split(count, sessions, stream)
        for tool, accepted, rejected in day.tool_actions
        for decision, count in (("accept", accepted), ("reject", rejected))
        if count
    }
    requests, active_total = [], 0
    clock = dt.datetime.combine(day.date, dt.time(8), dt.timezone.utc) + dt.timedelta(minutes=stream.integer(0, 90))
    for index in range(sessions):
        session_id = str(uuid.UUID(hex=stable_sha("otel-session", day.email, day.date.isoformat(), index)[:32]))
        session_start = clock
        intervals = stream.integer(2, 6)
        active = [stream.integer(120, INTERVAL_MINUTES * 60) for _ in range(intervals)]
        active_total += sum(active)
        base = {
            "user.id": stable_sha("device", day.email)[:64], "session.id": session_id,
            "organization.id": org.anthropic_organization_id, "user.email": day.email,
            "user.account_uuid": account_uuid, "terminal.type": developer.terminal_type,
        }
        exporter.session_starts[session_id] = session_start
        for step in range(intervals):
            start = clock + dt.timedelta(minutes=INTERVAL_MINUTES * step)
            end = start + dt.timedelta(minutes=INTERVAL_MINUTES)
            last = step == intervals - 1
            metrics = []

            def share(values: list[int]) -> int:
                # a session's amount is written in its first interval for counts, spread for tokens
                return values[index] if last else 0

            if step == 0:
                metrics.append(("claude_code.session.count", "count", [exporter.point("session", base, {}, 1, start, end, True)]))
            token_points, cost_points = [], []
            for model, shares in model_shares.items():
                for name, _ in TOKEN_TYPES:
                    session_total = shares[name][index]
                    part = session_total // intervals + (session_total % intervals if last else 0)
                    token_points.append(exporter.point("token", base, {"model": model, "type": name}, part, start, end, True))
                cents = shares["cost"][index]
                part_cents = cents // intervals + (cents % intervals if last else 0)
                cost_points.append(exporter.point("cost", base, {"model": model}, part_cents / 100, start, end, False))
            metrics.append(("claude_code.token.usage", "tokens", token_points))
            metrics.append(("claude_code.cost.usage", "USD", cost_points))
            metrics.append(("claude_code.active_time.total", "s", [
                exporter.point("active", base, {"type": "cli"}, active[step], start, end, False)
            ]))
            if last:
                metrics.append(("claude_code.lines_of_code.count", "count", [
                    exporter.point("lines", base, {"type": "added"}, share(added), start, end, True),
                    exporter.point("lines", base, {"type": "removed"}, share(removed), start, end, True),
                ]))
                metrics.append(("claude_code.commit.count", "count", [exporter.point("commits", base, {}, share(commits), start, end, True)]))
                metrics.append(("claude_code.pull_request.count", "count", [exporter.point("pulls", base, {}, share(pulls), start, end, True)]))
                metrics.append(("claude_code.code_edit_tool.decision", "count", [
                    exporter.point("edits", base, {"tool_name": tool, "decision": decision, "language": "Python"}, share(values), start, end, True)
                    for (tool, decision), values in decisions.items()
                ]))
            requests.append(_request(metrics, temporality))
        clock += dt.timedelta(minutes=INTERVAL_MINUTES * intervals + stream.integer(20, 120))
    return requests, active_total


def _request(metrics: list[tuple[str, str, list[dict]]], temporality: int) -> dict:
    return {"resourceMetrics": [{
        "resource": {"attributes": _attributes({"service.name": "claude-code", "service.version": SCOPE["version"],
                                                 "os.type": "linux", "host.arch": "amd64"})},
        "scopeMetrics": [{"scope": SCOPE, "metrics": [
            {"name": name, "unit": unit, "sum": {"dataPoints": points, "aggregationTemporality": temporality,
                                                 "isMonotonic": True}}
            for name, unit, points in metrics if points
        ]}],
    }]}


def write_otel_export(org: Organisation, folder: str | Path) -> list[OtelDeveloperDay]:
    """Write weekly `metrics-<monday>.jsonl` files for the telemetry teams; return the answer key."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    teams = set(telemetry_teams(org))
    emails = sorted(d.email for d in org.developers if d.team_id in teams)
    cumulative = emails[0] if emails else None
    by_week: dict[dt.date, list[str]] = {}
    truth: list[OtelDeveloperDay] = []
    retry = Stream(org.seed, "otel", "retries")
    for day in org.usage:
        if day.email not in emails:
            continue
        temporality = CUMULATIVE if day.email == cumulative else DELTA
        stream = Stream(org.seed, "otel", day.email, day.date.isoformat())
        requests, active = _session_requests(org, day, stream, temporality)
        monday = day.date - dt.timedelta(days=day.date.weekday())
        lines = by_week.setdefault(monday, [])
        for request in requests:
            line = json.dumps(request, separators=(",", ":"), sort_keys=True)
            lines.append(line)
            if retry.chance(RETRY_DUPLICATE_SHARE):
                lines.append(line)  # the collector's retry wrote the same request again
        truth.append(OtelDeveloperDay(day.email, day.date, max(1, day.sessions), active,
                                      "cumulative" if temporality == CUMULATIVE else "delta"))
    for monday, lines in sorted(by_week.items()):
        (folder / f"metrics-{monday.isoformat()}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return truth


def write_otel_truth(rows: list[OtelDeveloperDay], folder: str | Path) -> Path:
    """`otel_developer_days.csv`: per telemetry developer-day, sessions and active seconds as exported."""
    path = Path(folder) / "otel_developer_days.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["email,date,sessions,active_seconds,temporality"]
    lines += [f"{r.email},{r.date.isoformat()},{r.sessions},{r.active_seconds},{r.temporality}"
              for r in sorted(rows, key=lambda r: (r.date, r.email))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
