"""The operational sections of the impact report: cost, spend, DORA by team, PR stages, freshness.

Each ``*_section`` function reads the marts it needs from an open DuckDB connection and returns plain
values for the template (strings, numbers, inline SVG as :class:`markupsafe.Markup`), or a dict with
``missing`` saying, in words, which source to configure when a table is absent: an older warehouse or a
source nobody connected is a normal state, not an error.

Privacy is decided once, by :func:`team_groups`: a team with fewer than ``min_team_size`` people is
never shown on its own, in any table, chart or alert; people are named only with ``show_individuals``.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
from markupsafe import Markup

from analysis import charts

OTHER_TEAMS = "Other teams"
NO_TEAM = "No team"
PRICING_CSV = Path(__file__).resolve().parents[1] / "connectors" / "data" / "model_pricing.csv"
#: the assumption behind "what a cheaper model would have saved": this share of the tokens sent to
#: a model dearer than CHEAPER_MODEL was routine work (renames, test scaffolding, lookups, summaries)
#: that CHEAPER_MODEL would have done as well. It is not measured; the report says so.
ROUTINE_SHARE = 0.25
CHEAPER_MODEL = "claude-haiku-4-5"
TOP_SESSIONS = 10
SOURCE_LABELS = {
    "anthropic_api": "Anthropic Admin API (Claude Code analytics)",
    "otel": "OpenTelemetry export",
    "transcripts": "Claude Code session transcripts",
}
MISSING_AI = (
    "not available: the warehouse has no {table}. Connect an AI usage source: the Anthropic Admin API "
    "(`anthropic:` with an admin key) or Claude Code session transcripts (`claude_code.transcripts`), "
    "then run `impact run`."
)


# --------------------------------------------------------------------------- helpers


def columns(con: duckdb.DuckDBPyConnection, qualified: str) -> set[str]:
    schema, table = qualified.split(".")
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def money(value: Any, digits: int = 0) -> str:
    return "—" if _missing(value) else f"${float(value):,.{digits}f}"


def num(value: Any, digits: int = 1) -> str:
    return "—" if _missing(value) else f"{float(value):,.{digits}f}"


def pct(value: Any, digits: int = 0) -> str:
    """A 0..1 fraction as a percentage."""
    return "—" if _missing(value) else f"{100.0 * float(value):.{digits}f}%"


def _svg(svg: str) -> Markup:
    return Markup(svg)  # noqa: S704 - built by analysis.charts; its text is escaped by matplotlib


# --------------------------------------------------------------------------- privacy


@dataclass
class TeamGroups:
    """How each team may be shown: under its own name, inside "Other teams", or not at all.

    ``label[team_id]`` is the name to show; teams absent from it are not shown (the combined group
    would itself be too small to hide who is in it).
    """

    min_team_size: int
    label: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    other_teams: int = 0
    other_people: int = 0
    folded: int = 0
    hidden: bool = False

    def of(self, team_id: Any) -> str | None:
        return self.label.get(NO_TEAM if _missing(team_id) else str(team_id))

    def apply(self, frame: pd.DataFrame, column: str = "team_id") -> pd.DataFrame:
        """``frame`` with a ``group`` column, rows of teams that may not be shown dropped."""
        out = frame.assign(group=[self.of(t) for t in frame[column]])
        return out[out["group"].notna()]

    def order(self, labels) -> list[str]:
        """Named teams alphabetically, then "Other teams"."""
        names = sorted({str(x) for x in labels if x != OTHER_TEAMS})
        return names + ([OTHER_TEAMS] if OTHER_TEAMS in set(labels) else [])


def team_groups(con: duckdb.DuckDBPyConnection, min_team_size: int) -> TeamGroups:
    """Team sizes from ``dim_developer`` (else the panel) and the display rule of the report.

    A team smaller than ``min_team_size`` goes into "Other teams". That group must itself hold at
    least two teams and ``min_team_size`` people: one small team alone under another name, or small
    teams adding up to fewer people, could be worked out by subtracting the shown teams from the
    totals, so the smallest shown team is folded in too; if still too small, the group is not shown.
    """
    groups = TeamGroups(min_team_size=min_team_size)
    source = None
    if {"developer_id", "team_id"} <= columns(con, "marts.dim_developer"):
        source = "marts.dim_developer"
    elif {"developer_id", "team_id"} <= columns(con, "marts.mart_ai_impact_panel"):
        source = "marts.mart_ai_impact_panel"
    if source is None:
        return groups
    names: dict[str, str] = {}
    if {"team_id", "team_name"} <= columns(con, "marts.dim_team"):
        names = {str(t): str(n) for t, n in con.execute("select team_id, team_name from marts.dim_team").fetchall() if t is not None and n is not None}
    sizes = {
        (NO_TEAM if t is None else str(t)): int(n)
        for t, n in con.execute(f"select team_id, count(distinct developer_id) from {source} group by 1").fetchall()
    }
    # teams with repositories or budgets but nobody in the mapping are "small" (0 people)
    for t in names:
        sizes.setdefault(t, 0)
    groups.sizes = sizes
    shown = {t for t, n in sizes.items() if n >= min_team_size}
    small = {t for t in sizes if t not in shown}
    if small and (len(small) < 2 or sum(sizes[t] for t in small) < min_team_size) and shown:
        smallest = min(shown, key=lambda t: (sizes[t], names.get(t, t)))
        shown.discard(smallest)
        small.add(smallest)
        groups.folded = 1
    for t in shown:
        groups.label[t] = names.get(t, NO_TEAM if t == NO_TEAM else t)
    people = sum(sizes[t] for t in small)
    groups.other_teams, groups.other_people = len(small), people
    if small and (len(small) >= 2 and people >= min_team_size):
        for t in small:
            groups.label[t] = OTHER_TEAMS
    elif small:
        groups.hidden = True
    return groups


def team_of_developer(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    if {"developer_id", "team_id"} <= columns(con, "marts.dim_developer"):
        return dict(con.execute("select developer_id, team_id from marts.dim_developer").fetchall())
    return {}


def developer_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    cols = columns(con, "marts.dim_developer")
    if "display_name" not in cols:
        return {}
    return {str(d): str(n) for d, n in con.execute("select developer_id, display_name from marts.dim_developer").fetchall() if n}


# --------------------------------------------------------------------------- AI usage, one source per developer-day


def chosen_usage_sql(cols: set[str]) -> str:
    """``fct_ai_usage_daily`` rows of one source per developer-day: Admin API, else OTel, else transcripts."""
    if "source" not in cols:
        return "select * from marts.fct_ai_usage_daily"
    return """
        with ranked as (
            select *,
                case
                    when lower(source) like '%admin%' or lower(source) like '%analytics%'
                        or lower(source) like '%anthropic%' then 1
                    when lower(source) like '%otel%' or lower(source) like '%telemetry%' then 2
                    when lower(source) like '%transcript%' or lower(source) like '%jsonl%' then 3
                    else 4
                end as _priority
            from marts.fct_ai_usage_daily
        )
        select * exclude (_priority) from ranked
        qualify _priority = min(_priority) over (partition by developer_id, date_day)
    """


# --------------------------------------------------------------------------- pricing and the cheaper-model saving


def load_prices(path: Path = PRICING_CSV) -> list[dict]:
    """Pricing rows (USD per million tokens), longest model prefix first, newest first."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = [
            {
                "prefix": r["model_prefix"],
                "from": r["effective_from"],
                "input": float(r["input"]),
                "output": float(r["output"]),
                "cache_write": float(r["cache_write_5m"]),
                "cache_read": float(r["cache_read"]),
            }
            for r in csv.DictReader(handle)
        ]
    return sorted(rows, key=lambda r: (-len(r["prefix"]), r["from"]), reverse=False)


def price_of(model: str, prices: list[dict]) -> dict | None:
    """The price row whose prefix is the longest one ``model`` starts with (newest if several)."""
    matches = [r for r in prices if str(model).startswith(r["prefix"])]
    if not matches:
        return None
    longest = max(len(r["prefix"]) for r in matches)
    return max((r for r in matches if len(r["prefix"]) == longest), key=lambda r: r["from"])


def list_cost(tokens: dict, price: dict) -> float:
    return (
        tokens["input_tokens"] * price["input"]
        + tokens["output_tokens"] * price["output"]
        + tokens["cache_creation_tokens"] * price["cache_write"]
        + tokens["cache_read_tokens"] * price["cache_read"]
    ) / 1e6


def cheaper_model_saving(by_model: pd.DataFrame, *, share: float = ROUTINE_SHARE, target: str = CHEAPER_MODEL) -> dict | None:
    """What moving ``share`` of the work of dearer models to ``target`` would have saved, at list prices.

    ``by_model`` has one row per model with the four token counts. Both sides are priced from the
    pricing seed (list prices), so the comparison is like for like even where the source reported
    discounted costs; models missing from the seed are left out and named.
    """
    prices = load_prices()
    cheap = price_of(target, prices)
    if cheap is None or by_model.empty:
        return None
    current = moved = 0.0
    unpriced: list[str] = []
    for row in by_model.to_dict("records"):
        tokens = {k: float(row.get(k) or 0.0) for k in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens")}
        price = price_of(str(row["model"]), prices)
        if price is None:
            unpriced.append(str(row["model"]))
            continue
        cost = list_cost(tokens, price)
        current += cost
        if price["output"] > cheap["output"]:
            moved += share * (cost - list_cost(tokens, cheap))
    return {
        "saving": moved,
        "current": current,
        "saving_pct": 100.0 * moved / current if current else 0.0,
        "share": share,
        "target": target,
        "unpriced": sorted(set(unpriced)),
    }


# --------------------------------------------------------------------------- cost and efficiency


def _weekly_series(frame: pd.DataFrame, key: str, value: str, order: list[str]) -> list[tuple[str, list, list]]:
    out = []
    weeks = sorted(frame["week_start"].unique())
    for name in order:
        sub = frame[frame[key] == name].set_index("week_start")[value]
        out.append((name, weeks, [sub.get(w, 0.0) for w in weeks]))
    return out


def cost_section(con: duckdb.DuckDBPyConnection, groups: TeamGroups, start: date, end: date) -> dict:
    """Spend by team and by model over time, efficiency by team, and the cheaper-model saving."""
    cols = columns(con, "marts.fct_ai_usage_daily")
    if not {"developer_id", "date_day", "cost_usd"} <= cols:
        return {"missing": "AI spend is " + MISSING_AI.format(table="marts.fct_ai_usage_daily")}
    end_excl = end + timedelta(days=1)
    usage = con.execute(
        f"select * from ({chosen_usage_sql(cols)}) where date_day >= ? and date_day < ?", [start, end_excl]
    ).df()
    if usage.empty:
        return {"missing": "AI spend is not available: marts.fct_ai_usage_daily has no rows in the period. "
                "Check that the AI usage source is configured and that `impact run` extracted it."}
    usage["week_start"] = pd.to_datetime(usage["date_day"]).dt.to_period("W-SUN").dt.start_time.dt.date
    teams = team_of_developer(con)
    usage["team_id"] = [teams.get(d) for d in usage["developer_id"]]
    shown = groups.apply(usage)
    order = groups.order(shown["group"].unique())
    by_team_week = shown.groupby(["group", "week_start"], as_index=False)["cost_usd"].sum()
    team_chart = _svg(charts.weekly_lines_svg(
        _weekly_series(by_team_week, "group", "cost_usd", order),
        ylabel="AI spend per week (USD)", unit="usd", chart_id="spend-by-team",
        description="AI spend per week by team, in US dollars.",
    ))
    models = usage.groupby("model", as_index=False)["cost_usd"].sum().sort_values("cost_usd", ascending=False)
    top_models = list(models["model"].astype(str).head(5))
    usage["model_group"] = [m if m in top_models else "other models" for m in usage["model"].astype(str)]
    by_model_week = usage.groupby(["model_group", "week_start"], as_index=False)["cost_usd"].sum()
    model_order = top_models + (["other models"] if len(models) > 5 else [])
    model_chart = _svg(charts.weekly_lines_svg(
        _weekly_series(by_model_week, "model_group", "cost_usd", model_order),
        ylabel="AI spend per week (USD)", unit="usd", chart_id="spend-by-model",
        description="AI spend per week by model, in US dollars.",
    ))
    token_cols = ["input_tokens", "output_tokens", "cache_read_tokens", "cache_creation_tokens"]
    has_tokens = set(token_cols) <= cols
    model_rows = []
    total = float(usage["cost_usd"].sum())
    for m in models.itertuples():
        model_rows.append({"model": m.model, "cost": money(m.cost_usd), "share": f"{100.0 * m.cost_usd / total:.0f}%" if total else "—"})

    # efficiency by team: the mart when it is there (additive columns summed, ratios recomputed)
    eff_cols = columns(con, "marts.mart_ai_cost_efficiency")
    team_rows: list[dict] = []
    source_note = None
    if {"team_id", "week_start", "cost_usd"} <= eff_cols:
        eff = con.execute(
            "select * from marts.mart_ai_cost_efficiency where week_start >= ? and week_start < ?", [start, end_excl]
        ).df()
        eff = groups.apply(eff)
        additive = [c for c in ("cost_usd", "merged_prs", "commits", *token_cols, "edits_accepted", "edits_rejected") if c in eff]
        agg = eff.groupby("group")[additive].sum(min_count=1)
        totals = eff[additive].sum(min_count=1)
        for name in groups.order(agg.index):
            team_rows.append(_efficiency_row(name, agg.loc[name], eff[eff["group"] == name]))
        if len(agg) > 1 or groups.hidden:
            team_rows.append(_efficiency_row("All teams shown", totals, eff) | {"is_total": True})
        source_note = "Efficiency figures come from marts.mart_ai_cost_efficiency (team x week)."
    else:
        source_note = ("marts.mart_ai_cost_efficiency is not in this warehouse (an older build): efficiency by team is "
                       "not shown; run `impact run` to build it.")
    saving = None
    if has_tokens:
        by_model_tokens = usage.groupby("model", as_index=False)[token_cols].sum()
        saving = cheaper_model_saving(by_model_tokens)
    sources = []
    if "source" in usage:
        for src, cost in usage.groupby("source")["cost_usd"].sum().sort_values(ascending=False).items():
            sources.append(f"{SOURCE_LABELS.get(str(src), str(src))}: {money(cost)}")
    return {
        "missing": None,
        "total": money(total),
        "team_chart": team_chart,
        "model_chart": model_chart,
        "models": model_rows,
        "teams": team_rows,
        "source_note": source_note,
        "sources": sources,
        "hidden_teams": groups.hidden,
        "saving": None if saving is None else {
            "amount": money(saving["saving"]),
            "pct": f"{saving['saving_pct']:.0f}%",
            "share": f"{100.0 * saving['share']:.0f}%",
            "target": saving["target"],
            "current": money(saving["current"]),
            "unpriced": ", ".join(saving["unpriced"]),
        },
    }


def _ratio(a: Any, b: Any) -> float | None:
    if _missing(a) or _missing(b) or not float(b):
        return None
    return float(a) / float(b)


def _efficiency_row(name: str, sums: pd.Series, weekly: pd.DataFrame) -> dict:
    def get(col: str) -> Any:
        return sums.get(col) if col in sums.index else None

    inputs = None
    if all(c in sums.index for c in ("input_tokens", "cache_read_tokens", "cache_creation_tokens")):
        inputs = float(get("input_tokens") or 0) + float(get("cache_read_tokens") or 0) + float(get("cache_creation_tokens") or 0)

    def weighted(col: str) -> float | None:
        """Fallback when the additive columns are absent: the weekly ratio weighted by spend."""
        if col not in weekly or weekly[col].dropna().empty:
            return None
        w = weekly[["cost_usd", col]].dropna()
        return float((w[col] * w["cost_usd"]).sum() / w["cost_usd"].sum()) if w["cost_usd"].sum() else float(w[col].mean())

    per_pr = _ratio(get("cost_usd"), get("merged_prs")) if "merged_prs" in sums.index else weighted("cost_per_merged_pr")
    per_commit = _ratio(get("cost_usd"), get("commits")) if "commits" in sums.index else weighted("cost_per_commit")
    ratio = _ratio(inputs, get("output_tokens")) if inputs is not None else weighted("input_output_ratio")
    hit = _ratio(get("cache_read_tokens"), inputs) if inputs is not None else weighted("cache_hit_rate")
    if "edits_accepted" in sums.index and "edits_rejected" in sums.index:
        decided = float(get("edits_accepted") or 0) + float(get("edits_rejected") or 0)
        accept = _ratio(get("edits_accepted"), decided)
    else:
        accept = weighted("acceptance_rate")
    return {
        "team": name,
        "cost": money(get("cost_usd")),
        "per_pr": money(per_pr, 2),
        "per_commit": money(per_commit, 2),
        "ratio": num(ratio, 0),
        "cache": pct(hit),
        "accept": pct(accept),
        "is_total": False,
    }


# --------------------------------------------------------------------------- spend in detail


def spend_section(
    con: duckdb.DuckDBPyConnection, groups: TeamGroups, start: date, end: date, *, show_individuals: bool
) -> dict:
    """Cost per merged PR, the costliest sessions, active vs idle time, budgets and alerts."""
    end_excl = end + timedelta(days=1)
    out: dict[str, Any] = {"show_individuals": show_individuals}
    names = developer_names(con) if show_individuals else {}
    teams = team_of_developer(con)

    # cost per merged PR: the PRs AI cost was attributed to, and the rest
    pr_cols = columns(con, "marts.fct_pull_requests")
    if {"ai_cost_usd", "merged_at"} <= pr_cols:
        costs = con.execute(
            "select coalesce(ai_cost_usd, 0) from marts.fct_pull_requests where merged_at >= ? and merged_at < ?"
            + (" and not coalesce(is_bot, false)" if "is_bot" in pr_cols else ""),
            [start, end_excl],
        ).df().iloc[:, 0]
        attributed = costs[costs > 0]
        n_all = len(costs)
        q = attributed.quantile([0.25, 0.5, 0.75, 0.9]) if len(attributed) else None
        out["pr_cost"] = {
            "missing": None,
            "unattributed": None,
            "merged": f"{n_all:,}",
            "attributed": f"{len(attributed):,}",
            "attributed_share": f"{100.0 * len(attributed) / n_all:.0f}%" if n_all else "—",
            "rest": f"{n_all - len(attributed):,}",
            "p25": money(q[0.25], 2) if q is not None else "—",
            "median": money(q[0.5], 2) if q is not None else "—",
            "p75": money(q[0.75], 2) if q is not None else "—",
            "p90": money(q[0.9], 2) if q is not None else "—",
            "total": money(attributed.sum()),
            "chart": _svg(charts.histogram_svg(
                attributed.tolist(), xlabel="AI cost attributed to the pull request (USD, log scale)",
                ylabel="Merged pull requests", chart_id="pr-cost",
                description="Distribution of the AI cost attributed to each merged pull request.",
                markers=[("median", float(q[0.5])), ("90th percentile", float(q[0.9]))] if q is not None else [],
            )) if len(attributed) else None,
        }
        session_cost = None
        if "cost_usd" in columns(con, "marts.fct_ai_sessions"):
            session_cost = con.execute(
                "select sum(cost_usd) from marts.fct_ai_sessions where started_at >= ? and started_at < ?", [start, end_excl]
            ).fetchone()[0] if "started_at" in columns(con, "marts.fct_ai_sessions") else None
        if session_cost:
            unattributed = max(float(session_cost) - float(attributed.sum()), 0.0)
            out["pr_cost"]["unattributed"] = f"{100.0 * unattributed / float(session_cost):.0f}%"
    else:
        out["pr_cost"] = {"missing": "AI cost per pull request is not available: it needs Claude Code session "
                          "transcripts (`claude_code.transcripts`) and GitHub pull requests in the warehouse."}

    # sessions: the costliest, and active vs idle time
    s_cols = columns(con, "marts.fct_ai_sessions")
    if {"session_id", "cost_usd", "started_at"} <= s_cols:
        sessions = con.execute(
            "select * from marts.fct_ai_sessions where started_at >= ? and started_at < ? and cost_usd is not null",
            [start, end_excl],
        ).df()
        top = []
        for row in sessions.sort_values(["cost_usd", "session_id"], ascending=[False, True]).head(TOP_SESSIONS).to_dict("records"):
            dev = row.get("developer_id")
            team = groups.of(teams.get(dev)) if not _missing(dev) else None
            active, span = row.get("active_hours"), row.get("span_hours")
            top.append({
                "day": pd.Timestamp(row["started_at"]).strftime("%d %b %Y"),
                "team": team or "—",
                "person": names.get(str(dev), "—") if show_individuals and not _missing(dev) else None,
                "active": num(active),
                "span": num(span),
                "idle": pct(1.0 - float(active) / float(span)) if not _missing(active) and not _missing(span) and float(span) > 0 else "—",
                "cost": money(row["cost_usd"], 2),
            })
        active = float(sessions["active_hours"].sum()) if "active_hours" in sessions else None
        span = float(sessions["span_hours"].sum()) if "span_hours" in sessions else None
        out["sessions"] = {
            "missing": None,
            "count": f"{len(sessions):,}",
            "top": top,
            "active": num(active, 0),
            "idle": num(span - active, 0) if active is not None and span is not None else "—",
            "idle_share": pct((span - active) / span) if active is not None and span else "—",
        }
    else:
        out["sessions"] = {"missing": "Session figures are not available: they come from Claude Code session "
                           "transcripts; configure `claude_code.transcripts` and run `impact run`."}

    out["budgets"] = _budgets(con, groups, names, show_individuals)
    out["alerts"] = _alerts(con, groups, names, teams, start, end, show_individuals)
    return out


def _budgets(con, groups: TeamGroups, names: dict[str, str], show_individuals: bool) -> dict:
    cols = columns(con, "marts.mart_ai_budget")
    if not {"month_start", "budget_usd", "spend_to_date_usd", "projected_month_usd"} <= cols:
        return {"missing": "Budgets are not available: set monthly budgets under `budgets:` (teams, roles or people) "
                "in impact.yaml and run `impact run` to build marts.mart_ai_budget."}
    frame = con.execute("select * from marts.mart_ai_budget where budget_usd is not null").df()
    if frame.empty:
        return {"missing": "No budget is configured: set monthly budgets under `budgets:` in impact.yaml."}
    month = frame["month_start"].max()
    frame = frame[frame["month_start"] == month]
    kind = frame["scope_kind"] if "scope_kind" in frame else pd.Series(["team"] * len(frame), index=frame.index)
    rows = []
    team_rows = frame[kind == "team"]
    if len(team_rows):
        shown = groups.apply(team_rows)
        agg = shown.groupby("group")[["budget_usd", "spend_to_date_usd", "projected_month_usd"]].sum()
        for name in groups.order(agg.index):
            r = agg.loc[name]
            rows.append({"scope": name, "budget": money(r.budget_usd), "spend": money(r.spend_to_date_usd),
                         "projected": money(r.projected_month_usd), "over": bool(r.projected_month_usd > r.budget_usd)})
    for r in frame[kind == "role"].to_dict("records"):
        rows.append({"scope": f"Role: {r.get('scope')}", "budget": money(r["budget_usd"]), "spend": money(r["spend_to_date_usd"]),
                     "projected": money(r["projected_month_usd"]), "over": bool(r["projected_month_usd"] > r["budget_usd"])})
    people = frame[kind == "person"]
    people_note = None
    if len(people):
        if show_individuals:
            for r in people.to_dict("records"):
                who = names.get(str(r.get("developer_id")), str(r.get("scope")))
                rows.append({"scope": who, "budget": money(r["budget_usd"]), "spend": money(r["spend_to_date_usd"]),
                             "projected": money(r["projected_month_usd"]), "over": bool(r["projected_month_usd"] > r["budget_usd"])})
        else:
            over = int((people["projected_month_usd"] > people["budget_usd"]).sum())
            people_note = (f"{len(people)} personal budget(s), {over} projected over; people are not named "
                           "(set report.show_individuals: true to list them).")
    as_of = frame["as_of_date"].max() if "as_of_date" in frame else None
    return {
        "missing": None,
        "month": pd.Timestamp(month).strftime("%B %Y"),
        "as_of": None if _missing(as_of) else pd.Timestamp(as_of).strftime("%d %b %Y"),
        "rows": rows,
        "people_note": people_note,
    }


ALERT_KINDS = {
    "developer_day": "a developer's daily spend above the threshold",
    "session": "a single session above the threshold (often an agent left running)",
    "budget": "a month projected above its budget",
}


def _alerts(con, groups: TeamGroups, names, teams, start: date, end: date, show_individuals: bool) -> dict:
    cols = columns(con, "marts.mart_ai_spend_alerts")
    if not {"kind", "cost_usd", "threshold_usd"} <= cols:
        return {"missing": "Spend alerts are not available: run `impact run` to build marts.mart_ai_spend_alerts "
                "(thresholds under `alerts:` in impact.yaml)."}
    frame = con.execute("select * from marts.mart_ai_spend_alerts").df()
    if "period_start" in frame:
        when = pd.to_datetime(frame["period_start"])
        frame = frame[(when >= pd.Timestamp(start)) & (when < pd.Timestamp(end + timedelta(days=1)))]
    if "team_id" not in frame:
        frame = frame.assign(team_id=[teams.get(d) for d in frame.get("developer_id", [None] * len(frame))])
    frame = frame.assign(group=pd.Series([groups.of(t) for t in frame["team_id"]], index=frame.index, dtype=object))
    counts = []
    for kind, sub in frame.groupby("kind", sort=True):
        by_team = sub[sub["group"].notna()].groupby("group").size()
        parts = ", ".join(f"{name} {int(by_team[name])}" for name in groups.order(by_team.index))
        counts.append({"kind": ALERT_KINDS.get(str(kind), str(kind)), "count": len(sub), "by_team": parts or "not tied to a team"})
    listed = []
    for r in frame.sort_values("cost_usd", ascending=False).head(TOP_SESSIONS).to_dict("records"):
        kind = str(r["kind"])
        group = None if _missing(r["group"]) else str(r["group"])
        scope_kind = None if _missing(r.get("scope_kind")) else str(r.get("scope_kind"))
        personal = kind != "budget" or scope_kind == "person"
        if kind == "budget" and scope_kind == "role":
            who = f"Role: {r.get('scope')}"
        elif personal and show_individuals:
            who = names.get(str(r.get("developer_id")), "—")
        elif personal:
            # a person's alert is that person's spend: shown as their team, and not at all if the
            # team may not be shown
            if group is None:
                if kind == "budget":
                    who = "a personal budget (person not named)"
                else:
                    continue
            else:
                who = group
        else:
            if group is None:
                continue
            who = group
        listed.append({"kind": kind.replace("_", " "), "period": str(r.get("period") or ""), "who": who,
                       "cost": money(r["cost_usd"], 2), "threshold": money(r["threshold_usd"], 2)})
    return {"missing": None, "total": len(frame), "counts": counts, "listed": listed}


# --------------------------------------------------------------------------- DORA by team

BANDS_FALLBACK = {
    "deployments_per_week": [("elite", 7, None), ("high", 1, 7), ("medium", 0.25, 1), ("low", 0, 0.25)],
    "lead_time_hours": [("elite", 0, 24), ("high", 24, 168), ("medium", 168, 720), ("low", 720, None)],
    "change_failure_rate": [("elite", 0, 0.05), ("high", 0.05, 0.10), ("medium", 0.10, 0.15), ("low", 0.15, None)],
    "time_to_restore_hours": [("elite", 0, 1), ("high", 1, 24), ("medium", 24, 168), ("low", 168, None)],
}


def _bands(con) -> dict[str, list[tuple[str, float, float | None]]]:
    if {"metric", "band", "lower_bound", "upper_bound"} <= columns(con, "marts.dora_performance_bands"):
        out: dict[str, list] = {}
        for metric, band, lo, hi in con.execute(
            "select metric, band, lower_bound, upper_bound from marts.dora_performance_bands order by metric, band_rank"
        ).fetchall():
            out.setdefault(metric, []).append((band, lo, hi))
        return out
    return BANDS_FALLBACK


def band_of(value: Any, metric: str, bands: dict) -> str | None:
    if _missing(value):
        return None
    for band, lo, hi in bands.get(metric, []):
        if (lo is None or value >= lo) and (hi is None or value < hi):
            return band
    return None


DORA_KEYS = (
    # key, label, unit, band metric, higher is better
    ("deploys", "Deployments per week", "per week", "deployments_per_week", True),
    ("lead", "Lead time for changes (median)", "hours", "lead_time_hours", False),
    ("cfr", "Change failure rate", "% of deployments", "change_failure_rate", False),
    ("mttr", "Time to restore (median)", "hours", "time_to_restore_hours", False),
)


def dora_section(con: duckdb.DuckDBPyConnection, groups: TeamGroups, start: date, end: date) -> dict:
    """DORA's four keys per team for the period, with band and trend (first half against second half)."""
    cols = columns(con, "marts.mart_dora_weekly")
    if not {"team_id", "week_start", "deployments"} <= cols:
        return {"missing": "DORA metrics are not available: the warehouse has no marts.mart_dora_weekly. Configure GitHub "
                "(`github:` with production_environments) so deployments are extracted, and run `impact run`."}
    frame = con.execute(
        "select * from marts.mart_dora_weekly where week_start >= ? and week_start <= ?", [start, end]
    ).df()
    frame = groups.apply(frame)
    if frame.empty:
        return {"missing": "No team's delivery can be shown: no team reaches the minimum size, or no deployment data."}
    has_cfr = "cfr_numerator" in frame and frame["cfr_numerator"].notna().any()
    has_mttr = "mttr_p50_hours" in frame and frame["mttr_p50_hours"].notna().any()
    weight = "changes_deployed" if "changes_deployed" in frame else ("merged_prs" if "merged_prs" in frame else None)

    def weekly(sub: pd.DataFrame) -> pd.DataFrame:
        def wavg(values: pd.Series, weights: pd.Series | None) -> float:
            ok = values.notna()
            if not ok.any():
                return float("nan")
            if weights is None or not weights[ok].fillna(0).sum():
                return float(values[ok].mean())
            return float((values[ok] * weights[ok].fillna(0)).sum() / weights[ok].fillna(0).sum())

        rows = []
        for week, w in sub.groupby("week_start"):
            num_, den = (w["cfr_numerator"].sum(min_count=1), w["cfr_denominator"].sum(min_count=1)) if has_cfr else (None, None)
            rows.append({
                "week_start": week,
                "deploys": float(w["deployments"].sum()),
                "lead": wavg(w["lead_time_p50_hours"], w[weight] if weight else None) if "lead_time_p50_hours" in w else float("nan"),
                "cfr_num": num_, "cfr_den": den,
                "mttr": wavg(w["mttr_p50_hours"], None) if has_mttr else float("nan"),
            })
        out = pd.DataFrame(rows).sort_values("week_start")
        out["cfr"] = (out["cfr_num"] / out["cfr_den"].where(out["cfr_den"] > 0)) if has_cfr else float("nan")
        return out

    bands = _bands(con)
    labels = groups.order(frame["group"].unique())
    table, per_group = [], {}
    for name in labels:
        w = weekly(frame[frame["group"] == name])
        per_group[name] = w
        half = len(w) // 2
        first, second = w.iloc[:half], w.iloc[half:]

        def summary(part: pd.DataFrame) -> dict:
            den = part["cfr_den"].sum() if has_cfr else 0
            return {
                "deploys": part["deploys"].mean() if len(part) else float("nan"),
                "lead": part["lead"].median(),
                "cfr": part["cfr_num"].sum() / den if has_cfr and den else float("nan"),
                "mttr": part["mttr"].median(),
            }

        whole, a, b = summary(w), summary(first), summary(second)
        cells = []
        for key, label, unit, metric, higher_better in DORA_KEYS:
            value = whole[key]
            if key == "cfr" and has_cfr:
                text = f"{100.0 * value:.1f}% ({int(w['cfr_num'].sum())} of {int(w['cfr_den'].sum())})" if not _missing(value) else "—"
            elif key in ("cfr", "mttr") and not (has_cfr if key == "cfr" else has_mttr):
                text = "not measured"
            else:
                text = num(value, 1)
            cells.append({"text": text, "band": band_of(value, metric, bands), "trend": _trend(a[key], b[key], higher_better)})
        table.append({"team": name, "cells": cells})

    charts_out = []
    specs = [("deploys", "Deployments per week", "", "deploys"), ("lead", "Lead time, median (hours)", "", "lead")]
    if has_cfr:
        specs.append(("cfr", "Change failure rate (%)", "percent", "cfr"))
    if has_mttr:
        specs.append(("mttr", "Time to restore, median (hours)", "", "mttr"))
    for key, ylabel, unit, col in specs:
        series = []
        for name in labels:
            w = per_group[name].set_index("week_start")
            values = w[col] * (100.0 if unit == "percent" else 1.0)
            rolled = values.rolling(4, min_periods=1).mean()
            series.append((name, list(w.index), list(rolled)))
        charts_out.append({
            "title": ylabel,
            "svg": _svg(charts.weekly_lines_svg(
                series, ylabel=ylabel + "\n4-week rolling mean", unit=unit, chart_id=f"dora-{key}", height=2.8,
                description=f"{ylabel} by team, 4-week rolling mean.",
            )),
        })
    notes = []
    if not has_cfr:
        notes.append("Change failure rate and time to restore are not measured: they need an incident source "
                     "(PagerDuty under `pagerduty:`, or GitHub issues / Jira issues marked as incidents under "
                     "`incidents:`). A rate of zero would wrongly suggest that no change ever failed.")
    return {"missing": None, "key_labels": [k[1] for k in DORA_KEYS], "units": [k[2] for k in DORA_KEYS],
            "rows": table, "charts": charts_out, "notes": notes}


def _trend(before: Any, after: Any, higher_better: bool) -> dict:
    if _missing(before) or _missing(after) or before == 0 and after == 0:
        return {"arrow": "", "word": "", "level": "none"}
    change = (after - before) / abs(before) if before else 1.0
    if abs(change) < 0.10:
        return {"arrow": "→", "word": "steady", "level": "none"}
    better = (change > 0) == higher_better
    return {"arrow": "↑" if change > 0 else "↓", "word": "better" if better else "worse", "level": "high" if better else "low"}


# --------------------------------------------------------------------------- PR stages

STAGES = (("coding_hours", "Coding"), ("pickup_hours", "Waiting for review"), ("review_hours", "In review"), ("deploy_hours", "Waiting to deploy"))


def stages_section(con: duckdb.DuckDBPyConnection, groups: TeamGroups, start: date, end: date) -> dict:
    """Median hours in each stage of a merged PR, for all PRs, AI-assisted and other PRs, and by team."""
    cols = columns(con, "marts.fct_pull_requests")
    present = [(c, label) for c, label in STAGES if c in cols]
    if "merged_at" not in cols or not present:
        return {"missing": "PR stages are not available: configure GitHub (`github:`) and run `impact run`."}
    select = ", ".join(c for c, _ in present)
    ai = "is_ai_assisted" if "is_ai_assisted" in cols else "null"
    prs = con.execute(
        f"select author_developer_id, {ai} as is_ai_assisted, {select} from marts.fct_pull_requests "
        "where merged_at >= ? and merged_at < ?" + (" and not coalesce(is_bot, false)" if "is_bot" in cols else ""),
        [start, end + timedelta(days=1)],
    ).df()
    if prs.empty:
        return {"missing": "No pull request was merged in the period."}
    teams = team_of_developer(con)
    prs["team_id"] = [teams.get(d) for d in prs["author_developer_id"]]

    def medians(sub: pd.DataFrame) -> list[float]:
        return [float(sub[c].median()) if sub[c].notna().any() else float("nan") for c, _ in present]

    rows = [("All merged PRs", medians(prs), len(prs))]
    if prs["is_ai_assisted"].notna().any():
        assisted = prs["is_ai_assisted"].fillna(False).astype(bool)
        rows.append(("AI-assisted PRs", medians(prs[assisted]), int(assisted.sum())))
        rows.append(("Other PRs", medians(prs[~assisted]), int((~assisted).sum())))
    shown = groups.apply(prs)
    for name in groups.order(shown["group"].unique()):
        sub = shown[shown["group"] == name]
        rows.append((name, medians(sub), len(sub)))
    chart = _svg(charts.stage_bars_svg(
        [(label, values) for label, values, _ in rows], [label for _, label in present],
        xlabel="Median hours in each stage (stacked)", chart_id="pr-stages",
        description="Median hours a merged pull request spends in each stage, overall, by AI assistance and by team.",
    ))
    table = [
        {"label": label, "n": f"{n:,}", "cells": [num(v, 1) for v in values]}
        for label, values, n in rows
    ]
    return {"missing": None, "stages": [label for _, label in present], "rows": table, "chart": chart}


# --------------------------------------------------------------------------- freshness

FRESHNESS = (
    ("GitHub pull requests", "marts.fct_pull_requests", ("updated_at", "merged_at", "created_at")),
    ("GitHub deployments", "marts.fct_deployments", ("deployed_at", "created_at")),
    ("Incidents", "marts.fct_incidents", ("created_at",)),
    ("Jira issues", "marts.fct_issues", ("updated_at", "resolved_at", "created_at")),
    ("Claude Code usage (daily)", "marts.fct_ai_usage_daily", ("date_day",)),
    ("Claude Code sessions (transcripts)", "marts.fct_ai_sessions", ("ended_at", "started_at")),
)


def freshness(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The latest timestamp and the row count of each source's table, or why it is absent."""
    out = []
    for label, table, candidates in FRESHNESS:
        cols = columns(con, table)
        if not cols:
            out.append({"source": label, "table": table, "latest": "not in this warehouse", "rows": "—"})
            continue
        column = next((c for c in candidates if c in cols), None)
        rows, latest = con.execute(f"select count(*), {f'max({column})' if column else 'null'} from {table}").fetchone()
        if "source" in cols and table.endswith("fct_ai_usage_daily"):
            for src, n, last in con.execute(f"select source, count(*), max({column}) from {table} group by 1 order by 1").fetchall():
                out.append({"source": f"{label}: {SOURCE_LABELS.get(str(src), str(src))}", "table": table,
                            "latest": _when(last), "rows": f"{n:,}"})
            continue
        out.append({"source": label, "table": table, "latest": _when(latest) if rows else "no rows: check the source's configuration",
                    "rows": f"{rows:,}"})
    return out


def _when(value: Any) -> str:
    if _missing(value):
        return "—"
    ts = pd.Timestamp(value)
    return ts.strftime("%d %b %Y") if (ts.hour, ts.minute) == (0, 0) else ts.strftime("%d %b %Y %H:%M UTC")
