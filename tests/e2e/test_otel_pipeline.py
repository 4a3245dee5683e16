"""OpenTelemetry through the whole pipeline: active time lands per developer-day, usage is not double counted."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e


def test_active_hours_per_developer_day_equal_the_export(warehouse: duckdb.DuckDBPyConnection, truth: Path) -> None:
    expected = pd.read_csv(truth / "otel_developer_days.csv", parse_dates=["date"])
    got = warehouse.execute(
        "select user_email, date_day, sessions, active_hours, developer_id from intermediate.int_ai_otel_developer_days"
    ).df()
    merged = expected.merge(got, left_on=["email", "date"], right_on=["user_email", "date_day"], how="outer", indicator=True)
    assert (merged["_merge"] == "both").all() and len(merged) == len(expected) > 100
    assert (merged["sessions_x"] == merged["sessions_y"]).all()
    assert ((merged["active_hours"] * 3600 - merged["active_seconds"]).abs() < 1e-6).all()
    assert merged["developer_id"].notna().all()  # every telemetry e-mail is a mapped developer


def test_telemetry_does_not_add_to_spend_already_in_the_report(warehouse: duckdb.DuckDBPyConnection) -> None:
    """The telemetry team's usage is also in the Admin API report: totals take one source per developer-day."""
    [(report_cost, chosen_cost, otel_cost)] = warehouse.execute(
        """
        select
            (select sum(cost_usd) from marts.fct_ai_usage_daily where source = 'anthropic_api'),
            (select sum(cost_usd) from intermediate.int_ai_usage_developer_days where source = 'anthropic_api'),
            (select sum(cost_usd) from intermediate.int_ai_otel_developer_days)
        """
    ).fetchall()
    assert otel_cost > 0
    [(otel_chosen,)] = warehouse.execute(
        "select count(*) from intermediate.int_ai_usage_developer_days where source = 'otel'"
    ).fetchall()
    assert otel_chosen == 0  # every telemetry day is also a report day, and the report wins
    assert round(chosen_cost, 2) <= round(report_cost, 2)
