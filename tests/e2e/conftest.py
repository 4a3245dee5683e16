"""The end-to-end fixtures: one `impact demo` run in a scratch folder, shared by every e2e module."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

IMPACT = Path(sys.executable).with_name("impact")
# A distinctive secret, so that any copy of it in what the pipeline writes can be found.
SANDBOX_SECRET = "sbx-secret-7f3a9c1e5d"


def _impact(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(IMPACT), *args], cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=900,
    )
    assert result.returncode == 0, f"impact {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    workdir = tmp_path_factory.mktemp("demo")
    return workdir, _impact("demo", cwd=workdir, env={"IMPACT_SANDBOX_TOKEN": SANDBOX_SECRET})


@pytest.fixture
def warehouse(demo) -> duckdb.DuckDBPyConnection:
    workdir, _ = demo
    con = duckdb.connect(str(workdir / "warehouse" / "impact.duckdb"), read_only=True)
    yield con
    con.close()


@pytest.fixture(scope="session")
def truth(demo) -> Path:
    workdir, _ = demo
    return workdir / "warehouse" / "demo" / "ground_truth"


