"""The HTML report: self-contained, escaped, and saying what analysis.impact_estimates says."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import pytest

from analysis.estimates import run_impact_analysis
from analysis.report import ReportDataError, confidence_label, headline_sentence, render_report

from synthetic_warehouse import HOSTILE, build_warehouse


def estimates_row(path: Path, outcome: str) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute(
            "select * from analysis.impact_estimates where outcome = ? and estimator = 'twfe'", [outcome]
        ).df()
    assert len(frame) == 1
    return frame.iloc[0].to_dict()


@pytest.fixture(scope="module")
def html(warehouse, tmp_path_factory) -> str:
    out = render_report(warehouse, tmp_path_factory.mktemp("report") / "nested" / "report.html", title="Q3 AI impact")
    assert out.name == "report.html" and out.exists()
    return out.read_text(encoding="utf-8")


def test_headline_states_the_estimate_from_the_warehouse(warehouse, html):
    row = estimates_row(warehouse, "review_hours")
    # the planted effect is a cut of exp(-0.2) - 1 = 18%; the CI excludes zero
    assert row["effect_pct_ci_high"] < 0
    a, b = sorted((abs(row["effect_pct_ci_low"]), abs(row["effect_pct_ci_high"])))
    expected = (
        f"AI adoption cut median PR review time by {abs(row['effect_pct']):.0f}% "
        f"(95% CI {a:.0f}% to {b:.0f}%)."
    )
    assert expected in html
    assert 10 <= abs(row["effect_pct"]) <= 26
    summary = html[html.index('<section class="summary"') : html.index("</section>")]
    assert expected in summary
    assert "confidence" in summary.lower()


def test_summary_shows_period_population_and_spend(warehouse, html):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        developers, adopters = con.execute(
            "select count(distinct developer_id), count(distinct developer_id) filter (where ai_adopted_at is not null) "
            "from marts.mart_ai_impact_panel"
        ).fetchone()
        merged = con.execute("select count(*) from marts.fct_pull_requests where merged_at is not null").fetchone()[0]
        # one source per developer-day: the transcript rows duplicating Admin API days are not added
        spend = con.execute("select sum(cost_usd) from marts.fct_ai_usage_daily where source = 'admin_api'").fetchone()[0]
    assert "Q3 AI impact" in html
    assert "03 Mar 2025 to 09 Nov 2025 (36 weeks)" in html
    assert f'<span class="value">{developers}</span>' in html
    assert f"{adopters} <small>" in html
    assert f"{merged:,}" in html
    assert f"${spend:,.0f}" in html


def test_charts_are_inline_svg(html):
    svgs = re.findall(r"<svg\b", html)
    assert len(svgs) >= 3  # two event studies and adoption over time
    assert "Weeks since AI adoption" in html  # labelled x axis
    assert "Change in median PR review time" in html and ">(%)<" in html  # labelled y axis, with unit
    assert "Developers who adopted AI" in html
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    for svg in re.findall(r"<svg\b.*?</svg>", html, flags=re.S):
        ElementTree.fromstring(svg)  # well-formed
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))  # several charts, one document: ids stay unique
    refs = re.findall(r'href="#([^"]+)"', html) + re.findall(r"url\(#([^)]+)\)", html)
    assert refs and set(refs) <= set(ids)


def test_report_is_self_contained(html):
    external = re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, flags=re.I)
    assert external == []
    assert "<script" not in html.lower()
    assert "<link" not in html.lower()
    assert "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//", html)
    assert "@media print" in html


def test_warehouse_strings_are_escaped(html):
    assert HOSTILE not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # the team name, shown as text
    assert "Search &amp; Discovery" in html


def test_individuals_are_not_named_and_small_teams_are_combined(html):
    assert "Developer 1" not in html
    assert "dev1@example.com" not in html
    assert "Tiny A" not in html and "Tiny B" not in html
    assert "2 smaller teams combined" in html


def test_caveats_and_methods(warehouse, html):
    row = estimates_row(warehouse, "review_hours")
    assert f"median PR review time: p = {row['pre_trend_p_value']:.2f}" in html
    assert f"{int(row['n_treated_units'])} adopters" in html
    assert "not a randomised experiment" in html
    assert html.index("What to keep in mind") < html.index("<h2>Methods</h2>")


def test_no_effect_reads_as_no_detectable_change(tmp_path):
    path = build_warehouse(tmp_path / "flat.duckdb", review_effect=0.0, n_developers=120, seed=12)
    run_impact_analysis(path)
    row = estimates_row(path, "review_hours")
    assert row["ci_low"] < 0 < row["ci_high"]
    html = render_report(path, tmp_path / "r.html").read_text(encoding="utf-8")
    expected = (
        "No detectable change in median PR review time after AI adoption "
        f"(estimate {row['effect_pct']:+.0f}%, 95% CI {row['effect_pct_ci_low']:+.0f}% to {row['effect_pct_ci_high']:+.0f}%)."
    )
    assert expected in html
    assert "No clear effect" in html


def test_report_needs_the_analysis_tables(tmp_path):
    path = build_warehouse(tmp_path / "raw.duckdb", n_developers=30, n_weeks=16)
    with pytest.raises(ReportDataError, match="run the analysis first"):
        render_report(path, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def row(**overrides) -> dict:
    base = {
        "outcome": "review_hours", "outcome_kind": "log", "outcome_label": "median PR review time",
        "estimator": "twfe", "estimate": -0.2, "ci_low": -0.3, "ci_high": -0.1, "p_value": 0.001,
        "n_units": 200, "n_treated_units": 80, "n_obs": 5000, "pre_trend_p_value": 0.6,
        "effect_pct": -18.13, "effect_pct_ci_low": -25.92, "effect_pct_ci_high": -9.52, "baseline_mean": 10.0,
    }
    return base | overrides


def test_headline_sentences():
    assert headline_sentence(row()) == "AI adoption cut median PR review time by 18% (95% CI 10% to 26%)."
    assert headline_sentence(
        row(estimate=0.2, ci_low=0.1, ci_high=0.3, effect_pct=22.1, effect_pct_ci_low=10.5, effect_pct_ci_high=35.0)
    ) == "AI adoption increased median PR review time by 22% (95% CI 10% to 35%)."
    assert headline_sentence(
        row(estimate=-0.02, ci_low=-0.08, ci_high=0.04, effect_pct=-2.0, effect_pct_ci_low=-7.7, effect_pct_ci_high=4.1)
    ) == "No detectable change in median PR review time after AI adoption (estimate -2%, 95% CI -8% to +4%)."
    count = row(outcome="prs_merged", outcome_kind="count", estimate=0.42, ci_low=0.2, ci_high=0.64,
                effect_pct=12.0, baseline_mean=3.5)
    assert headline_sentence(count) == (
        "AI adoption increased merged PRs per developer per week by 0.42 (95% CI 0.20 to 0.64), "
        "+12% of the adopters' pre-adoption average of 3.5."
    )


def test_confidence_labels():
    assert confidence_label(row()).label == "High confidence"
    assert confidence_label(row(p_value=0.03)).label == "Moderate confidence"
    assert confidence_label(row(pre_trend_p_value=0.01)).label == "Low confidence"
    assert confidence_label(row(n_treated_units=12, p_value=0.03)).label == "Moderate confidence"
    assert confidence_label(row(n_treated_units=5, p_value=0.03)).label == "Low confidence"
    assert confidence_label(row(ci_low=-0.1, ci_high=0.05, p_value=0.4)).label == "No clear effect"
