"""Render the AI impact report: one self-contained HTML file for an engineering leader.

Reads the ``analysis`` tables written by :func:`analysis.estimates.run_impact_analysis` and a few
``marts`` tables for context (period, population, spend, delivery), and writes a single HTML file with
inline CSS and inline SVG charts: no script, no font or stylesheet download, nothing fetched when it is
opened. Every string from the warehouse is escaped by Jinja2's autoescaping. Individuals are never
named or ranked; teams smaller than ``min_team_size`` are shown only combined. The layout is
responsive (wide tables scroll in their own box, charts scale to the width) and has a print
stylesheet; :func:`export_pdf` prints it to PDF with headless Chromium where one is installed.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import jinja2
import pandas as pd
from markupsafe import Markup

from analysis import charts
from analysis import report_sections as sections
from analysis.estimates import ESTIMATES_TABLE, EVENT_STUDY_TABLE, OUTCOMES, PANEL_TABLE, Outcome

__all__ = [
    "render_report",
    "export_pdf",
    "find_chromium",
    "build_report_context",
    "headline_sentence",
    "confidence_label",
    "ReportDataError",
    "PdfExportError",
]

TEMPLATES = Path(__file__).parent / "templates"
# estimators in order of preference for the headline (the first present is used)
HEADLINE_ESTIMATORS = ("callaway_santanna", "cs_did", "att_gt", "twfe")
EVENT_STUDY_ESTIMATOR_LABELS = {
    "twfe_event_study": "Two-way fixed effects",
    "twfe": "Two-way fixed effects",
    "callaway_santanna": "Callaway & Sant'Anna",
}
SNAPSHOT_WEEKS = 4


class ReportDataError(RuntimeError):
    """The warehouse lacks what the report needs; the message says what to run."""


# --------------------------------------------------------------------------- wording


def _fmt_pct(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 1 or value == 0 else f"{value:.1f}"


def _fmt_num(value: float, digits: int = 2) -> str:
    return f"{value:,.{digits}f}"


def _is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def _outcome_meta(row: dict) -> Outcome:
    for outcome in OUTCOMES:
        if outcome.name == row["outcome"]:
            return outcome
    kind = row.get("outcome_kind") or "count"
    label = row.get("outcome_label") or str(row["outcome"]).replace("_", " ")
    return Outcome(name=str(row["outcome"]), column=str(row["outcome"]), kind=kind, label=label, unit="")


def _with_effect_pct(row: dict) -> dict:
    """A log outcome's row with its percent effect (rows from other estimators may lack it)."""
    keys = {"effect_pct": "estimate", "effect_pct_ci_low": "ci_low", "effect_pct_ci_high": "ci_high"}
    if all(not _is_missing(row.get(k)) for k in keys):
        return row
    return row | {k: 100.0 * math.expm1(row[v]) for k, v in keys.items()}


def is_withheld(row: dict) -> bool:
    """The analysis withheld this estimate (too few people), or it has no number at all."""
    reason = row.get("withheld_reason")
    return (not _is_missing(reason) and bool(str(reason).strip())) or any(
        _is_missing(row.get(k)) for k in ("estimate", "ci_low", "ci_high")
    )


def headline_sentence(row: dict) -> str:
    """Plain-words result of one ``analysis.impact_estimates`` row.

    Log outcomes: ``AI adoption cut median PR review time by 18% (95% CI 9% to 26%).``
    Count outcomes: the change per developer-week, and in percent of the pre-adoption mean.
    Rate outcomes (change failure rate): the change in percentage points, with the adopters'
    pre-adoption rate, never as a percent of it (a "50% rise" of a 2% rate is 1 point).
    A CI that includes zero gives ``No detectable change in ...``; a withheld estimate says why.
    """
    meta = _outcome_meta(row)
    if is_withheld(row):
        reason = row.get("withheld_reason")
        why = str(reason).removeprefix("withheld: ") if not _is_missing(reason) else "the analysis could not estimate it"
        return f"No estimate for {meta.label}: {why}."
    lo, hi = row["ci_low"], row["ci_high"]
    if meta.kind == "log":
        row = _with_effect_pct(row)
        est, plo, phi = row["effect_pct"], row["effect_pct_ci_low"], row["effect_pct_ci_high"]
        if lo <= 0.0 <= hi:
            return (
                f"No detectable change in {meta.label} after AI adoption "
                f"(estimate {est:+.0f}%, 95% CI {plo:+.0f}% to {phi:+.0f}%)."
            )
        verb = "cut" if est < 0 else "increased"
        a, b = sorted((abs(plo), abs(phi)))
        return f"AI adoption {verb} {meta.label} by {_fmt_pct(abs(est))}% (95% CI {_fmt_pct(a)}% to {_fmt_pct(b)}%)."
    if meta.kind == "rate":
        return _rate_sentence(meta, row)
    est = row["estimate"]
    if lo <= 0.0 <= hi:
        return (
            f"No detectable change in {meta.label} after AI adoption "
            f"(estimate {est:+.2f}, 95% CI {lo:+.2f} to {hi:+.2f})."
        )
    verb = "increased" if est > 0 else "reduced"
    a, b = sorted((abs(lo), abs(hi)))
    sentence = f"AI adoption {verb} {meta.label} by {abs(est):.2f} (95% CI {a:.2f} to {b:.2f})"
    pct, base = row.get("effect_pct"), row.get("baseline_mean")
    if not _is_missing(pct) and not _is_missing(base):
        sentence += f", {pct:+.0f}% of the adopters' pre-adoption average of {base:.1f}"
    return sentence + "."


def _rate_sentence(meta: Outcome, row: dict) -> str:
    """A rate's finding in percentage points (``estimate`` is in points: the analysis fits 0-100)."""
    est, lo, hi = row["estimate"], row["ci_low"], row["ci_high"]
    base = row.get("baseline_mean")
    before = "" if _is_missing(base) else f"; {base:.1f}% among adopters before they adopted"
    if lo <= 0.0 <= hi:
        return (
            f"No detectable change in {meta.label} after AI adoption (estimate {est:+.1f} percentage points, "
            f"95% CI {lo:+.1f} to {hi:+.1f}{before})."
        )
    verb = "increased" if est > 0 else "reduced"
    a, b = sorted((abs(lo), abs(hi)))
    return (
        f"AI adoption {verb} {meta.label} by {abs(est):.1f} percentage points "
        f"(95% CI {a:.1f} to {b:.1f}{before})."
    )


def _effect_cells(meta: Outcome, row: dict) -> tuple[str, str]:
    """The effect and its 95% CI as the estimates table shows them, in the outcome's natural unit."""
    if meta.kind == "log":
        row = _with_effect_pct(row)
        return (f"{row['effect_pct']:+.1f}%", f"{row['effect_pct_ci_low']:+.1f}% to {row['effect_pct_ci_high']:+.1f}%")
    if meta.kind == "rate":
        return (f"{row['estimate']:+.1f} pp", f"{row['ci_low']:+.1f} to {row['ci_high']:+.1f} pp")
    return (f"{row['estimate']:+.3f}", f"{row['ci_low']:+.3f} to {row['ci_high']:+.3f}")


def _chart_ylabel(meta: Outcome) -> str:
    unit = {"log": " (%)", "rate": " (percentage points)"}.get(meta.kind, "")
    return textwrap.fill(f"Change in {meta.label}{unit}", 34)


@dataclass(frozen=True)
class Confidence:
    label: str  # High confidence / Moderate confidence / Low confidence / No clear effect
    level: str  # css class: high, moderate, low, none
    reasons: tuple[str, ...]


def confidence_label(row: dict, *, min_adopters: int = 30) -> Confidence:
    """A coarse label from the p-value, the pre-trend and placebo tests and the number of adopters."""
    p, pre, n_treated = row["p_value"], row.get("pre_trend_p_value"), int(row["n_treated_units"] or 0)
    if is_withheld(row):
        return Confidence("Withheld", "none", (f"only {n_treated} adopters contribute",))
    placebo = row.get("placebo_p_value")
    reasons: list[str] = []
    spans_zero = row["ci_low"] <= 0.0 <= row["ci_high"]
    if spans_zero:
        reasons.append("the 95% interval includes no change at all")
    elif p < 0.01:
        reasons.append("the effect is clearly distinguishable from zero")
    else:
        reasons.append("the effect is only just distinguishable from zero")
    if _is_missing(pre):
        reasons.append("the pre-trend check could not run")
        pre_ok = False
    elif pre < 0.05:
        reasons.append("adopters were already drifting from non-adopters before adopting")
        pre_ok = False
    else:
        reasons.append("no sign that adopters were drifting from non-adopters before adopting")
        pre_ok = True
    if not _is_missing(placebo) and placebo < 0.05:
        reasons.append("a fake adoption date placed before the real one also shows an effect (placebo test)")
        pre_ok = False
    if n_treated < min_adopters:
        reasons.append(f"only {n_treated} adopters contribute")
    else:
        reasons.append(f"{n_treated} adopters contribute")
    if spans_zero:
        return Confidence("No clear effect", "none", tuple(reasons))
    if p < 0.01 and pre_ok and pre >= 0.10 and n_treated >= min_adopters:
        return Confidence("High confidence", "high", tuple(reasons))
    if p < 0.05 and pre_ok and n_treated >= 10:
        return Confidence("Moderate confidence", "moderate", tuple(reasons))
    return Confidence("Low confidence", "low", tuple(reasons))


# --------------------------------------------------------------------------- data


def _columns(con: duckdb.DuckDBPyConnection, qualified: str) -> set[str]:
    schema, table = qualified.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def _people_only(pr_cols: set[str]) -> str:
    """A filter leaving out bot pull requests (dependabot, renovate): the report is about people's work."""
    return " and not coalesce(is_bot, false)" if "is_bot" in pr_cols else ""


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> Any:
    value = con.execute(sql, params or []).fetchone()[0]
    return None if _is_missing(value) else value


def _records(frame: pd.DataFrame) -> list[dict]:
    out = []
    for rec in frame.to_dict("records"):
        out.append({k: (None if _is_missing(v) else v) for k, v in rec.items()})
    return out


def _read_estimates(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    for table in (ESTIMATES_TABLE, EVENT_STUDY_TABLE):
        if not _columns(con, table):
            raise ReportDataError(
                f"{table} not found in {path}: run the analysis first "
                "(analysis.estimates.run_impact_analysis, or `impact run`)"
            )
    estimates = con.execute(f"select * from {ESTIMATES_TABLE}").df()
    event_study = con.execute(f"select * from {EVENT_STUDY_TABLE} order by outcome, estimator, relative_week").df()
    if estimates.empty:
        raise ReportDataError(f"{ESTIMATES_TABLE} in {path} is empty: run the analysis first")
    return estimates, event_study


def _period(con: duckdb.DuckDBPyConnection) -> tuple[date, date, int]:
    start, last, weeks = con.execute(
        f"select min(week_start)::date, max(week_start)::date, count(distinct week_start) from {PANEL_TABLE}"
    ).fetchone()
    return start, last + timedelta(days=6), int(weeks)


def _ai_spend(con: duckdb.DuckDBPyConnection, start: date, end: date) -> float | None:
    """Total AI cost in the period, one source per developer-day (Admin API, else OTel, else transcripts)."""
    cols = _columns(con, "marts.fct_ai_usage_daily")
    if not {"developer_id", "date_day", "cost_usd"} <= cols:
        if "ai_cost_usd" in _columns(con, PANEL_TABLE):
            return _scalar(con, f"select sum(ai_cost_usd) from {PANEL_TABLE}")
        return None
    if "source" in cols:
        sql = """
            with ranked as (
                select developer_id, date_day, source, cost_usd,
                    case
                        when lower(source) like '%admin%' or lower(source) like '%analytics%'
                            or lower(source) like '%anthropic%' then 1
                        when lower(source) like '%otel%' or lower(source) like '%telemetry%' then 2
                        when lower(source) like '%transcript%' or lower(source) like '%jsonl%' then 3
                        else 4
                    end as priority
                from marts.fct_ai_usage_daily
                where date_day between ? and ?
            ),
            chosen as (
                select developer_id, date_day, min(priority) as priority from ranked group by all
            )
            select sum(r.cost_usd)
            from ranked r join chosen c using (developer_id, date_day, priority)
        """
    else:
        sql = "select sum(cost_usd) from marts.fct_ai_usage_daily where date_day between ? and ?"
    return _scalar(con, sql, [start, end])


def _population(con: duckdb.DuckDBPyConnection, start: date, end: date) -> dict:
    developers, adopters = con.execute(
        f"""
        select count(distinct developer_id),
               count(distinct case when ai_adopted_at is not null then developer_id end)
        from {PANEL_TABLE}
        """
    ).fetchone()
    pr_cols = _columns(con, "marts.fct_pull_requests")
    merged_prs = None
    if "merged_at" in pr_cols:
        merged_prs = _scalar(
            con,
            f"select count(*) from marts.fct_pull_requests where merged_at >= ? and merged_at < ?{_people_only(pr_cols)}",
            [start, end + timedelta(days=1)],
        )
    spend = _ai_spend(con, start, end)
    return {
        "developers": int(developers),
        "adopters": int(adopters),
        "non_adopters": int(developers) - int(adopters),
        "adoption_share": 100.0 * adopters / developers if developers else 0.0,
        "merged_prs": None if merged_prs is None else int(merged_prs),
        "ai_spend": spend,
    }


def _adoption_by_week(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute(
        f"""
        with weeks as (select distinct week_start::date as week_start from {PANEL_TABLE}),
        devs as (
            select developer_id, min(ai_adopted_at)::date as adopted
            from {PANEL_TABLE} group by developer_id
        )
        select w.week_start, count(d.developer_id) as adopters
        from weeks w left join devs d on d.adopted <= w.week_start
        group by w.week_start order by w.week_start
        """
    ).df()


CFR_NOT_MEASURED = (
    "Change failure rate is not measured yet: it needs an incident source (PagerDuty, or GitHub or Jira "
    "issues marked as incidents), so that a deployment can be linked to the incident it caused. No "
    "incident source is connected, and a rate of zero would wrongly suggest that no change ever failed."
)
CFR_NOT_LINKED = (
    "Change failure rate is not measured yet: incidents are loaded, but none can be linked to the "
    "deployment that caused it (the incident table has no caused_by_deployment_id)."
)
FAILED_ATTEMPTS_NOTE = (
    "Failed deployment attempts are deployments that ended in failure or error. They changed nothing in "
    "production, so they are counted apart and are not change failures."
)


def _delivery_snapshot(
    con: duckdb.DuckDBPyConnection, start: date, end: date, n_weeks: int
) -> tuple[list[dict], list[str]]:
    """Rows of (metric, first weeks, last weeks, whole period), each a weekly rate or a median, and notes.

    Change failure rate follows DESIGN section 5: successful production deployments that caused an
    incident, over successful production deployments. Without ``marts.fct_incidents`` there is nothing
    to count in the numerator, and showing 0% would tell a leader that nothing ever failed, so the row
    is left out and a note says what is missing. Failed deployment attempts (final status failure or
    error) are a different thing, shown on their own row.
    """
    k = max(1, min(SNAPSHOT_WEEKS, n_weeks // 2 or 1))
    first_end = start + timedelta(days=7 * k)
    last_start = end + timedelta(days=1) - timedelta(days=7 * k)
    end_excl = end + timedelta(days=1)
    windows = [(start, first_end, k), (last_start, end_excl, k), (start, end_excl, n_weeks)]
    rows: list[dict] = []
    notes: list[str] = []

    def add(metric: str, unit: str, values: list, digits: int) -> None:
        cells = ["—" if v is None else _fmt_num(float(v), digits) for v in values]
        add_cells(metric, unit, cells)

    def add_cells(metric: str, unit: str, cells: list[str]) -> None:
        rows.append({"metric": metric, "unit": unit, "first": cells[0], "last": cells[1], "total": cells[2]})

    pr_cols = _columns(con, "marts.fct_pull_requests")
    if "merged_at" in pr_cols:
        add(
            "Merged pull requests",
            "per week",
            [_scalar(con, f"select count(*) / ? from marts.fct_pull_requests where merged_at >= ? and merged_at < ?{_people_only(pr_cols)}", [w, a, b]) for a, b, w in windows],
            1,
        )
        for column, metric in (("review_hours", "Median PR review time"), ("cycle_hours", "Median PR cycle time")):
            if column in pr_cols:
                add(
                    metric,
                    "hours",
                    [_scalar(con, f"select median({column}) from marts.fct_pull_requests where merged_at >= ? and merged_at < ?{_people_only(pr_cols)}", [a, b]) for a, b, _ in windows],
                    1,
                )
    dep_cols = _columns(con, "marts.fct_deployments")
    incident_cols = _columns(con, "marts.fct_incidents")
    if "deployed_at" in dep_cols:
        production = ["coalesce(is_production, true)"] if "is_production" in dep_cols else []
        # is_successful: it became success at some point (a later `inactive`, superseded, still shipped)
        if "is_successful" in dep_cols:
            succeeded = ["is_successful"]
        else:
            succeeded = ["lower(status) = 'success'"] if "status" in dep_cols else ["deployed_at is not null"]
        where = " and ".join(production + succeeded + ["deployed_at >= ? and deployed_at < ?"])
        add(
            "Production deployments",
            "per week",
            [_scalar(con, f"select count(*) / ? from marts.fct_deployments where {where}", [w, a, b]) for a, b, w in windows],
            1,
        )
        if "status" in dep_cols:
            # a failed attempt has no deployed_at (nothing reached production): date it by its creation
            when = "coalesce(deployed_at, created_at)" if "created_at" in dep_cols else "deployed_at"
            failed = " and ".join(production + ["lower(status) in ('failure', 'error')", f"{when} >= ? and {when} < ?"])
            attempts = [
                _scalar(con, f"select count(*) / ? from marts.fct_deployments where {failed}", [w, a, b]) for a, b, w in windows
            ]
            if any(attempts):
                add("Failed deployment attempts", "per week", attempts, 1)
                notes.append(FAILED_ATTEMPTS_NOTE)
        links = []
        if "caused_by_deployment_id" in incident_cols:
            links.append(
                "deployment_id in (select caused_by_deployment_id from marts.fct_incidents "
                "where caused_by_deployment_id is not null)"
            )
        if incident_cols and "caused_incident_id" in dep_cols:
            links.append("caused_incident_id is not null")
        if links:
            caused = " or ".join(links)
            cells = []
            for a, b, _ in windows:
                failures, total = con.execute(
                    f"select count(*) filter (where {caused}), count(*) from marts.fct_deployments where {where}", [a, b]
                ).fetchone()
                cells.append(f"{100.0 * failures / total:.1f} ({failures} of {total})" if total else "—")
            add_cells("Change failure rate", "% of deployments (failed of all)", cells)
        elif incident_cols:
            notes.insert(0, CFR_NOT_LINKED)
        else:
            notes.insert(0, CFR_NOT_MEASURED)
    if "created_at" in incident_cols and ("restore_hours" in incident_cols or "resolved_at" in incident_cols):
        hours = "restore_hours" if "restore_hours" in incident_cols else "date_diff('second', created_at, resolved_at) / 3600.0"
        add(
            "Median time to restore",
            "hours",
            [_scalar(con, f"select median({hours}) from marts.fct_incidents where created_at >= ? and created_at < ?", [a, b]) for a, b, _ in windows],
            1,
        )
    return rows, notes


def _teams(con: duckdb.DuckDBPyConnection, min_team_size: int) -> tuple[list[dict], dict | None]:
    """Adoption by team for teams of at least ``min_team_size`` people, and the smaller ones together.

    Small teams are never shown on their own: a team of three where everyone adopted tells the reader
    what each person did. They are shown as one combined row, and that row must itself be at least two
    teams and ``min_team_size`` people. One small team alone (or small teams adding up to fewer people)
    would be a small group under another name, and listing every other team would let a reader work it
    out by subtracting from the totals; so then the smallest shown team is folded into the combined
    row too. If that is still not enough (no team is big enough to be shown), ``combined`` carries no
    numbers (``hidden``).
    """
    if not _columns(con, "marts.dim_team") or "team_id" not in _columns(con, PANEL_TABLE):
        return [], None
    frame = con.execute(
        f"""
        with devs as (
            select developer_id, any_value(team_id) as team_id,
                   max(case when ai_adopted_at is not null then 1 else 0 end) as adopted
            from {PANEL_TABLE} group by developer_id
        )
        select coalesce(t.team_name, 'No team') as team_name,
               count(*) as developers, sum(d.adopted) as adopters
        from devs d left join marts.dim_team t using (team_id)
        group by 1 order by 1
        """
    ).df()
    shown = frame[frame["developers"] >= min_team_size]
    small = frame[frame["developers"] < min_team_size]
    folded = 0
    if len(small) and (len(small) < 2 or small["developers"].sum() < min_team_size) and len(shown):
        smallest = shown.sort_values(["developers", "team_name"]).index[0]
        small = pd.concat([small, shown.loc[[smallest]]])
        shown = shown.drop(index=smallest)
        folded = 1
    rows = [
        {"team": r.team_name, "developers": int(r.developers), "adopters": int(r.adopters),
         "share": f"{100.0 * r.adopters / r.developers:.0f}%"}
        for r in shown.itertuples()
    ]
    combined = None
    if len(small):
        devs, adopters = int(small["developers"].sum()), int(small["adopters"].sum())
        combined = {
            "teams": len(small),
            "small_teams": len(small) - folded,
            "folded": folded,
            "developers": devs,
            "adopters": adopters,
            "hidden": len(small) < 2 or devs < min_team_size,
            "share": f"{100.0 * adopters / devs:.0f}%" if devs else "—",
        }
    return rows, combined


# --------------------------------------------------------------------------- assembling


#: Callaway & Sant'Anna leads only with this many adopters in its estimate. `make validate` on the
#: small sandbox (cohorts of 1-2 developers, ~14 usable adopters) found it calibrated but 2.5 times
#: noisier than two-way fixed effects (power 27% against 81%), which leads there instead.
MIN_TREATED_UNITS_FOR_CS = 30


def pick_headline_rows(estimates: pd.DataFrame) -> list[dict]:
    """One row per outcome: the preferred estimator with enough adopters, outcomes in registry order.

    Every estimated outcome gets a row (and an event-study section); the summary shows only the
    outcomes whose :attr:`Outcome.headline` is set (the medians restate the geometric means).
    """
    order = {o.name: i for i, o in enumerate(OUTCOMES)}
    rank = {e: i for i, e in enumerate(HEADLINE_ESTIMATORS)}
    too_few = (estimates["estimator"] == "callaway_santanna") & (
        estimates["n_treated_units"].fillna(0) < MIN_TREATED_UNITS_FOR_CS
    )
    if (~too_few).any():
        estimates = estimates[~too_few]
    frame = estimates.assign(
        _o=estimates["outcome"].map(order).fillna(len(order)),
        _e=estimates["estimator"].map(rank).fillna(len(rank)),
    ).sort_values(["_o", "outcome", "_e"])
    return _records(frame.drop_duplicates("outcome").drop(columns=["_o", "_e"]))


def _caveats(rows: list[dict]) -> list[str]:
    """Plain-words caveats about the pre-trend test and the sample behind the headline rows."""
    out: list[str] = []
    metas = [_outcome_meta(r) for r in rows]
    parallel = [(m, r["pre_trend_p_value"]) for m, r in zip(metas, rows) if not _is_missing(r.get("pre_trend_p_value")) and r["pre_trend_p_value"] >= 0.05]
    drifting = [(m, r["pre_trend_p_value"]) for m, r in zip(metas, rows) if not _is_missing(r.get("pre_trend_p_value")) and r["pre_trend_p_value"] < 0.05]
    untested = [m for m, r in zip(metas, rows) if _is_missing(r.get("pre_trend_p_value"))]
    if parallel:
        tests = "; ".join(f"{m.label}: p = {p:.2f}" for m, p in parallel)
        out.append(
            f"Before adopting, adopters moved in line with developers who had not adopted (pre-trend test, {tests}). "
            "A p-value below 0.05 would mean the two groups were already drifting apart before adoption, which "
            "would undermine the comparison; a large p-value means no such drift was detected, not that none exists."
        )
    for m, p in drifting:
        out.append(
            f"Warning: for {m.label}, adopters were already moving differently from non-adopters before they "
            f"adopted (pre-trend test p = {p:.3f}, below 0.05). Part of the estimated change might have happened "
            "anyway; treat this estimate with caution."
        )
    for m in untested:
        out.append(
            f"The pre-trend check for {m.label} could not run (it needs developers who never adopted AI as a "
            "comparison group)."
        )
    placebo = [(m, r) for m, r in zip(metas, rows) if not _is_missing(r.get("placebo_p_value"))]
    if placebo:
        failed = [(m, r) for m, r in placebo if r["placebo_p_value"] < 0.05]
        shift = next((int(r["placebo_shift_weeks"]) for _, r in placebo if not _is_missing(r.get("placebo_shift_weeks"))), None)
        when = f"{shift} weeks before the real one" if shift else "before the real one"
        tests = "; ".join(f"{m.label}: p = {r['placebo_p_value']:.2f}" for m, r in placebo)
        text = (
            f"Placebo test: each adopter's adoption date was moved to a fake date {when}, where AI cannot have had any "
            f"effect yet ({tests}). "
        )
        if failed:
            text += (
                "For " + ", ".join(m.label for m, _ in failed) + " the fake date also shows an effect, so something other "
                "than AI was already changing for adopters: read those estimates with caution."
            )
        else:
            text += "No fake date showed an effect, which is what a fair comparison should give."
        out.append(text)
    for m, r in zip(metas, rows):
        if is_withheld(r):
            out.append(headline_sentence(r) + " A number from so few people would mostly reflect who they are, not what AI did.")
    if rows:
        n_treated, n_units = int(rows[0]["n_treated_units"] or 0), int(rows[0]["n_units"] or 0)
        n_control = rows[0].get("n_control_units")
        n_control = n_units - n_treated if _is_missing(n_control) else int(n_control)
        weeks = "; ".join(
            f"{int(r['n_obs'] or 0):,} developer-weeks for {m.label}"
            + (" (weeks with a merged pull request that has this measure)" if m.kind == "log" else "")
            + (" (weeks in which a change of the developer first reached production)" if m.kind == "rate" else "")
            for m, r in zip(metas, rows)
        )
        size = (
            f"The estimates rest on {n_treated} adopters and {n_control} developers who never adopted: {weeks}."
        )
        if min(int(r["n_treated_units"] or 0) for r in rows) < 30:
            size += " With so few adopters, one team's circumstances can move the result."
        out.append(size)
    return out


def build_report_context(
    warehouse_path: str | Path,
    *,
    title: str = "AI impact report",
    min_team_size: int = 5,
    show_individuals: bool = False,
) -> dict:
    """Everything the template shows, as plain values (strings are escaped by the template)."""
    path = Path(warehouse_path)
    if not path.exists():
        raise ReportDataError(f"warehouse {path} does not exist: build it first (`impact run`)")
    with duckdb.connect(str(path), read_only=True) as con:
        estimates, event_study = _read_estimates(con, path)
        if not _columns(con, PANEL_TABLE):
            raise ReportDataError(f"{PANEL_TABLE} not found in {path}: build the marts first (`impact run`)")
        if not _scalar(con, f"select count(*) from {PANEL_TABLE}"):
            raise ReportDataError(f"{PANEL_TABLE} in {path} is empty: build the marts first (`impact run`)")
        start, end, n_weeks = _period(con)
        population = _population(con, start, end)
        adoption = _adoption_by_week(con)
        snapshot, snapshot_notes = _delivery_snapshot(con, start, end, n_weeks)
        teams, small_teams = _teams(con, min_team_size)
        groups = sections.team_groups(con, min_team_size)
        cost = sections.cost_section(con, groups, start, end)
        spend_detail = sections.spend_section(con, groups, start, end, show_individuals=show_individuals)
        dora = sections.dora_section(con, groups, start, end)
        stages = sections.stages_section(con, groups, start, end)
        freshness = sections.freshness(con)

    findings = []
    headline_rows = pick_headline_rows(estimates)
    for i, row in enumerate(headline_rows):
        meta = _outcome_meta(row)
        conf = confidence_label(row)
        series = []
        window = None
        for estimator, frame in event_study[event_study["outcome"] == row["outcome"]].groupby("estimator", sort=True):
            series.append((EVENT_STUDY_ESTIMATOR_LABELS.get(estimator, str(estimator)), frame))
            weeks = frame["relative_week"].astype(int)
            window = (int(weeks.min()), int(weeks.max()))
        chart = None
        if series and not is_withheld(row):
            ylabel = _chart_ylabel(meta)
            description = (
                f"Event study: estimated change in {meta.label} by week relative to AI adoption, with 95% "
                "confidence intervals; weeks before adoption should be close to zero."
            )
            chart = Markup(
                charts.event_study_svg(series, kind=meta.kind, ylabel=ylabel, chart_id=f"event-study-{i}", description=description, window=window)
            )
        findings.append(
            {
                "outcome": row["outcome"],
                "label": meta.label,
                "title": _upper_first(meta.label),
                "why": _upper_first("; ".join(conf.reasons)) + ".",
                "headline": headline_sentence(row),
                "confidence": conf,
                "estimator": row["estimator"],
                "pre_trend_p_value": row.get("pre_trend_p_value"),
                "chart": chart,
                "is_primary": i == 0,
                "in_summary": meta.headline or i == 0,
            }
        )
    summary_sentences = [f["headline"] for f in findings if f["in_summary"]]
    spend_sentence = _spend_sentence(population, n_weeks, cost)
    caveats = _caveats(headline_rows)
    caveats.append(
        "This is not a randomised experiment. Developers chose when to adopt AI. The comparison removes "
        "stable differences between people and changes that hit everyone in the same week, but not "
        "changes that coincided with adoption for the adopters only (a new project, a team move, a "
        "deadline). Read the result as what changed alongside adoption, not as proof that AI caused it."
    )
    caveats.append(
        "Two-way fixed effects can be biased when adoption is staggered and the effect grows over time; "
        "the event-study chart shows whether the effect is stable. Published studies of AI coding tools "
        "disagree in sign and size, so this organisation's own estimate, with its interval, is the number "
        "to plan with."
    )

    adoption_chart = None
    if len(adoption):
        adoption_chart = Markup(
            charts.adoption_svg(
                adoption["week_start"],
                adoption["adopters"],
                population["developers"],
                chart_id="adoption",
                description="Cumulative number of developers who had adopted AI, by week.",
            )
        )
    all_estimates = []
    for row in _records(estimates.sort_values(["outcome", "estimator"])):
        meta = _outcome_meta(row)
        if is_withheld(row):
            all_estimates.append(
                {"outcome": meta.label, "estimator": row["estimator"], "effect": "withheld", "ci": "—",
                 "p_value": "—", "pre_trend": "—", "placebo": "—", "n_units": int(row["n_units"] or 0),
                 "n_treated_units": int(row["n_treated_units"] or 0), "n_obs": f"{int(row['n_obs'] or 0):,}"}
            )
            continue
        effect, ci = _effect_cells(meta, row)
        all_estimates.append(
            {
                "outcome": meta.label,
                "estimator": row["estimator"],
                "effect": effect,
                "ci": ci,
                "p_value": _fmt_p(row["p_value"]),
                "pre_trend": "—" if _is_missing(row.get("pre_trend_p_value")) else _fmt_p(row["pre_trend_p_value"]),
                "placebo": "—" if _is_missing(row.get("placebo_p_value")) else _fmt_p(row["placebo_p_value"]),
                "n_units": int(row["n_units"]),
                "n_treated_units": int(row["n_treated_units"]),
                "n_obs": f"{int(row['n_obs']):,}",
            }
        )
    computed = estimates["computed_at"].dropna().max() if "computed_at" in estimates else None
    spend = population["ai_spend"]
    return {
        "title": title,
        "generated_at": datetime.now(timezone.utc).strftime("%d %b %Y %H:%M UTC"),
        "computed_at": None if _is_missing(computed) else pd.Timestamp(computed).strftime("%d %b %Y %H:%M UTC"),
        "period": {
            "start": start.strftime("%d %b %Y"),
            "end": end.strftime("%d %b %Y"),
            "weeks": n_weeks,
        },
        "population": population,
        "ai_spend": None if spend is None else f"${spend:,.0f}",
        "ai_spend_per_month": None if spend is None or not n_weeks else f"${spend / n_weeks * 52 / 12:,.0f}",
        "findings": findings,
        "primary": findings[0] if findings else None,
        "caveats": caveats,
        "adoption_chart": adoption_chart,
        "snapshot": snapshot,
        "snapshot_notes": snapshot_notes,
        "snapshot_weeks": max(1, min(SNAPSHOT_WEEKS, n_weeks // 2 or 1)),
        "teams": teams,
        "small_teams": small_teams,
        "min_team_size": min_team_size,
        "all_estimates": all_estimates,
        "spend_sentence": spend_sentence,
        "summary_sentences": summary_sentences,
        "cost": cost,
        "spend": spend_detail,
        "dora": dora,
        "stages": stages,
        "freshness": freshness,
        "show_individuals": show_individuals,
        "other_teams": {"teams": groups.other_teams, "people": groups.other_people, "hidden": groups.hidden,
                        "folded": groups.folded},
        "headline_estimators": sorted({f["estimator"] for f in findings}),
    }


def _spend_sentence(population: dict, n_weeks: int, cost: dict) -> str | None:
    """The spend finding: what was spent, on how many people, and what it buys per merged PR."""
    spend = population.get("ai_spend")
    if spend is None:
        return None
    text = (
        f"AI coding tools cost ${spend:,.0f} over these {n_weeks} weeks (about ${spend / n_weeks * 52 / 12:,.0f} a month) "
        f"for {population['adopters']} adopters among {population['developers']} developers"
    )
    if population.get("merged_prs"):
        text += f": ${spend / population['merged_prs']:,.2f} per merged pull request across the organisation"
    text += "."
    saving = cost.get("saving") if isinstance(cost, dict) else None
    if saving and saving.get("amount") not in (None, "$0"):
        text += (
            f" Sending {saving['share']} of the work done on dearer models to {saving['target']} would have saved "
            f"about {saving['amount']} ({saving['pct']}) at list prices."
        )
    return text


def _upper_first(text: str) -> str:
    text = str(text)
    return text[:1].upper() + text[1:]


def _fmt_p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ENV = "IMPACT_CHROMIUM"


class PdfExportError(RuntimeError):
    """Printing the report to PDF failed; the message says what to install or do instead."""


def find_chromium() -> str | None:
    """The headless-capable Chromium to print with: ``$IMPACT_CHROMIUM`` if set, else the first on PATH."""
    override = os.environ.get(CHROMIUM_ENV)
    if override:
        return shutil.which(override) or (override if Path(override).is_file() else None)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_command(chromium: str, profile_dir: str | Path, *extra: str) -> list[str]:
    """A headless Chromium command line that touches no network and no user profile.

    ``--no-sandbox`` only as root (CI containers), where Chromium refuses to start without it; the
    background services (component updates, sync, QUIC) are off because the report is a local file
    and a print job must not wait on, or talk to, anything outside this machine.
    """
    cmd = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--hide-scrollbars",
        f"--user-data-dir={profile_dir}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--no-sandbox")
    return cmd + list(extra)


def export_pdf(
    html_path: str | Path, pdf_path: str | Path, *, chromium: str | None = None, timeout: float = 120.0
) -> Path:
    """Print the HTML report to ``pdf_path`` with headless Chromium and return its path.

    The report's print stylesheet keeps every chart and table on one page and starts the methods on
    a new page, so the PDF reads like the page. Chromium is found on PATH (or ``$IMPACT_CHROMIUM``);
    without it a :class:`PdfExportError` says to install it or to print from a browser instead. The
    PDF is written to a temporary name and renamed, so a failed print leaves no half file.
    """
    html = Path(html_path).resolve()
    if not html.is_file():
        raise PdfExportError(f"{html} does not exist: render the report first")
    exe = chromium or find_chromium()
    if not exe:
        raise PdfExportError(
            "cannot print the report to PDF: headless Chromium was not found (looked for "
            + ", ".join(CHROMIUM_NAMES)
            + f" on PATH and ${CHROMIUM_ENV}). Install it (Debian/Ubuntu: `apt-get install chromium`, "
            "or run .ci/system-packages.sh), or open the HTML report in a browser and use its Print dialog "
            "to save it as PDF."
        )
    out = Path(pdf_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp.pdf")
    with tempfile.TemporaryDirectory(prefix="impact-chromium-") as profile:
        cmd = chromium_command(
            exe,
            profile,
            "--no-pdf-header-footer",
            "--run-all-compositor-stages-before-draw",
            "--virtual-time-budget=5000",
            f"--print-to-pdf={tmp}",
            html.as_uri(),
        )
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            tmp.unlink(missing_ok=True)
            raise PdfExportError(f"Chromium did not finish printing {html} within {timeout:.0f} s") from exc
    if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0 or not tmp.read_bytes()[:5] == b"%PDF-":
        tmp.unlink(missing_ok=True)
        tail = "\n".join((proc.stderr or "").strip().splitlines()[-5:])
        raise PdfExportError(f"Chromium ({exe}) failed to print {html} to PDF (exit {proc.returncode}): {tail}")
    tmp.replace(out)
    return out


def render_report(
    warehouse_path: str | Path,
    output_path: str | Path,
    *,
    title: str = "AI impact report",
    min_team_size: int = 5,
    show_individuals: bool = False,
    pdf: bool | str | Path = False,
) -> Path:
    """Write the report to ``output_path`` (atomically: temp file, then rename) and return its path.

    ``pdf=True`` also prints it to the same name with ``.pdf`` (``pdf=<path>``: to that path) with
    :func:`export_pdf`; the HTML is written first, so it exists even when printing fails.
    """
    context = build_report_context(
        warehouse_path, title=title, min_team_size=min_team_size, show_individuals=show_individuals
    )
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    html = env.get_template("report.html").render(**context)
    out = Path(output_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    if pdf is not False and pdf is not None:
        export_pdf(out, out.with_suffix(".pdf") if pdf is True else Path(pdf))
    return out
