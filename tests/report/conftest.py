"""Fixtures of the report tests: a synthetic warehouse with the analysis tables computed, and Chromium."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from synthetic_warehouse import build_warehouse

INSTALL_CHROMIUM = (
    "headless Chromium is needed for the browser and PDF tests of the report; install it with "
    "`sudo bash .ci/system-packages.sh` (Debian/Ubuntu: `apt-get install chromium fonts-dejavu-core`; "
    "macOS: install Chrome and set IMPACT_CHROMIUM to its binary)"
)


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    """A warehouse with marts and the analysis tables already computed (read-only use)."""
    from analysis.estimates import run_impact_analysis

    path = build_warehouse(tmp_path_factory.mktemp("wh") / "impact.duckdb")
    run_impact_analysis(path)
    return path


@pytest.fixture
def edited_warehouse(warehouse, tmp_path) -> Callable[..., Path]:
    """A copy of the computed warehouse with some SQL applied: variants without re-running the analysis.

    The analysis tables stay those of the original; the report's context tables (teams, deployments,
    incidents) are what the variants change.
    """

    def make(*statements: str) -> Path:
        path = tmp_path / f"variant{len(list(tmp_path.glob('variant*.duckdb')))}.duckdb"
        shutil.copyfile(warehouse, path)
        with duckdb.connect(str(path)) as con:
            for sql in statements:
                con.execute(sql)
        return path

    return make


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of headless Chromium; the browser tests fail without it in CI and skip on a laptop.

    CI (``CI=true``) installs Chromium through .ci/system-packages.sh, so a missing browser there is a
    broken install step that must turn the run red, not a quiet skip that hides untested layout.
    """
    from analysis.report import find_chromium

    found = find_chromium()
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but Chromium was not found: " + INSTALL_CHROMIUM, pytrace=False)
    pytest.skip("Chromium not found: " + INSTALL_CHROMIUM)
