"""The Spark build of the dbt project, checked against the DuckDB build of the same landing.

These tests run in their own virtualenv, .venv-spark (`make test-spark`): pyspark cannot share .venv
with great_expectations. The main `make test` runs in .venv, so it does not collect them (below). They
are collected under .venv-spark, or anywhere with IMPACT_SPARK_TESTS=1; run them with
`--confcutdir tests/spark`, because tests/conftest.py imports the project's own dependencies.

Java or pyspark missing: the tests skip, and fail under CI=true.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

SPARK_VENV = ".venv-spark"


def _in_spark_environment() -> bool:
    return Path(sys.prefix).name == SPARK_VENV or os.environ.get("IMPACT_SPARK_TESTS") == "1"


if not _in_spark_environment():
    collect_ignore_glob = ["test_*.py"]

# Filled by the fixtures, printed at the end of the session: the build times the issue asks for.
TIMINGS: dict[str, float] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS:
        terminalreporter.section("dbt build times (seconds)")
        for name, seconds in TIMINGS.items():
            terminalreporter.write_line(f"{name}: {seconds:.1f}")
