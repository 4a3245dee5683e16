"""AI spend alerts in Dagster: one asset check per rule on the alerts mart, and the webhook delivery.

Wiring only: the rules are SQL (`mart_ai_spend_alerts`), the wording and once-only delivery are
`impact.alerts`. A check fails (severity WARN, never blocking) when its rule has alerts and names
each developer-day, session or budget scope with its cost and threshold.
"""


from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from impact.alerts import DeliveryLog, deliver_alerts, delivery_log_path, read_alerts, rule_outcome
from orchestration.resources import ImpactConfigResource

ALERTS_MART = AssetKey(["marts", "mart_ai_spend_alerts"])


def _check(kind: str, impact_config: ImpactConfigResource) -> AssetCheckResult:
    config = impact_config.load()
    outcome = rule_outcome(read_alerts(config.warehouse), kind, config.report.show_individuals)
    return AssetCheckResult(
        passed=outcome.passed,
        severity=AssetCheckSeverity.WARN,
        description=outcome.description(),
        metadata={"alerts": MetadataValue.int(len(outcome.alerts)),
                  "details": MetadataValue.json(outcome.rows()),
                  "summary": MetadataValue.md(outcome.description())},
    )


@asset_check(asset=ALERTS_MART, name="developer_day_spend_within_threshold", blocking=False,
             description="No developer's AI spend on one day above alerts.developer_day_usd (default $50).")
def developer_day_spend_within_threshold(
    context: AssetCheckExecutionContext, impact_config: ImpactConfigResource
) -> AssetCheckResult:
    return _check("developer_day", impact_config)


@asset_check(asset=ALERTS_MART, name="session_cost_within_threshold", blocking=False,
             description="No Claude Code session costing more than alerts.session_usd (default $25).")
def session_cost_within_threshold(
    context: AssetCheckExecutionContext, impact_config: ImpactConfigResource
) -> AssetCheckResult:
    return _check("session", impact_config)


@asset_check(asset=ALERTS_MART, name="projected_month_within_budget", blocking=False,
             description="No team, role or person projected above its monthly AI budget this month.")
def projected_month_within_budget(
    context: AssetCheckExecutionContext, impact_config: ImpactConfigResource
) -> AssetCheckResult:
    return _check("budget", impact_config)


ALERT_CHECKS = [developer_day_spend_within_threshold, session_cost_within_threshold, projected_month_within_budget]


@asset(
    key=AssetKey(["alerts", "ai_spend_webhook"]),
    deps=[ALERTS_MART],
    group_name="alerts",
    kinds={"python", "slack"},
    description=(
        "Posts each new AI spend alert (Slack-compatible JSON) to alerts.webhook_url once: delivered "
        "alert ids are kept beside the warehouse, so re-runs send no duplicate. Nothing without a URL."
    ),
)
def ai_spend_alert_webhook(context: AssetExecutionContext, impact_config: ImpactConfigResource) -> MaterializeResult:
    config = impact_config.load()
    alerts = read_alerts(config.warehouse)
    if config.alerts.webhook_url is None:
        context.log.info("alerts.webhook_url not configured: %d alert(s) not sent", len(alerts))
        return MaterializeResult(metadata={"alerts": len(alerts), "sent": 0, "webhook": "not configured"})
    result = deliver_alerts(alerts, config.alerts.webhook_url.reveal(), DeliveryLog(delivery_log_path(config.warehouse)),
                            show_individuals=config.report.show_individuals)
    return MaterializeResult(metadata={"alerts": len(alerts), "sent": len(result.sent),
                                       "already_sent": len(result.already_sent)})
