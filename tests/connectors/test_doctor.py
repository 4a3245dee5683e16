"""`impact doctor` tells, source by source, what works and what to fix."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from sandbox.organisation import Organisation
from sandbox.server import SandboxServer

IMPACT = Path(sys.executable).with_name("impact")


def _doctor(config: dict, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "impact.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [str(IMPACT), "doctor", "--config", str(path)], capture_output=True, text=True, timeout=120,
        env={**os.environ, **env},
    )


def _config(sandbox: SandboxServer, org: Organisation, tmp_path: Path, truth_dir: Path) -> dict:
    return {
        "start_date": "2026-03-04", "warehouse": str(tmp_path / "w" / "impact.duckdb"),
        "teams": str(truth_dir / "team_mapping.csv"),
        "github": {"api_url": sandbox.url, "token": "${DOCTOR_TOKEN}", "orgs": [org.github_org]},
        "anthropic": {"api_url": sandbox.url, "admin_key": "${DOCTOR_TOKEN}"},
    }


def test_doctor_passes_on_a_working_setup(sandbox, small_org, tmp_path: Path, truth_dir: Path) -> None:
    result = _doctor(_config(sandbox, small_org, tmp_path, truth_dir), tmp_path, DOCTOR_TOKEN="doctor-secret-1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6 repositories readable" in result.stdout
    assert "30 people in 4 teams" in result.stdout
    assert "Claude Code analytics report readable" in result.stdout
    assert "FIX" not in result.stdout and "doctor-secret-1" not in result.stdout + result.stderr


def test_doctor_names_what_to_fix(sandbox, small_org, tmp_path: Path, truth_dir: Path) -> None:
    config = _config(sandbox, small_org, tmp_path, truth_dir)
    config["github"]["api_url"] = sandbox.url + "/wrong-prefix"
    config["anthropic"]["admin_key"] = ""
    result = _doctor(config, tmp_path, DOCTOR_TOKEN="doctor-secret-2")
    assert result.returncode == 1
    # an empty key is a config problem, reported before any source is called
    assert "ANTHROPIC_ADMIN_KEY" in result.stdout and "FIX" in result.stdout


def test_doctor_reports_a_wrong_url(sandbox, small_org, tmp_path: Path, truth_dir: Path) -> None:
    config = _config(sandbox, small_org, tmp_path, truth_dir)
    config["github"]["api_url"] = sandbox.url + "/wrong-prefix"
    result = _doctor(config, tmp_path, DOCTOR_TOKEN="doctor-secret-3")
    assert result.returncode == 1
    assert "github: organisation hoco was not found" in result.stdout
    assert "api/v3" in result.stdout and "doctor-secret-3" not in result.stdout + result.stderr
