"""Fixtures of the report tests: a synthetic warehouse with the analysis tables computed."""

from __future__ import annotations

from pathlib import Path

import pytest

from synthetic_warehouse import build_warehouse


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Path:
    """A warehouse with marts and the analysis tables already computed (read-only use)."""
    from analysis.estimates import run_impact_analysis

    path = build_warehouse(tmp_path_factory.mktemp("wh") / "impact.duckdb")
    run_impact_analysis(path)
    return path
