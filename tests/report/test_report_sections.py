"""The operational sections of the report: cost, spend, DORA by team, PR stages, caveats, freshness.

Every number checked here is recomputed from the synthetic warehouse's rows, and the privacy rules are
checked on the rendered page: the team of four (``QUARTET``) never appears on its own anywhere, and
people are named only when ``show_individuals`` is on.
"""

from __future__ import annotations

import re

import duckdb
import pytest

from analysis.report import render_report
from analysis.report_sections import CHEAPER_MODEL, ROUTINE_SHARE, load_prices, price_of

from synthetic_warehouse import HOSTILE, QUARTET, TOP_SESSION_USD
from test_report_html import table_rows


@pytest.fixture(scope="module")
def page(warehouse, tmp_path_factory) -> str:
    return render_report(warehouse, tmp_path_factory.mktemp("sections") / "r.html").read_text(encoding="utf-8")


def section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_every_section_and_chart_is_there(page):
    for sid in ("summary", "adoption", "cost", "spend", "dora", "delivery", "stages", "caveats", "methods", "freshness"):
        assert f'id="section-{sid}"' in page, sid
    for chart in ("adoption", "spend-by-team", "spend-by-model", "pr-cost", "dora-deploys", "dora-lead", "dora-cfr",
                  "dora-mttr", "pr-stages", "event-study-0"):
        svg = re.search(rf'<svg[^>]*id="{chart}"[^>]*>(.*?)</svg>', page, flags=re.S)
        assert svg, chart
        # an accessible title, and text on the axes (labels and ticks are text, not paths)
        assert "<title>" in svg.group(1) and svg.group(1).count("<text") >= 4, chart


def test_findings_state_spend_population_and_period(warehouse, page):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        spend = con.execute("select sum(cost_usd) from marts.fct_ai_usage_daily where source = 'anthropic_api'").fetchone()[0]
        merged = con.execute("select count(*) from marts.fct_pull_requests").fetchone()[0]
    summary = section(page, "section-summary")
    assert f"AI coding tools cost ${spend:,.0f} over these 36 weeks" in summary
    assert f"${spend / merged:,.2f} per merged pull request" in summary
    assert "Period 03 Mar 2025 to 09 Nov 2025; 160 developers" in summary
    # three to five findings, each with its confidence label
    assert 3 <= summary.count('class="badge') + 1 <= 6


def test_cost_by_team_and_efficiency_from_the_mart(warehouse, page):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        by_team = dict(con.execute(
            "select t.team_name, sum(e.cost_usd) / sum(e.merged_prs) from marts.mart_ai_cost_efficiency e "
            "join marts.dim_team t using (team_id) group by 1"
        ).fetchall())
        hit = con.execute(
            "select sum(cache_read_tokens) / sum(input_tokens + cache_read_tokens + cache_creation_tokens) "
            "from marts.fct_ai_usage_daily where source = 'anthropic_api'"
        ).fetchone()[0]
    rows = {r[0]: r for r in table_rows(page, "Efficiency by team")}
    assert rows["Payments"][2] == f"${by_team['Payments']:,.2f}"
    assert rows["All teams shown"][5] == f"{100 * hit:.0f}%"
    assert QUARTET not in rows and "Other teams" in rows


def test_cheaper_model_saving_reprices_tokens_and_states_its_assumption(warehouse, page):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        models = con.execute(
            "select model, sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_creation_tokens) "
            "from marts.fct_ai_usage_daily where source = 'anthropic_api' group by 1"
        ).fetchall()
    prices = load_prices()
    cheap = price_of(CHEAPER_MODEL, prices)
    assert cheap["output"] == 5.0  # Haiku 4.5 list price per million output tokens

    def cost(p, i, o, r, w):
        return (i * p["input"] + o * p["output"] + r * p["cache_read"] + w * p["cache_write"]) / 1e6

    expected = sum(ROUTINE_SHARE * (cost(price_of(m, prices), *t) - cost(cheap, *t)) for m, *t in models)
    assert expected > 100
    cost_html = section(page, "section-cost")
    assert f"about <strong>${expected:,.0f}</strong>" in cost_html
    assert "Assumption, not a measurement" in cost_html and "25%" in cost_html


def test_spend_detail_distribution_sessions_budgets_alerts(warehouse, page):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        median = con.execute("select median(ai_cost_usd) from marts.fct_pull_requests where ai_cost_usd > 0").fetchone()[0]
        attributed = con.execute("select count(*) from marts.fct_pull_requests where ai_cost_usd > 0").fetchone()[0]
        day_alerts = con.execute("select count(*) from marts.mart_ai_spend_alerts where kind = 'developer_day'").fetchone()[0]
    pr = table_rows(page, "Cost per merged pull request")
    assert pr[0][1] == f"{attributed:,}" and pr[0][3] == f"${median:,.2f}"
    sessions = table_rows(page, "Costliest sessions")
    # the costliest session belongs to someone in the team of four: shown as "Other teams", unnamed
    assert sessions[0][1] == "Other teams" and sessions[0][-1] == f"${TOP_SESSION_USD:,.2f}"
    assert len(sessions[0]) == 6  # no person column
    budgets = {r[0]: r for r in table_rows(page, "Budget (")}
    assert QUARTET not in budgets and budgets["Other teams"][1] == "$2,600"  # 100 (team of four) + 2,500
    assert "1 personal budget(s), 1 projected over; people are not named" in page
    assert f"<strong>{day_alerts}</strong> × a developer&#39;s daily spend" in page


def test_people_are_named_only_when_configured(warehouse, tmp_path, page):
    assert "Developer 2" not in page and HOSTILE not in page
    named = render_report(warehouse, tmp_path / "named.html", show_individuals=True).read_text(encoding="utf-8")
    sessions = table_rows(named, "Costliest sessions")
    assert sessions[0][2] == HOSTILE  # developer 0, whose display name is hostile: named, and escaped
    assert HOSTILE not in named and "&lt;script&gt;alert(1)&lt;/script&gt;" in named
    budgets = {r[0]: r for r in table_rows(named, "Budget (")}
    assert budgets["Developer 2"][1] == "$10"


def test_team_of_four_is_never_on_its_own(edited_warehouse, tmp_path):
    """With the team of two moved into a big team, the team of four would be alone in "Other teams".

    It must not be: the smallest big team is folded in with it, in every section (spend, budgets,
    DORA, PR stages, alerts), so no figure is the team of four's.
    """
    path = edited_warehouse(
        "update marts.dim_developer set team_id = 't0' where team_id = 't6'",
        "update marts.mart_ai_impact_panel set team_id = 't0' where team_id = 't6'",
    )
    with duckdb.connect(str(path), read_only=True) as con:
        sizes = con.execute(
            "select t.team_id, t.team_name, count(d.developer_id) n from marts.dim_team t "
            "left join marts.dim_developer d using (team_id) group by all order by n, 2"
        ).fetchall()
        # the mart keeps the old team of the two moved people (t6): it is in "Other teams" too
        other_spend = con.execute(
            "select sum(cost_usd) from marts.mart_ai_cost_efficiency where team_id in ('t5', 't6', ?)", [sizes[2][0]]
        ).fetchone()[0]
    assert sizes[0][2] == 0 and sizes[1][1:] == (QUARTET, 4)  # t6 is now empty; the quartet is the only small team
    html = render_report(path, tmp_path / "r.html").read_text(encoding="utf-8")
    assert QUARTET not in html
    smallest_big = sizes[2][1]
    eff = {r[0]: r for r in table_rows(html, "Efficiency by team")}
    assert smallest_big not in eff
    assert eff["Other teams"][1] == f"${other_spend:,.0f}"
    for heading in ("Budget (", "DORA four keys by team", "Pull requests</th>"):
        names = [r[0] for r in table_rows(html, heading)]
        assert QUARTET not in names and smallest_big not in names and "Other teams" in names, heading


def test_absent_marts_say_which_source_to_configure(edited_warehouse, tmp_path):
    path = edited_warehouse(
        *(f"drop table marts.{t}" for t in ("mart_ai_cost_efficiency", "fct_ai_sessions", "mart_ai_budget",
                                            "mart_ai_spend_alerts", "mart_dora_weekly", "fct_incidents"))
    )
    html = render_report(path, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "marts.mart_ai_cost_efficiency is not in this warehouse" in html
    assert "configure `claude_code.transcripts`" in html
    assert "set monthly budgets under `budgets:`" in html
    assert "DORA metrics are not available" in html and "`github:`" in html
    assert "Incidents</td><td><code>marts.fct_incidents</code></td><td>not in this warehouse" in html


def test_withheld_estimates_and_placebo_in_plain_words(edited_warehouse, tmp_path):
    path = edited_warehouse(
        "update analysis.impact_estimates set estimate = null, ci_low = null, ci_high = null, p_value = null, "
        "withheld_reason = 'withheld: only 4 adopters; too few people for an estimate a leader could rely on' "
        "where outcome = 'pickup_hours'"
    )
    html = render_report(path, tmp_path / "r.html").read_text(encoding="utf-8")
    assert "No estimate for PR pickup time (geometric mean, opened to first review): only 4 adopters" in html
    assert '<span class="badge none">Withheld</span>' in html
    assert "Placebo test: each adopter&#39;s adoption date was moved to a fake date 4 weeks before" in html
    rows = [r for r in table_rows(html, "All estimates") if r[0].startswith("PR pickup time")]
    assert rows and all(r[2] == "withheld" for r in rows)


def test_event_study_draws_the_uniform_band(page):
    finding = section(page, "section-finding-0")
    assert "dotted: 95% band, all weeks" in finding
    assert "uniform band, which covers all weeks at once" in finding


def test_freshness_lists_each_source(warehouse, page):
    with duckdb.connect(str(warehouse), read_only=True) as con:
        last_pr = con.execute("select max(merged_at) from marts.fct_pull_requests").fetchone()[0]
    rows = {r[0]: r for r in table_rows(page, "Data freshness")}
    assert rows["GitHub pull requests"][2] == last_pr.strftime("%d %b %Y %H:%M UTC")
    assert "Claude Code usage (daily): Anthropic Admin API (Claude Code analytics)" in rows
    assert rows["Jira issues"][2] == "not in this warehouse"


def test_impact_report_says_what_to_run_when_the_warehouse_is_not_ready(tmp_path, monkeypatch):
    """`impact report` on a warehouse without the analysis: one line saying what to run, no traceback."""
    from click.testing import CliRunner

    from impact.cli import main

    warehouse = tmp_path / "impact.duckdb"
    duckdb.connect(str(warehouse)).close()
    config = tmp_path / "impact.yaml"
    config.write_text(f"start_date: 2026-01-05\nwarehouse: {warehouse}\nreports_dir: {tmp_path / 'reports'}\n")
    monkeypatch.setenv("IMPACT_CONFIG", str(config))
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 1
    assert "analysis.impact_estimates not found" in result.output and "impact run" in result.output
    assert "Traceback" not in result.output
    config.write_text(f"warehouse: {warehouse}\n")
    result = CliRunner().invoke(main, ["report"])
    assert result.exit_code == 1 and "start_date is missing" in result.output
