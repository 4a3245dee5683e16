"""`impact doctor` on every configured source: Jira and PagerDuty too, and an empty team mapping."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

from impact.demo import sandbox_config
from sandbox.organisation import Organisation
from sandbox.server import SandboxServer

IMPACT = Path(sys.executable).with_name("impact")
SECRET = "doctor-secret-sources-9"


def _doctor(config: dict, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "impact.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [str(IMPACT), "doctor", "--config", str(path)], capture_output=True, text=True, timeout=180,
        env={**os.environ, "IMPACT_SANDBOX_TOKEN": SECRET, "COLUMNS": "200"},
    )


def _words(text: str) -> str:
    """The table's text as one line: box-drawing borders of wrapped cells removed."""
    return " ".join(re.sub(r"[│┃]", " ", text).split())


def _config(sandbox: SandboxServer, org: Organisation, tmp_path: Path, truth_dir: Path) -> dict:
    return sandbox_config(
        org, sandbox.url, warehouse=tmp_path / "w" / "impact.duckdb", teams_file=truth_dir / "team_mapping.csv",
        reports_dir=tmp_path / "reports",
    )


def test_doctor_checks_jira_and_pagerduty(sandbox, small_org, tmp_path: Path, truth_dir: Path) -> None:
    result = _doctor(_config(sandbox, small_org, tmp_path, truth_dir), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    out = _words(result.stdout)
    assert "Jira Cloud at" in out and "searchable" in out
    assert "incidents readable at" in out and "/pagerduty (all services)" in out
    assert "FIX" not in out and SECRET not in result.stdout + result.stderr


def test_doctor_says_what_is_wrong_with_pagerduty(sandbox, small_org, tmp_path: Path, truth_dir: Path) -> None:
    config = _config(sandbox, small_org, tmp_path, truth_dir)
    config["pagerduty"]["service_ids"] = ["PNOPE42"]
    result = _doctor(config, tmp_path)
    assert result.returncode == 1
    out = _words(result.stdout)
    assert "FIX" in out and "service PNOPE42 was not found" in out and "pagerduty.service_ids" in out
    assert SECRET not in result.stdout + result.stderr


def test_doctor_rejects_an_empty_team_mapping(sandbox, small_org, tmp_path: Path, truth_dir: Path) -> None:
    config = _config(sandbox, small_org, tmp_path, truth_dir)
    header = (truth_dir / "team_mapping.csv").read_text().splitlines()[0]
    empty = tmp_path / "teams.csv"
    empty.write_text(header + "\n")
    config["teams"] = str(empty)
    result = _doctor(config, tmp_path)
    assert result.returncode == 1
    assert "lists nobody" in _words(result.stdout)
