"""`impact spend`: the table, `--json` equal to the budget mart, `--month`, and its errors; the budget
config landed as raw org entities."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from impact.cli import main
from impact.config import ConfigError, load_config
from impact.sync import sync_team_mapping
from tests.spend.conftest import SpendBuild


def _spend(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["spend", *args])
    return result.exit_code, result.output


def test_json_equals_the_budget_mart(spend_build: SpendBuild, spend_config: Path) -> None:
    code, output = _spend("--json")
    assert code == 0, output
    shown = json.loads(output)
    assert (shown["month"], shown["as_of"], shown["elapsed_days"], shown["days_in_month"]) == ("2024-04", "2024-04-10", 10, 30)
    mart = {(r["scope_kind"], r["scope"]): r for r in spend_build.rows(
        "select * from marts.mart_ai_budget where month_start = date '2024-04-01'")}
    assert len(shown["scopes"]) == len(mart) == 4
    for scope in shown["scopes"]:
        row = mart[(scope["scope_kind"], scope["scope"])]
        assert scope["budget_usd"] == row["budget_usd"]
        assert scope["spend_to_date_usd"] == row["spend_to_date_usd"]
        assert scope["projected_month_usd"] == row["projected_month_usd"]
        assert scope["over_budget"] == row["over_budget"]
    assert [s["scope"] for s in shown["scopes"] if s["over_budget"]] == ["core", "ben"]


def test_table_reads_at_a_glance(spend_build: SpendBuild, spend_config: Path) -> None:
    code, output = _spend()
    assert code == 0, output
    assert "AI spend, 2024-04 (to 10 Apr, day 10 of 30)" in output
    core = next(line for line in output.splitlines() if "Core" in line)
    assert "$200" in core and "$75.00" in core and "$225.00" in core and "OVER BUDGET" in core and "█" in core
    apps = next(line for line in output.splitlines() if "Apps" in line)
    assert "$1,000" in apps and "on track" in apps
    assert "over budget: Core, ben" in output


def test_an_earlier_month_and_bad_months(spend_build: SpendBuild, spend_config: Path) -> None:
    code, output = _spend("--json", "--month", "2024-03")
    assert code == 0, output
    march = {s["scope"]: s for s in json.loads(output)["scopes"]}
    assert march["core"]["spend_to_date_usd"] == pytest.approx(30.0) and json.loads(output)["elapsed_days"] == 31
    code, output = _spend("--month", "2024-4")
    assert code != 0 and "use YYYY-MM" in output
    code, output = _spend("--month", "2023-12")
    assert code != 0 and "months with data are 2024-03 to 2024-04" in output


def test_missing_warehouse_says_what_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "impact.yaml"
    config.write_text(f"start_date: 2024-03-01\nwarehouse: {tmp_path / 'none.duckdb'}\n")
    monkeypatch.setenv("IMPACT_CONFIG", str(config))
    code, output = _spend()
    assert code != 0 and "run `impact run` or `impact demo` first" in output


@pytest.mark.parametrize(("budgets", "message"), [
    ("{teams: {core: -5}}", "budgets.teams.core must not be negative"),
    ("{teams: {core: lots}}", "budgets.teams.core must be an amount in USD"),
    ("{squads: {core: 5}}", "budgets has unknown keys ['squads']"),
])
def test_budget_config_errors_name_the_key(tmp_path: Path, budgets: str, message: str) -> None:
    config = tmp_path / "impact.yaml"
    config.write_text(f"start_date: 2024-03-01\nbudgets: {budgets}\n")
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert message in str(error.value)


def test_budgets_repo_paths_and_thresholds_land_as_org_entities(tmp_path: Path) -> None:
    config = tmp_path / "impact.yaml"
    config.write_text(
        "start_date: 2024-03-01\n"
        "budgets: {teams: {core: 200}, roles: {engineer: 500}, people: {ben@hoco.io: 10}}\n"
        "alerts: {developer_day_usd: 80, session_usd: 30}\n"
        "claude_code: {transcripts: [], repo_paths: {'~/work/mobile-*': hoco/mobile}}\n"
    )
    summary = sync_team_mapping(load_config(config))
    raw = tmp_path / "warehouse" / "raw" / "org"
    budgets = pq.read_table(raw / "ai_budgets").to_pylist()
    assert sorted((b["scope_kind"], b["scope"], b["monthly_usd"]) for b in budgets) == [
        ("person", "ben@hoco.io", 10.0), ("role", "engineer", 500.0), ("team", "core", 200.0)]
    thresholds = pq.read_table(raw / "ai_alert_thresholds").to_pylist()
    assert [(t["developer_day_usd"], t["session_usd"]) for t in thresholds] == [(80.0, 30.0)]
    paths = pq.read_table(raw / "repo_paths").to_pylist()
    assert [(p["path_pattern"], p["repository"]) for p in paths] == [("~/work/mobile-*", "hoco/mobile")]
    # one configuration snapshot: every entity stamped with the same extraction time
    stamps = {row["_extracted_at"] for table in (budgets, thresholds, paths) for row in table}
    assert len(stamps) == 1 and isinstance(next(iter(stamps)), dt.datetime)
    assert summary.rows["org/ai_budgets"] == 3
