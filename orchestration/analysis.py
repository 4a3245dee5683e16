"""The causal step and the report as assets downstream of the marts."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset
from dagster_dbt import get_asset_key_for_model

from analysis.estimates import run_impact_analysis
from analysis.report import render_report
from orchestration.resources import ImpactConfigResource
from orchestration.warehouse import warehouse_models

def _mart(name: str) -> AssetKey:
    """The asset key dbt gives a model (marts/<name>): the graph must point at the real asset, not a stub."""
    return get_asset_key_for_model([warehouse_models], name)


PANEL = _mart("mart_ai_impact_panel")
ESTIMATES = AssetKey(["analysis", "impact_estimates"])
#: the marts the report reads besides the estimates; those missing from the dbt project are skipped
REPORT_MARTS = (
    "fct_pull_requests", "fct_deployments", "fct_incidents", "fct_ai_usage_daily", "fct_ai_sessions", "dim_team",
    "dim_developer", "mart_dora_weekly", "mart_ai_cost_efficiency", "mart_ai_budget", "mart_ai_spend_alerts",
)


def _report_deps() -> list[AssetKey]:
    keys = [ESTIMATES]
    for name in REPORT_MARTS:
        try:
            keys.append(_mart(name))
        except Exception:  # noqa: BLE001 - a model not (yet) in the dbt project: the report says so itself
            continue
    return keys
REPORT_NAME = "impact_report.html"


@asset(
    key=ESTIMATES,
    deps=[PANEL],
    group_name="analysis",
    owners=["team:data-platform"],
    kinds={"python", "duckdb"},
    description=(
        "Difference-in-differences estimates of what AI adoption changed, with 95% confidence intervals "
        "and the checks run with every estimate (pre-trend test, placebo adoption dates, minimum sample "
        "sizes), written to analysis.impact_estimates and analysis.event_study (with uniform bands); "
        "plus the descriptive matched comparison of adopters and non-adopters in analysis.cohort_comparison."
    ),
)
def impact_estimates(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> MaterializeResult:
    config = impact_config.load()
    results = run_impact_analysis(config.warehouse)
    for row in results.estimates:
        context.log.info(
            "%s (%s): %.4f [%.4f, %.4f], n_units=%d",
            row.outcome, row.estimator, row.estimate, row.ci_low, row.ci_high, row.n_units,
        )
    withheld = sum(1 for r in results.impact_estimates.get("withheld_reason", []) if isinstance(r, str) and r)
    return MaterializeResult(
        metadata={
            "estimates": MetadataValue.int(len(results.estimates)),
            "rows/impact_estimates": MetadataValue.int(len(results.impact_estimates)),
            "rows/event_study": MetadataValue.int(len(results.event_study)),
            "withheld": MetadataValue.int(withheld),
            "computed_at": MetadataValue.text(str(results.computed_at)),
        }
    )


@asset(
    key=AssetKey(["reports", "impact_report"]),
    deps=_report_deps(),
    group_name="report",
    owners=["team:data-platform"],
    kinds={"html"},
    description=(
        "The self-contained HTML impact report a VP of Engineering reads: findings with confidence intervals, "
        "adoption, cost and efficiency, spend, DORA by team, PR stages, event studies, caveats, methods, freshness."
    ),
)
def impact_report(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> MaterializeResult:
    config = impact_config.load()
    path = render_report(
        config.warehouse, config.reports_dir / REPORT_NAME, min_team_size=config.report.min_team_size,
        show_individuals=config.report.show_individuals,
    )
    context.log.info("report written to %s", path)
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(path)),
            "size_bytes": MetadataValue.int(path.stat().st_size),
            "min_team_size": MetadataValue.int(config.report.min_team_size),
            "show_individuals": MetadataValue.bool(config.report.show_individuals),
        }
    )
