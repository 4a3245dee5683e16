"""AI spend on the demo (`small`): alerts and budgets equal the sandbox's answer key
(ground_truth/ai_spend_alerts.csv, ai_budget.csv), the Dagster checks ran in the warehouse stage, and
`impact spend --json` shows the budget mart. Fixtures from tests/e2e/conftest.py (one demo run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

IMPACT = Path(sys.executable).with_name("impact")
CENT = 0.01


def test_alerts_equal_ground_truth(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    expected = pd.read_csv(truth / "ai_spend_alerts.csv", dtype=str, keep_default_na=False)
    found = warehouse.execute(
        "select a.kind, coalesce(d.email, '') as email, coalesce(a.team_id, '') as team_id,"
        " coalesce(a.session_id, '') as session_id, a.period, a.cost_usd, a.threshold_usd"
        " from marts.mart_ai_spend_alerts a left join marts.dim_developer d"
        " on a.kind <> 'budget' and d.developer_id = a.developer_id order by a.kind, a.period"
    ).df()
    assert sorted(found["kind"]) == sorted(expected["kind"]) == ["budget", "developer_day", "session"]
    key = ["kind", "email", "team_id", "session_id", "period"]
    merged = expected.merge(found, on=key, how="outer", suffixes=("_truth", "_found"), indicator=True)
    assert (merged["_merge"] == "both").all(), merged[key + ["_merge"]]
    assert ((merged["cost_usd_truth"].astype(float) - merged["cost_usd_found"]).abs() < CENT).all(), merged
    assert ((merged["threshold_usd_truth"].astype(float) - merged["threshold_usd_found"]).abs() < CENT).all()


def test_budgets_equal_ground_truth(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    expected = pd.read_csv(truth / "ai_budget.csv").set_index("team_id")
    found = warehouse.execute(
        "select team_id, cast(as_of_date as varchar) as as_of, budget_usd, spend_to_date_usd, projected_month_usd,"
        " over_budget from marts.mart_ai_budget where scope_kind = 'team' and is_current_month"
        " and budget_usd is not null"
    ).df().set_index("team_id")
    assert set(found.index) == set(expected.index)
    for team, row in expected.iterrows():
        assert found.loc[team, "as_of"] == row["as_of"]
        assert found.loc[team, "budget_usd"] == pytest.approx(row["budget_usd"])
        assert abs(found.loc[team, "spend_to_date_usd"] - row["spend_to_date_usd"]) < CENT
        assert abs(found.loc[team, "projected_month_usd"] - row["projected_month_usd"]) < CENT
        assert bool(found.loc[team, "over_budget"]) == bool(row["over_budget"])
    assert int(found["over_budget"].sum()) == 1


def test_impact_spend_json_shows_the_mart(demo, warehouse: duckdb.DuckDBPyConnection) -> None:
    workdir, _ = demo
    result = subprocess.run(
        [str(IMPACT), "spend", "--json"], cwd=workdir, capture_output=True, text=True, timeout=120,
        env={**os.environ, "IMPACT_CONFIG": str(workdir / "warehouse" / "demo" / "impact.yaml"),
             "IMPACT_SANDBOX_TOKEN": "any"},  # the config names it; spend itself calls no source
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    mart = warehouse.execute(
        "select scope, spend_to_date_usd, projected_month_usd, over_budget from marts.mart_ai_budget"
        " where is_current_month and scope_kind = 'team'"
    ).fetchall()
    assert {(s["scope"], s["spend_to_date_usd"], s["projected_month_usd"], s["over_budget"])
            for s in shown["scopes"]} == set(mart)
    print(f"impact spend on the demo: month {shown['month']} as of {shown['as_of']}: "
          + ", ".join(f"{s['scope']} ${s['spend_to_date_usd']:.2f} -> ${s['projected_month_usd']:.2f}"
                      f"{' OVER' if s['over_budget'] else ''}" for s in shown["scopes"]))
