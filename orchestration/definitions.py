"""Dagster definitions: wiring only. `dg dev` (`make dagster`) from the project root loads this module."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    Definitions,
    ScheduleDefinition,
    define_asset_job,
)
from dagster_dbt import DbtCliResource

from orchestration.alerts import ALERT_CHECKS, ai_spend_alert_webhook
from orchestration.analysis import impact_estimates, impact_report
from orchestration.extract import (
    raw_anthropic, raw_claude_code, raw_claude_code_otel, raw_github, raw_github_incidents, raw_jira, raw_org, raw_pagerduty,
)
from orchestration.resources import ImpactConfigResource
from orchestration.warehouse import DBT_EXECUTABLE, dbt_project, warehouse_models

ALL_ASSETS = [raw_org, raw_github, raw_github_incidents, raw_jira, raw_pagerduty, raw_anthropic, raw_claude_code, raw_claude_code_otel, warehouse_models, impact_estimates, impact_report]
# The AI spend alert rules run as checks on the alerts mart; the webhook delivers them once.
ALL_ASSETS = [*ALL_ASSETS, ai_spend_alert_webhook, *ALERT_CHECKS]

daily_refresh = define_asset_job("daily_refresh", selection=AssetSelection.all())

defs = Definitions(
    assets=ALL_ASSETS,
    jobs=[daily_refresh],
    schedules=[
        ScheduleDefinition(
            job=daily_refresh,
            cron_schedule="0 5 * * *",
            execution_timezone="UTC",
            default_status=DefaultScheduleStatus.STOPPED,
        )
    ],
    resources={
        "impact_config": ImpactConfigResource(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE),
    },
)
