"""Schema drift and bad records for the file sources, written into copies of the sandbox's files.

The HTTP sources get drift from the sandbox (`sandbox.faults.schema_drift`); transcripts and OpenTelemetry
exports are files, so these helpers rewrite copies of the files the sandbox wrote, the way a newer
Claude Code or collector version would write them: an unknown field added everywhere, an optional one
left out. Lines that are not JSON (a truncated last line) are copied as they are.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from sandbox.faults import DRIFT_FIELD, DRIFT_VALUE


def rewrite_jsonl(source: Path, target: Path, rewrite: Callable[[dict], None]) -> int:
    """Copy every file under `source` to `target`, applying `rewrite` to each JSON-object line of *.json(l)."""
    changed = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        out = target / path.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix not in (".jsonl", ".json"):
            shutil.copy(path, out)
            continue
        text = path.read_text(encoding="utf-8")
        lines = []
        for line in text.split("\n"):
            try:
                data = json.loads(line) if line.strip() else None
            except ValueError:
                data = None
            if isinstance(data, dict):
                rewrite(data)
                line = json.dumps(data, separators=(",", ":"))
                changed += 1
            lines.append(line)
        out.write_text("\n".join(lines), encoding="utf-8")
    return changed


def drift_transcript_line(line: dict) -> None:
    """A newer Claude Code: an unknown field on every line and in every message; no `gitBranch` (optional:
    Claude Code writes it only when the session runs inside a git checkout)."""
    line[DRIFT_FIELD] = DRIFT_VALUE
    line.pop("gitBranch", None)
    if isinstance(line.get("message"), dict):
        line["message"][DRIFT_FIELD] = DRIFT_VALUE


def _metrics(request: dict):
    for resource in request.get("resourceMetrics") or []:
        for scope in resource.get("scopeMetrics") or []:
            yield from scope.get("metrics") or []


def drift_otel_request(request: dict) -> None:
    """A newer exporter: unknown fields on every metric and data point, an unknown point attribute, and no
    `unit` (optional in OTLP's Metric message)."""
    request[DRIFT_FIELD] = DRIFT_VALUE
    for metric in _metrics(request):
        metric[DRIFT_FIELD] = DRIFT_VALUE
        metric.pop("unit", None)
        body = metric.get("sum") or metric.get("gauge") or {}
        for point in body.get("dataPoints") or []:
            point[DRIFT_FIELD] = DRIFT_VALUE
            point.setdefault("attributes", []).append(
                {"key": "x.sandbox.attribute", "value": {"stringValue": "new"}}
            )


def nan_otel_cost(request: dict) -> None:
    """A broken exporter: every `claude_code.cost.usage` point's value is NaN (which JSON readers accept)."""
    for metric in _metrics(request):
        if metric.get("name") == "claude_code.cost.usage":
            body = metric.get("sum") or metric.get("gauge") or {}
            for point in body.get("dataPoints") or []:
                point.pop("asInt", None)
                point["asDouble"] = float("nan")
