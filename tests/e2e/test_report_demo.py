"""The report of the `small` demo organisation, as headless Chromium lays it out at desktop and phone widths.

The report the demo wrote (through the Dagster report asset) is measured after layout: the findings,
every section and every chart are there and nothing makes the page scroll sideways. The screenshots go
to ``$IMPACT_REPORT_SCREENSHOTS`` when set, to be looked at.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from analysis.report import build_report_context, find_chromium

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
from test_report_browser import measure, screenshot  # noqa: E402

WIDTHS = {"desktop": (1280, 900), "narrow": (390, 844)}
SECTIONS = ["Summary", "Adoption over time", "Cost and efficiency", "AI spend in detail", "DORA four keys by team",
            "Delivery snapshot", "Where pull request time goes"]


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if not found:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but Chromium was not found (apt-get install chromium)", pytrace=False)
        pytest.skip("Chromium not found")
    return found


@pytest.mark.parametrize("name", list(WIDTHS))
def test_demo_report_in_the_browser(demo, chromium, tmp_path, name):
    workdir, _ = demo
    report = workdir / "reports" / "impact_report.html"
    assert report.exists()
    context = build_report_context(workdir / "warehouse" / "impact.duckdb")
    width, height = WIDTHS[name]
    m = measure(chromium, report, width, height, tmp_path)
    assert m["innerWidth"] == width

    # The top of the report holds three to five findings plus the spend; the median outcomes are
    # estimated and shown further down (their event studies), not in the summary.
    findings = [f for f in context["findings"] if f["in_summary"]]
    assert 3 <= len(findings) + (1 if context["spend_sentence"] else 0) <= 6
    assert m["headline"] == findings[0]["headline"]
    for f in findings:
        assert f["headline"] in m["bodyText"]
    assert context["spend_sentence"] and context["spend_sentence"] in m["bodyText"]

    headings = [s["heading"] for s in m["sections"]]
    assert headings[: len(SECTIONS)] == SECTIONS
    assert headings[-3:] == ["What to keep in mind", "Methods", "Data freshness"]
    assert all(s["box"]["height"] > 40 for s in m["sections"])

    charts = {c["id"] for c in m["charts"]}
    assert {"adoption", "spend-by-team", "spend-by-model", "pr-cost", "pr-stages", "dora-deploys", "dora-lead",
            "dora-cfr", "dora-mttr"} <= charts
    assert any(c.startswith("event-study-") for c in charts)
    for chart in m["charts"]:
        assert chart["box"]["left"] >= -0.5 and chart["box"]["right"] <= width + 0.5, chart

    assert m["sticking_out"] == []
    assert m["scrollWidth"] <= width and m["bodyScrollWidth"] <= width
    assert m["images"] == 0 and m["scripts"] == 1  # the probe's own

    keep = os.environ.get("IMPACT_REPORT_SCREENSHOTS")
    out = Path(keep) / f"demo_report_{name}.png" if keep else tmp_path / f"demo-{name}.png"
    shot = screenshot(chromium, report, width, m["scrollHeight"], out)
    assert shot.size == (width, m["scrollHeight"])
