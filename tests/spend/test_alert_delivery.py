"""Alert delivery: a local Slack-compatible receiver on loopback gets each alert once across runs; the
Dagster checks name what crossed which threshold; the webhook URL (it holds a token) is never logged."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from impact.alerts import (
    AlertDeliveryError,
    DeliveryLog,
    deliver_alerts,
    delivery_log_path,
    read_alerts,
    rule_outcome,
    slack_message,
)
from tests.spend.conftest import SpendBuild

TOKEN = "T000-secret-token-9c1e"


class Receiver:
    """An incoming-webhook stand-in: records JSON bodies; answers `failures` (status codes) first."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.failures: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.failures.pop(0) if receiver.failures else 200
                if status == 200:
                    receiver.bodies.append(json.loads(body))
                self.send_response(status)
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"no_service")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/services/{TOKEN}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()
    found.server.server_close()


def test_each_alert_is_posted_once_across_two_runs(spend_build: SpendBuild, receiver: Receiver, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    alerts = read_alerts(spend_build.warehouse)
    log_path = tmp_path / "deliveries.json"
    first = deliver_alerts(alerts, receiver.url, DeliveryLog(log_path), backoff_seconds=0)
    second = deliver_alerts(read_alerts(spend_build.warehouse), receiver.url, DeliveryLog(log_path), backoff_seconds=0)
    assert len(first.sent) == 4 and second.sent == [] and sorted(second.already_sent) == sorted(first.sent)
    assert len(receiver.bodies) == 4
    texts = sorted(body["text"] for body in receiver.bodies)
    assert any("s-night" in text and "$30.00" in text and "$25.00" in text for text in texts)
    assert any("team core" in text and "$225.00" in text and "$200.00" in text for text in texts)
    assert all(body["blocks"][0]["type"] == "section" for body in receiver.bodies)
    assert TOKEN not in caplog.text


def test_people_are_named_only_when_the_config_allows(spend_build: SpendBuild) -> None:
    session = next(a for a in read_alerts(spend_build.warehouse) if a.kind == "session")
    assert "Cat C" not in slack_message(session)["text"]
    assert "Cat C" in slack_message(session, show_individuals=True)["text"]


def test_retries_server_errors_and_rate_limits_then_delivers(spend_build: SpendBuild, receiver: Receiver,
                                                            tmp_path: Path) -> None:
    receiver.failures = [500, 429]
    alerts = read_alerts(spend_build.warehouse)[:1]
    result = deliver_alerts(alerts, receiver.url, DeliveryLog(tmp_path / "d.json"), backoff_seconds=0)
    assert result.sent == [alerts[0].alert_id] and len(receiver.bodies) == 1


def test_a_refused_alert_is_not_recorded_and_the_error_hides_the_url(spend_build: SpendBuild, receiver: Receiver,
                                                                     tmp_path: Path) -> None:
    receiver.failures = [404]
    log_path = tmp_path / "d.json"
    with pytest.raises(AlertDeliveryError) as error:
        deliver_alerts(read_alerts(spend_build.warehouse), receiver.url, DeliveryLog(log_path), backoff_seconds=0)
    assert "HTTP 404" in str(error.value) and TOKEN not in str(error.value) and "127.0.0.1" not in str(error.value)
    assert not log_path.exists()  # nothing was delivered, so the next run tries again
    result = deliver_alerts(read_alerts(spend_build.warehouse), receiver.url, DeliveryLog(log_path), backoff_seconds=0)
    assert len(result.sent) == 4


def test_a_corrupt_delivery_log_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    path.write_text("{not json")
    with pytest.raises(AlertDeliveryError, match="not valid JSON"):
        DeliveryLog(path)


def test_rule_outcomes_name_subject_cost_and_threshold(spend_build: SpendBuild) -> None:
    alerts = read_alerts(spend_build.warehouse)
    session = rule_outcome(alerts, "session")
    assert not session.passed and "s-night" in session.description() and "$30.00" in session.description()
    assert session.rows()[0]["subject"] == "s-night" and session.rows()[0]["threshold_usd"] == 25.0
    day = rule_outcome(alerts, "developer_day")
    assert "2024-04-05" in day.description() and "$60.00" in day.description() and "$50.00" in day.description()
    with pytest.raises(ValueError, match="unknown alert kind"):
        rule_outcome(alerts, "weekly")


def test_dagster_checks_and_webhook_asset(spend_build: SpendBuild, receiver: Receiver, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from dagster import AssetSelection, DagsterInstance, materialize

    from orchestration.alerts import ALERT_CHECKS, ai_spend_alert_webhook
    from orchestration.resources import ImpactConfigResource

    config = tmp_path / "impact.yaml"
    config.write_text(
        f"start_date: 2024-03-01\nwarehouse: {spend_build.warehouse}\nraw_dir: {spend_build.raw}\n"
        "alerts:\n  webhook_url: ${TEST_ALERT_WEBHOOK}\n"
    )
    monkeypatch.setenv("TEST_ALERT_WEBHOOK", receiver.url)
    resources = {"impact_config": ImpactConfigResource(config_path=str(config))}
    delivered = delivery_log_path(spend_build.warehouse)
    delivered.unlink(missing_ok=True)
    try:
        with DagsterInstance.ephemeral() as instance:
            for _ in range(2):
                result = materialize([ai_spend_alert_webhook], resources=resources, instance=instance)
                assert result.success
            checks = materialize([ai_spend_alert_webhook, *ALERT_CHECKS], resources=resources, instance=instance,
                                 selection=AssetSelection.checks(*ALERT_CHECKS))
        assert len(receiver.bodies) == 4  # two runs, each alert once
        evaluations = {e.check_name: e for e in checks.get_asset_check_evaluations()}
        assert set(evaluations) == {"developer_day_spend_within_threshold", "session_cost_within_threshold",
                                    "projected_month_within_budget"}
        assert not any(e.passed for e in evaluations.values())
        budget = evaluations["projected_month_within_budget"]
        assert "team core" in budget.description and "$225.00" in budget.description and "$200.00" in budget.description
    finally:
        delivered.unlink(missing_ok=True)
