"""The HTML report: self-contained, escaped, and saying what analysis.impact_estimates says."""

from __future__ import annotations

import html as htmllib
import re
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import pytest

from analysis.estimates import run_impact_analysis
from analysis.report import (
    CFR_NOT_LINKED,
    HEADLINE_ESTIMATORS,
    CFR_NOT_MEASURED,
    PdfExportError,
    ReportDataError,
    confidence_label,
    export_pdf,
    headline_sentence,
    render_report,
)

from synthetic_warehouse import (
    HOSTILE,
    HOSTILE_ATTR,
    HOSTILE_STRINGS,
    QUARTET,
    CFR_EFFECT,
    REVIEW_EFFECT,
    TEAM_NAMES,
    build_warehouse,
)


def estimates_row(path: Path, outcome: str, estimator: str | None = None) -> dict:
    """The ``analysis.impact_estimates`` row of ``estimator``, by default the one the headline uses.

    The report heads with the first of HEADLINE_ESTIMATORS the analysis wrote (Callaway & Sant'Anna
    once it runs, else TWFE); the tests read that row straight from the warehouse to check the page.
    """
    with duckdb.connect(str(path), read_only=True) as con:
        frame = con.execute("select * from analysis.impact_estimates where outcome = ?", [outcome]).df()
    if estimator is None:
        present = [e for e in HEADLINE_ESTIMATORS if e in set(frame["estimator"])]
        assert present, f"no headline estimator among {sorted(set(frame['estimator']))}"
        estimator = present[0]
    frame = frame[frame["estimator"] == estimator]
    assert len(frame) == 1
    return frame.iloc[0].to_dict()


@pytest.fixture(scope="module")
def html(warehouse, tmp_path_factory) -> str:
    out = render_report(warehouse, tmp_path_factory.mktemp("report") / "nested" / "report.html", title="Q3 AI impact")
    assert out.name == "report.html" and out.exists()
    return out.read_text(encoding="utf-8")


def test_headline_states_the_estimate_from_the_warehouse(warehouse, html):
    row = estimates_row(warehouse, "review_hours")
    # the planted effect, a cut of exp(-0.2) - 1 = 18%, lies inside the headline's interval
    assert row["ci_low"] <= REVIEW_EFFECT <= row["ci_high"]
    expected = headline_sentence(row)
    if row["ci_high"] < 0:
        a, b = sorted((abs(row["effect_pct_ci_low"]), abs(row["effect_pct_ci_high"])))
        assert expected == (
            f"AI adoption cut PR review time (geometric mean) by {abs(row['effect_pct']):.0f}% (95% CI {a:.0f}% to {b:.0f}%)."
        )
    else:
        assert expected.startswith("No detectable change in PR review time (geometric mean)")
    summary = html[html.index('<section class="summary"') : html.index("</section>")]
    assert f'<p class="headline">{expected}</p>' in summary
    assert "confidence" in summary.lower()
    # the naive TWFE baseline on the same data recovers the planted cut and excludes zero
    twfe = estimates_row(warehouse, "review_hours", "twfe")
    assert twfe["effect_pct_ci_high"] < 0 and 10 <= abs(twfe["effect_pct"]) <= 26


def test_summary_shows_period_population_and_spend(warehouse, html):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        developers, adopters = con.execute(
            "select count(distinct developer_id), count(distinct developer_id) filter (where ai_adopted_at is not null) "
            "from marts.mart_ai_impact_panel"
        ).fetchone()
        merged = con.execute("select count(*) from marts.fct_pull_requests where merged_at is not null").fetchone()[0]
        # one source per developer-day: the transcript rows duplicating Admin API days are not added
        spend = con.execute("select sum(cost_usd) from marts.fct_ai_usage_daily where source = 'anthropic_api'").fetchone()[0]
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
    assert "Change in PR review time" in html and ">(%)<" in html  # labelled y axis, with unit
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


class _Elements(HTMLParser):
    """Every start tag (with attributes) and all text of a document, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def table_rows(html: str, heading: str) -> list[list[str]]:
    """Cells (text, unescaped) of the body rows of the first table after ``heading``."""
    start = html.index(heading)
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    return [
        [htmllib.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        for row in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    ]


def test_warehouse_strings_are_escaped(html):
    """Team names, developer names and PR titles with markup reach the page only as text.

    A script element and an attribute break-out (``"><img onerror>``) are planted in all three; a
    browser-grade parse of the report must find no element they would create, and every occurrence
    of their telltale parts must be inside the escaped form.
    """
    for hostile in HOSTILE_STRINGS:
        assert hostile not in html
    escaped_script = "&lt;script&gt;alert(1)&lt;/script&gt;"
    escaped_img = "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"
    # in SVG <text> (chart legends and axis labels) a quote needs no escaping, angle brackets do
    escaped_img_svg_text = '"&gt;&lt;img src=x onerror=alert(1)&gt;</text>'
    assert escaped_script in html and escaped_img in html  # the two team names, shown as text
    assert html.count(escaped_img_svg_text) >= 1  # and in the charts, as text
    escaped = html.count(escaped_script) + html.count(escaped_img) + html.count(escaped_img_svg_text)
    assert html.count("alert(1)") == escaped
    assert html.count("onerror") == html.count(escaped_img) + html.count(escaped_img_svg_text)
    doc = parse(html)
    tags = [t for t, _ in doc.tags]
    assert "script" not in tags and "img" not in tags
    assert not any(k.startswith("on") for _, attrs in doc.tags for k in attrs)
    teams = [row[0] for row in table_rows(html, "Adoption by team")]
    assert HOSTILE in teams and HOSTILE_ATTR in teams  # readable as the names they are
    assert "Search &amp; Discovery" in html


def test_individuals_are_not_named_and_small_teams_are_combined(warehouse, html):
    """The team of four (and the team of two) are only in the combined row, never by name or alone."""
    assert "Developer 1" not in html
    assert "dev1@example.com" not in html
    assert QUARTET not in html and "Zanzibar" not in html and "Tiny B" not in html
    rows = table_rows(html, "Adoption by team")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        sizes = dict(
            con.execute(
                "select t.team_name, count(distinct p.developer_id) from marts.mart_ai_impact_panel p "
                "join marts.dim_team t using (team_id) group by 1"
            ).fetchall()
        )
    assert sizes[QUARTET] == 4 and sizes["Tiny B"] == 2
    assert sorted(r[0] for r in rows[:-1]) == sorted(TEAM_NAMES)
    assert all(int(r[1]) == sizes[r[0]] >= 5 for r in rows[:-1])
    assert rows[-1][0] == "2 smaller teams combined (under 5 people each)"
    assert rows[-1][1] == "6"  # 4 + 2 people, never 4 on its own
    assert not any(r[1] == "4" for r in rows)


def test_one_small_team_is_never_a_row_of_its_own(edited_warehouse, tmp_path):
    """With the team of two moved into a big team, the team of four is the only small team left.

    A "1 smaller team combined" row would be that team under another name, and listing every other
    team would give its numbers by subtraction from the totals; the smallest big team is folded in.
    """
    path = edited_warehouse("update marts.mart_ai_impact_panel set team_id = 't0' where team_id = 't6'")
    with duckdb.connect(str(path), read_only=True) as con:
        sizes = con.execute(
            "select t.team_name, count(distinct p.developer_id) as n from marts.mart_ai_impact_panel p "
            "join marts.dim_team t using (team_id) group by 1 order by n, 1"
        ).fetchall()
    assert sizes[0] == (QUARTET, 4) and sizes[1][1] >= 5
    smallest_big, n_smallest = sizes[1]
    html = render_report(path, tmp_path / "r.html").read_text(encoding="utf-8")
    assert QUARTET not in html
    rows = table_rows(html, "Adoption by team")
    shown = [r[0] for r in rows[:-1]]
    assert smallest_big not in shown and len(shown) == len(sizes) - 2
    assert rows[-1][0].startswith("2 teams combined: the 1 under 5 people with the smallest larger team")
    assert int(rows[-1][1]) == 4 + n_smallest


def snapshot_rows(html: str) -> dict[str, list[str]]:
    return {r[0]: r[1:] for r in table_rows(html, "Delivery snapshot")}


NO_INCIDENTS = (
    "drop table marts.fct_incidents",
    "update marts.mart_dora_weekly set cfr = null, cfr_numerator = null, mttr_p50_hours = null",
)


def test_change_failure_rate_needs_an_incident_source(edited_warehouse, tmp_path):
    """No incident table: no CFR number (0% would claim nothing failed), a plain note, failed attempts apart."""
    warehouse = edited_warehouse(*NO_INCIDENTS)
    html = render_report(warehouse, tmp_path / "r.html").read_text(encoding="utf-8")
    rows = snapshot_rows(html)
    # the DORA table by team says the same in words, never 0%
    dora = table_rows(html, "DORA four keys by team")
    assert dora and all(r[3] == "not measured" and r[4] == "not measured" for r in dora)
    assert "need an incident source" in html
    assert "Change failure rate" not in rows
    assert CFR_NOT_MEASURED in html
    assert "PagerDuty, or GitHub or Jira issues marked as incidents" in CFR_NOT_MEASURED
    with duckdb.connect(str(warehouse), read_only=True) as con:
        failed, successful = con.execute(
            "select count(*) filter (where status = 'failure'), count(*) filter (where status = 'success') "
            "from marts.fct_deployments"
        ).fetchone()
    assert failed > 0
    assert rows["Failed deployment attempts"] == ["per week", rows["Failed deployment attempts"][1], rows["Failed deployment attempts"][2], f"{failed / 36:.1f}"]
    assert rows["Production deployments"][-1] == f"{successful / 36:.1f}"  # failed attempts are not deployments


def test_change_failure_rate_from_incidents(edited_warehouse, tmp_path):
    """With marts.fct_incidents, CFR = successful deployments that caused an incident / all successful ones."""
    path = edited_warehouse(
        "drop table marts.fct_incidents",
        """
        create table marts.fct_incidents as
        select 'inc' || row_number() over () as incident_id, 'pagerduty' as source,
               deployed_at + interval 2 hour as created_at, deployed_at + interval 8 hour as resolved_at,
               6.0 + row_number() over () as restore_hours, deployment_id as caused_by_deployment_id
        from (select * from marts.fct_deployments where status = 'success' order by deployment_id limit 9)
        """,
        # an incident linked to nothing, and one pointing at a failed attempt: neither is a change failure
        """
        insert into marts.fct_incidents
        select 'inc-x', 'pagerduty', timestamp '2025-05-01 10:00', timestamp '2025-05-01 11:00', 1.0, null
        union all
        select 'inc-y', 'pagerduty', created_at, created_at + interval 1 hour, 1.0, deployment_id
        from (select * from marts.fct_deployments where status = 'failure' order by deployment_id limit 1)
        """,
    )
    with duckdb.connect(str(path), read_only=True) as con:
        successful = con.execute("select count(*) from marts.fct_deployments where status = 'success'").fetchone()[0]
        mttr = con.execute("select median(restore_hours) from marts.fct_incidents").fetchone()[0]
    html = render_report(path, tmp_path / "r.html").read_text(encoding="utf-8")
    rows = snapshot_rows(html)
    assert rows["Change failure rate"][0] == "% of deployments (failed of all)"
    assert rows["Change failure rate"][-1] == f"{100.0 * 9 / successful:.1f} (9 of {successful})"
    assert rows["Median time to restore"][-1] == f"{mttr:.1f}"
    assert CFR_NOT_MEASURED not in html and CFR_NOT_LINKED not in html


def test_incidents_without_deployment_links_give_no_rate(edited_warehouse, tmp_path):
    path = edited_warehouse(
        "drop table marts.fct_incidents",
        "create table marts.fct_incidents as select 'inc1' as incident_id, timestamp '2025-05-01 10:00' as created_at, "
        "timestamp '2025-05-01 12:30' as resolved_at"
    )
    html = render_report(path, tmp_path / "r.html").read_text(encoding="utf-8")
    rows = snapshot_rows(html)
    assert "Change failure rate" not in rows
    assert CFR_NOT_LINKED in html
    assert rows["Median time to restore"][-1] == "2.5"


def test_pdf_without_chromium_says_what_to_do(warehouse, tmp_path, monkeypatch):
    """No Chromium on PATH: a clear error naming the install and the browser's Print dialog, no PDF file."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("IMPACT_CHROMIUM", raising=False)
    out = render_report(warehouse, tmp_path / "r.html")
    with pytest.raises(PdfExportError, match=r"apt-get install chromium.*Print dialog") as err:
        export_pdf(out, tmp_path / "r.pdf")
    assert "render the report first" not in str(err.value)
    assert not (tmp_path / "r.pdf").exists() and not list(tmp_path.glob("*.pdf"))
    with pytest.raises(PdfExportError):
        render_report(warehouse, tmp_path / "again.html", pdf=True)
    assert (tmp_path / "again.html").exists()  # the HTML is written before printing is tried


def test_caveats_and_methods(warehouse, html):
    row = estimates_row(warehouse, "review_hours")
    assert f"PR review time (geometric mean): p = {row['pre_trend_p_value']:.2f}" in html
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
        "No detectable change in PR review time (geometric mean) after AI adoption "
        f"(estimate {row['effect_pct']:+.0f}%, 95% CI {row['effect_pct_ci_low']:+.0f}% to {row['effect_pct_ci_high']:+.0f}%)."
    )
    assert expected in html
    assert "No clear effect" in html


def test_change_failure_rate_finding_in_percentage_points(warehouse, html):
    row = estimates_row(warehouse, "change_failure_rate")
    assert row["outcome_kind"] == "rate" and row["effect_unit"].startswith("percentage points")
    # the planted +6 points lie inside the interval; the estimate is in points, not a share
    assert row["ci_low"] <= 100 * CFR_EFFECT <= row["ci_high"]
    expected = headline_sentence(row)
    base = f"; {row['baseline_mean']:.1f}% among adopters before they adopted)."
    if row["ci_low"] > 0:
        assert expected == (f"AI adoption increased change failure rate by {row['estimate']:.1f} percentage points "
                            f"(95% CI {row['ci_low']:.1f} to {row['ci_high']:.1f}" + base)
    else:
        assert expected.startswith("No detectable change in change failure rate after AI adoption (estimate ")
    summary = html[html.index('<section class="summary"') : html.index("</section>")]
    assert f'<p class="secondary">{expected}</p>' in summary
    section = html[html.index("Change failure rate: week by week around adoption"):]
    section = section[: section.index("</section>")]
    assert "<svg" in section and "(percentage points)" in section  # its event study, y axis in points
    assert f"{row['estimate']:+.1f} pp" in html  # the table of all estimates


def test_median_outcomes_have_their_event_study_but_stay_out_of_the_summary(warehouse, html):
    row = estimates_row(warehouse, "review_hours_median")
    summary = html[html.index('<section class="summary"') : html.index("</section>")]
    assert "median PR review time" not in summary
    section = html[html.index("Median PR review time: week by week around adoption"):]
    section = section[: section.index("</section>")]
    assert "<svg" in section and headline_sentence(row) in section
    assert row["ci_low"] <= REVIEW_EFFECT <= row["ci_high"]  # the median moves with the planted shift


def test_report_needs_the_analysis_tables(tmp_path):
    path = build_warehouse(tmp_path / "raw.duckdb", n_developers=30, n_weeks=16)
    with pytest.raises(ReportDataError, match="run the analysis first"):
        render_report(path, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def row(**overrides) -> dict:
    base = {
        "outcome": "review_hours_median", "outcome_kind": "log", "outcome_label": "median PR review time",
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


def test_change_failure_rate_sentences_are_in_percentage_points():
    cfr = row(outcome="change_failure_rate", outcome_kind="rate", outcome_label="change failure rate",
              estimate=2.14, ci_low=0.41, ci_high=3.87, effect_pct=21.8, baseline_mean=9.8)
    assert headline_sentence(cfr) == (
        "AI adoption increased change failure rate by 2.1 percentage points (95% CI 0.4 to 3.9; "
        "9.8% among adopters before they adopted)."
    )
    assert headline_sentence(cfr | {"estimate": -1.5, "ci_low": -2.5, "ci_high": -0.5}) == (
        "AI adoption reduced change failure rate by 1.5 percentage points (95% CI 0.5 to 2.5; "
        "9.8% among adopters before they adopted)."
    )
    assert headline_sentence(cfr | {"estimate": 0.8, "ci_low": -1.2, "ci_high": 2.8}) == (
        "No detectable change in change failure rate after AI adoption (estimate +0.8 percentage points, "
        "95% CI -1.2 to +2.8; 9.8% among adopters before they adopted)."
    )
    # an effect_pct (percent of the baseline) is never what the sentence reports
    assert "21.8" not in headline_sentence(cfr) and "22%" not in headline_sentence(cfr)


def test_confidence_labels():
    assert confidence_label(row()).label == "High confidence"
    assert confidence_label(row(p_value=0.03)).label == "Moderate confidence"
    assert confidence_label(row(pre_trend_p_value=0.01)).label == "Low confidence"
    assert confidence_label(row(n_treated_units=12, p_value=0.03)).label == "Moderate confidence"
    assert confidence_label(row(n_treated_units=5, p_value=0.03)).label == "Low confidence"
    assert confidence_label(row(ci_low=-0.1, ci_high=0.05, p_value=0.4)).label == "No clear effect"
