"""The causal step and the report as assets downstream of the marts."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from analysis.estimates import run_impact_analysis
from analysis.report import render_report
from orchestration.resources import ImpactConfigResource

PANEL = AssetKey(["mart_ai_impact_panel"])
ESTIMATES = AssetKey(["analysis", "impact_estimates"])
REPORT_NAME = "impact_report.html"


@asset(
    key=ESTIMATES,
    deps=[PANEL],
    group_name="analysis",
    owners=["team:data-platform"],
    kinds={"python", "duckdb"},
    description=(
        "Difference-in-differences estimates of what AI adoption changed, with 95% confidence intervals "
        "and the pre-trend check, written to analysis.impact_estimates and analysis.event_study."
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
    return MaterializeResult(metadata={"estimates": MetadataValue.int(len(results.estimates))})


@asset(
    key=AssetKey(["reports", "impact_report"]),
    deps=[ESTIMATES],
    group_name="report",
    owners=["team:data-platform"],
    kinds={"html"},
    description="The self-contained HTML impact report a VP of Engineering reads.",
)
def impact_report(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> MaterializeResult:
    config = impact_config.load()
    path = render_report(config.warehouse, config.reports_dir / REPORT_NAME)
    context.log.info("report written to %s", path)
    return MaterializeResult(metadata={"path": MetadataValue.path(str(path))})
