"""impact.warehouse.dbt_environment hands the incident settings of impact.yaml to dbt (read by
dbt_project/macros/incident_settings.sql): the link window as a number or `off`, the PagerDuty
service -> repository map as JSON, the duplicate-report window in minutes."""

from __future__ import annotations

import json
from pathlib import Path

from impact.config import load_config
from impact.warehouse import dbt_environment


def _config(tmp_path: Path, extra: str):
    path = tmp_path / "impact.yaml"
    path.write_text("start_date: 2024-01-01\n" + extra)
    return load_config(path)


def test_without_config_only_the_paths(tmp_path: Path) -> None:
    assert dbt_environment(tmp_path / "w.duckdb", tmp_path / "raw") == {
        "IMPACT_WAREHOUSE": str(tmp_path / "w.duckdb"), "IMPACT_RAW_DIR": str(tmp_path / "raw")}


def test_incident_settings_reach_dbt(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PAGERDUTY_TOKEN", "not-a-real-token")
    config = _config(tmp_path, "incidents:\n  link_window_hours: 12.5\n  duplicate_window_minutes: 15\n"
                               "pagerduty:\n  service_repositories:\n    checkout: hoco/checkout-service\n")
    environment = dbt_environment(tmp_path / "w.duckdb", tmp_path / "raw", config)
    assert environment["IMPACT_INCIDENT_LINK_WINDOW_HOURS"] == "12.5"
    assert environment["IMPACT_INCIDENT_DUPLICATE_WINDOW_MINUTES"] == "15.0"
    assert json.loads(environment["IMPACT_PAGERDUTY_SERVICE_REPOSITORIES"]) == {"checkout": "hoco/checkout-service"}
    assert "not-a-real-token" not in json.dumps(environment)


def test_window_off_and_no_pagerduty(tmp_path: Path) -> None:
    config = _config(tmp_path, "incidents:\n  link_window_hours: off\n")
    environment = dbt_environment(tmp_path / "w.duckdb", tmp_path / "raw", config)
    assert environment["IMPACT_INCIDENT_LINK_WINDOW_HOURS"] == "off"
    assert environment["IMPACT_PAGERDUTY_SERVICE_REPOSITORIES"] == "{}"
    default = dbt_environment(tmp_path / "w.duckdb", tmp_path / "raw", _config(tmp_path, ""))
    assert default["IMPACT_INCIDENT_LINK_WINDOW_HOURS"] == "24.0"
    assert default["IMPACT_INCIDENT_DUPLICATE_WINDOW_MINUTES"] == "60.0"
