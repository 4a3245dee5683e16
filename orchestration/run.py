"""Materialise the asset graph from the command line, stage by stage, with a progress bar.

`impact run` and `impact demo` go through here, so the CLI and `dg dev` run the very same assets;
each stage is one Dagster run recorded in the instance at `$DAGSTER_HOME` (default `./.dagster`), so
the runs show up in the Dagster UI afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from dagster import AssetKey, AssetSelection, DagsterInstance, materialize

from orchestration.definitions import ALL_ASSETS, defs
from orchestration.analysis import impact_estimates, impact_report
from orchestration.alerts import ai_spend_alert_webhook
from orchestration.extract import (
    raw_anthropic, raw_claude_code, raw_claude_code_otel, raw_github, raw_github_incidents, raw_jira, raw_org, raw_pagerduty,
)
from orchestration.resources import ImpactConfigResource
from orchestration.warehouse import warehouse_models


@dataclass(frozen=True)
class Stage:
    name: str
    selection: AssetSelection


STAGES: tuple[Stage, ...] = (
    Stage("extract: team mapping", AssetSelection.assets(raw_org)),
    Stage("extract: GitHub", AssetSelection.assets(raw_github)),
    Stage("extract: Jira", AssetSelection.assets(raw_jira)),
    Stage("extract: incidents", AssetSelection.assets(raw_pagerduty, raw_github_incidents)),
    Stage("extract: Claude Code analytics", AssetSelection.assets(raw_anthropic)),
    Stage("extract: Claude Code transcripts", AssetSelection.assets(raw_claude_code)),
    Stage("extract: Claude Code telemetry", AssetSelection.assets(raw_claude_code_otel)),
    Stage("warehouse: dbt build", AssetSelection.assets(warehouse_models)),
    Stage("alerts: AI spend webhook", AssetSelection.assets(ai_spend_alert_webhook)),
    Stage("analysis: difference-in-differences", AssetSelection.assets(impact_estimates)),
    Stage("report", AssetSelection.assets(impact_report)),
)


class PipelineFailed(RuntimeError):
    pass


def _root_cause(error) -> str:  # noqa: ANN001 - dagster's SerializableErrorInfo
    """The innermost error message: Dagster wraps the asset's own exception in its step error."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    return error.message.strip()


def _instance() -> DagsterInstance:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster").resolve())))
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists():
        settings.write_text("telemetry:\n  enabled: false\n")
    return DagsterInstance.get()


def _log_file(instance: DagsterInstance) -> Path:
    folder = Path(instance.root_directory) / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"impact-run-{dt.datetime.now(dt.timezone.utc):%Y%m%dT%H%M%SZ}.log"


def stages_for(select: Sequence[str] | None) -> list[Stage]:
    """The stages whose names start with one of `select` (all stages when empty)."""
    if not select:
        return list(STAGES)
    chosen = [s for s in STAGES if any(s.name.startswith(prefix) for prefix in select)]
    if not chosen:
        names = ", ".join(s.name.split(":")[0] for s in STAGES)
        raise PipelineFailed(f"--select matched no stage; choose among: {names}")
    return chosen


def run_pipeline(
    select: Sequence[str] | None = None,
    *,
    on_stage: Callable[[int, int, str], None] | None = None,
    log_level: str = "INFO",
    full_refresh: bool = False,
) -> tuple[list[AssetKey], Path]:
    """Materialise the chosen stages in order; stop at the first failure with its error message.

    Dagster's and dbt's own output goes to a log file under `$DAGSTER_HOME/logs` (returned), so the
    terminal shows only progress; a failure names the file.
    """
    instance = _instance()
    log_path = _log_file(instance)
    materialised: list[AssetKey] = []
    stages = stages_for(select)
    with log_path.open("w") as log, contextlib.redirect_stdout(log), contextlib.redirect_stderr(log):
        for number, stage in enumerate(stages, start=1):
            if on_stage:
                on_stage(number, len(stages), stage.name)
            materialised.extend(_run_stage(stage, instance, log_level, log_path, full_refresh))
    if on_stage:
        on_stage(len(stages) + 1, len(stages), "done")
    return materialised, log_path


def _run_stage(
    stage: Stage, instance: DagsterInstance, log_level: str, log_path: Path, full_refresh: bool = False
) -> list[AssetKey]:
    resources = dict(defs.resources)
    if full_refresh:
        resources["impact_config"] = ImpactConfigResource(full_refresh=True)
    result = materialize(
            ALL_ASSETS,
        selection=stage.selection,
        resources=resources,
        instance=instance,
        raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
    )
    if not result.success:
        failures = [
            _root_cause(event.step_failure_data.error)
            for event in result.all_events
            if event.is_step_failure and event.step_failure_data and event.step_failure_data.error
        ]
        detail = failures[0] if failures else "no error message was recorded"
        raise PipelineFailed(f"stage '{stage.name}' failed: {detail}\nfull log: {log_path}")
    return [event.asset_key for event in result.all_events if event.is_step_materialization and event.asset_key]
