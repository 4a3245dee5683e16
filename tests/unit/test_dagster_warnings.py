"""`make dagster` starts with no warning, and every asset in the graph says what it is.

The definitions are loaded in a fresh interpreter with every warning recorded: none may come from
Dagster or from this project. `make dagster` runs `dg dev` (dagster-dg-cli: Dagster 1.13 supersedes
`dagster dev`, which warns so), and that command is started here until the UI serves, with no filter.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LOAD = r"""
import json, warnings
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    from dagster import Definitions
    import orchestration.definitions as d
    Definitions.validate_loadable(d.defs)
    specs = d.defs.resolve_all_asset_specs()
    checks = d.defs.resolve_asset_graph().asset_check_keys
print(json.dumps({
    "checks": sorted(key.to_user_string() for key in checks),
    "warnings": [
        {"category": w.category.__name__, "file": w.filename, "message": str(w.message)[:300]} for w in caught
    ],
    "assets": [
        {"key": s.key.to_user_string(), "group": s.group_name, "description": s.description or "",
         "owners": list(s.owners), "kinds": sorted(s.kinds), "metadata": sorted(s.metadata)}
        for s in specs
    ],
}))
"""


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> dict:
    """What a fresh interpreter sees loading the definitions (once for the module: it takes seconds)."""
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path_factory.mktemp("dagster-home"))}
    proc = subprocess.run([sys.executable, "-c", LOAD], cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_loading_the_definitions_emits_no_warning(loaded):
    ours = []
    for w in loaded["warnings"]:
        path = w["file"]
        from_project = path.startswith(str(ROOT)) and "/.venv" not in path
        from_dagster = "/dagster" in path
        # third-party import-time deprecations (e.g. sqlglotrs) are hidden by Python's default filters
        # outside __main__ and never reach `dg dev`'s output; anything else is ours to fix
        if from_project or from_dagster or w["category"] != "DeprecationWarning":
            ours.append(w)
    assert ours == []


def test_every_asset_has_a_description_a_group_and_metadata(loaded):
    assets = loaded["assets"]
    assert len(assets) > 20
    for a in assets:
        assert a["description"].strip(), a["key"]
        assert a["group"] and a["group"] != "default", a["key"]
        assert a["kinds"], a["key"]
    ours = [a for a in assets if a["key"].split("/")[0] in ("raw", "analysis", "reports")]
    assert {"analysis/impact_estimates", "reports/impact_report"} <= {a["key"] for a in ours}
    assert all(a["owners"] for a in ours)
    # dbt models carry their column schema and table name into the UI
    marts = [a for a in assets if a["key"].startswith("marts/mart_")]
    assert marts and all("dagster/column_schema" in a["metadata"] for a in marts)


def test_ge_suites_and_dbt_tests_show_as_asset_checks(loaded):
    """One Great Expectations check per raw entity on its extraction asset, and dbt's tests beside them."""
    from connectors.records import RAW_ENTITIES
    from orchestration.raw_checks import ENTITIES, check_name

    checks = set(loaded["checks"])
    covered = [entity for entities in ENTITIES.values() for entity in entities]
    assert sorted(covered) == sorted(RAW_ENTITIES)  # every raw entity is checked, once
    expected = {f"raw/{source}:{check_name(entity)}" for source, entities in ENTITIES.items() for entity in entities}
    assert expected <= checks
    assert "raw/github:github_pull_requests_batches_valid" in checks
    # dagster-dbt turns each dbt test into a check on the model it tests
    assert "marts/fct_pull_requests:unique_fct_pull_requests_pull_request_id" in checks
    assert "marts/fct_pull_requests:not_null_fct_pull_requests_pull_request_id" in checks
    assert len([c for c in checks if not c.startswith("raw/")]) > 100


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_make_dagster_runs_dg_dev_which_starts_with_no_warning(tmp_path):
    """`make dagster`'s command, run until the UI serves: nothing on its output is a warning or an error."""
    makefile = (ROOT / "Makefile").read_text()
    found = re.search(
        r"^dagster:.*\n(?:\t.*\n)*?\tDAGSTER_HOME=\$\(CURDIR\)/\.dagster VIRTUAL_ENV=\$\(CURDIR\)/\$\(VENV\) \$\(BIN\)/dg dev\n",
        makefile, re.M,
    )
    assert found, "make dagster no longer runs `dg dev`"
    assert "PYTHONWARNINGS" not in found.group(0)  # no filter hides anything
    home = tmp_path / "dagster-home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    env["DAGSTER_HOME"] = str(home)
    env["VIRTUAL_ENV"] = str(Path(sys.executable).parent.parent)  # the project's .venv, as make sets it
    port = _free_port()
    lines: list[str] = []
    with subprocess.Popen(
        [str(Path(sys.executable).with_name("dg")), "dev", "--port", str(port)], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    ) as server:
        try:
            deadline = time.monotonic() + 600
            for line in server.stdout:
                lines.append(line)
                if "Serving dagster-webserver" in line or time.monotonic() > deadline:
                    break
        finally:
            os.killpg(server.pid, signal.SIGINT)  # the group this test started: dg, webserver, code server, daemon
            try:
                server.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    output = "".join(lines)
    assert "Serving dagster-webserver" in output, output[-3000:]
    noisy = [line for line in lines if re.search(r"warn|error|superseded|deprecat", line, re.I)]
    assert noisy == [], output[-3000:]
