"""Claude Code OpenTelemetry metrics from OTLP JSON export files, summed per series and UTC day.

Why a reader of files and not a receiver: organisations already run a collector; its file exporter
(or any OTLP/JSON dump) is the least intrusive thing to hand over. Each line is one
`ExportMetricsServiceRequest`; the reader walks `resourceMetrics[].scopeMetrics[].metrics[]` and
reads `sum` (and `gauge`) data points.

Counting right:
- Delta points (Claude Code's default temporality) are amounts for their interval: summed.
- Cumulative points are running totals since `startTimeUnixNano`: the amount of an interval is the
  difference from the series' previous point (the first point of a start time counts whole), and a
  new start time means the counter restarted.
- A collector retry writes the same request twice: a point is identified by its series and its
  `timeUnixNano` and counted once, across lines and files.
- int64 values arrive as JSON strings (`asInt`), doubles as numbers (`asDouble`).
Only `claude_code.*` metrics are read; others in the same export are skipped and counted.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

from connectors.http import SourceError
from connectors.records import ClaudeOtelUsage

SOURCE = "claude_code.otel"
DELTA, CUMULATIVE = 1, 2
PREFIX = "claude_code."
#: point attributes that name a series beyond the identity attributes (kept as columns)
SERIES_ATTRIBUTES = ("model", "type", "tool_name", "decision")


@dataclasses.dataclass
class OtelReadSummary:
    files: int = 0
    lines: int = 0
    points: int = 0
    duplicate_points: int = 0
    skipped_metrics: int = 0


def export_files(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(file, the configured root it was found under) for every export file, in a stable order."""
    found: list[tuple[Path, Path]] = []
    for root in paths:
        root = Path(root)
        if root.is_file():
            found.append((root, root.parent))
        elif root.is_dir():
            found.extend((path, root) for path in sorted(root.rglob("*")) if path.is_file() and path.suffix in (".json", ".jsonl"))
        else:
            raise SourceError(
                SOURCE, f"the export path {root} does not exist",
                "Fix claude_code.otel_exports in the config (a folder of the collector's file-exporter output, or one file)",
            )
    return found


def _attributes(items: list[dict] | None) -> dict[str, str]:
    values: dict[str, str] = {}
    for item in items or []:
        value = item.get("value") or {}
        for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
            if kind in value:
                values[item["key"]] = str(value[kind])
                break
    return values


def _number(point: dict, where: str) -> float:
    if "asInt" in point:
        return float(int(point["asInt"]))
    if "asDouble" in point:
        return float(point["asDouble"])
    raise SourceError(SOURCE, f"{where}: a data point has neither asInt nor asDouble", "Point the config at OTLP JSON exports")


def _time(nanos: object, where: str) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(nanos) / 1e9, dt.timezone.utc)
    except (TypeError, ValueError) as error:
        raise SourceError(SOURCE, f"{where}: timeUnixNano {nanos!r} is not a number of nanoseconds",
                          "Point the config at OTLP JSON exports") from error


def _points(path: Path, summary: OtelReadSummary) -> Iterator[tuple[str, str | None, int, dict[str, str], float, int, int]]:
    """(metric, unit, temporality, attributes, value, start_nanos, time_nanos) for each claude_code point."""
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            summary.lines += 1
            where = f"{path.name} line {number}"
            try:
                request = json.loads(line)
            except json.JSONDecodeError as error:
                raise SourceError(
                    SOURCE, f"{where} is not JSON ({error.msg})",
                    "A collector cut off mid-write leaves such a line: remove it (or the file) and run again; "
                    "every other line is re-read and nothing counts twice",
                ) from error
            for resource in request.get("resourceMetrics") or []:
                resource_attributes = _attributes((resource.get("resource") or {}).get("attributes"))
                for scope in resource.get("scopeMetrics") or []:
                    for metric in scope.get("metrics") or []:
                        name = metric.get("name", "")
                        if not name.startswith(PREFIX):
                            summary.skipped_metrics += 1
                            continue
                        body = metric.get("sum") or metric.get("gauge")
                        if body is None:
                            summary.skipped_metrics += 1
                            continue
                        temporality = int(body.get("aggregationTemporality", DELTA) or DELTA)
                        for point in body.get("dataPoints") or []:
                            attributes = resource_attributes | _attributes(point.get("attributes"))
                            value = _number(point, where)
                            start = int(point.get("startTimeUnixNano") or 0)
                            end = int(point.get("timeUnixNano") or 0)
                            if not end:
                                raise SourceError(SOURCE, f"{where}: a {name} point has no timeUnixNano",
                                                  "Point the config at OTLP JSON exports")
                            yield name, metric.get("unit"), temporality, attributes, value, start, end


def read_otel_exports(paths: Iterable[Path]) -> tuple[list[ClaudeOtelUsage], OtelReadSummary]:
    """Every `claude_code.*` series of the export files, summed per UTC day of each point's time."""
    summary = OtelReadSummary()
    series_points: dict[tuple, dict[int, tuple[float, int, int, str]]] = defaultdict(dict)
    units: dict[str, str | None] = {}
    for path, root in export_files(paths):
        summary.files += 1
        relative = str(path.relative_to(root))
        for name, unit, temporality, attributes, value, start, end in _points(path, summary):
            units[name] = unit
            series = (
                name, temporality,
                attributes.get("user.email"), attributes.get("user.account_uuid"),
                attributes.get("organization.id"), attributes.get("session.id"),
                *(attributes.get(key) for key in SERIES_ATTRIBUTES),
            )
            seen = series_points[series]
            if end in seen:
                summary.duplicate_points += 1
                continue
            seen[end] = (value, start, end, relative)
            summary.points += 1

    totals: dict[tuple, list] = {}
    for series, points in series_points.items():
        name, temporality = series[0], series[1]
        previous: tuple[int, float] | None = None  # (start, cumulative value) of the last point
        for end in sorted(points):
            value, start, _, relative = points[end]
            amount = value
            if temporality == CUMULATIVE:
                if previous is not None and previous[0] == start and value >= previous[1]:
                    amount = value - previous[1]
                previous = (start, value)
            moment = _time(end, relative)
            key = (moment.date(), name, *series[2:])
            total = totals.setdefault(key, [0.0, 0, moment, moment, relative])
            total[0] += amount
            total[1] += 1
            total[2] = min(total[2], moment)
            if moment >= total[3]:
                total[3], total[4] = moment, relative

    records = [
        ClaudeOtelUsage(
            date=day, metric=name, user_email=email, user_account_uuid=account, organization_id=organization,
            session_id=session, model=model, kind=kind, tool_name=tool, decision=decision,
            value=round(amount, 9), unit=units.get(name), points=count,
            first_point_at=first, last_point_at=last, file=relative,
        )
        for (day, name, email, account, organization, session, model, kind, tool, decision), (amount, count, first, last, relative)
        in sorted(totals.items(), key=lambda item: tuple("" if v is None else str(v) for v in item[0]))
    ]
    return records, summary
