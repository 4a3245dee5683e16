"""Build the warehouse beside the live file and swap it in only when the whole build passed.

dbt rebuilds tables one by one, so a build that fails half-way (a failing test, a bad batch) would
leave readers a warehouse that mixes old and new marts. Building a copy and renaming it over the
live file keeps every failed run invisible: BI tools see the previous warehouse until the next good one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any


def dbt_environment(warehouse: Path, raw_dir: Path, config: Any = None) -> dict[str, str]:
    """The environment variables the dbt profile, sources and incident models read.

    With the loaded `ImpactConfig`, the incident settings travel too (read by
    dbt_project/macros/incident_settings.sql): `incidents.link_window_hours` as
    IMPACT_INCIDENT_LINK_WINDOW_HOURS (a number, or `off` for DevLake's rule) and
    `pagerduty.service_repositories` as IMPACT_PAGERDUTY_SERVICE_REPOSITORIES (a JSON object), and
    `incidents.duplicate_window_minutes` as IMPACT_INCIDENT_DUPLICATE_WINDOW_MINUTES.
    """
    environment = {"IMPACT_WAREHOUSE": str(warehouse), "IMPACT_RAW_DIR": str(raw_dir)}
    if config is not None:
        window = config.incidents.link_window_hours
        environment["IMPACT_INCIDENT_LINK_WINDOW_HOURS"] = "off" if window is None else repr(float(window))
        services = dict(config.pagerduty.service_repositories) if config.pagerduty is not None else {}
        environment["IMPACT_PAGERDUTY_SERVICE_REPOSITORIES"] = json.dumps(services, sort_keys=True)
        environment["IMPACT_INCIDENT_DUPLICATE_WINDOW_MINUTES"] = repr(float(config.incidents.duplicate_window_minutes))
    return environment


@contextlib.contextmanager
def building_copy(warehouse: Path) -> Iterator[Path]:
    """Yield a scratch copy of the warehouse; it replaces the live file only if the block succeeds."""
    warehouse = Path(warehouse)
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    scratch = warehouse.with_name(f"{warehouse.stem}.building{warehouse.suffix}")
    for leftover in (scratch, scratch.with_name(scratch.name + ".wal")):
        leftover.unlink(missing_ok=True)
    if warehouse.exists():
        shutil.copy2(warehouse, scratch)
    try:
        yield scratch
    except BaseException:
        scratch.unlink(missing_ok=True)
        raise
    os.replace(scratch, warehouse)
