"""A sync killed at any moment and run again lands exactly what one clean run lands.

Every source is killed (SIGKILL: no cleanup runs) at a named moment rather than after a number of
seconds: a time-based kill lands wherever the machine's speed puts it (on a loaded machine, still
inside Python's imports), so it may test nothing. The moments: while the sync waits on its n-th request
to the sandbox (the sandbox holds that answer back), right after the n-th batch was written to its
temporary file but before it was renamed into place, or right after the n-th batch landed and before
its cursor was saved (the worst moment: landed data the state does not know about). The moment is
hooked into this project's own landing inside the killed process; the connectors talk to the sandbox
as always. The run after the kill happens in this process, and must leave what one clean run leaves.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import yaml

from sandbox.organisation import Organisation
from sandbox.server import SandboxServer

KILL_HOOK = """
import os, signal, sys
import impact.landing as landing, impact.sync as sync
point, _, nth = os.environ.get("KILL_AT", "").partition(":")
seen = [0]

def _die_on_nth():
    seen[0] += 1
    if seen[0] == int(nth):
        os.kill(os.getpid(), signal.SIGKILL)

if point == "landed":
    _land = sync.land_batch
    def _land_then_die(*args, **kwargs):
        batch = _land(*args, **kwargs)
        _die_on_nth()
        return batch
    sync.land_batch = _land_then_die
elif point == "writing":
    _write = landing.pq.write_table
    def _write_then_die(*args, **kwargs):
        _write(*args, **kwargs)
        _die_on_nth()
    landing.pq.write_table = _write_then_die
sync.JIRA_LANDING_BATCH = 100  # land (and save cursors) every few pages, so a kill finds some landed
import importlib
from impact.config import load_config
module, function = os.environ["SYNC_FUNCTION"].split(":")
getattr(importlib.import_module(module), function)(load_config())
"""

_GITHUB_KEYS = {"github/pull_requests": "repository, number, updated_at", "github/reviews": "id",
                "github/pull_request_commits": "repository, pull_number, sha", "github/deployments": "id",
                "github/deployment_statuses": "id", "github/deployment_commits": "deployment_id, sha"}
SOURCE_KEYS = {
    "github_rest": _GITHUB_KEYS,
    "github_graphql": _GITHUB_KEYS,
    "github_incidents": {"github/issues": "id, updated_at, state"},
    "jira": {"jira/issues": "id, updated_at, status", "jira/status_transitions": "issue_id, history_id, to_status"},
    "pagerduty": {"pagerduty/incidents": "id, updated_at, status"},
    "anthropic": {"anthropic/claude_code_actor_days": "date, actor_id", "anthropic/claude_code_model_days": "date, actor_id, model"},
    "transcripts": {"claude_code/transcript_messages": "dedup_key, output_tokens"},
    "otel": {"claude_code/otel_usage": "date, metric, user_email, session_id, model, kind, tool_name, decision, value"},
}
SYNC_FUNCTIONS = {
    "github_rest": "impact.sync:sync_github", "github_graphql": "impact.sync:sync_github",
    "github_incidents": "impact.sync_incidents:sync_github_incidents",
    "jira": "impact.sync:sync_jira", "pagerduty": "impact.sync_incidents:sync_pagerduty",
    "anthropic": "impact.sync:sync_claude_code", "transcripts": "impact.sync:sync_claude_transcripts",
    "otel": "impact.sync:sync_claude_otel",
}
# (source, kill point): every source once, every kind of moment on several sources
KILLS = [
    ("github_rest", "request:github.pulls.list:3"),  # the second repository's first page: the first one landed
    ("github_rest", "landed:2"),  # the first repository's pull requests and reviews landed, its commits not
    ("github_graphql", "request:github.graphql:3"),
    ("github_incidents", "landed:1"),
    ("jira", "request:jira.search_jql:4"),
    ("pagerduty", "writing:3"),
    ("anthropic", "landed:3"),
    ("transcripts", "landed:1"),
    ("otel", "writing:1"),
]


@pytest.fixture(scope="module")
def files(small_org: Organisation, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from sandbox.otel import write_otel_export
    from sandbox.transcripts import write_transcripts

    folder = tmp_path_factory.mktemp("kill_files")
    write_transcripts(small_org, folder / "transcripts", emails={d.email for d in small_org.developers[::4]})
    write_otel_export(small_org, folder / "otel")
    return {"transcripts": folder / "transcripts", "otel": folder / "otel"}


@pytest.fixture(scope="module")
def clean_rows() -> dict[str, dict[str, set[tuple]]]:
    """Source -> the distinct rows one clean run lands (filled by the first test of each source)."""
    return {}


def _source_config(folder: Path, source: str, sandbox: SandboxServer, org: Organisation, files: dict) -> Path:
    from sandbox.jira_issues import generate_jira

    token = "${SYNC_TEST_TOKEN}"
    sections = {
        "github_rest": {"github": {"api_url": sandbox.url, "token": token, "repos": ["hoco/pipelines", "hoco/infra"]}},
        "github_graphql": {"github": {"api_url": sandbox.url, "token": token, "api": "graphql",
                                      "repos": ["hoco/pipelines", "hoco/infra", "hoco/warehouse"]}},
        "github_incidents": {"github": {"api_url": sandbox.url, "token": token, "orgs": [org.github_org]}},
        "jira": {"jira": {"url": sandbox.url, "token": token, "email": "integration@hoco.io",
                          "projects": [p.key for p in generate_jira(org).projects]}},
        "pagerduty": {"pagerduty": {"api_url": f"{sandbox.url}/pagerduty", "token": token}},
        "anthropic": {"anthropic": {"api_url": sandbox.url, "admin_key": token}},
        "transcripts": {"claude_code": {"transcripts": [{"path": str(files.get("transcripts"))}]}},
        "otel": {"claude_code": {"otel_exports": [str(files.get("otel"))]}},
    }
    start, end = org.start_date.isoformat(), org.end_date.isoformat()
    if source == "anthropic":
        start, end = "2026-03-01", "2026-05-15"  # three 31-day batches
    config = {"start_date": start, "end_date": end, "warehouse": str(folder / "impact.duckdb"), **sections[source]}
    path = folder / "impact.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _rows(raw: Path, source: str) -> dict[str, set[tuple]]:
    return {
        entity: set(duckdb.sql(f"select distinct {keys} from read_parquet('{raw}/{entity}/*.parquet')").fetchall())
        for entity, keys in SOURCE_KEYS[source].items()
    }


def _sync_in_process(config: Path, source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    from impact.config import load_config

    monkeypatch.setenv("SYNC_TEST_TOKEN", "t")
    module, function = SYNC_FUNCTIONS[source].split(":")
    getattr(importlib.import_module(module), function)(load_config(config))


@pytest.mark.parametrize(("source", "kill_at"), KILLS, ids=[f"{s}-{k.split(':')[0]}-{k.split(':')[-1]}" for s, k in KILLS])
def test_every_source_killed_at_a_chosen_moment_resumes_without_gaps_or_duplicates(
    sandbox: SandboxServer, small_org: Organisation, tmp_path: Path, files: dict, monkeypatch: pytest.MonkeyPatch,
    clean_rows: dict, source: str, kill_at: str,
) -> None:
    from sandbox.faults import Fault, FaultPlan

    if source not in clean_rows:  # one clean run per source serves all its kill moments
        (tmp_path / "clean").mkdir()
        clean = _source_config(tmp_path / "clean", source, sandbox, small_org, files)
        _sync_in_process(clean, source, monkeypatch)
        clean_rows[source] = _rows(clean.parent / "raw", source)
    expected = clean_rows[source]
    assert all(expected.values()), expected.keys()

    (tmp_path / "killed").mkdir()
    config = _source_config(tmp_path / "killed", source, sandbox, small_org, files)
    env = {**os.environ, "IMPACT_CONFIG": str(config), "SYNC_TEST_TOKEN": "t", "SYNC_FUNCTION": SYNC_FUNCTIONS[source],
           "KILL_AT": "" if kill_at.startswith("request:") else kill_at}
    plan = None
    if kill_at.startswith("request:"):
        _, endpoint, nth = kill_at.split(":")
        plan = FaultPlan([(endpoint, int(nth), Fault.slow(60))])  # the n-th answer is held back
        sandbox.faults = plan
    try:
        process = subprocess.Popen([sys.executable, "-c", KILL_HOOK], env=env, cwd=config.parent)
        if plan is not None:
            deadline = time.monotonic() + 300
            while not plan.fired and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert plan.fired and process.poll() is None, "the sync never reached the request it was to be killed at"
            process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=300) == -signal.SIGKILL, "the sync ended before the moment it was to be killed at"
    finally:
        sandbox.faults = None
    raw = config.parent / "raw"
    if kill_at.startswith("writing:"):
        assert list(raw.rglob(".*.tmp")), "the killed write left its temporary file"

    _sync_in_process(config, source, monkeypatch)
    assert _rows(raw, source) == expected
